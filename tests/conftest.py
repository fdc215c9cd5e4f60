"""Shared fixtures: the bundled knowledge base and small helpers to assess a record dict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.knowledge.loader import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = ROOT / "examples"


def shared_dir() -> Path | None:
    """The project's shared/ folder (source documents, vignettes), beside the clone."""
    candidates = [os.environ.get("ALLPATH_SHARED"), ROOT.parent / "shared", ROOT / ".." / "shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "source").is_dir():
            return Path(candidate).resolve()
    return None


def require_shared() -> Path:
    """shared/ is beside every clone in CI; outside CI a test that needs it is skipped."""
    found = shared_dir()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shared/ (source documents) is not beside the clone; CI must provide it")
        pytest.skip("shared/ is not beside this clone")
    return found


def optional_shared() -> Path | None:
    """shared/ for a test that checks more when it is there (None outside CI when it is not; in CI, where
    it is always beside the clone, its absence fails the test instead of quietly checking less)."""
    found = shared_dir()
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("shared/ (source documents) is not beside the clone; CI must provide it")
    return found


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


def run(record: dict[str, Any], kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """Validate and assess one record dict with the bundled (or given) knowledge base."""
    return assess(parse_record(record), kb or load_knowledge())


def complete_b_all(**overrides: Any) -> dict[str, Any]:
    """A complete newly diagnosed B-ALL record at standard risk, to vary one input at a time."""
    record: dict[str, Any] = {
        "sex": "male",
        "age_years": 4.0,
        "wbc_per_ul": 10_000,
        "immunophenotype": "B",
        "genetics": ["none_detected"],
        "cns_status": "CNS1",
        "testicular_involvement": False,
        "down_syndrome": False,
        "steroid_pretreatment": False,
        "response": {
            "day8_blood_mrd_pct": 0.001,
            "end_of_induction_marrow_mrd_pct": 0.0,
            "end_of_induction_remission": True,
        },
    }
    for key, value in overrides.items():
        if key in (
            "day8_blood_mrd_pct",
            "end_of_induction_marrow_mrd_pct",
            "end_of_induction_remission",
            "end_of_consolidation_mrd_pct",
        ):
            if value is None:
                record["response"].pop(key, None)
            else:
                record["response"][key] = value
        elif value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record
