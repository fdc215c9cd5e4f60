"""Properties of record validation and assessment, over generated patient records (design.md contracts)."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment, Factor, PlanDrug, PlanPhase, PlanTherapy
from allpath.engine.assess import assess
from allpath.errors import RecordError
from allpath.knowledge.loader import load_knowledge
from tests.builders import present
from tests.property.strategies import (
    ABSENT,
    COG_ORDER,
    FINDINGS,
    MRD_NEGATIVE,
    MRD_POSITIVE,
    PROPERTY_SETTINGS,
    RELAPSE_FIELDS,
    RESPONSE_FIELDS,
    RISK_ORDER,
    TOP_LEVEL_FIELDS,
    Invalid,
    approx_age,
    assert_names_the_field,
    fewer_inputs,
    invalid_records,
    is_same_or_ancestor,
    one_input_fewer,
    path_parts,
    relapse_lists,
    valid_records,
    value_at,
)

# The bundled knowledge base (loaded once; a module constant keeps it out of hypothesis reports).
KB = load_knowledge()

RISK_GROUPS = {"standard", "high", "very_high", None}
COG_GROUPS = {"low", "average", "high", "very_high", None}
DISEASE_STATES = {"newly_diagnosed", "relapsed", "refractory"}
POPULATIONS = {
    "infant",
    "adolescent_young_adult",
    "t_cell",
    "down_syndrome",
    "ph_positive",
    "cns_disease",
    "testicular_disease",
}
THERAPY_CODES = {
    "combination_chemotherapy",
    "intrathecal_chemotherapy",
    "high_dose_systemic_chemotherapy",
    "cns_radiation",
    "testicular_radiation",
    "stem_cell_transplant",
    "targeted_therapy",
    "immunotherapy",
    "car_t_cell_therapy",
    "clinical_trial",
}
PHASES = ["remission_induction", "consolidation_intensification", "maintenance"]


def _assess(record: dict[str, Any]) -> Assessment:
    return assess(parse_record(record), KB)


def _assert_sourced(item: Factor | PlanTherapy | PlanDrug | PlanPhase, where: str) -> None:
    source = item.get("source")
    assert isinstance(source, dict), f"{where}: no source"
    for key in ("document", "section"):
        assert isinstance(source.get(key), str) and source[key].strip(), f"{where}: source has no {key}: {source}"


def _is_record_path(path: str) -> bool:
    """A path of the record contract: a top-level field, ``response.<field>`` or ``relapses[i].<field>``."""
    parts = path_parts(path)
    if len(parts) == 1:
        return parts[0] in TOP_LEVEL_FIELDS
    if parts[0] == "response":
        return len(parts) == 2 and parts[1] in RESPONSE_FIELDS
    return len(parts) == 3 and parts[0] == "relapses" and isinstance(parts[1], int) and parts[2] in RELAPSE_FIELDS


def _risk_rank(group: str | None) -> int:
    return RISK_ORDER[group]


# --------------------------------------------------------------------------------------------------
# Valid records: parse, assess, and the output contract
# --------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_valid_record_gives_an_assessment_in_the_output_contract(record: dict[str, Any]) -> None:
    parsed = parse_record(record)
    assert isinstance(parsed, PatientRecord)
    result = assess(parsed, KB)

    assert result["disease_state"] in DISEASE_STATES
    assert result["risk_group"] in RISK_GROUPS
    assert result["cog_risk_group"] in COG_GROUPS
    assert isinstance(result["provisional"], bool)
    assert result["provisional"] == bool(result["missing"])
    assert set(result["populations"]) <= POPULATIONS
    assert len(set(result["populations"])) == len(result["populations"])
    assert isinstance(result["genetic_counseling_recommended"], bool)

    for i, factor in enumerate(result["factors"]):
        assert factor.get("id"), f"factors[{i}] has no id"
        assert "effect" in factor and "explanation" in factor, f"factors[{i}] ({factor.get('id')})"
        _assert_sourced(factor, f"factors[{i}] ({factor['id']})")
    plan = result["plan"]
    for therapy in plan["therapies"]:
        assert therapy["code"] in THERAPY_CODES
        assert therapy.get("certainty"), therapy["code"]
        _assert_sourced(therapy, f"therapy {therapy['code']}")
    for drug in plan["drugs"]:
        assert drug["name"] == drug["name"].lower(), drug["name"]
        _assert_sourced(drug, f"drug {drug['name']}")
    for phase in plan["phases"]:
        assert phase.get("goal"), phase.get("id")
        _assert_sourced(phase, f"phase {phase.get('id')}")

    # JSON-serialisable, strictly (no NaN or Infinity), and unchanged by the round trip.
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_disease_state_risk_group_and_phases_agree(record: dict[str, Any]) -> None:
    parsed = parse_record(record)
    result = assess(parsed, KB)
    if record.get("relapses"):
        expected_state = "relapsed"
    elif record.get("refractory"):
        expected_state = "refractory"
    else:
        expected_state = "newly_diagnosed"
    assert result["disease_state"] == expected_state

    if expected_state == "newly_diagnosed":
        assert [p["id"] for p in result["plan"]["phases"]] == PHASES
        assert result["relapse"] is None
        if parsed.age_years is not None and parsed.wbc_per_ul is not None:
            # design.md: given as soon as the inputs for the group at diagnosis are known.
            assert result["risk_group"] is not None
        if result["risk_group"] is None:
            assert parsed.age_years is None or parsed.wbc_per_ul is None
    else:
        # design.md: null for relapsed or refractory disease, which has its own section.
        assert result["risk_group"] is None
        assert result["cog_risk_group"] is None
    if expected_state == "relapsed":
        relapse = result["relapse"]
        assert relapse is not None
        assert relapse["number"] == len(record["relapses"])
        assert relapse["sites"] == sorted(record["relapses"][-1]["sites"])
        assert relapse["timing"] in {"early", "late", None}
        assert relapse["risk_group"] in {"low", "intermediate", "high", None}
    if parsed.immunophenotype == "T" or (parsed.age_years is not None and parsed.age_years < 1):
        # design.md: the COG four groups are for B-ALL aged 1 year or more.
        assert result["cog_risk_group"] is None


@PROPERTY_SETTINGS
@given(record=valid_records(), data=st.data())
def test_a_relapse_without_its_time_or_sites_is_still_relapsed(record: dict[str, Any], data: st.DataObject) -> None:
    """A relapse whose time or sites are unknown (an EHR's "in relapse" diagnosis) is no longer a contract error
    (issue 12): the assessment is relapsed, and what is unknown stays unknown, never guessed."""
    relapses = data.draw(relapse_lists(female=record.get("sex") == "female"))
    name = data.draw(st.sampled_from(["months_from_diagnosis", "sites"]))
    del relapses[-1][name]
    record["relapses"] = relapses
    result = assess(parse_record(record), KB)
    assert result["disease_state"] == "relapsed"
    relapse = result["relapse"]
    assert relapse is not None and relapse["number"] == len(relapses)
    if name == "months_from_diagnosis":
        assert relapse["months_from_diagnosis"] is None and relapse["timing"] is None
        assert relapse["age_at_relapse_years"] is None
    else:
        assert relapse["sites"] == [] and relapse["combined"] is None and relapse["isolated_extramedullary"] is None


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_populations_follow_the_inputs(record: dict[str, Any]) -> None:
    parsed = parse_record(record)
    populations = set(assess(parsed, KB)["populations"])
    latest_sites = set(parsed.relapses[-1].sites or ()) if parsed.relapses else set()
    expected = {
        "infant": parsed.age_years is not None and parsed.age_years < 1,
        "t_cell": parsed.immunophenotype == "T",
        "down_syndrome": parsed.down_syndrome is True,
        "ph_positive": "BCR::ABL1" in (parsed.genetics or ()),
        "cns_disease": parsed.cns_status == "CNS3" or "cns" in latest_sites,
        "testicular_disease": parsed.testicular_involvement is True or "testis" in latest_sites,
    }
    for population, member in expected.items():
        assert (population in populations) == member, population
    if parsed.age_years is not None:
        assert ("adolescent_young_adult" in populations) == (parsed.age_years >= 15)


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_missing_lists_only_record_paths_that_were_not_given(record: dict[str, Any]) -> None:
    parsed = parse_record(record)
    result = assess(parsed, KB)
    given_values = parsed.model_dump(mode="json")
    for path in result["missing"] + result["upcoming"]:
        assert _is_record_path(path), f"{path!r} is not a field of the record contract"
        assert value_at(given_values, path) in (None, ABSENT), (
            f"{path} was given ({value_at(given_values, path)!r}) but is listed as missing"
        )
    assert len(set(result["missing"])) == len(result["missing"])


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_parsing_is_pure_and_round_trips(record: dict[str, Any]) -> None:
    before = copy.deepcopy(record)
    parsed = parse_record(record)
    assert record == before, "parse_record changed its input"
    # What allpath would store (JSON of the typed record) reads back as the same record.
    stored = parsed.model_dump(mode="json", exclude_none=True)
    assert parse_record(json.loads(json.dumps(stored))) == parsed
    # The same record always gives the same assessment.
    assert assess(parsed, KB) == assess(parse_record(before), KB)


# --------------------------------------------------------------------------------------------------
# Invalid records: the error names the field, the value and what is allowed
# --------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(invalid=invalid_records())
def test_invalid_record_error_names_field_value_and_what_is_allowed(invalid: Invalid) -> None:
    event(invalid.kind)
    before = copy.deepcopy(invalid.record)
    with pytest.raises(RecordError) as caught:
        parse_record(invalid.record)
    error = caught.value
    assert error.problems, "RecordError without problems"
    assert all(is_same_or_ancestor(field, invalid.path) for field in error.fields), (
        f"{invalid.kind}: expected {invalid.path!r}, the error names {error.fields}"
    )
    assert_names_the_field(str(error).splitlines(), invalid)
    assert any(word in str(error) for word in ("expected", "allowed"))
    assert invalid.record == before, "parse_record changed its input"


@PROPERTY_SETTINGS
@given(
    value=st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers(), max_size=2)
    )
)
def test_a_value_that_is_not_an_object_is_rejected_as_the_record(value: Any) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(value)
    assert caught.value.fields == ["record"]
    assert "expected a JSON object" in str(caught.value)


@PROPERTY_SETTINGS
@given(
    birth=st.one_of(
        st.dates(min_value=date(1980, 1, 1), max_value=date(2030, 12, 31)),
        st.dates(min_value=date(1, 1, 1), max_value=date(9900, 12, 31)),
    ),
    days=st.one_of(st.integers(-400, 16_000), st.integers(14_600, 14_620)),
)
def test_any_pair_of_dates_gives_an_age_in_range_or_names_the_date_at_fault(birth: date, days: int) -> None:
    diagnosis = birth + timedelta(days=days)
    record = {"birth_date": birth.isoformat(), "diagnosis_date": diagnosis.isoformat()}
    outside_window = {
        name
        for name, day in (("birth_date", birth), ("diagnosis_date", diagnosis))
        if not limits.EARLIEST_DATE <= day <= limits.LATEST_DATE
    }
    at_fault = set(outside_window)
    if diagnosis < birth or approx_age(birth, diagnosis) >= 39.99:
        at_fault.add("diagnosis_date")
    try:
        parsed = parse_record(record)
    except RecordError as error:
        assert at_fault, f"rejected: {error}"
        assert set(error.fields) <= at_fault, (error.fields, at_fault)
        for problem in error.problems:
            assert f'"{record[problem.field]}"' in str(error)  # dates quoted as typed in JSON
        return
    assert not outside_window, f"accepted a date outside {limits.EARLIEST_DATE} to {limits.LATEST_DATE}"
    assert diagnosis >= birth
    assert parsed.age_years is not None and 0 <= parsed.age_years < 40
    assert abs(parsed.age_years - approx_age(birth, diagnosis)) < 0.01


# --------------------------------------------------------------------------------------------------
# What a clinician expects: more information never makes the answer weaker or lower
# --------------------------------------------------------------------------------------------------


@st.composite
def _record_and_earlier_record(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A newly diagnosed child's record, and the same record earlier in the work-up (fewer inputs)."""
    full = draw(st.one_of(valid_records(newly_diagnosed=True), valid_records(complete=True)))
    return full, draw(st.one_of(fewer_inputs(full), one_input_fewer(full)))


@PROPERTY_SETTINGS
@given(pair=_record_and_earlier_record())
def test_adding_inputs_never_removes_or_lowers_a_risk_group(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, earlier = pair
    before = _assess(earlier)
    after = _assess(full)
    event(f"risk group {before['risk_group']} -> {after['risk_group']}")
    if before["risk_group"] is not None:
        assert after["risk_group"] is not None, f"{before['risk_group']} became null"
        assert _risk_rank(after["risk_group"]) >= _risk_rank(before["risk_group"]), (
            f"{before['risk_group']} lowered to {after['risk_group']} by adding inputs"
        )
    if before["cog_risk_group"] is not None:
        assert after["cog_risk_group"] is not None, f"COG {before['cog_risk_group']} became null"


@PROPERTY_SETTINGS
@given(pair=_record_and_earlier_record())
def test_a_final_assessment_does_not_change_when_inputs_are_added(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    full, earlier = pair
    before = _assess(earlier)
    if before["provisional"] or before["upcoming"]:
        event("earlier assessment provisional")
        return
    event("earlier assessment final")
    after = _assess(full)
    assert after["risk_group"] == before["risk_group"]
    assert after["cog_risk_group"] == before["cog_risk_group"]


@PROPERTY_SETTINGS
@given(record=valid_records(newly_diagnosed=True), negative=MRD_NEGATIVE, positive=MRD_POSITIVE)
def test_raising_end_of_induction_mrd_to_positive_never_lowers_the_risk_group(
    record: dict[str, Any], negative: float, positive: float
) -> None:
    response = record.get("response") or {}
    low = _assess({**record, "response": {**response, "end_of_induction_marrow_mrd_pct": negative}})
    high = _assess({**record, "response": {**response, "end_of_induction_marrow_mrd_pct": positive}})
    # End-of-induction MRD of 0.01 % or more is a very-high-risk feature on its own.
    assert high["risk_group"] == "very_high"
    if low["risk_group"] is not None:
        assert _risk_rank(high["risk_group"]) >= _risk_rank(low["risk_group"])
    if low["cog_risk_group"] is not None and high["cog_risk_group"] is not None:
        assert COG_ORDER[high["cog_risk_group"]] >= COG_ORDER[low["cog_risk_group"]]


@PROPERTY_SETTINGS
@given(record=valid_records(newly_diagnosed=True), finding=st.sampled_from(FINDINGS))
def test_adding_a_genetic_finding_never_lowers_the_risk_group(record: dict[str, Any], finding: str) -> None:
    findings = [t for t in record.get("genetics") or [] if t != "none_detected"]
    if finding in findings:
        return
    before = _assess(record)
    after = _assess({**record, "genetics": [*findings, finding]})
    if before["risk_group"] is not None:
        assert after["risk_group"] is not None
        assert _risk_rank(after["risk_group"]) >= _risk_rank(before["risk_group"]), (
            f"adding {finding} to {record.get('genetics')} lowered {before['risk_group']} to {after['risk_group']}"
        )


RELAPSE_ORDER = {"low": 0, "intermediate": 1, "high": 2}


@st.composite
def _first_relapse_and_earlier(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record with one relapse whose lineage and block-1 MRD are known, and the same without some of them."""
    full = draw(valid_records())
    full["immunophenotype"] = draw(st.sampled_from(["B", "T"]))
    full["relapses"] = draw(relapse_lists(female=full.get("sex") == "female", min_size=1, max_size=1))
    full["relapses"][0]["end_of_block1_mrd_pct"] = draw(st.one_of(MRD_NEGATIVE, MRD_POSITIVE))
    earlier = copy.deepcopy(full)
    if draw(st.booleans(), label="lineage not yet known"):
        del earlier["immunophenotype"]
    if draw(st.booleans(), label="block-1 MRD not yet known"):
        del earlier["relapses"][0]["end_of_block1_mrd_pct"]
    return full, earlier


@PROPERTY_SETTINGS
@given(pair=_first_relapse_and_earlier())
def test_a_first_relapse_with_its_inputs_known_has_a_relapse_risk_group_that_inputs_never_lower(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    full, earlier = pair
    after = present(_assess(full)["relapse"])
    before = present(_assess(earlier)["relapse"])
    assert after["number"] == 1
    # Lineage, sites, timing and block-1 MRD known: every first relapse falls in one of the groups.
    assert after["risk_group"] in RELAPSE_ORDER, after
    assert after["timing"] in {"early", "late"}
    if before["risk_group"] is not None:
        assert RELAPSE_ORDER[present(after["risk_group"])] >= RELAPSE_ORDER[before["risk_group"]]
    basis = present(after["timing_basis"])
    assert (after["timing"] == "early") == (full["relapses"][0]["months_from_diagnosis"] < basis["early_below_months"])


@PROPERTY_SETTINGS
@given(record=valid_records(complete=True))
def test_a_complete_record_is_not_provisional(record: dict[str, Any]) -> None:
    parsed = parse_record(record)
    result = assess(parsed, KB)
    assert "genetics" not in result["missing"]
    assert result["missing"] == [], result["missing"]
    assert result["provisional"] is False
    assert result["upcoming"] == []
    assert result["risk_group"] is not None
    if parsed.immunophenotype == "B" and parsed.age_years is not None and parsed.age_years >= 1:
        assert result["cog_risk_group"] is not None


# --------------------------------------------------------------------------------------------------
# Regressions: records these properties found that once crashed or were wrongly accepted
# --------------------------------------------------------------------------------------------------


def test_a_date_at_the_end_of_the_calendar_is_an_input_error_not_a_crash() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({"birth_date": "9999-01-01", "diagnosis_date": "9999-06-01"})
    assert caught.value.fields and set(caught.value.fields) <= {"birth_date", "diagnosis_date"}


def test_an_age_of_40_or_more_from_the_dates_is_rejected_when_age_years_agrees_with_them() -> None:
    # The dates give 40.02 years; age_years 39.99 agrees with them within 0.05 years, and the parsed
    # record held age_years 40.02, outside the contract's 0 <= x < 40.
    record = {"age_years": 39.99, "birth_date": "2000-01-01", "diagnosis_date": "2040-01-08"}
    with pytest.raises(RecordError) as caught:
        parse_record(record)
    assert caught.value.fields and set(caught.value.fields) <= {"age_years", "diagnosis_date"}


def test_only_calendar_dates_yyyy_mm_dd_are_accepted() -> None:
    with pytest.raises(RecordError) as caught:
        parse_record({"birth_date": "2020-W01-1"})
    assert caught.value.fields == ["birth_date"]
