"""Disease state from an EHR's Conditions (issue 12): a relapse coded as ICD-10-CM C91.02, by NCIt, or by
Condition.clinicalStatus gives ``disease_state: relapsed`` with its time and sites where they are given and
listed as missing where not (never guessed); a remission is recognised but never taken as the end-of-induction
remission."""

from __future__ import annotations

from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.fhir import record_to_bundle
from allpath.interfaces.fhir.importer import ImportResult, import_bundle
from allpath.knowledge.loader import load_knowledge
from tests.fhir.conftest import as_json

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
MARROW = {"coding": [{"system": SNOMED, "code": "14016003", "display": "Bone marrow structure (body structure)"}]}
TESTIS = {"coding": [{"system": SNOMED, "code": "40689003", "display": "Testis structure (body structure)"}]}
PATIENT = {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "2015-03-01"}


def condition(ident: str, system: str, code: str, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": ident,
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    resource.update(fields)
    return resource


def status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CLINICAL, "code": code}]}


# The original diagnosis: B-ALL, not in remission (ICD-10-CM C91.00) and its SNOMED lineage.
DIAGNOSIS = {
    **condition("dx", ICD10CM, "C91.00", onsetDateTime="2020-01-10"),
    "code": {"coding": [{"system": ICD10CM, "code": "C91.00"}, {"system": SNOMED, "code": "277571004"}]},
}


def imported(*resources: dict[str, Any]) -> ImportResult:
    return import_bundle(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    )


def assessed(result: ImportResult) -> dict[str, Any]:
    record = {"wbc_per_ul": 12000, **result.record}
    if "diagnosis_date" not in record:
        record["age_years"] = 5
    return dict(assess(parse_record(record), load_knowledge()))


def reasons(result: ImportResult) -> str:
    return " | ".join(i["reason"] for i in result.ignored)


def test_c91_02_with_onset_and_site_is_a_dated_relapse() -> None:
    relapse = condition("rel", ICD10CM, "C91.02", onsetDateTime="2022-07-10", bodySite=[MARROW])
    result = imported(PATIENT, DIAGNOSIS, relapse)
    assert result.record["diagnosis_date"] == "2020-01-10"  # from the original diagnosis, not the relapse
    assert result.record["immunophenotype"] == "B"
    assert result.record["relapses"] == [{"months_from_diagnosis": 30.0, "sites": ["bone_marrow"]}]
    assessment = assessed(result)
    assert assessment["disease_state"] == "relapsed"
    assert assessment["relapse"]["timing"] == "early"  # a marrow relapse before 36 months
    assert assessment["relapse"]["risk_group"] == "high"


def test_c91_02_without_date_or_site_is_a_provisional_relapse() -> None:
    result = imported(PATIENT, condition("rel", ICD10CM, "C91.02"))
    assert result.record["relapses"] == [{}]
    assert "the relapse time is unknown" in reasons(result)
    assessment = assessed(result)
    assert assessment["disease_state"] == "relapsed"
    assert assessment["provisional"] is True
    assert {"relapses[0].months_from_diagnosis", "relapses[0].sites"} <= set(assessment["missing"])
    relapse = assessment["relapse"]
    assert (relapse["months_from_diagnosis"], relapse["sites"], relapse["timing"]) == (None, [], None)
    assert relapse["isolated_extramedullary"] is None and relapse["combined"] is None
    assert assessment["risk_group_meaning"] is None  # no newly-diagnosed risk group is offered for a relapse


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10CM, "C91.02"),
        (ICD10CM, "C9102"),  # undotted
        (ICD10CM, "c91.02"),
        ("urn:oid:2.16.840.1.113883.6.90", "C91.02"),  # the OID form of ICD-10-CM
        ("urn:oid:2.16.840.1.113883.6.90", "C9102"),
        (NCIT, "C7784"),  # Recurrent Childhood Acute Lymphoblastic Leukemia
        (SNOMED, "12301000132103"),  # Acute lymphoid leukemia relapse (disorder)
        ("urn:oid:2.16.840.1.113883.6.96", "12301000132103"),
    ],
)
def test_every_spelling_of_a_relapse_code_gives_relapsed(system: str, code: str) -> None:
    result = imported(PATIENT, DIAGNOSIS, condition("rel", system, code, onsetDateTime="2021-01-10"))
    assert result.record["relapses"] == [{"months_from_diagnosis": 12.0}]
    assert assessed(result)["disease_state"] == "relapsed"


@pytest.mark.parametrize("clinical", ["relapse", "recurrence"])
def test_clinical_status_relapse_on_a_leukemia_condition(clinical: str) -> None:
    leukemia = condition(
        "all", SNOMED, "91857003", onsetDateTime="2020-01-10", clinicalStatus=status(clinical), bodySite=[TESTIS]
    )
    result = imported(PATIENT, leukemia)
    # The Condition's onset is the diagnosis; the time of the relapse is not given, so it is not guessed.
    assert result.record["diagnosis_date"] == "2020-01-10"
    assert result.record["relapses"] == [{"sites": ["testis"]}]
    assert "the onset of the Condition is the diagnosis" in reasons(result)
    assessment = assessed(result)
    assert assessment["disease_state"] == "relapsed"
    assert "relapses[0].months_from_diagnosis" in assessment["missing"]


