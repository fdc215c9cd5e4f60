"""Re-assessment: what changed between two assessments and which new result explains it."""

from __future__ import annotations

from typing import Any

from allpath.domain.results import Change
from allpath.engine.diff import changed_fields, explain_changes
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import complete_b_all, run


def _changes(kb: KnowledgeBase, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    return explain_changes(kb, before, run(before), after, run(after))


def test_first_assessment_has_no_changes(kb: KnowledgeBase) -> None:
    record = complete_b_all()
    assert explain_changes(kb, None, None, record, run(record)) == []


def test_slow_response_names_the_mrd_result(kb: KnowledgeBase) -> None:
    changes = _changes(kb, complete_b_all(), complete_b_all(end_of_induction_marrow_mrd_pct=1.2))
    risk = next(c for c in changes if c["field"] == "risk_group")
    assert (risk["before"], risk["after"]) == ("standard", "very_high")
    assert risk["message"] == ("risk group: standard -> very high, because end-of-induction bone marrow MRD 1.2 %")


def test_a_new_count_completes_a_null_group(kb: KnowledgeBase) -> None:
    changes = _changes(kb, complete_b_all(wbc_per_ul=None), complete_b_all(wbc_per_ul=60_000))
    messages = [c["message"] for c in changes]
    assert "risk group: none -> high, because white blood cell count at diagnosis 60,000 per microliter" in messages
    assert any(c["field"] == "provisional" for c in changes)


def test_population_changes_are_listed(kb: KnowledgeBase) -> None:
    changes = _changes(kb, complete_b_all(), complete_b_all(genetics=["BCR::ABL1"]))
    assert any(c["field"] == "populations" and c["after"] == "ph_positive" for c in changes)


def test_no_change_in_groups_still_lists_the_changed_inputs(kb: KnowledgeBase) -> None:
    changes = _changes(kb, complete_b_all(), complete_b_all(weight_kg=18.0))
    assert [c["field"] for c in changes] == ["record"]
    # A person reads the field's label; software reads the record path.
    assert changes[0]["message"] == "changed in the record: weight (kg)"
    assert changes[0]["fields"] == ["weight_kg"]


def test_changed_fields_compares_nested_paths() -> None:
    before = {"a": 1, "response": {"x": 1, "y": 2}}
    after = {"a": 1, "response": {"x": 1, "y": 3}, "b": True}
    assert changed_fields(before, after) == ["b", "response.y"]
