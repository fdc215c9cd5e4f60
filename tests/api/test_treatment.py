"""The treatment views of the API, on both backends: stateless roadmap, doses and survivorship; per patient
the same plus the roadmap as an iCalendar file, for the team's clinician and the child's family only; every
answer audited; invalid records and refused calculations as 422 naming the field."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from allpath.storage import tables as t
from tests.api.conftest import Service
from tests.conftest import complete_b_all

START = "2026-01-05"
PER_PATIENT = ("roadmap", "roadmap.ics", "doses?phase=induction", "survivorship")


@pytest.fixture(scope="module")
def service(module_service: Service) -> Service:
    """The module's service, with the family's child given a treatment start date, weight and height."""
    record = complete_b_all(id="A-1", treatment_start_date=START, weight_kg=18.0, height_cm=105.0)
    response = module_service.client().put(
        f"/api/patients/{module_service.patient_id}",
        json={"record": record},
        headers=module_service.bearer("clinician"),
    )
    assert response.status_code == 200, response.text
    return module_service


def _new_entries(service: Service, seen: int) -> list[t.AuditEntry]:
    return service.audit()[seen:]


def _get(service: Service, role: str, path: str) -> Any:
    return service.client().get(path, headers=service.bearer(role))


# ---- per patient -----------------------------------------------------------------------------------------


def test_family_reads_own_childs_roadmap_ics_and_not_another_childs(service: Service) -> None:
    seen = len(service.audit())
    response = _get(service, "family", f"/api/patients/{service.patient_id}/roadmap.ics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert 'filename="treatment-roadmap.ics"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    events = list(Calendar.from_ical(response.content).walk("VEVENT"))
    roadmap = _get(service, "family", f"/api/patients/{service.patient_id}/roadmap").json()
    assert roadmap["start_date"] == START
    assert len(events) == len(roadmap["phases"]) + len(roadmap["checkpoints"]) + 1
    starts = {str(e["SUMMARY"]): e.decoded("DTSTART") for e in events}
    for phase in roadmap["phases"]:
        assert starts[phase["label"]] == date.fromisoformat(phase["start"])
    induction = next(e for e in events if str(e["SUMMARY"]) == roadmap["phases"][0]["label"])
    assert induction.decoded("DTEND") == date.fromisoformat(roadmap["phases"][0]["end"]) + timedelta(days=1)
    for private in (b"Child of Team A", b"A-1", service.patient_id.encode()):
        assert private not in response.content

    other = _get(service, "family", f"/api/patients/{service.other_team_patient_id}/roadmap.ics")
    assert other.status_code == 404
    entries = [(e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in _new_entries(service, seen)]
    assert entries == [
        ("read", "roadmap", service.patient_id, "ok", "ics"),
        ("read", "roadmap", service.patient_id, "ok", "json"),
        ("read", "patient", service.other_team_patient_id, "denied", ""),
    ]
    assert all(e.role == "family" for e in _new_entries(service, seen))


def test_the_calendar_speaks_the_asked_language(service: Service) -> None:
    """``?lang=`` then ``Accept-Language`` (else English, unchanged): the words change, the events do not."""
    path = f"/api/patients/{service.patient_id}/roadmap.ics"
    english = _get(service, "family", path)
    by_query = _get(service, "family", path + "?lang=es")
    by_header = service.client().get(path, headers={**service.bearer("family"), "Accept-Language": "es-MX, en;q=0.5"})
    assert english.headers["content-language"] == "en" and b"SUMMARY;LANGUAGE=en:" in english.content
    for spanish in (by_query, by_header):
        assert spanish.status_code == 200 and spanish.headers["content-language"] == "es"
        assert spanish.content == by_query.content and b"SUMMARY;LANGUAGE=es:" in spanish.content
    es_events, en_events = (Calendar.from_ical(r.content).walk("VEVENT") for r in (by_query, english))
    assert [(e["UID"], e.decoded("DTSTART")) for e in es_events] == [
        (e["UID"], e.decoded("DTSTART")) for e in en_events
    ]
    assert str(es_events[-1]["SUMMARY"]) == "Final previsto del tratamiento"
    assert str(en_events[-1]["SUMMARY"]) == "Planned end of treatment"


@pytest.mark.parametrize("path", PER_PATIENT)
def test_family_and_clinician_read_every_view_of_their_child(service: Service, path: str) -> None:
    for role in ("family", "clinician"):
        response = _get(service, role, f"/api/patients/{service.patient_id}/{path}")
        assert response.status_code == 200, (role, response.text)
        if not path.endswith(".ics"):
            body = response.json()
            assert body["patient_id"] == service.patient_id and body["record_id"] == "A-1"
            assert body["patient_version"] >= 2
            assert "not a prescription" in body["disclaimer"]


@pytest.mark.parametrize("path", PER_PATIENT)
def test_researcher_admin_and_other_team_cannot_read_per_patient(service: Service, path: str) -> None:
    url = f"/api/patients/{service.patient_id}/{path}"
    assert _get(service, "researcher", url).status_code == 403
    assert _get(service, "admin", url).status_code == 403
    assert service.client().get(url).status_code == 401
    client, csrf = service.sign_in("other_clinician")
    assert client.get(url).status_code == 404  # another team's patient is unknown to this clinician


def test_per_patient_roadmap_is_the_stateless_roadmap_of_the_latest_record(service: Service) -> None:
    clin = service.bearer("clinician")
    client = service.client()
    stored = client.get(f"/api/patients/{service.patient_id}", headers=clin).json()["record"]
    mine = client.get(f"/api/patients/{service.patient_id}/roadmap", headers=clin).json()
    stateless = client.post("/api/roadmap", json={"record": stored}, headers=clin).json()
    assert {k: v for k, v in mine.items() if k not in ("patient_id", "patient_version")} == stateless
    assert mine["end_of_therapy"]["date"] == "2028-03-01"


def test_start_query_replaces_the_records_start_date(service: Service) -> None:
    base = f"/api/patients/{service.patient_id}/roadmap"
    moved = _get(service, "clinician", f"{base}?start=2026-03-02").json()
    assert moved["start_date"] == "2026-03-02" and moved["phases"][0]["start"] == "2026-03-02"
    ics = _get(service, "family", f"{base}.ics?start=2026-03-02")
    first = min(e.decoded("DTSTART") for e in Calendar.from_ical(ics.content).walk("VEVENT"))
    assert first == date(2026, 3, 2)
    out_of_range = _get(service, "clinician", f"{base}?start=1800-01-01")
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"][0]["field"] == "treatment_start_date"
    assert _get(service, "clinician", f"{base}?start=not-a-date").status_code == 422


def test_roadmap_ics_without_dates_is_422_naming_the_start_date(service: Service) -> None:
    clin = service.bearer("clinician")
    body = {"display_name": "Undated child", "record": complete_b_all(id="U-1")}
    created = service.client().post("/api/patients", json=body, headers=clin).json()
    seen = len(service.audit())
    response = _get(service, "clinician", f"/api/patients/{created['id']}/roadmap.ics")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["field"] == "treatment_start_date"
    entry = _new_entries(service, seen)[-1]
    assert (entry.action, entry.resource, entry.outcome, entry.detail) == (
        "read",
        "roadmap",
        "invalid",
        "treatment_start_date",
    )
    assert _get(service, "clinician", f"/api/patients/{created['id']}/roadmap.ics?start={START}").status_code == 200


def test_roadmap_ics_of_a_child_without_a_regimen_is_422_naming_the_regimen(service: Service) -> None:
    clin = service.bearer("clinician")
    record = complete_b_all(id="R-1", treatment_start_date=START)
    record["relapses"] = [{"months_from_diagnosis": 40, "sites": ["bone_marrow"]}]
    created = service.client().post("/api/patients", json={"display_name": "R", "record": record}, headers=clin)
    assert created.status_code == 201, created.text
    response = _get(service, "clinician", f"/api/patients/{created.json()['id']}/roadmap.ics")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "regimen"


def test_per_patient_doses_and_their_refusals(service: Service) -> None:
    base = f"/api/patients/{service.patient_id}/doses"
    seen = len(service.audit())
    doses = _get(service, "family", f"{base}?phase=induction").json()
    assert doses["regimen"] == "b_all_standard_risk" and doses["weight_kg"] == 18.0
    today = _get(service, "clinician", f"{base}?phase=maintenance&weight_kg=25&height_cm=120").json()
    assert today["weight_kg"] == 25.0 and today["height_cm"] == 120.0
    refused = _get(service, "clinician", f"{base}?phase=induction&weight_kg=900")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "weight_kg", "message": refused.json()["errors"][0]["message"]}]
    assert "not plausible" in refused.json()["errors"][0]["message"]
    unknown = _get(service, "clinician", f"{base}?phase=nope")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "phase"
    assert _get(service, "clinician", base).status_code == 422  # the phase is required
    entries = [(e.resource, e.outcome, e.detail) for e in _new_entries(service, seen)]
    assert entries == [
        ("doses", "ok", "b_all_standard_risk/induction"),
        ("doses", "ok", "b_all_standard_risk/maintenance"),
        ("doses", "invalid", "weight_kg"),
        ("doses", "invalid", "phase"),
    ]


def test_per_patient_doses_refuse_a_record_without_weight(service: Service) -> None:
    clin = service.bearer("clinician")
    body = {"display_name": "Unweighed child", "record": complete_b_all(id="W-1")}
    created = service.client().post("/api/patients", json=body, headers=clin).json()
    response = _get(service, "clinician", f"/api/patients/{created['id']}/doses?phase=induction")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "weight_kg"


# ---- stateless -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "action"),
    [
        ("/api/roadmap", {"record": complete_b_all(), "start": START}, "roadmap"),
        (
            "/api/doses",
            {"record": complete_b_all(weight_kg=20.0, height_cm=110.0), "phase": "delayed_intensification"},
            "doses",
        ),
        ("/api/survivorship", {"record": complete_b_all(treatment_start_date=START)}, "survivorship"),
    ],
)
def test_stateless_views_are_audited(service: Service, path: str, body: dict[str, Any], action: str) -> None:
    for role in ("clinician", "researcher"):
        seen = len(service.audit())
        response = service.client().post(path, json=body, headers=service.bearer(role))
        assert response.status_code == 200, response.text
        assert response.json()["knowledge_version"] == service.kb.version
        entries = [
            (e.action, e.resource, e.resource_id, e.outcome, e.detail, e.role) for e in _new_entries(service, seen)
        ]
        assert entries == [(action, "record", None, "ok", "stateless", role)]
    assert service.client().post(path, json=body, headers=service.bearer("family")).status_code == 403


def test_stateless_roadmap_dates_and_survivorship(service: Service) -> None:
    clin = service.bearer("clinician")
    roadmap = service.client().post("/api/roadmap", json={"record": complete_b_all(), "start": START}, headers=clin)
    assert roadmap.json()["phases"][0]["start"] == START
    plan = service.client().post(
        "/api/survivorship", json={"record": complete_b_all(treatment_start_date=START)}, headers=clin
    )
    assert plan.json()["basis"] == "planned" and plan.json()["end_of_therapy_date"] == "2028-03-01"


@pytest.mark.parametrize("path", ["/api/roadmap", "/api/doses", "/api/survivorship"])
def test_stateless_invalid_record_is_the_same_422_as_assess(service: Service, path: str) -> None:
    clin = service.bearer("clinician")
    invalid = complete_b_all(wbc_per_ul=12.5)
    seen = len(service.audit())
    response = service.client().post(path, json={"record": invalid, "phase": "induction"}, headers=clin)
    if path != "/api/doses":  # the other bodies have no phase: a malformed request first
        assert response.status_code == 422 and isinstance(response.json()["detail"], list)
        response = service.client().post(path, json={"record": invalid}, headers=clin)
    assert response.status_code == 422
    assert response.json() == service.client().post("/api/assess", json=invalid, headers=clin).json()
    assert response.json()["errors"][0]["field"] == "wbc_per_ul"
    assert [e.action for e in _new_entries(service, seen)] == []  # like /api/assess: nothing answered


@pytest.mark.parametrize(
    ("changes", "extra", "field"),
    [
        ({}, {}, "weight_kg"),
        ({"weight_kg": 20.0}, {}, "height_cm"),
        ({"weight_kg": 20.0, "height_cm": 110.0}, {"regimen": "nope"}, "regimen"),
        ({"weight_kg": 20.0, "height_cm": 110.0}, {"height_cm": 400.0}, "height_cm"),
        (
            {"weight_kg": 20.0, "height_cm": 110.0, "age_years": None, "birth_date": "2020-01-10"},
            {"on": "2019-06-01", "regimen": "b_all_standard_risk"},
            "on",
        ),
    ],
)
def test_stateless_dose_error_is_422_naming_the_field(
    service: Service, changes: dict[str, Any], extra: dict[str, Any], field: str
) -> None:
    record = complete_b_all(**changes)
    body = {"record": record, "phase": "induction", **extra}
    response = service.client().post("/api/doses", json=body, headers=service.bearer("clinician"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "this cannot be calculated"
    assert response.json()["errors"][0]["field"] == field


def test_stateless_doses_default_to_the_childs_regimen_and_refuse_without_one(service: Service) -> None:
    clin = service.bearer("clinician")
    record = complete_b_all(weight_kg=20.0, height_cm=110.0)
    assert service.client().post("/api/doses", json={"record": record, "phase": "induction"}, headers=clin).json()[
        "regimen"
    ] == ("b_all_standard_risk")
    record["immunophenotype"] = "T"
    response = service.client().post("/api/doses", json={"record": record, "phase": "induction"}, headers=clin)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "regimen"
    named = {"record": record, "phase": "induction", "regimen": "b_all_high_risk"}
    assert service.client().post("/api/doses", json=named, headers=clin).status_code == 200


def test_the_treatment_operations_are_documented(service: Service) -> None:
    document = service.client().get("/api/openapi.json").json()
    ics = document["paths"]["/api/patients/{patient_id}/roadmap.ics"]["get"]["responses"]
    assert list(ics["200"]["content"]) == ["text/calendar"]
    for status in ("401", "403", "404", "422"):
        assert list(ics[status]["content"]) == ["application/json"], status
    for path in ("/api/roadmap", "/api/doses", "/api/survivorship"):
        assert {"401", "403", "422"} <= set(document["paths"][path]["post"]["responses"])
