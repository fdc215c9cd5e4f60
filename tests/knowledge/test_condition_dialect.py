"""One condition dialect: the drug lines and roadmap notes of ``regimens.yaml`` use the condition vocabulary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from allpath.errors import KnowledgeError
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge

AGE_LINE = "when: {fact: age_years, lt: 10}"
NOTE = "when: {fact: populations, has_any: [cns_disease]}"


def _regimens_with(tmp_path: Path, old: str, new: str) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    path = copy / "regimens.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def test_the_age_lines_and_the_notes_are_conditions_of_the_one_vocabulary(kb: KnowledgeBase) -> None:
    lines = [line for r in kb.therapy.regimens.regimens for p in r.phases for line in p.drugs if line.when]
    assert {(line.drug, kb.therapy.line_fits_age(line, 9.99)) for line in lines} == {
        ("dexamethasone", True),
        ("prednisone", False),
    }
    assert {(line.drug, kb.therapy.line_fits_age(line, 10.0)) for line in lines} == {
        ("dexamethasone", False),
        ("prednisone", True),
    }
    (note,) = kb.therapy.regimens.selection.notes
    assert kb.therapy.note_applies(note, ["cns_disease", "t_cell"])
    assert not kb.therapy.note_applies(note, ["t_cell"])


def test_a_moved_age_boundary_moves_the_line(tmp_path: Path) -> None:
    edited = load_knowledge(_regimens_with(tmp_path, AGE_LINE, "when: {fact: age_years, lt: 12}"))
    (dexamethasone,) = [
        line
        for r in edited.therapy.regimens.regimens
        for p in r.phases
        for line in p.drugs
        if line.drug == "dexamethasone" and line.when
    ]
    assert edited.therapy.line_fits_age(dexamethasone, 11)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (AGE_LINE, "when: {fact: weight_kg, lt: 10}", "unknown fact 'weight_kg'"),
        (AGE_LINE, "when_age: {below: 10}", "regimens.yaml"),  # the old dialect is gone
        (NOTE, "when: {fact: populations, has_any: [cns_diseases]}", "unknown population 'cns_diseases'"),
        (NOTE, "when: {fact: age_years, lt: 1}", "unknown fact 'age_years'"),
    ],
)
def test_a_condition_outside_the_vocabulary_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_regimens_with(tmp_path, old, new))
