"""The importer's choice by time (``interfaces/fhir/timing.py``, windows in ``knowledge/data/fhir_import.yaml``):
the diagnostic value nearest the diagnosis inside its window, MRD by treatment time point, the latest body size,
and every value left out named with its date and the window it missed. Window edges are tested on the last day
inside and the first day outside, with the numbers read from the knowledge file (never repeated here)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir import import_bundle
from allpath.interfaces.fhir.findings import Found
from allpath.interfaces.fhir.timing import Timeline, clinical_date, diagnostic, response
from allpath.knowledge.fhir_import_schema import FhirImportFile
from allpath.knowledge.loader import load_knowledge
from tests.fhir.conftest import as_bundle, as_json

WINDOWS = load_knowledge().fhir_import
WBC = WINDOWS.diagnostic["wbc_per_ul"]
DAY8 = WINDOWS.response["response.day8_blood_mrd_pct"]
EOI = WINDOWS.response["response.end_of_induction_marrow_mrd_pct"]
DIAGNOSIS = date(2024, 3, 1)
TODAY = date(2024, 6, 1)
PATIENT = {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "2019-05-10"}


def day(offset: int, anchor: date = DIAGNOSIS) -> str:
    return (anchor + timedelta(days=offset)).isoformat()


def leukemia(onset: str | None = day(0), ident: str = "all") -> dict[str, Any]:
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": ident,
        "code": c.concept_cc("acute_lymphoblastic_leukemia"),
        "subject": {"reference": "Patient/p"},
    }
    if onset:
        condition["onsetDateTime"] = onset
    return condition


def wbc(ident: str, thousands: float, when: str | None) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": c.concept_cc("wbc"),
        "subject": {"reference": "Patient/p"},
        "valueQuantity": {"value": thousands, "unit": "10*3/uL", "system": c.UCUM, "code": "10*3/uL"},
    }
    if when:
        observation["effectiveDateTime"] = when
    return observation


def weight(ident: str, kg: float, when: str | None) -> dict[str, Any]:
    observation = wbc(ident, kg, when)
    observation["code"] = c.concept_cc("body_weight")
    observation["valueQuantity"] = {"value": kg, "unit": "kg", "system": c.UCUM, "code": "kg"}
    return observation


def mrd(ident: str, percent: float, when: str | None, concept: str = "mrd_flow_pct") -> dict[str, Any]:
    observation = wbc(ident, percent, when)
    if concept == "mrd_flow_pct":  # the standard LOINC code, read only (the concept has no written coding)
        observation["code"] = {"coding": [{"system": c.LOINC, "code": "67128-9"}]}
    else:
        observation["code"] = c.concept_cc(concept)
    observation["valueQuantity"] = {"value": percent, "unit": "%", "system": c.UCUM, "code": "%"}
    return observation


def treatment_course(start: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": "course",
        "status": "in-progress",
        "code": c.concept_cc("treatment_course"),
        "subject": {"reference": "Patient/p"},
        "performedPeriod": {"start": start},
    }


def vincristine(when: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "vcr",
        "status": "completed",
        "medicationCodeableConcept": c.value_cc("drug", "vincristine"),
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": when,
    }


def imported(*resources: dict[str, Any]) -> Any:
    return as_json(import_bundle(as_bundle(PATIENT, *resources), today=TODAY).as_dict())


def left_out(result: Any, name: str) -> list[Any]:
    return [i for i in result["ignored"] if i.get("field") == name]


# ---- the issue's own example -----------------------------------------------------------------------------


def test_a_lone_maintenance_white_count_a_year_after_the_diagnosis_is_not_the_diagnostic_count() -> None:
    """Issue 12: a lone white count of 3,200 from 2025 must not become the white count of a 2024 diagnosis."""
    result = imported(leukemia("2024-03-01"), wbc("maintenance", 3.2, "2025-03-01"))
    assert "wbc_per_ul" not in result["record"]
    assert result["record"]["diagnosis_date"] == "2024-03-01"
    [entry] = left_out(result, "wbc_per_ul")
    assert entry["resource"] == "Observation/maintenance.valueQuantity"
    assert entry["reason"].startswith("dated 2025-03-01: outside the window")
    assert "2024-03-01" in entry["reason"]


def test_the_count_nearest_the_diagnosis_is_taken_and_the_others_are_listed_with_why() -> None:
    result = imported(
        leukemia(),
        wbc("presenting", 45, day(-2)),
        wbc("after", 3, day(5)),
        wbc("maintenance", 3.2, day(365)),
    )
    assert result["record"]["wbc_per_ul"] == 45_000
    assert not result["conflicts"]
    [chosen] = [m for m in result["mapped"] if m["field"] == "wbc_per_ul"]
    assert chosen["from"] == "Observation/presenting.valueQuantity"
    assert chosen["date"] == day(-2)
    assert chosen["why"].startswith(f"nearest the diagnosis, {day(0)} (2 days before)")
    reasons = {i["resource"]: i["reason"] for i in left_out(result, "wbc_per_ul")}
    assert reasons["Observation/after.valueQuantity"] == (
        f"dated {day(5)}: another value, dated {day(-2)}, is nearer the diagnosis"
    )
    assert reasons["Observation/maintenance.valueQuantity"].startswith(f"dated {day(365)}: outside the window")


def test_two_counts_that_disagree_on_the_nearest_day_are_still_a_conflict() -> None:
    result = imported(leukemia(), wbc("a", 45, day(-1)), wbc("b", 60, day(-1)), wbc("c", 3, day(4)))
    assert "wbc_per_ul" not in result["record"]
    [conflict] = result["conflicts"]
    assert conflict["field"] == "wbc_per_ul"
    assert [(v["value"], v["date"]) for v in conflict["values"]] == [(45_000, day(-1)), (60_000, day(-1))]


def test_at_equal_distance_the_earlier_count_is_taken() -> None:
    result = imported(leukemia(), wbc("before", 45, day(-3)), wbc("after", 30, day(3)))
    assert result["record"]["wbc_per_ul"] == 45_000


# ---- window edges, read from the knowledge file ----------------------------------------------------------


def _diagnostic_choice(offset: int, start: date | None = None) -> list[Found]:
    timeline = Timeline(anchor=DIAGNOSIS, start=start)
    return diagnostic([Found(12_500, "Observation/x", day(offset))], WBC, timeline).chosen


def test_the_white_count_window_opens_on_its_first_day_before_the_diagnosis() -> None:
    assert _diagnostic_choice(-WBC.days_before)
    assert not _diagnostic_choice(-WBC.days_before - 1)


def test_the_white_count_window_closes_on_its_last_day_after_the_diagnosis() -> None:
    assert _diagnostic_choice(WBC.days_after)
    assert not _diagnostic_choice(WBC.days_after + 1)


def test_a_pre_treatment_window_ends_on_the_first_day_of_treatment() -> None:
    assert WBC.until_treatment_start
    start = DIAGNOSIS + timedelta(days=2)
    assert _diagnostic_choice(2, start)
    assert not _diagnostic_choice(3, start)


def test_the_treatment_start_in_the_bundle_bounds_the_window() -> None:
    result = imported(leukemia(), treatment_course(day(1)), wbc("day2", 3, day(2)))
    assert "wbc_per_ul" not in result["record"]
    [entry] = left_out(result, "wbc_per_ul")
    assert f"not after the first day of treatment, {day(1)}" in entry["reason"]


def test_without_a_treatment_course_the_first_antileukemic_drug_is_the_treatment_start() -> None:
    result = imported(leukemia(), vincristine(day(1)), wbc("day2", 3, day(2)), wbc("day0", 45, day(0)))
    assert result["record"]["wbc_per_ul"] == 45_000
    assert any(f"first antileukemic drug given on or after the diagnosis, {day(1)}" in a for a in result["assumptions"])
    [entry] = left_out(result, "wbc_per_ul")
    assert entry["resource"] == "Observation/day2.valueQuantity"


# ---- no diagnosis date, or diagnosis dates that disagree -------------------------------------------------


def test_without_a_diagnosis_date_the_most_recent_data_are_taken_and_the_report_says_so() -> None:
    result = imported(wbc("old", 5.5, "2013-12-02"), wbc("recent", 4.8, "2018-12-31"))
    assert result["record"]["wbc_per_ul"] == 4_800
    [note] = [a for a in result["assumptions"] if a.startswith("No diagnosis date in the data")]
    assert "2018-12-31" in note and "Check that they are the values at diagnosis" in note
    assert "diagnosis_date" not in result["record"]  # the assumed date is never written into the record
    [entry] = left_out(result, "wbc_per_ul")
    assert entry["reason"].startswith("dated 2013-12-02: outside the window")
    assert "the assumed diagnosis date, 2018-12-31" in entry["reason"]


def test_without_a_diagnosis_date_a_count_after_the_treatment_start_is_not_diagnostic() -> None:
    start = "2024-03-05"
    result = imported(treatment_course(start), wbc("before", 45, "2024-03-03"), wbc("after", 3, "2024-04-20"))
    assert result["record"]["wbc_per_ul"] == 45_000
    assert any("the last before the first day of treatment (2024-03-05)" in a for a in result["assumptions"])


def test_without_a_diagnosis_date_counts_only_after_the_treatment_start_are_not_diagnostic() -> None:
    result = imported(treatment_course("2024-03-05"), wbc("after", 3, "2024-04-20"))
    assert "wbc_per_ul" not in result["record"]
    [entry] = left_out(result, "wbc_per_ul")
    assert entry["reason"] == (
        "dated 2024-04-20: there is no diagnosis date in the data and no dated value before the treatment start"
    )


def test_diagnosis_dates_that_disagree_place_no_dated_value_at_the_diagnosis() -> None:
    result = imported(leukemia(day(0), "a"), leukemia(day(30), "b"), wbc("w", 45, day(0)))
    assert "wbc_per_ul" not in result["record"] and "diagnosis_date" not in result["record"]
    assert any(a.startswith("The diagnosis dates in the data disagree") for a in result["assumptions"])
    [entry] = left_out(result, "wbc_per_ul")
    assert "the diagnosis dates in the data disagree" in entry["reason"]


# ---- values without a date -------------------------------------------------------------------------------


def test_an_undated_count_is_taken_as_given_only_when_no_count_is_dated() -> None:
    alone = imported(leukemia(), wbc("undated", 12.5, None))
    assert alone["record"]["wbc_per_ul"] == 12_500
    [chosen] = [m for m in alone["mapped"] if m["field"] == "wbc_per_ul"]
    assert "date" not in chosen and chosen["why"].startswith("no date in the resource: taken as given")
    mixed = imported(leukemia(), wbc("undated", 12.5, None), wbc("dated", 45, day(-1)))
    assert mixed["record"]["wbc_per_ul"] == 45_000
    [entry] = left_out(mixed, "wbc_per_ul")
    assert entry["resource"] == "Observation/undated.valueQuantity" and entry["reason"].startswith("no date")


# ---- body size: the latest measurement -------------------------------------------------------------------


def test_the_latest_weight_is_taken_and_an_old_one_is_flagged_for_checking() -> None:
    older = WINDOWS.latest.check_older_than_days
    fresh = imported(weight("w1", 15.0, day(-400, TODAY)), weight("w2", 17.5, day(-older, TODAY)))
    assert fresh["record"]["weight_kg"] == 17.5
    assert not [a for a in fresh["assumptions"] if "latest weight" in a]
    [entry] = left_out(fresh, "weight_kg")
    assert entry["resource"] == "Observation/w1.valueQuantity" and "an earlier measurement" in entry["reason"]
    stale = imported(weight("w1", 15.0, day(-400, TODAY)), weight("w2", 17.5, day(-older - 1, TODAY)))
    assert stale["record"]["weight_kg"] == 17.5
    [note] = [a for a in stale["assumptions"] if "latest weight" in a]
    assert f"{older + 1} days before this import" in note


# ---- MRD by treatment time point -------------------------------------------------------------------------


def test_a_generic_mrd_result_is_placed_at_the_time_point_of_its_date() -> None:
    start = DIAGNOSIS + timedelta(days=1)
    result = imported(
        leukemia(),
        treatment_course(start.isoformat()),
        mrd("d8", 0.5, day(DAY8.day - 1, start)),
        mrd("d29", 0.005, day(EOI.day - 1, start)),
        mrd("d15", 2.0, day(14, start)),
    )
    assert result["record"]["response"] == {"day8_blood_mrd_pct": 0.5, "end_of_induction_marrow_mrd_pct": 0.005}
    [d8] = [m for m in result["mapped"] if m["field"] == "response.day8_blood_mrd_pct"]
    assert d8["why"].startswith(f"day {DAY8.day} of treatment") and "placed by its date" in d8["why"]
    [entry] = left_out(result, "response.mrd_pct_by_date")
    assert entry["resource"] == "Observation/d15.valueQuantity"
    assert "day 15 of treatment" in entry["reason"] and "outside every MRD time point" in entry["reason"]


@pytest.mark.parametrize("concept", ["mrd_flow_pct", "day8_blood_mrd_pct"])
def test_the_day8_window_edges(concept: str) -> None:
    start = DIAGNOSIS
    for treatment_day, inside in ((DAY8.from_day, True), (DAY8.from_day - 1, False), (DAY8.to_day, True)):
        result = imported(
            leukemia(), treatment_course(start.isoformat()), mrd("m", 0.5, day(treatment_day - 1), concept)
        )
        placed = result["record"].get("response", {}).get("day8_blood_mrd_pct")
        assert (placed == 0.5) is inside, (concept, treatment_day)
    past = imported(leukemia(), treatment_course(start.isoformat()), mrd("m", 0.5, day(DAY8.to_day), concept))
    assert "response" not in past["record"]


def test_a_generic_mrd_result_without_a_treatment_start_is_left_out_with_the_reason() -> None:
    result = imported(leukemia(), mrd("m", 0.5, day(8)))
    assert "response" not in result["record"]
    [entry] = left_out(result, "response.mrd_pct_by_date")
    assert "the data give no first day of treatment" in entry["reason"]


def test_a_result_coded_for_its_time_point_but_dated_outside_it_is_left_out() -> None:
    start = DIAGNOSIS
    result = imported(
        leukemia(),
        treatment_course(start.isoformat()),
        mrd("eoi", 0.02, day(EOI.to_day), "end_of_induction_marrow_mrd_pct"),
    )
    assert "response" not in result["record"]
    [entry] = left_out(result, "response.end_of_induction_marrow_mrd_pct")
    assert f"day {EOI.to_day + 1} of treatment" in entry["reason"]


def test_an_undated_local_time_point_result_keeps_working() -> None:
    result = imported(leukemia(), mrd("eoi", 0.02, None, "end_of_induction_marrow_mrd_pct"))
    assert result["record"]["response"] == {"end_of_induction_marrow_mrd_pct": 0.02}


def test_response_rule_without_treatment_start_does_not_check_dates() -> None:
    placed = response([Found(0.1, "Observation/x", day(200))], EOI, None)
    assert placed.chosen and "was not checked" in placed.why


# ---- each resource's clinical date -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Observation", "effectiveDateTime": "2024-03-01T08:00:00Z"}, "2024-03-01"),
        ({"resourceType": "Observation", "effectivePeriod": {"start": "2024-03-02"}}, "2024-03-02"),
        ({"resourceType": "Observation", "effectiveInstant": "2024-03-03T00:00:00Z"}, "2024-03-03"),
        ({"resourceType": "Observation", "issued": "2024-03-04T10:00:00Z"}, "2024-03-04"),
        ({"resourceType": "Observation", "effectiveDateTime": "2024-03"}, None),
        ({"resourceType": "Condition", "onsetDateTime": "2024-03-05"}, "2024-03-05"),
        ({"resourceType": "Condition", "recordedDate": "2024-03-06"}, "2024-03-06"),
        ({"resourceType": "MedicationAdministration", "effectivePeriod": {"start": "2024-03-07"}}, "2024-03-07"),
        ({"resourceType": "Procedure", "performedDateTime": "2024-03-08"}, "2024-03-08"),
        ({"resourceType": "Procedure", "performedPeriod": {"start": "2024-03-09"}}, "2024-03-09"),
        ({"resourceType": "Patient", "birthDate": "2019-01-01"}, None),
    ],
)
def test_the_clinical_date_of_each_kind_of_resource(resource: dict[str, Any], expected: str | None) -> None:
    assert clinical_date(resource) == expected


def test_genetics_dated_long_after_the_diagnosis_are_not_diagnostic() -> None:
    window = WINDOWS.diagnostic["genetics"]
    finding = {
        "resourceType": "Observation",
        "id": "g",
        "status": "final",
        "code": c.concept_cc("genetic_finding"),
        "subject": {"reference": "Patient/p"},
        "valueCodeableConcept": c.value_cc("presence", "present"),
        "component": [
            {"code": c.concept_cc("genetic_token"), "valueCodeableConcept": c.value_cc("genetics", "ETV6::RUNX1")}
        ],
    }
    inside = imported(leukemia(), {**finding, "effectiveDateTime": day(window.days_after)})
    assert inside["record"]["genetics"] == ["ETV6::RUNX1"]
    outside = imported(leukemia(), {**finding, "effectiveDateTime": day(window.days_after + 1)})
    assert "genetics" not in outside["record"]
    assert left_out(outside, "genetics")[0]["reason"].startswith(f"dated {day(window.days_after + 1)}: outside")


# ---- the knowledge file ----------------------------------------------------------------------------------


def test_overlapping_response_windows_are_refused_by_the_schema() -> None:
    raw = WINDOWS.model_dump()
    raw["response"]["response.day8_blood_mrd_pct"]["to_day"] = EOI.from_day
    with pytest.raises(ValidationError, match="overlap"):
        FhirImportFile.model_validate(raw)
