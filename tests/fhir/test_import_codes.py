"""Standard codes and their spellings on import (issue 12): RxNorm clinical drugs (mCODE's own doxorubicin
administration), WHO ICD-10 and ICD-10-CM, OID-form system URIs, undotted ICD codes, ICD-10-CM comorbidities,
the other LOINC white-count, length and body-surface-area codes, the NCIt CNS status values and the US Core
birth sex."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from allpath.interfaces.fhir import codes, import_bundle, record_to_bundle
from allpath.interfaces.fhir.importer import ImportResult
from tests.conftest import require_shared
from tests.fhir.conftest import as_bundle, as_json, read_json

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
UCUM = "http://unitsofmeasure.org"
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
PATIENT = {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "2015-03-01"}


def imported(*resources: dict[str, Any]) -> ImportResult:
    return import_bundle(as_bundle(*resources))


def reasons(result: ImportResult) -> str:
    return " | ".join(i["reason"] for i in result.ignored)


def condition(system: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": system, "code": code}]},
    }


def observation(system: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o",
        "status": "final",
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2020-01-10",
        "code": {"coding": [{"system": system, "code": code}]},
        **value,
    }


def administration(system: str, code: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "m",
        "status": "completed",
        "subject": {"reference": "Patient/p"},
        "effectiveDateTime": "2020-02-01",
        "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]},
    }


# ---- medications -----------------------------------------------------------------------------------------


def test_mcodes_doxorubicin_administration_is_read(mcode: Path) -> None:
    example = read_json(
        mcode / "example" / "MedicationAdministration-cancer-related-medication-admin-doxorubicin-jenny-m.json"
    )
    assert example["medicationCodeableConcept"]["coding"][0]["code"] == "1790099"  # an RxNorm clinical drug
    example["subject"] = {"reference": "Patient/p"}
    result = imported(PATIENT, example)
    courses: Any = as_json(result.record)["exposures"]["courses"]
    assert [(c["drug"], c["dose_mg"], c["route"]) for c in courses] == [("doxorubicin", 105.96, "intravenous")]


@pytest.mark.parametrize(
    ("code", "drug"),
    [
        ("1790099", "doxorubicin"),  # 10 ML doxorubicin hydrochloride 2 MG/ML Injection
        ("197582", "dexamethasone"),  # dexamethasone 4 MG Oral Tablet
        ("105585", "methotrexate"),  # methotrexate 2.5 MG Oral Tablet
        ("197931", "mercaptopurine"),  # mercaptopurine 50 MG Oral Tablet
        ("3639", "doxorubicin"),  # ingredient
    ],
)
def test_rxnorm_clinical_drug_and_ingredient_codes(code: str, drug: str) -> None:
    for system in (RXNORM, "urn:oid:2.16.840.1.113883.6.88"):
        result = imported(PATIENT, administration(system, code))
        assert as_json(result.record)["exposures"]["courses"] == [{"drug": drug, "date": "2020-02-01"}]


def test_clinical_drug_codes_are_read_but_never_written() -> None:
    written = {c["code"] for c in codes.value("drug", "doxorubicin")}
    assert "3639" in written and "1790099" not in written
    bundle = record_to_bundle({"exposures": {"courses": [{"drug": "mercaptopurine", "date": "2020-02-01"}]}})
    text = json.dumps(bundle)
    assert '"103"' in text and "197931" not in text


# ---- code systems and spellings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10CM, "C91.00"),
        (ICD10CM, "C9100"),
        ("urn:oid:2.16.840.1.113883.6.90", "C91.00"),
        (ICD10, "C91.0"),  # WHO ICD-10
        (ICD10, "C910"),
        ("urn:oid:2.16.840.1.113883.6.3", "C91.0"),
        (SNOMED, "277571004"),
        ("urn:oid:2.16.840.1.113883.6.96", "277571004"),
    ],
)
def test_leukemia_codes_in_every_spelling(system: str, code: str) -> None:
    leukemia = {**condition(system, code), "onsetDateTime": "2020-01-10"}
    result = imported(PATIENT, leukemia)
    assert result.record["diagnosis_date"] == "2020-01-10"


@pytest.mark.parametrize("code", ["C91.1", "C911", "C91.02X"])
def test_other_icd_codes_are_not_leukemia(code: str) -> None:
    result = imported(PATIENT, {**condition(ICD10CM, code), "onsetDateTime": "2020-01-10"})
    assert "diagnosis_date" not in result.record


def test_the_dot_is_restored_only_for_icd_systems() -> None:
    assert codes.normalised("urn:oid:2.16.840.1.113883.6.90", " q909 ") == (ICD10CM, "Q90.9")
    assert codes.normalised(SNOMED, "91857003") == (SNOMED, "91857003")
    assert codes.normalised(ICD10CM, "C91") == (ICD10CM, "C91")  # a category: nothing to restore


@pytest.mark.parametrize(
    ("system", "code", "field", "value"),
    [
        (ICD10CM, "Q90.9", "down_syndrome", True),
        (ICD10CM, "Q909", "down_syndrome", True),
        ("urn:oid:2.16.840.1.113883.6.90", "Q90.0", "down_syndrome", True),
        (ICD10CM, "Q90.2", "down_syndrome", True),
        (ICD10CM, "Q85.01", "predisposition_syndromes", ["neurofibromatosis_1"]),
        (ICD10CM, "Q8501", "predisposition_syndromes", ["neurofibromatosis_1"]),
    ],
)
def test_icd10cm_comorbidities(system: str, code: str, field: str, value: object) -> None:
    assert imported(PATIENT, condition(system, code)).record[field] == value


@pytest.mark.parametrize("code", ["Q90.1", "Q85.00", "Q85.02"])
def test_codes_that_do_not_name_the_records_condition_are_not_read(code: str) -> None:
    record = imported(PATIENT, condition(ICD10CM, code)).record
    assert "down_syndrome" not in record and "predisposition_syndromes" not in record


# ---- observations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["6690-2", "26464-8", "804-5", "33256-9", "49498-9"])
def test_every_white_count_loinc(code: str) -> None:
    for system in (LOINC, "urn:oid:2.16.840.1.113883.6.1"):
        count = {"value": 12.5, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"}
        result = imported(PATIENT, observation(system, code, valueQuantity=count))
        assert result.record["wbc_per_ul"] == 12500


@pytest.mark.parametrize("code", ["8302-2", "8306-3"])
def test_height_and_body_length(code: str) -> None:
    length = {"value": 75, "unit": "cm", "system": UCUM, "code": "cm"}
    assert imported(PATIENT, observation(LOINC, code, valueQuantity=length)).record["height_cm"] == 75


def test_the_r4_body_length_example_is_read(r4_examples: Path) -> None:
    example = read_json(r4_examples / "Observation-body-length.json")
    example["subject"] = {"reference": "Patient/p"}
    assert imported(PATIENT, example).record["height_cm"] == 25


def test_body_surface_area_is_recognised_and_computed_instead() -> None:
    area = {"value": 0.8, "unit": "m2", "system": UCUM, "code": "m2"}
    result = imported(PATIENT, observation(LOINC, "8277-6", valueQuantity=area))
    assert "allpath computes it from height and weight" in reasons(result)
    assert set(result.record) == {"sex", "birth_date"}


@pytest.mark.parametrize(("code", "token"), [("C116833", "CNS1"), ("C116834", "CNS2"), ("C116835", "CNS3")])
def test_cns_status_from_ncit_values(code: str, token: str) -> None:
    local = codes.concept("cns_status")[-1]
    status = observation(
        local["system"], local["code"], valueCodeableConcept={"coding": [{"system": NCIT, "code": code}]}
    )
    assert imported(PATIENT, status).record["cns_status"] == token


def test_cns_status_is_exported_with_its_ncit_code_and_read_back() -> None:
    bundle = record_to_bundle({"cns_status": "CNS3"})
    assert "C116835" in json.dumps(bundle)
    assert import_bundle(bundle).record == {"cns_status": "CNS3"}


# ---- sex from the US Core birth-sex extension -------------------------------------------------------------


def patient(gender: str | None, birth_sex: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p", "birthDate": "2015-03-01"}
    if gender is not None:
        resource["gender"] = gender
    if birth_sex is not None:
        resource["extension"] = [{"url": BIRTH_SEX, "valueCode": birth_sex}]
    return resource


@pytest.mark.parametrize(
    ("gender", "birth_sex", "sex"),
    [
        (None, "F", "female"),
        (None, "M", "male"),
        ("female", "F", "female"),
        ("male", None, "male"),
        ("unknown", "M", "male"),  # a gender with no counterpart: the birth sex gives it
        ("female", "M", None),  # they differ: neither is taken
        ("male", "F", None),
        (None, "UNK", None),
    ],
)
def test_sex_from_gender_and_birth_sex(gender: str | None, birth_sex: str | None, sex: str | None) -> None:
    result = imported(patient(gender, birth_sex))
    assert result.record.get("sex") == sex
    if gender in ("female", "male") and sex is None:
        assert "the gender and the birth sex differ" in reasons(result)


def test_synthea_patients_keep_their_sex() -> None:
    folder = require_shared() / "fhir-samples" / "synthea"
    bundles = sorted(folder.glob("*.json"))
    assert len(bundles) == 40
    for path in bundles:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        person = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        assert any(x["url"] == BIRTH_SEX for x in person.get("extension", [])), path.name
        assert import_bundle(bundle).record["sex"] == person["gender"], path.name
