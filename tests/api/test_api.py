"""The JSON API over both backends: versions, assessments and changes, invalid records, the audit log,
sessions, CSRF, API tokens, the sign-in rate limit, invitations and the de-identified export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from allpath import __version__
from allpath.domain.labels import field_label
from allpath.storage import tables as t
from tests.api.conftest import PASSWORDS, Service
from tests.conftest import complete_b_all


def _new_patient(service: Service, headers: dict[str, str], **record: Any) -> dict[str, Any]:
    body = {"display_name": "New child", "record": complete_b_all(**record)}
    response = service.client().post("/api/patients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# ---- versions, assessments, changes ------------------------------------------------------------------


def test_an_update_adds_a_version_and_explains_the_reassessment(service: Service) -> None:
    client, auth = service.client(), service.bearer("clinician")
    created = _new_patient(service, auth, id="V-1")
    assert created["current_version"] == 1
    assert created["assessment"]["patient_version"] == 1
    assert created["assessment"]["knowledge_version"] == service.kb.version
    assert created["assessment"]["engine_version"] == __version__
    assert created["assessment"]["changes"] == []
    pid = created["id"]

    updated_record = complete_b_all(id="V-1", end_of_induction_marrow_mrd_pct=1.2)
    response = client.put(f"/api/patients/{pid}", json={"record": updated_record}, headers=auth)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["current_version"] == 2
    assert updated["record"] == updated_record
    assert updated["display_name"] == "New child"
    assert updated["assessment"]["result"]["risk_group"] == "very_high"
    messages = [c["message"] for c in updated["assessment"]["changes"]]
    assert "risk group: standard -> very high, because end-of-induction bone marrow MRD 1.2 %" in messages

    versions = client.get(f"/api/patients/{pid}/versions", headers=auth).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["record"] == complete_b_all(id="V-1")  # the first version is unchanged
    assert versions[1]["record"] == updated_record
    assessments = client.get(f"/api/patients/{pid}/assessments", headers=auth).json()
    assert [a["patient_version"] for a in assessments] == [1, 2]
    assert [a["result"]["risk_group"] for a in assessments] == ["standard", "very_high"]
    assert all(a["knowledge_version"] == service.kb.version for a in assessments)
    assert all(a["engine_version"] == __version__ for a in assessments)

    export = client.get(f"/api/patients/{pid}/export", headers=auth).json()
    assert [v["_version"] for v in export["versions"]] == [1, 2]
    assert len(export["assessments"]) == 2


def test_the_stateless_assessment_stores_nothing(service: Service) -> None:
    before = service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment)
    for role in ("clinician", "researcher"):
        response = service.client().post("/api/assess", json=complete_b_all(), headers=service.bearer(role))
        assert response.status_code == 200, response.text
        assert response.json()["risk_group"] == "standard"
        assert response.json()["knowledge_version"] == service.kb.version
    assert (service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment)) == before


# ---- invalid records -----------------------------------------------------------------------------------

INVALID_RECORDS = [
    ({"age_years": 5, "wbc_per_ul": 12.5}, "wbc_per_ul"),
    ({"age_years": 5, "genetics": ["none_detected", "iAMP21"]}, "genetics"),
    ({"response": {"end_of_induction_marrow_mrd_pct": 140}}, "response.end_of_induction_marrow_mrd_pct"),
    ({"age_years": 5, "favourite_colour": "blue"}, "favourite_colour"),
]


@pytest.mark.parametrize(("record", "field"), INVALID_RECORDS)
def test_an_invalid_record_is_rejected_with_the_field_named_and_nothing_stored(
    service: Service, record: dict[str, Any], field: str
) -> None:
    client, auth = service.client(), service.bearer("clinician")
    before = service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment)
    calls = [
        ("POST", "/api/patients", {"display_name": "Invalid", "record": record}),
        ("PUT", f"/api/patients/{service.patient_id}", {"record": record}),
        ("POST", "/api/assess", record),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code == 422, (method, path, response.text)
        payload = response.json()
        assert [e["field"] for e in payload["errors"]] == [field], payload  # the record path, for software
        message = payload["errors"][0]["message"]
        assert field_label(field) in message  # the field's label, for people
        if field not in field_label(field):  # a known field: its label, not its key
            assert field not in message
        assert payload["errors"][0]["allowed"]
    assert (service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment)) == before
    current = client.get(f"/api/patients/{service.patient_id}", headers=auth).json()
    assert current["current_version"] == 1


def test_a_malformed_body_is_rejected_and_nothing_stored(service: Service) -> None:
    client, auth = service.client(), service.bearer("clinician")
    before = service.count(t.Patient), service.count(t.PatientVersion)
    for body in ({"record": complete_b_all()}, {"display_name": "", "record": {}}, {"display_name": "x"}, [1]):
        response = client.post("/api/patients", json=body, headers=auth)
        assert response.status_code == 422, response.text
    response = client.post("/api/patients", content=b"{not json", headers=auth | {"content-type": "application/json"})
    assert response.status_code == 422
    assert (service.count(t.Patient), service.count(t.PatientVersion)) == before


# ---- the audit log -------------------------------------------------------------------------------------


def test_every_read_and_write_of_patient_data_is_audited(service: Service) -> None:
    clin, family, researcher = service.bearer("clinician"), service.bearer("family"), service.bearer("researcher")
    client = service.client()
    pid = service.patient_id
    created = _new_patient(service, clin, id="AUD-1")
    calls: list[tuple[str, str, Any, dict[str, str], str, str, str | None]] = [
        # method, path, body, auth, expected action, resource, resource id
        ("GET", "/api/patients", None, clin, "list", "patient", None),
        ("GET", f"/api/patients/{pid}", None, clin, "read", "patient", pid),
        ("GET", f"/api/patients/{pid}", None, family, "read", "patient", pid),
        ("PUT", f"/api/patients/{pid}", {"record": complete_b_all(weight_kg=20.0)}, clin, "update", "patient", pid),
        ("GET", f"/api/patients/{pid}/versions", None, clin, "read", "patient_versions", pid),
        ("GET", f"/api/patients/{pid}/assessments", None, clin, "read", "assessments", pid),
        ("GET", f"/api/patients/{pid}/assessments", None, family, "read", "assessments", pid),
        ("POST", f"/api/patients/{pid}/invitations", None, clin, "create", "invitation", pid),
        ("GET", f"/api/patients/{pid}/export", None, clin, "export", "patient", pid),
        ("POST", "/api/assess", complete_b_all(), clin, "assess", "record", None),
        ("POST", "/api/assess", complete_b_all(), researcher, "assess", "record", None),
        ("GET", "/api/export/deidentified", None, researcher, "export", "deidentified", None),
        # denied reads are audited too
        ("GET", f"/api/patients/{service.other_team_patient_id}", None, clin, "read", "patient", None),
        ("PUT", f"/api/patients/{service.other_team_patient_id}", {"record": {}}, clin, "read", "patient", None),
        ("POST", "/api/patients", {"display_name": "x", "record": {"age_years": 99}}, clin, "create", "patient", None),
        ("PUT", f"/api/patients/{pid}", {"record": {"age_years": 99}}, clin, "update", "patient", pid),
    ]
    users_by_token = {json.dumps(clin): "clinician", json.dumps(family): "family", json.dumps(researcher): "researcher"}
    for method, path, body, auth, action, resource, resource_id in calls:
        seen = len(service.audit())
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code < 500, response.text
        new = service.audit()[seen:]
        assert len(new) == 1, (method, path, [(e.action, e.resource) for e in new])
        entry = new[0]
        role = users_by_token[json.dumps(auth)]
        assert (entry.action, entry.resource) == (action, resource), (method, path)
        assert entry.user_id == service.users[role] and entry.role == role
        if resource_id is not None:
            assert entry.resource_id == resource_id
        expected_outcome = (
            "ok" if response.status_code < 300 else ("denied" if response.status_code == 404 else "invalid")
        )
        assert entry.outcome == expected_outcome, (method, path, response.status_code, entry.outcome)
    assert created["id"] in {e.resource_id for e in service.audit()}


def test_the_audit_log_holds_no_patient_record_values(service: Service) -> None:
    clin = service.bearer("clinician")
    client = service.client()
    record = complete_b_all(id="SECRET-ID-4711", age_years=None, birth_date="2016-02-29", diagnosis_date="2022-07-11")
    created = _new_patient(service, clin, **{k: record.get(k) for k in ("id", "age_years", "birth_date")})
    client.put(
        f"/api/patients/{created['id']}",
        json={"display_name": "Rumpelstiltskin Example", "record": record | {"wbc_per_ul": 73_421}},
        headers=clin,
    )
    for path in ("", "/versions", "/assessments", "/export"):
        client.get(f"/api/patients/{created['id']}{path}", headers=clin)
    client.post("/api/assess", json=record, headers=clin)
    client.get("/api/export/deidentified", headers=service.bearer("researcher"))
    entries = service.audit()
    assert len(entries) >= 8
    text = json.dumps([[e.action, e.resource, e.resource_id, e.outcome, e.detail] for e in entries])
    for value in ("SECRET-ID-4711", "2016-02-29", "2022-07-11", "Rumpelstiltskin", "New child", "73421", "73,421"):
        assert value not in text
    for value in ("Child of Team", "none_detected", "CNS1", "male"):
        assert value not in text
    admin_view = client.get("/api/audit", headers=service.bearer("admin"))
    assert admin_view.status_code == 200
    assert "SECRET-ID-4711" not in admin_view.text and "Rumpelstiltskin" not in admin_view.text


# ---- sessions, CSRF, tokens, rate limit ------------------------------------------------------------


def test_sign_in_and_out_with_the_session_cookie(service: Service) -> None:
    client = service.client()
    assert client.get("/api/me").status_code == 401
    response = client.post("/api/session", json={"username": "clin", "password": PASSWORDS["clinician"]})
    assert response.status_code == 200
    assert response.json()["role"] == "clinician" and response.json()["csrf_token"]
    cookie_header = response.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    raw = client.cookies["allpath_session"]
    assert client.get("/api/me").json()["username"] == "clin"

    csrf = response.json()["csrf_token"]
    assert client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/me").status_code == 401
    replay = service.client()
    replay.cookies.set("allpath_session", raw)
    assert replay.get("/api/me").status_code == 401  # the session ended on the server, not only in the browser
    actions = [(e.action, e.outcome) for e in service.audit() if e.resource == "session"]
    assert actions[-2:] == [("sign_in", "ok"), ("sign_out", "ok")]


def test_a_wrong_password_is_refused(service: Service) -> None:
    client = service.client()
    for body in ({"username": "clin", "password": "wrong"}, {"username": "nobody-here", "password": "x"}):
        response = client.post("/api/session", json=body)
        assert response.status_code == 401
        assert "allpath_session" not in client.cookies


def test_cookie_authenticated_writes_need_the_csrf_token(service: Service) -> None:
    client, csrf = service.sign_in("clinician")
    body = {"display_name": "CSRF child", "record": complete_b_all()}
    before = service.count(t.Patient)
    assert client.post("/api/patients", json=body).status_code == 403
    assert client.post("/api/patients", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.put(f"/api/patients/{service.patient_id}", json={"record": {}}).status_code == 403
    assert client.post("/api/tokens", json={"name": "x"}).status_code == 403
    assert client.delete("/api/session").status_code == 403
    assert service.count(t.Patient) == before
    assert client.get("/api/patients").status_code == 200  # reads need no token
    assert client.post("/api/patients", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert service.count(t.Patient) == before + 1
    # another session's token is no good either
    _, other_csrf = service.sign_in("clinician")
    assert client.post("/api/patients", json=body, headers={"X-CSRF-Token": other_csrf}).status_code == 403


def test_api_tokens_work_without_csrf(service: Service) -> None:
    client, csrf = service.sign_in("clinician")
    response = client.post("/api/tokens", json={"name": "lab import"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    token = response.json()["token"]
    machine = service.client()  # no cookie
    auth = {"Authorization": f"Bearer {token}"}
    assert machine.get("/api/me", headers=auth).json()["username"] == "clin"
    created = machine.post("/api/patients", json={"display_name": "Token", "record": complete_b_all()}, headers=auth)
    assert created.status_code == 201
    assert machine.put(f"/api/patients/{created.json()['id']}", json={"record": {}}, headers=auth).status_code == 200
    bad = machine.get("/api/me", headers={"Authorization": "Bearer ap_not-a-token"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    # A wrong token is refused even when a valid session cookie comes along.
    assert client.get("/api/me", headers={"Authorization": "Bearer ap_not-a-token"}).status_code == 401


def test_sign_in_is_rate_limited_per_user_name_and_client(service: Service) -> None:
    limit = service.app.state.settings.sign_in_limits.per_name_and_client
    client = service.client()
    for _ in range(limit):
        assert client.post("/api/session", json={"username": "clin", "password": "wrong"}).status_code == 401
    blocked = client.post("/api/session", json={"username": "clin", "password": PASSWORDS["clinician"]})
    assert blocked.status_code == 429
    assert "allpath_session" not in client.cookies
    # another user is not affected
    assert client.post("/api/session", json={"username": "admin", "password": PASSWORDS["admin"]}).status_code == 200
    # nor is the same user at another client: failures elsewhere cannot lock a colleague out
    elsewhere = TestClient(service.app, raise_server_exceptions=False, client=("192.0.2.7", 50000))
    good = {"username": "clin", "password": PASSWORDS["clinician"]}
    assert elsewhere.post("/api/session", json=good).status_code == 200
    outcomes = [e.outcome for e in service.audit() if e.action == "sign_in"]
    assert outcomes[-limit - 3 :] == ["denied"] * limit + ["rate_limited", "ok", "ok"]


def test_one_client_guessing_across_many_user_names_is_limited(service: Service) -> None:
    limits = service.app.state.settings.sign_in_limits
    assert limits.per_client > limits.per_name_and_client
    client = TestClient(service.app, raise_server_exceptions=False, client=("198.51.100.3", 40000))
    names = [f"guess{i}" for i in range(limits.per_client)]
    statuses = [client.post("/api/session", json={"username": n, "password": "x"}).status_code for n in names]
    assert statuses == [401] * limits.per_client  # never more than per_name_and_client for one name
    good = {"username": "clin", "password": PASSWORDS["clinician"]}
    assert client.post("/api/session", json=good).status_code == 429
    other = TestClient(service.app, raise_server_exceptions=False, client=("198.51.100.4", 40000))
    assert other.post("/api/session", json=good).status_code == 200


# ---- invitations, families, teams ----------------------------------------------------------------------


def test_an_invitation_code_links_a_family_account_to_exactly_one_child(service: Service) -> None:
    clin = service.bearer("clinician")
    client = service.client()
    sibling = _new_patient(service, clin, id="SIB-1")  # same team, not linked
    response = client.post(f"/api/patients/{service.patient_id}/invitations", headers=clin)
    assert response.status_code == 201
    code = response.json()["code"]
    body = {"code": code.lower(), "username": "grandma", "display_name": "Grandma", "password": "a-long-password"}
    joined = service.client().post("/api/invitations/accept", json=body)
    assert joined.status_code == 201, joined.text
    assert joined.json()["role"] == "family" and joined.json()["team_id"] is None
    again = service.client().post("/api/invitations/accept", json=body | {"username": "grandpa"})
    assert again.status_code == 400  # used

    family = service.client()
    assert family.post("/api/session", json={"username": "grandma", "password": "a-long-password"}).status_code == 200
    assert family.get(f"/api/patients/{service.patient_id}").status_code == 200
    assert family.get(f"/api/patients/{service.patient_id}/assessments").status_code == 200
    assert family.get(f"/api/patients/{sibling['id']}").status_code == 404
    assert family.get(f"/api/patients/{service.other_team_patient_id}").status_code == 404
    assert family.get(f"/api/patients/{service.patient_id}/versions").status_code == 403
    assert family.get("/api/patients").status_code == 403


def test_other_teams_patients_are_unknown(service: Service) -> None:
    client = service.client()
    other = service.bearer("other_clinician")
    for path in ("", "/versions", "/assessments", "/export"):
        assert client.get(f"/api/patients/{service.patient_id}{path}", headers=other).status_code == 404
    ids = [p["id"] for p in client.get("/api/patients", headers=other).json()]
    assert ids == [service.other_team_patient_id]
    missing = client.get("/api/patients/00000000-0000-0000-0000-000000000000", headers=other)
    assert missing.status_code == 404  # the same answer as for another team's patient


def test_the_deidentified_export_over_the_api(service: Service) -> None:
    clin = service.bearer("clinician")
    record = complete_b_all(id="MRN-31337", age_years=None, birth_date="2014-01-05", diagnosis_date="2020-09-30")
    created = service.client().post(
        "/api/patients", json={"display_name": "Ottoline Fairweather", "record": record}, headers=clin
    )
    assert created.status_code == 201
    response = service.client().get("/api/export/deidentified", headers=service.bearer("researcher"))
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 3
    for secret in ("Ottoline", "Fairweather", "MRN-31337", "2014-01", "2020-09", created.json()["id"]):
        assert secret not in response.text
    for secret in ("Child of Team", service.patient_id, service.other_team_patient_id, '"A-1"', '"B-1"'):
        assert secret not in response.text
    for row in rows:
        assert not {"id", "birth_date", "diagnosis_date"} & set(row["record"])
        assert set(row) == {
            "pseudonym",
            "record",
            "disease_state",
            "risk_group",
            "cog_risk_group",
            "provisional",
            "populations",
            "knowledge_version",
        }


# ---- acknowledged means committed ------------------------------------------------------------------


class _FailingCommit(Session):
    def commit(self) -> None:
        raise RuntimeError("the disk is full (simulated)")


def test_a_write_is_acknowledged_only_after_it_is_committed(service: Service) -> None:
    """The transaction commits before the response is sent: when the commit fails, the client gets a 5xx,
    never a 2xx for a write that was lost."""
    auth = service.bearer("clinician")
    before = service.count(t.Patient)
    service.app.state.sessions = sessionmaker(service.engine, class_=_FailingCommit, expire_on_commit=False)
    try:
        client = service.client()
        created = client.post("/api/patients", json={"display_name": "Lost", "record": complete_b_all()}, headers=auth)
        updated = client.put(f"/api/patients/{service.patient_id}", json={"record": complete_b_all()}, headers=auth)
    finally:
        service.app.state.sessions = sessionmaker(service.engine, expire_on_commit=False)
    assert created.status_code == 500
    assert updated.status_code == 500
    assert service.count(t.Patient) == before


# ---- hostile input -----------------------------------------------------------------------------------


def test_text_that_cannot_be_stored_is_refused_not_a_server_error(service: Service) -> None:
    """NUL characters (PostgreSQL cannot store them) and unpaired surrogates (not UTF-8) are a 422 that names
    the field; over-long or odd patient ids are simply unknown. Found by schemathesis on PostgreSQL."""
    client, auth = service.client(), service.bearer("clinician")
    raw = auth | {"content-type": "application/json"}
    before = service.count(t.Patient), service.count(t.PatientVersion), service.count(t.User)
    refused = [
        client.post("/api/session", json={"username": "a\x00b", "password": "x"}),
        client.post("/api/session", content='{"username": "\\ud800", "password": "x"}', headers=raw),
        client.post("/api/patients", content='{"display_name": "\\ud800", "record": {}}', headers=raw),
        client.post("/api/patients", json={"display_name": "x", "record": {"id": "a\x00"}}, headers=auth),
        client.post("/api/patients", json={"display_name": "a\x00", "record": {}}, headers=auth),
        client.put(f"/api/patients/{service.patient_id}", content='{"record": {"\\udfff": 1}}', headers=raw),
        client.post("/api/assess", content='{"id": "\\ud800"}', headers=raw),
        client.post("/api/tokens", json={"name": "a\x00"}, headers=auth),
        client.get("/api/patients", params={"q": "a\x00"}, headers=auth),
    ]
    for response in refused:
        assert response.status_code == 422, (response.request.url, response.text)
    fields = [e["loc"][-1] for e in refused[3].json()["detail"]]
    assert fields == ["id"]
    for path in ("a" * 100, "a%00b", "%ED%A0%80", "..%2F..%2Fetc"):
        assert client.get(f"/api/patients/{path}", headers=auth).status_code == 404
    assert (service.count(t.Patient), service.count(t.PatientVersion), service.count(t.User)) == before
