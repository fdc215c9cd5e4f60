"""import_bundle on hand-made Bundles: unit conversion, disagreeing sources, values the record contract does
not allow, resources it cannot use — reported, never guessed, never raised."""

from __future__ import annotations

from typing import Any

import pytest

from allpath.domain.labels import field_label
from allpath.domain.record import parse_record
from allpath.interfaces.fhir import import_bundle, record_to_bundle
from allpath.interfaces.fhir.codes import LOINC, UCUM
from tests.fhir.conftest import as_bundle, as_json

PATIENT = {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "2018-03-01"}


def observation(ident: str, code: str, value: dict[str, Any], subject: str = "Patient/p") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": subject},
        **value,
    }


def wbc(ident: str, value: float, unit: str, ucum: bool = True) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        quantity |= {"system": UCUM, "code": unit}
    return observation(ident, "6690-2", {"valueQuantity": quantity})


@pytest.mark.parametrize(
    ("value", "unit", "ucum", "expected"),
    [
        (12.5, "10*3/uL", True, 12_500),
        (12.5, "10*9/L", True, 12_500),
        (12_500, "/uL", True, 12_500),
        (12_500, "/mm3", True, 12_500),
        (12.5, "K/uL", False, 12_500),
        (12.5, "10^3/µL", False, 12_500),
        (88.5, "10*3/uL", True, 88_500),
    ],
)
def test_white_counts_are_converted_to_cells_per_microliter(value: float, unit: str, ucum: bool, expected: int) -> None:
    result = import_bundle(as_bundle(PATIENT, wbc("w", value, unit, ucum)))
    assert result.record["wbc_per_ul"] == expected
    assert result.mapped[-1] == {
        "field": "wbc_per_ul",
        "from": "Observation/w.valueQuantity",
        "why": "no date in the resource: taken as given; check when it was measured",
    }


def test_an_unknown_unit_is_reported_not_guessed() -> None:
    result = import_bundle(as_bundle(PATIENT, wbc("w", 12.5, "mmol/L")))
    assert "wbc_per_ul" not in result.record
    # mmol/L is a UCUM unit, of another dimension than a count: the reason quotes the unit as the Bundle gave it.
    assert any(i["resource"] == "Observation/w.valueQuantity" and '"mmol/L"' in i["reason"] for i in result.ignored)


def test_two_different_white_counts_are_a_conflict_and_the_field_is_left_out() -> None:
    result = import_bundle(as_bundle(PATIENT, wbc("a", 12.5, "10*3/uL"), wbc("b", 30_000, "/uL")))
    assert "wbc_per_ul" not in result.record
    [conflict] = as_json(result.conflicts)
    assert conflict["field"] == "wbc_per_ul"
    assert [v["value"] for v in conflict["values"]] == [12_500, 30_000]
    assert "left out" in conflict["resolution"]


def test_the_same_white_count_twice_is_no_conflict() -> None:
    result = import_bundle(as_bundle(PATIENT, wbc("a", 12.5, "10*3/uL"), wbc("b", 12_500, "/uL")))
    assert result.record["wbc_per_ul"] == 12_500 and not result.conflicts
    assert [m["from"] for m in result.mapped if m["field"] == "wbc_per_ul"] == [
        "Observation/a.valueQuantity",
        "Observation/b.valueQuantity",
    ]


def test_a_value_the_contract_does_not_allow_is_left_out_with_its_message() -> None:
    # 0.1 x 10^3/uL = 100 cells/uL: below the plausible range of the record contract.
    result = import_bundle(as_bundle(PATIENT, wbc("w", 0.1, "10*3/uL")))
    assert "wbc_per_ul" not in result.record
    [item] = [i for i in result.ignored if i.get("field") == "wbc_per_ul"]
    assert field_label("wbc_per_ul") in item["reason"]
    assert item["resource"] == "Observation/w.valueQuantity"
    assert "at least 200" in item["reason"]
    parse_record(result.record)


def test_testicular_involvement_of_a_girl_is_left_out() -> None:
    record = {"sex": "male", "testicular_involvement": True}
    bundle = as_json(record_to_bundle(record))
    bundle["entry"][0]["resource"]["gender"] = "female"
    result = import_bundle(bundle)
    assert result.record == {"sex": "female"}
    assert any(i.get("field") == "testicular_involvement" for i in result.ignored)


def test_resources_about_another_patient_are_ignored() -> None:
    result = import_bundle(as_bundle(PATIENT, wbc("w", 12.5, "10*3/uL"), observation("x", "29463-7", {}, "Patient/q")))
    assert result.record["wbc_per_ul"] == 12_500
    assert {"resource": "Observation/x", "reason": "about another subject than the Bundle's Patient"} in result.ignored


def test_several_patients_give_no_record() -> None:
    other = {**PATIENT, "id": "q"}
    result = import_bundle(as_bundle(PATIENT, other, wbc("w", 12.5, "10*3/uL")))
    assert result.record == {}
    assert len(result.ignored) == 3


@pytest.mark.parametrize(
    "bundle",
    [
        None,
        [],
        "Bundle",
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "entry": "x"},
        {"resourceType": "Bundle", "entry": [None, 5, {"resource": "x"}, {"resource": {"resourceType": 5}}]},
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "status": 7}}]},
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "2020"}}]},
    ],
)
def test_malformed_input_is_reported_never_raised(bundle: Any) -> None:
    result = import_bundle(bundle)
    assert result.ignored
    parse_record(result.record)


def test_an_invalid_resource_is_reported_with_the_validation_problem() -> None:
    broken = {**wbc("w", 12.5, "10*3/uL"), "code": "6690-2"}  # a string where a CodeableConcept belongs
    result = import_bundle(as_bundle(PATIENT, broken))
    [item] = [i for i in result.ignored if i["resource"] == "Observation/w"]
    assert item["reason"].startswith("not valid FHIR R4")


def test_preliminary_results_and_refuted_diagnoses_are_not_read() -> None:
    preliminary = {**wbc("w", 12.5, "10*3/uL"), "status": "preliminary"}
    condition = as_json(record_to_bundle({"immunophenotype": "T"}))["entry"][1]["resource"]
    refuted = {**condition, "id": "c", "subject": {"reference": "Patient/p"}}
    refuted["verificationStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]
    }
    refuted.pop("clinicalStatus")
    result = import_bundle(as_bundle(PATIENT, preliminary, refuted))
    assert "wbc_per_ul" not in result.record and "immunophenotype" not in result.record
    reasons = {i["resource"]: i["reason"] for i in result.ignored}
    assert "preliminary" in reasons["Observation/w"]
    assert "not confirmed" in reasons["Condition/c"]


def test_down_syndrome_refuted_reads_as_false_and_weights_convert() -> None:
    record = {"down_syndrome": False, "weight_kg": 20.5, "height_cm": 110}
    bundle = as_json(record_to_bundle(record))
    for entry in bundle["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity and quantity["code"] == "kg":
            quantity.update({"value": 20_500, "unit": "g", "code": "g"})
        if quantity and quantity["code"] == "cm":
            quantity.update({"value": 1.1, "unit": "m", "code": "m"})
    assert import_bundle(bundle).record == record