def test_clinical_status_relapse_on_another_condition_is_not_read() -> None:
    asthma = condition("asthma", SNOMED, "195967001", clinicalStatus=status("relapse"))
    result = imported(PATIENT, asthma)
    assert "relapses" not in result.record
    assert assessed(result)["disease_state"] == "newly_diagnosed"


@pytest.mark.parametrize(
    "remission",
    [
        condition("rem", ICD10CM, "C91.01", onsetDateTime="2024-05-01"),
        condition("rem", "urn:oid:2.16.840.1.113883.6.90", "C9101", onsetDateTime="2024-05-01"),
        condition("rem", SNOMED, "91856007", onsetDateTime="2024-05-01"),
        condition("rem", SNOMED, "91857003", onsetDateTime="2020-01-10", clinicalStatus=status("remission")),
    ],
)
def test_a_remission_is_recognised_but_never_made_the_end_of_induction_remission(remission: dict[str, Any]) -> None:
    result = imported(PATIENT, DIAGNOSIS, remission)
    assert "response" not in result.record
    assert "relapses" not in result.record
    assert result.record["diagnosis_date"] == "2020-01-10"  # the onset of "in remission" is not the diagnosis
    assert "a remission is recognised but not read" in reasons(result)
    assert assessed(result)["disease_state"] == "newly_diagnosed"


def test_relapse_observations_take_precedence_over_a_relapse_diagnosis() -> None:
    record = {"sex": "male", "age_years": 5, "relapses": [{"months_from_diagnosis": 40, "sites": ["cns"]}]}
    bundle: Any = as_json(record_to_bundle(record))
    relapse = condition("rel", ICD10CM, "C91.02", onsetDateTime="2022-07-10")
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    relapse["subject"] = {"reference": patient["fullUrl"]}
    bundle["entry"].append({"resource": relapse})
    result = import_bundle(bundle)
    assert result.record["relapses"] == [{"months_from_diagnosis": 40, "sites": ["cns"]}]
    assert "the Bundle's relapse Observations give the relapses" in reasons(result)


@pytest.mark.parametrize(
    ("onset", "months"),
    [("2020-01-09", None), ("2020-01-10", None), ("2020-01-11", 0.03), ("2023-01-10", 36.0)],
)
def test_relapse_time_at_and_around_the_diagnosis_date(onset: str, months: float | None) -> None:
    result = imported(PATIENT, DIAGNOSIS, condition("rel", ICD10CM, "C91.02", onsetDateTime=onset))
    assert result.record["relapses"] == [{} if months is None else {"months_from_diagnosis": months}]
    if months is None:
        assert "a relapse dated on or before the diagnosis" in reasons(result)


def test_36_months_is_a_late_marrow_relapse_and_one_day_less_early() -> None:
    def timing(onset: str) -> str:
        relapse = condition("rel", ICD10CM, "C91.02", onsetDateTime=onset, bodySite=[MARROW])
        return str(assessed(imported(PATIENT, DIAGNOSIS, relapse))["relapse"]["timing"])

    assert timing("2023-01-10") == "late"  # 36.0 calendar months
    assert timing("2023-01-09") == "early"  # 35.97 months


def test_dated_and_undated_relapse_diagnoses() -> None:
    dated = condition("rel1", ICD10CM, "C91.02", onsetDateTime="2021-01-10")
    undated = condition("rel2", NCIT, "C7784")
    result = imported(PATIENT, DIAGNOSIS, dated, undated)
    assert result.record["relapses"] == [{"months_from_diagnosis": 12.0}]
    assert "it may be the same relapse" in reasons(result)
    second = condition("rel3", ICD10CM, "C91.02", onsetDateTime="2023-01-10")
    assert imported(PATIENT, DIAGNOSIS, dated, second).record["relapses"] == [
        {"months_from_diagnosis": 12.0},
        {"months_from_diagnosis": 36.0},
    ]


def test_no_single_diagnosis_date_leaves_the_time_unknown() -> None:
    other = condition("dx2", ICD10CM, "C91.00", onsetDateTime="2020-02-10")
    result = imported(PATIENT, DIAGNOSIS, other, condition("rel", ICD10CM, "C91.02", onsetDateTime="2022-07-10"))
    assert result.record["relapses"] == [{}]


def test_a_provisional_relapse_survives_export_and_import() -> None:
    record = {"sex": "female", "age_years": 7, "relapses": [{}]}
    again = import_bundle(record_to_bundle(record))
    assert again.record["relapses"] == [{}]
    sites_only = {"sex": "male", "age_years": 7, "relapses": [{"sites": ["testis"]}]}
    assert import_bundle(record_to_bundle(sites_only)).record["relapses"] == [{"sites": ["testis"]}]
