"""FHIR through the API: ``POST /api/fhir/import`` (stores nothing, audited), ``POST /api/fhir/second-opinion``
(stateless) and ``GET /api/patients/{id}/fhir/second-opinion`` (the team's clinician and the child's family),
on both database backends. Roles are also in test_roles.EXPECTED; the OpenAPI description in test_schema."""

from __future__ import annotations

import json
from typing import Any

from allpath.interfaces.fhir import import_bundle, record_to_bundle
from allpath.storage import tables as t
from tests.api.conftest import Service
from tests.conftest import complete_b_all
from tests.fhir.test_export import validate_every_entry

FHIR_JSON = "application/fhir+json"


def _categories(bundle: dict[str, Any]) -> list[str]:
    return [
        (e["resource"].get("category") or [{"coding": [{"code": ""}]}])[0]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "CarePlan"
    ]


def _last_audit(service: Service) -> t.AuditEntry:
    return service.audit()[-1]


# ---- import --------------------------------------------------------------------------------------------


def test_import_returns_the_record_and_its_account_and_stores_nothing(module_service: Service) -> None:
    service = module_service
    record = complete_b_all(id="import-1", weight_kg=17.5)
    bundle = record_to_bundle(record)
    patients = service.count(t.Patient)
    response = service.client().post("/api/fhir/import", json=bundle, headers=service.bearer("clinician"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == json.loads(json.dumps(import_bundle(bundle).as_dict()))
    assert body["record"] == record
    assert {m["field"] for m in body["mapped"]} >= {"sex", "age_years", "weight_kg", "wbc_per_ul"}
    # Each field names its source; the date of the resource and why the value was chosen come when there are any.
    assert all({"field", "from"} <= set(m) <= {"field", "from", "date", "why"} for m in body["mapped"])
    [wbc] = [m for m in body["mapped"] if m["field"] == "wbc_per_ul"]
    assert wbc.get("date") == record.get("diagnosis_date") and wbc["why"]  # dated as the export dates it
    assert service.count(t.Patient) == patients
    entry = _last_audit(service)
    assert (entry.action, entry.resource, entry.outcome) == ("import", "fhir_bundle", "ok")
    assert entry.detail == f"{len(body['mapped'])} mapped, 0 ignored, 0 conflicts"
    assert "import-1" not in entry.detail and entry.resource_id is None


def test_an_imported_record_can_be_stored_as_a_patient(module_service: Service) -> None:
    service = module_service
    headers = service.bearer("clinician")
    client = service.client()
    bundle = record_to_bundle(complete_b_all(id="import-2"))
    # FHIR clients send application/fhir+json
    imported = client.post(
        "/api/fhir/import", content=json.dumps(bundle), headers={**headers, "Content-Type": FHIR_JSON}
    )
    assert imported.status_code == 200, imported.text
    created = client.post(
        "/api/patients", json={"display_name": "From FHIR", "record": imported.json()["record"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["record"] == complete_b_all(id="import-2")


def test_import_lists_conflicts_and_what_it_ignored(module_service: Service) -> None:
    service = module_service
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle({"age_years": 4, "wbc_per_ul": 10_000})))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    other = json.loads(json.dumps(wbc))
    other["fullUrl"] = "urn:uuid:00000000-0000-5000-8000-000000000002"
    other["resource"]["valueQuantity"]["value"] = 60
    bundle["entry"] += [other, {"resource": {"resourceType": "Encounter", "status": "finished"}}]
    response = service.client().post("/api/fhir/import", json=bundle, headers=service.bearer("clinician"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record"] == {"age_years": 4}
    assert [c["field"] for c in body["conflicts"]] == ["wbc_per_ul"]
    values = body["conflicts"][0]["values"]
    assert [(v["value"], v["from"]) for v in values] == [
        (10_000, f"Observation {wbc['fullUrl']}.valueQuantity"),
        (60_000, f"Observation {other['fullUrl']}.valueQuantity"),
    ]
    assert any("Encounter" in i["reason"] for i in body["ignored"])


def test_import_refuses_what_is_not_a_bundle(module_service: Service) -> None:
    service = module_service
    client, headers = service.client(), service.bearer("clinician")
    body: object
    for body in ({"resourceType": "Patient"}, {"age_years": 4}, [], {"resourceType": "Bundle", "entry": 3}):
        response = client.post("/api/fhir/import", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert isinstance(response.json()["detail"], list)
    response = client.post("/api/fhir/import", content=b"{not json", headers={**headers, "Content-Type": FHIR_JSON})
    assert response.status_code == 422


def test_only_clinicians_import(module_service: Service) -> None:
    service = module_service
    bundle = record_to_bundle(complete_b_all())
    for role in ("family", "researcher", "admin"):
        response = service.client().post("/api/fhir/import", json=bundle, headers=service.bearer(role))
        assert response.status_code == 403, role
    assert service.client().post("/api/fhir/import", json=bundle).status_code == 401


# ---- the stateless second-opinion package ------------------------------------------------------------------


def test_the_stateless_package_is_fhir_json_with_the_plans(module_service: Service) -> None:
    service = module_service
    record = complete_b_all(treatment_start_date="2026-01-05")
    for role in ("clinician", "researcher"):
        response = service.client().post("/api/fhir/second-opinion", json=record, headers=service.bearer(role))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        bundle = response.json()
        validate_every_entry(bundle)
        assert sorted(_categories(bundle)) == ["", "survivorship-care-plan", "treatment-roadmap"]
        assert import_bundle(bundle).record == record
        entry = _last_audit(service)
        assert (entry.action, entry.resource, entry.detail) == ("second_opinion", "record", "stateless")


def test_the_stateless_package_refuses_an_invalid_record(module_service: Service) -> None:
    service = module_service
    response = service.client().post(
        "/api/fhir/second-opinion", json={"age_years": 5, "wbc_per_ul": 12.5}, headers=service.bearer("clinician")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert [e["field"] for e in response.json()["errors"]] == ["wbc_per_ul"]


# ---- the package of a stored patient -------------------------------------------------------------------


def test_the_team_and_the_family_get_the_childs_package(module_service: Service) -> None:
    service = module_service
    url = f"/api/patients/{service.patient_id}/fhir/second-opinion"
    stored = service.client().get(f"/api/patients/{service.patient_id}", headers=service.bearer("clinician")).json()
    for role in ("clinician", "family"):
        response = service.client().get(url, headers=service.bearer(role))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(FHIR_JSON)
        bundle = response.json()
        validate_every_entry(bundle)
        assert import_bundle(bundle).record == stored["record"]
        risk = next(e["resource"] for e in bundle["entry"] if "meta" in e["resource"])
        assert (
            risk["valueCodeableConcept"]["coding"][-1]["code"]
            == f"risk_group.{stored['assessment']['result']['risk_group']}"
        )
        # the seeded child has a regimen (no start date): an undated roadmap and the planned follow-up
        assert sorted(_categories(bundle)) == ["", "survivorship-care-plan", "treatment-roadmap"]
        assert "Child of Team A" not in response.text  # no name in the package
        entry = _last_audit(service)
        assert (entry.action, entry.resource, entry.resource_id, entry.outcome) == (
            "read",
            "second_opinion",
            service.patient_id,
            "ok",
        )


def test_no_package_of_another_teams_child(module_service: Service) -> None:
    service = module_service
    url = f"/api/patients/{service.other_team_patient_id}/fhir/second-opinion"
    for role in ("clinician", "family"):
        assert service.client().get(url, headers=service.bearer(role)).status_code == 404
        entry = _last_audit(service)
        assert (entry.action, entry.outcome) == ("read", "denied")
    assert service.client().get(url, headers=service.bearer("researcher")).status_code == 403
