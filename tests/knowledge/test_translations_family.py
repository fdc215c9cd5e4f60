"""The road ahead, the check-ups after treatment, the trial statuses and the plan's medicine names in Spanish
(issue 14, items 2 and 4).

The family report of every example, with its care overview (the dated roadmap and the survivorship plan), is
built from the Spanish knowledge base: none of the English knowledge texts of those parts is left in it, the
phases, checkpoints and follow-up items read in Spanish, and the medicines are named as the glossary names them.
The sentences the report's code writes are the catalogs' part (tests/cli/test_family_report_spanish.py).
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
import yaml

from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report import build_blocks
from allpath.knowledge import schema as s
from allpath.knowledge.loader import default_data_dir, load_knowledge
from allpath.knowledge.translations import GlossaryFile, TranslationFile, text_hash, translatable
from allpath.service.records import care_overview, checked, stamped_assessment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRANSLATIONS = default_data_dir() / "translations"
START = date(2026, 1, 5)
# The files whose family texts this test is about (text.yaml and the others have their own tests).
FILES = ("regimens.yaml", "survivorship.yaml", "trials.yaml", "drugs.yaml")
# When the first check-up is due, in the English words the survivorship engine wrote before they became
# text.yaml's (survivorship_start): none may be left in a Spanish report.
ENGINE_WORDS = re.compile(r"first echocardiogram no later than [^;.]*|start(?:ing)? between age \S+ and age \S+")


def _example_paths() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.json") if p.stem != "all")


@cache
def _spanish_report(stem: str, start: date | None) -> str:
    """The Spanish family report of one example, with its road ahead and check-ups, as one text."""
    kb = load_knowledge(locale="es")
    record = json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    with use_locale("es"):
        assessment = stamped_assessment(checked(record), kb)
        overview = care_overview(kb, record, assessment=assessment, start=start)
        blocks = build_blocks(assessment, kb, treatment=overview)
    return "\n".join([b.text for b in blocks if b.text] + [i for b in blocks for i in b.items or ()])


@cache
def _pairs() -> list[tuple[str, str, str]]:
    """(path, English, Spanish) of every text of FILES whose Spanish differs from the English."""
    raw = {name: yaml.safe_load((default_data_dir() / name).read_text(encoding="utf-8")) for name in s.FILES}
    spanish = TranslationFile.model_validate(yaml.safe_load((TRANSLATIONS / "es.yaml").read_text(encoding="utf-8")))
    found = []
    for path, _, _, english in translatable(raw):
        entry = spanish.texts[path]
        if path.startswith(FILES) and entry.text != english:
            assert entry.source_hash == text_hash(english), path
            found.append((path, english, entry.text))
    return found


@pytest.mark.parametrize("stem", [p.stem for p in _example_paths()])
def test_no_english_road_ahead_check_up_or_medicine_text_is_left_in_a_spanish_report(stem: str) -> None:
    for start in (None, START):
        report = _spanish_report(stem, start)
        assert not ENGINE_WORDS.search(report), (stem, start)
        left = [path for path, english, _ in _pairs() if re.search(rf"(?<![\w-]){re.escape(english)}(?![\w-])", report)]
        assert left == [], (stem, start)


def test_when_the_first_check_up_is_due_is_said_in_spanish() -> None:
    """Without a date (no treatment start): the knowledge base's words, filled in with its numbers."""
    report = _spanish_report("high_risk_age", None)
    assert "el primer ecocardiograma a más tardar 2 años después de la última antraciclina" in report


def test_the_check_catches_an_english_text() -> None:
    """Not vacuous: the English base's report of the same child names its phases in English."""
    kb = load_knowledge()
    record = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
    assessment = stamped_assessment(checked(record), kb)
    blocks = build_blocks(assessment, kb, treatment=care_overview(kb, record, assessment=assessment, start=START))
    english = "\n".join(i for b in blocks for i in b.items or ())
    assert "Maintenance (12-week cycles)" in english and "Day 8 blood MRD" in english


def test_the_road_ahead_of_a_standard_risk_child_reads_in_spanish() -> None:
    report = _spanish_report("standard_risk", START)
    for phase in (
        "Inducción (tres medicamentos): desde el lunes, 5 de enero de 2026",
        "Consolidación: desde",
        "Mantenimiento provisional (metotrexato de Capizzi): desde",
        "Intensificación tardía: desde",
        "Mantenimiento (ciclos de 12 semanas): desde",
    ):
        assert phase in report, phase
    assert "Prueba de ERM en la sangre del día 8 (previsto para el lunes, 12 de enero de 2026)" in report
    assert "El tratamiento dura dos años desde el primer día del (primer) mantenimiento provisional" in report
    assert "Qué vigilar: miocardiopatía (el músculo del corazón se debilita). Control: ecocardiograma" in report


def test_why_there_is_no_timetable_is_said_in_spanish() -> None:
    report = _spanish_report("infant", None)
    assert "Las fuentes no dan un calendario fase por fase para los bebés con LLA." in report


def test_the_plan_names_its_medicines_as_the_glossary_does() -> None:
    glossary = GlossaryFile.model_validate(
        yaml.safe_load((TRANSLATIONS / "glossary_es.yaml").read_text(encoding="utf-8"))
    )
    spanish_names = {t.en: t.translation for t in glossary.terms}
    report = _spanish_report("high_risk_age", None)
    line = next(x for x in report.splitlines() if x.startswith("Medicinas que nombra este plan:"))
    for english in ("vincristine", "dexamethasone", "asparaginase", "cyclophosphamide", "methotrexate", "cytarabine"):
        assert spanish_names[english] in line and english not in line


def test_a_trial_status_is_said_in_spanish() -> None:
    spanish, english = load_knowledge(locale="es"), load_knowledge()
    assert spanish.trials.statuses.labels["RECRUITING"] == "busca participantes"
    assert english.trials.statuses.labels["RECRUITING"] == "recruiting"  # the English base is unchanged
    assert set(spanish.trials.statuses.labels) == set(english.trials.statuses.labels)


def test_the_english_medicine_names_are_unchanged() -> None:
    """drugs.yaml names each catalogued medicine with a `label` so that it can be translated; in English the
    label is the name the plan showed before."""
    kb = load_knowledge()
    for name, drug in kb.drugs.items():
        if drug.label is not None and name != "imatinib":
            assert drug.label == name
