"""Every resource allpath exports validates with the fhir.resources R4B models, and the risk Observation and
CarePlan carry the assessment: groups, status, versions, phases, therapies and drugs with certainty and
citations."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.fhir import care_plan, record_to_bundle, risk_observation, second_opinion_bundle
from allpath.interfaces.fhir.codes import LOCAL_SYSTEM, extension_url
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
    assert all(p["partOf"] == [{"reference": "#"}] for p in plan["contained"])
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
