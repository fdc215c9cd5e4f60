"""The shipped knowledge base: schema, citations, sources, confidence and the committed risk grid."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from allpath.engine.grid import absent_grid_csv, complete_grid_csv
from allpath.errors import KnowledgeError
from allpath.knowledge.lint import lint
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge
from tests.conftest import GOLDEN, require_shared


def _checker_headings(text: str) -> set[str]:
    """Headings as the project's vignette checker recognises them (shared/vignettes/check.py)."""
    return {
        line.strip()
        for line in text.splitlines()
        if line.strip()
        and len(line.strip()) < 120
        and line.strip()[0].isupper()
        and not line.strip().endswith((".", ":", "?"))
    }


def test_every_file_validates_and_lint_is_clean(kb: KnowledgeBase) -> None:
    report = lint(kb)
    assert report.errors == []
    assert report.citations_checked > 150


def test_source_documents_match_the_registry() -> None:
    shared = require_shared()
    kb = load_knowledge()
    report = lint(kb, [shared / "source", shared])
    assert report.errors == []
    assert set(report.documents_verified) == {"pdq", "facts"}


def test_every_registered_summary_section_is_a_heading_of_the_summary() -> None:
    shared = require_shared()
    text = (shared / "source" / "childhood-all-treatment-pdq.txt").read_text(encoding="utf-8")
    pdq = load_knowledge().sources["pdq"]
    assert pdq.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert set(pdq.sections) <= _checker_headings(text)
    assert pdq.revised == "2024-08-02"


def test_knowledge_version_changes_with_the_content(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    original = load_knowledge(copy).version
    text = (copy / "text.yaml").read_text(encoding="utf-8")
    (copy / "text.yaml").write_text(text.replace("not a prescription", "not a prescription."), encoding="utf-8")
    assert load_knowledge(copy).version != original


def _mutated(tmp_path: Path, name: str, edit: object) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    data = yaml.safe_load((copy / name).read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    (copy / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def test_evidence_marked_low_confidence_cannot_be_encoded(tmp_path: Path) -> None:
    def mark_low(data: dict) -> None:  # type: ignore[type-arg]
        data["scheme"]["rules"][0]["evidence"][0]["confidence"] = "L"

    with pytest.raises(KnowledgeError, match="risk_groups.yaml"):
        load_knowledge(_mutated(tmp_path, "risk_groups.yaml", mark_low))


def test_a_rule_without_a_citation_is_rejected(tmp_path: Path) -> None:
    def drop_cite(data: dict) -> None:  # type: ignore[type-arg]
        del data["scheme"]["rules"][0]["cite"]

    with pytest.raises(KnowledgeError, match="cite"):
        load_knowledge(_mutated(tmp_path, "risk_groups.yaml", drop_cite))


def test_lint_catches_a_citation_to_a_section_that_does_not_exist(tmp_path: Path) -> None:
    def bad_section(data: dict) -> None:  # type: ignore[type-arg]
        data["scheme"]["rules"][0]["cite"]["section"] = "Risk groups (made up)"

    report = lint(load_knowledge(_mutated(tmp_path, "risk_groups.yaml", bad_section)))
    assert any("Risk groups (made up)" in e for e in report.errors)


def test_unknown_keys_in_knowledge_files_are_errors(tmp_path: Path) -> None:
    def typo(data: dict) -> None:  # type: ignore[type-arg]
        data["scheme"]["rules"][0]["explantion"] = "typo"

    with pytest.raises(KnowledgeError):
        load_knowledge(_mutated(tmp_path, "risk_groups.yaml", typo))


def test_moderate_confidence_rules_show_it_in_the_output(kb: KnowledgeBase) -> None:
    from tests.conftest import complete_b_all, run

    result = run(complete_b_all(cns_status="CNS3"))
    cns3 = next(f for f in result["factors"] if f["id"] == "risk.cns3")
    assert cns3["confidence"] == "moderate"
    assert cns3["evidence"][0]["confidence"] == "moderate"


def test_committed_complete_risk_grid_matches_the_engine(kb: KnowledgeBase) -> None:
    committed = (GOLDEN / "risk_grid.csv").read_text(encoding="utf-8")
    assert complete_grid_csv(kb) == committed, (
        "The engine's risk grid differs from tests/golden/risk_grid.csv. If the knowledge change is intended, "
        "run `allpath kb grid > tests/golden/risk_grid.csv` and review the diff."
    )


def test_committed_absent_data_grid_matches_the_engine(kb: KnowledgeBase) -> None:
    committed = (GOLDEN / "risk_grid_absent.csv").read_text(encoding="utf-8")
    assert absent_grid_csv(kb) == committed, (
        "The engine's missing-data grid differs from tests/golden/risk_grid_absent.csv. If intended, run "
        "`allpath kb grid --absent > tests/golden/risk_grid_absent.csv` and review the diff."
    )


def test_complete_grid_never_leaves_an_applicable_group_undecided(kb: KnowledgeBase) -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO((GOLDEN / "risk_grid.csv").read_text(encoding="utf-8"))))
    tokens = list(rows[0])[10:]
    assert len(rows) * len(tokens) > 100_000
    for row in rows:
        for token in tokens:
            risk, cog = row[token].split("/")
            assert risk != "-", row
            if row["immunophenotype"] == "B" and float(row["age_years"]) >= 1:
                assert cog != "-", (row, token)
            else:
                assert cog == "-", (row, token)


def test_authoring_guide_matches_the_code() -> None:
    from allpath.knowledge.authoring import render
    from tests.conftest import ROOT

    committed = (ROOT / "docs" / "knowledge-authoring.md").read_text(encoding="utf-8")
    assert committed == render(), "run `python -m allpath.knowledge.authoring > docs/knowledge-authoring.md`"


def test_knowledge_tokens_match_the_record_contract(kb: KnowledgeBase) -> None:
    from allpath.domain.vocabulary import GENETIC_TOKENS, PREDISPOSITION_TOKENS

    assert tuple(t.id for t in kb.genetics.tokens) == GENETIC_TOKENS
    counseling = kb.files["counseling.yaml"]
    assert tuple(t.id for t in counseling.syndromes) == PREDISPOSITION_TOKENS  # type: ignore[attr-defined]
