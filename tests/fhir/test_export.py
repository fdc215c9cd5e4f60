"""Every resource allpath exports validates with the fhir.resources R4B models, and the risk Observation and
CarePlan carry the assessment: groups, status, versions, phases, therapies and drugs with certainty and
citations."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.fhir import care_plan, import_bundle, record_to_bundle, risk_observation, second_opinion_bundle
from allpath.interfaces.fhir.codes import LOCAL_SYSTEM, MCODE, UCUM, extension_url
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import EXAMPLES
from tests.fhir.conftest import as_json, read_json
from tests.fhir.test_round_trip import extended_records
from tests.property.strategies import PROPERTY_SETTINGS


def validate_every_entry(bundle: dict[str, Any]) -> None:
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))


@PROPERTY_SETTINGS
@given(extended_records())
def test_every_exported_resource_is_valid_r4(kb: KnowledgeBase, record: dict[str, Any]) -> None:
    validate_every_entry(record_to_bundle(record))
    validate_every_entry(second_opinion_bundle(record, assess(parse_record(record), kb)))


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = read_json(EXAMPLES / f"{name}.json")
    return data


def _extension(element: dict[str, Any], name: str) -> Any:
    for extension in element.get("extension", []):
        if extension["url"] == extension_url(name):
            return next(v for k, v in extension.items() if k.startswith("value") or k == "extension")
    return None


def _extensions(element: dict[str, Any], name: str) -> list[Any]:
    return [e["valueReference"] for e in element.get("extension", []) if e["url"] == extension_url(name)]


def test_the_risk_observation_carries_groups_versions_and_citations(kb: KnowledgeBase) -> None:
    assessment = assess(parse_record(_example("standard_risk")), kb)
    resource = as_json(risk_observation(assessment, "Patient/p", "Condition/c"))
    assert resource["status"] == "final"
    assert [c["code"] for c in resource["valueCodeableConcept"]["coding"]] == ["C122457", "risk_group.standard"]
    components = {comp["code"]["coding"][-1]["code"]: comp for comp in resource["component"]}
    assert components["cog-risk-group"]["valueCodeableConcept"]["coding"][-1]["code"] == "cog_risk_group.low"
    assert _extension(resource, "knowledge-version") == assessment["knowledge_version"]
    assert _extension(resource, "engine-version") == assessment["engine_version"]
    notes = [n["text"] for n in resource["note"]]
    for factor in assessment["factors"]:
        assert any(note.startswith(factor["id"] + ":") and factor["source"]["section"] in note for note in notes)


def test_a_provisional_assessment_is_preliminary_and_a_relapse_has_no_frontline_group(kb: KnowledgeBase) -> None:
    provisional = as_json(risk_observation(assess(parse_record({"age_years": 4}), kb), "Patient/p"))
    assert provisional["status"] == "preliminary"
    assert provisional["dataAbsentReason"]["coding"][0]["code"] == "temp-unknown"
    relapsed = as_json(risk_observation(assess(parse_record(_example("relapse_marrow_early")), kb), "Patient/p"))
    assert relapsed["dataAbsentReason"]["coding"][0]["code"] == "not-applicable"
    codes = [comp["code"]["coding"][-1]["code"] for comp in relapsed["component"]]
    assert "relapse-risk-group" in codes


def test_the_care_plan_has_phases_therapies_and_drugs_with_certainty_and_citation(kb: KnowledgeBase) -> None:
    assessment = assess(parse_record(_example("standard_risk")), kb)
    plan = as_json(care_plan(assessment, "Patient/p", "Condition/c"))
    get_fhir_model_class("CarePlan").model_validate(plan)
    assert plan["intent"] == "proposal" and plan["status"] == "draft"
    phases = [p["title"] for p in plan["contained"]]
    assert phases == [p["name"] for p in assessment["plan"]["phases"]]
    # Each contained phase is referred to by the plan (dom-3, ref-1), none by a bare "#".
    assert "partOf" not in json.dumps(plan["contained"])
    assert _extensions(plan, "phase") == [
        {"reference": f"#{p['id']}", "display": p["title"]} for p in plan["contained"]
    ]
    details = [a["detail"] for a in plan["activity"]]
    therapies = [d for d in details if d["kind"] == "ServiceRequest"]
    drugs = [d for d in details if d["kind"] == "MedicationRequest"]
    assert len(therapies) == len(assessment["plan"]["therapies"])
    assert len(drugs) == len(assessment["plan"]["drugs"])
    for detail, therapy in zip(therapies, assessment["plan"]["therapies"], strict=True):
        assert detail["code"]["coding"][0] == {
            "system": LOCAL_SYSTEM,
            "code": f"therapy.{therapy['code']}",
            "display": therapy["label"],
        }
        assert _extension(detail, "certainty") == therapy["certainty"]
        assert therapy["source"]["section"] in detail["description"]
        citation = {e["url"]: e["valueString"] for e in _extension(detail, "citation")}
        assert citation == therapy["source"]
    assert all(d["productCodeableConcept"]["coding"] for d in drugs)


# ---- what the R4 validators found, fixed ------------------------------------------------------------------


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for entry in bundle["entry"]:
        found.append(entry["resource"])
        found += entry["resource"].get("contained", [])
    return found


def test_every_resource_has_an_escaped_plain_words_narrative(kb: KnowledgeBase) -> None:
    record = {**_example("standard_risk"), "id": '<b>&"child"'}
    bundle = as_json(second_opinion_bundle(record, assess(parse_record(record), kb)))
    for resource in _resources(bundle):
        text = resource["text"]
        assert text["status"] == "generated"
        assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"><p>') and text["div"].endswith(
            "</p></div>"
        )
        inner = text["div"][len('<div xmlns="http://www.w3.org/1999/xhtml"><p>') : -len("</p></div>")]
        assert inner.strip() and "<" not in inner and "record-id" not in inner
    weight = next(r for r in _resources(bundle) if r.get("code", {}).get("text") == "Body weight")
    assert "17.1 kg" in weight["text"]["div"]
    ruled_out = next(
        r for r in _resources(bundle) if r.get("verificationStatus", {}).get("coding", [{}])[0].get("code") == "refuted"
    )
    assert "Ruled out: " in ruled_out["text"]["div"]


def test_every_observation_is_dated_or_says_its_date_is_unknown() -> None:
    record = {**_example("standard_risk"), "diagnosis_date": "2024-02-01", "birth_date": "2019-11-20"}
    record.pop("age_years")
    observations = [r for r in _resources(record_to_bundle(record)) if r["resourceType"] == "Observation"]
    dated = {r["code"]["coding"][-1]["code"]: r.get("effectiveDateTime") for r in observations}
    # The findings at diagnosis carry its date; the record dates nothing else (weight, height, response).
    assert dated["wbc"] == dated["cns-status"] == dated["genetic-finding"] == "2024-02-01"
    assert dated["testicular-involvement"] == dated["steroid-pretreatment"] == "2024-02-01"
    for observation in observations:
        if observation.get("effectiveDateTime") is None:
            absent = observation["_effectiveDateTime"]["extension"]
            assert absent == [
                {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
            ]
    assert dated["body-weight"] is None and dated["day8-blood-mrd-pct"] is None


def test_an_age_of_0_is_not_an_age_but_still_reads_back() -> None:
    """age-1: an Age must be positive. 0 travels as a Quantity in the age-at-diagnosis extension; 0.01 (one
    step past it) stays an onsetAge."""
    for age, key in ((0, "valueQuantity"), (0.01, None)):
        record = {"age_years": age, "immunophenotype": "B"}
        condition = next(r for r in _resources(record_to_bundle(record)) if r["resourceType"] == "Condition")
        if key:
            assert "onsetAge" not in condition
            assert condition["extension"][0][key] == {"value": 0, "unit": "years", "system": UCUM, "code": "a"}
        else:
            assert condition["onsetAge"]["value"] == age and "extension" not in condition
        assert import_bundle(record_to_bundle(record)).record == record


def test_doses_by_body_surface_area_and_radiation_carry_the_mcode_extensions() -> None:
    record = {
        "age_years": 6,
        "exposures": {
            "courses": [
                {"drug": "doxorubicin", "date": "2024-03-01", "dose_mg_per_m2": 30},
                {"drug": "vincristine", "date": "2024-03-01", "dose_mg": 1.4, "dose_mg_per_m2": 1.5},
                {"drug": "vincristine", "date": "2024-03-08", "dose_mg": 1.4},
            ],
            "radiation": [{"site": "cranial", "dose_gy": 12, "date": "2024-06-01"}],
        },
    }
    resources = _resources(record_to_bundle(record))
    basis = [
        [e for e in r.get("extension", []) if e["url"] == MCODE["normalization_basis_extension"]]
        for r in resources
        if r["resourceType"] == "MedicationAdministration"
    ]
    bsa = {"system": "http://snomed.info/sct", "code": "301898006", "display": "Body surface area (observable entity)"}
    assert basis == [
        [{"url": MCODE["normalization_basis_extension"], "valueCodeableConcept": {"coding": [bsa]}}]
    ] * 2 + [[]]
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    dose = next(e for e in procedure["extension"] if e["url"] == MCODE["dose_delivered_extension"])
    parts = {p["url"]: p for p in dose["extension"]}
    assert parts["volume"]["valueReference"] == {"reference": "#volume"}
    volume = procedure["contained"][0]
    assert (volume["resourceType"], volume["id"], volume["meta"]["profile"]) == (
        "BodyStructure",
        "volume",
        [MCODE["radiotherapy_volume"]],
    )
    assert volume["patient"] == procedure["subject"]
    assert parts["totalDoseDelivered"]["valueQuantity"]["value"] == 1200
    assert import_bundle(record_to_bundle(record)).record == record
