"""mCODE 4.0.0: its pediatric ALL example imports to the expected record, and the exported risk assessment
conforms to the mCODE ALL risk assessment profile (checked against the package's StructureDefinition)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import Assessment
from allpath.engine.assess import assess
from allpath.interfaces.fhir import import_bundle, risk_observation, second_opinion_bundle
from allpath.interfaces.fhir.assessment import PERFORMER
from allpath.interfaces.fhir.codes import MCODE
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.conftest import EXAMPLES
from tests.fhir.conformance import Terminology, check
from tests.fhir.conftest import as_bundle, as_json, read_json

PROFILE = "StructureDefinition-mcode-ALL-risk-assessment.json"


def _references(resource: dict[str, Any]) -> set[str]:
    refs = set()
    for key in ("subject", "patient"):
        if isinstance(resource.get(key), dict) and "reference" in resource[key]:
            refs.add(resource[key]["reference"])
    return refs


@pytest.fixture(scope="module")
def all_patient_resources(mcode: Path) -> list[dict[str, Any]]:
    """The example patient with ALL: found through the Condition that names lymphoblastic leukemia."""
    examples = [read_json(p) for p in sorted((mcode / "example").glob("*.json"))]
    conditions = [
        r
        for r in examples
        if r["resourceType"] == "Condition" and "lymphoblastic" in json.dumps(r.get("code", {})).lower()
    ]
    assert len(conditions) == 1, [c["id"] for c in conditions]
    patient_ref = conditions[0]["subject"]["reference"]
    patient = [r for r in examples if f"{r['resourceType']}/{r.get('id')}" == patient_ref]
    return patient + [r for r in examples if patient_ref in _references(r)]


def test_the_pediatric_all_example_imports_to_the_expected_record(all_patient_resources: list[dict[str, Any]]) -> None:
    result = import_bundle(as_bundle(*all_patient_resources))
    # Read by hand from the example (Brian L): Patient, B-ALL Condition, CBC white count in 10*3/uL,
    # ETV6::RUNX1 fusion (genes and change type, no token), four administrations with doses in mg (the
    # cyclophosphamide one is the file named by a uuid, which sorts first).
    assert result.record == {
        "sex": "male",
        "birth_date": "2021-01-01",
        "diagnosis_date": "2024-01-01",
        "immunophenotype": "B",
        "wbc_per_ul": 88_500,
        "genetics": ["ETV6::RUNX1"],
        "exposures": {
            "courses": [
                {"drug": "cyclophosphamide", "date": "2024-01-09", "dose_mg": 105.96, "route": "intravenous"},
                {"drug": "idarubicin", "date": "2024-01-09", "dose_mg": 5.4, "route": "intravenous"},
                {"drug": "prednisone", "date": "2024-01-09", "dose_mg": 36.01, "route": "intravenous"},
                {"drug": "vincristine", "date": "2024-01-09", "dose_mg": 2, "route": "intravenous"},
            ]
        },
    }
    assert result.conflicts == []
    assert parse_record(result.record).age_years == pytest.approx(3.0, abs=0.01)
    fields = {m["field"] for m in result.mapped}
    assert {"sex", "birth_date", "diagnosis_date", "immunophenotype", "wbc_per_ul", "genetics"} <= fields
    reasons = {i["resource"]: i["reason"] for i in result.ignored}
    # The lumbar puncture result is free text ("negative for presence of cancer ..."): not turned into CNS1.
    assert "free-text" in reasons["Observation/us-core-lumbar-puncture-result-brian-l"]
    assert "MedicationRequest" in reasons["MedicationRequest/cancer-related-medication-request-vincristine-brian-l"]


@pytest.fixture(scope="module")
def profile(mcode: Path) -> dict[str, Any]:
    structure: dict[str, Any] = read_json(mcode / PROFILE)
    return structure


@pytest.fixture(scope="module")
def terminology(mcode: Path, r4_examples: Path) -> Terminology:
    return Terminology.from_packages(mcode, r4_examples)


def test_the_checker_accepts_mcodes_own_all_risk_examples(
    mcode: Path, profile: dict[str, Any], terminology: Terminology
) -> None:
    examples = sorted((mcode / "example").glob("Observation-all-risk-assessment-*.json"))
    assert len(examples) == 2
    for path in examples:
        report = check(read_json(path), profile, terminology)
        assert report.errors == [], path.name
        assert report.missing_must_support == [], path.name
        assert report.notes == [] or all("not available" in n for n in report.notes)


def test_the_checker_rejects_what_the_profile_forbids(profile: dict[str, Any], terminology: Terminology) -> None:
    bad = {"resourceType": "Observation", "status": "done", "code": {"coding": [{"system": "x", "code": "y"}]}}
    errors = check(bad, profile, terminology).errors
    assert any("Observation.code" in e and "pattern" in e for e in errors)
    assert any("Observation.subject" in e for e in errors)
    assert any("Observation.category" in e for e in errors)
    assert any("Observation.status" in e and "observation-status" in e for e in errors)


def test_the_checker_reports_each_absent_must_support_element(
    profile: dict[str, Any], terminology: Terminology
) -> None:
    bare = {"resourceType": "Observation", "status": "final"}
    missing = check(bare, profile, terminology).missing_must_support
    assert missing == [
        "Observation.category",
        "Observation.code",
        "Observation.subject",
        "Observation.focus",
        "Observation.effective[x]",
        "Observation.performer",
        "Observation.value[x]",
    ]
    # A date given only as a data-absent-reason extension is there (FHIR JSON's _effectiveDateTime), and so is
    # a value whose absence dataAbsentReason explains.
    dated = {
        **bare,
        "_effectiveDateTime": {"extension": [{"url": "x", "valueCode": "unknown"}]},
        "dataAbsentReason": {},
    }
    missing = check(dated, profile, terminology).missing_must_support
    assert "Observation.effective[x]" not in missing and "Observation.value[x]" not in missing


def test_the_risk_assessment_code_has_the_display_mcode_gives_it(mcode: Path) -> None:
    valueset = read_json(mcode / "ValueSet-mcode-risk-assessment-type-vs.json")
    displays = {c["code"]: c["display"] for i in valueset["compose"]["include"] for c in i["concept"]}
    resource = as_json(risk_observation(assess(parse_record({"age_years": 5}), load_knowledge()), "Patient/p"))
    ncit = [c for c in resource["code"]["coding"] if c["code"] == "C167435"]
    assert ncit == [
        {"system": valueset["compose"]["include"][0]["system"], "code": "C167435", "display": displays["C167435"]}
    ]
    assert displays["C167435"] == "Leukemia Finding"


def _assessments(kb: KnowledgeBase) -> list[Assessment]:
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        data = read_json(path)
        for record in data if isinstance(data, list) else [data]:
            found.append(assess(parse_record(record), kb))
    found.append(assess(parse_record({"age_years": 5}), kb))  # provisional, groups still open
    return found


def test_exported_risk_observations_conform_to_the_mcode_profile(
    kb: KnowledgeBase, profile: dict[str, Any], terminology: Terminology
) -> None:
    groups = set()
    for assessment in _assessments(kb):
        resource = as_json(risk_observation(assessment, "Patient/p", "Condition/c", "2024-03-01"))
        report = check(resource, profile, terminology)
        assert report.errors == [], (assessment["record_id"], report.errors)
        # Required and must-support: every must-support element is there, the date and allpath as performer.
        assert report.missing_must_support == [], (assessment["record_id"], report.missing_must_support)
        assert resource["effectiveDateTime"] == "2024-03-01"
        assert resource["performer"] == [{"display": PERFORMER["display"]}]
        assert any(b.startswith("Observation.status (required)") for b in report.checked_bindings)
        assert any(b.startswith("Observation.value[x] (extensible)") for b in report.checked_bindings) or (
            "valueCodeableConcept" not in resource
        )
        group = assessment["risk_group"]
        groups.add(group)
        outside = [n for n in report.notes if n.startswith("extensible")]
        # standard and high are coded from the mCODE value set; very high has no code there (local code).
        assert bool(outside) == (group == "very_high"), (group, outside)
        assert resource["status"] == ("preliminary" if assessment["provisional"] else "final")
        assert resource["meta"]["profile"] == [profile["url"]]
    assert {"standard", "high", "very_high", None} <= groups


def test_the_packaged_risk_observation_is_dated_and_its_patient_and_condition_meet_mcode(kb: KnowledgeBase) -> None:
    """In the package the risk assessment carries the diagnosis date; without one, a data-absent-reason. Its
    subject has the name mCODE's cancer patient requires (absent: masked, allpath keeps no names) and its focus
    the Condition category."""
    undated = read_json(EXAMPLES / "standard_risk.json")
    assert "diagnosis_date" not in undated
    for record in (undated, {**undated, "diagnosis_date": "2024-01-15"}):
        bundle = as_json(second_opinion_bundle(record, assess(parse_record(record), kb)))
        resources = [entry["resource"] for entry in bundle["entry"]]
        risk = next(r for r in resources if r.get("meta", {}).get("profile") == [MCODE["all_risk_assessment"]])
        if "diagnosis_date" in record:
            assert risk["effectiveDateTime"] == "2024-01-15"
        else:
            assert "effectiveDateTime" not in risk
            assert risk["_effectiveDateTime"]["extension"][0]["valueCode"] == "unknown"
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        assert patient["name"] == [
            {
                "extension": [
                    {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}
                ]
            }
        ]
        leukemia = next(r for r in resources if r["resourceType"] == "Condition")
        assert leukemia["category"][0]["coding"][0]["code"] == "problem-list-item"
