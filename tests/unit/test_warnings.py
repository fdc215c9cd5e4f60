"""Warnings on an assessment (issue 10, item 2): a white count to confirm, contradictory inputs, impossible ones."""

from __future__ import annotations

from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import InputWarning
from allpath.engine.assess import assess
from allpath.errors import RecordError
from allpath.knowledge.loader import load_knowledge

KB = load_knowledge()
CHILD = {"age_years": 4, "sex": "male", "immunophenotype": "B", "wbc_per_ul": 12_000}


def _warnings(**changes: Any) -> list[InputWarning]:
    return assess(parse_record({**CHILD, **changes}), KB)["warnings"]


def test_a_white_count_below_200_is_refused_as_a_unit_mistake() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({**CHILD, "wbc_per_ul": 199})
    assert caught.value.fields == ["wbc_per_ul"]
    assert "199,000" in caught.value.problems[0].allowed


@pytest.mark.parametrize("count", [200, 999])
def test_a_white_count_of_200_to_999_is_accepted_with_a_request_to_confirm_the_unit(count: int) -> None:
    warnings = _warnings(wbc_per_ul=count)
    assert [(w["code"], w["field"]) for w in warnings] == [("input.wbc_unit", "wbc_per_ul")]
    message = warnings[0]["message"]
    assert f"{count} per microliter" in message and f"{count * 1000:,} per microliter" in message
    assert "check the unit" in message


def test_a_white_count_of_1000_is_silent() -> None:
    assert _warnings(wbc_per_ul=1000) == []


def test_an_ordinary_record_has_an_empty_list_of_warnings() -> None:
    assert _warnings() == []


def test_bcr_abl1_with_ph_like_is_flagged_on_the_genetics() -> None:
    warnings = _warnings(genetics=["BCR::ABL1", "ph_like"])
    assert [(w["code"], w["field"]) for w in warnings] == [("input.bcr_abl1_with_ph_like", "genetics")]
    assert _warnings(genetics=["BCR::ABL1"]) == [] and _warnings(genetics=["ph_like"]) == []


@pytest.mark.parametrize(
    "response",
    [{"end_of_induction_remission": True}, {"end_of_induction_marrow_mrd_pct": 0.009}],
)
def test_refractory_with_a_remission_or_mrd_negative_end_of_induction_is_flagged(response: dict[str, Any]) -> None:
    warnings = _warnings(refractory=True, response=response)
    assert [(w["code"], w["field"]) for w in warnings] == [("input.refractory_with_remission", "refractory")]


def test_refractory_with_measurable_leukemia_at_the_end_of_induction_is_not_flagged() -> None:
    assert _warnings(refractory=True, response={"end_of_induction_marrow_mrd_pct": 0.01}) == []
    assert _warnings(refractory=True, response={"end_of_induction_remission": False}) == []


def test_both_chromosome_counts_are_flagged() -> None:
    codes = [w["code"] for w in _warnings(genetics=["high_hyperdiploidy", "hypodiploidy_lt44"])]
    assert codes == ["input.hyperdiploid_and_hypodiploid"]


def test_a_relapse_at_month_0_is_refused_in_plain_words() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({**CHILD, "relapses": [{"months_from_diagnosis": 0, "sites": ["bone_marrow"]}]})
    assert caught.value.fields == ["relapses[0].months_from_diagnosis"]
    message = str(caught.value)
    assert message.startswith("relapse 1: months from diagnosis to the relapse: 0 is not allowed")
    assert "months_from_diagnosis" not in message


def test_a_relapse_just_after_diagnosis_is_accepted() -> None:
    record = parse_record({**CHILD, "relapses": [{"months_from_diagnosis": 0.1, "sites": ["bone_marrow"]}]})
    assert record.relapses is not None and record.relapses[0].months_from_diagnosis == 0.1


def test_every_warning_names_an_input_field_and_reads_as_words() -> None:
    for warning in KB.warnings:
        assert "_" not in warning.spec.message.replace("{value_x1000}", "")
