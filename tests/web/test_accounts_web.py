"""Accounts through the pages: the administrator creates, resets, deactivates, re-activates and edits accounts
without ever reaching patient data; the owner activates with the code and chooses the password; a clinician
of the team confirms; passwords and API tokens on the account page; dead sessions are sent to sign in."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from allpath.storage import audit as audit_store
from allpath.storage import clock
from allpath.storage import tables as t
from tests.api.test_roles import app_routes
from tests.web.conftest import FORM_TOKEN, User, WebApp, sign_in

CODE = re.compile(r"<code>([0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8})</code>")
CHOSEN = "a pass phrase of my own choosing"


def _unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def _create(admin: User, role: str, team: str = "") -> tuple[str, str, int]:
    """(user name, activation code, id) of an account made on the admin page."""
    username = _unique(role)
    response = admin.post(
        "/admin/users", {"username": username, "display_name": f"New {role}", "role": role, "team": team}
    )
    assert response.status_code == 201, response.text[:300]
    assert "location" not in response.headers  # the code is shown in this answer, never in an address
    code = CODE.search(response.text)
    assert code is not None
    return username, code.group(1), _user_id(admin, username)


def _user_id(admin: User, username: str) -> int:
    page = admin.get("/admin/users").text
    found = re.search(rf'<tr id="account-(\d+)">\s*<th scope="row"><code>{re.escape(username)}</code>', page)
    assert found is not None
    return int(found.group(1))


def _activate(web: WebApp, username: str, code: str, password: str = CHOSEN, again: str | None = None) -> Any:
    client = TestClient(web.app, follow_redirects=False)
    token = FORM_TOKEN.search(client.get("/activate").text)
    assert token is not None
    data = {"username": username, "code": code, "password": password, "password_again": again or password}
    return client.post("/activate", data=data | {"csrf_token": token.group(1)})


def _play_the_person(web: WebApp, username: str, code: str) -> User:
    """What an administrator could do with the code it was shown: activate, then sign in through the page."""
    response = _activate(web, username, code)
    assert response.status_code == 303 and response.headers["location"] == "/signin?activated=1"
    return sign_in(web.app, username, CHOSEN)


def _sees_no_patient_data(web: WebApp, user: User) -> None:
    paths = ["/patients", "/patients/new", "/export", "/export/deidentified.json", "/export/deidentified.csv"]
    for patient_id in (web.ids["family_child"], web.ids["other_team"], web.ids["not_family"]):
        paths += [
            f"/patients/{patient_id}",
            f"/patients/{patient_id}/edit",
            f"/patients/{patient_id}/report",
            f"/patients/{patient_id}/report.pdf",
            f"/api/patients/{patient_id}",
        ]
    with web.app.state.sessions() as s:
        names = [p.display_name for p in s.scalars(select(t.Patient))]
    for path in paths:
        response = user.get(path, follow_redirects=False)
        assert response.status_code in (403, 404), f"{path}: {response.status_code}"
        assert not any(name in response.text for name in names), path
    assert user.get("/api/patients").status_code == 403
    account = user.get("/account")
    assert "Your account waits for confirmation" in account.text


def _confirm(clinician: User, user_id: int) -> None:
    response = clinician.post(f"/team/{user_id}/confirm", follow_redirects=False)
    assert response.status_code == 303, response.text[:300]


# ---- the administrator never reaches patient data ----------------------------------------------------------


def test_an_admin_creating_a_clinician_in_a_team_with_patients_sees_nothing(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "clinician", "Demo oncology team")
    person = _play_the_person(web, username, code)
    assert person.get("/", follow_redirects=False).headers["location"] == "/account"
    _sees_no_patient_data(web, person)


def test_an_admin_creating_a_researcher_exports_nothing(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "researcher")
    _sees_no_patient_data(web, _play_the_person(web, username, code))


def test_an_admin_resetting_a_confirmed_account_sees_nothing(web: WebApp, admin: User, clinician: User) -> None:
    username, code, user_id = _create(admin, "clinician", "Demo oncology team")
    colleague = _play_the_person(web, username, code)
    _confirm(clinician, user_id)
    assert colleague.get("/patients").status_code == 200  # confirmed by the team: it reads the team's patients
    reset = admin.post(f"/admin/users/{user_id}/reset-password")
    assert reset.status_code == 200 and "Password of" in reset.text
    new_code = CODE.search(reset.text)
    assert new_code is not None
    assert colleague.get("/patients", follow_redirects=False).status_code == 303  # its session ended
    _sees_no_patient_data(web, _play_the_person(web, username, new_code.group(1)))


def test_an_admin_reactivating_an_account_sees_nothing(web: WebApp, admin: User, clinician: User) -> None:
    username, code, user_id = _create(admin, "clinician", "Demo oncology team")
    _play_the_person(web, username, code)
    _confirm(clinician, user_id)
    for action in ("deactivate", "reactivate"):
        response = admin.post(f"/admin/users/{user_id}/{action}", follow_redirects=False)
        assert response.status_code == 303 and f"done={action}" in response.headers["location"]
    _sees_no_patient_data(web, sign_in(web.app, username, CHOSEN))


def test_an_admin_editing_an_account_sees_nothing(web: WebApp, admin: User, clinician: User) -> None:
    username, code, user_id = _create(admin, "researcher")
    person = _play_the_person(web, username, code)
    _confirm(clinician, user_id)
    assert person.get("/export").status_code == 200
    response = admin.post(f"/admin/users/{user_id}/role", {"role": "clinician", "team": "Demo oncology team"})
    assert response.status_code == 200  # followed to the users page
    _sees_no_patient_data(web, person)


def test_the_first_clinician_of_a_new_team_sees_only_that_empty_team(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "clinician", _unique("Brand new team"))
    person = _play_the_person(web, username, code)
    assert person.get("/patients").status_code == 200
    with web.app.state.sessions() as s:
        names = [p.display_name for p in s.scalars(select(t.Patient))]
    assert not any(name in person.get("/patients").text for name in names)
    for patient_id in (web.ids["family_child"], web.ids["other_team"]):
        assert person.get(f"/patients/{patient_id}").status_code == 404


# ---- the owner's side ------------------------------------------------------------------------------------------


def _audit_since(web: WebApp, after: int) -> list[t.AuditEntry]:
    with web.app.state.sessions() as s:
        return list(s.scalars(select(t.AuditEntry).where(t.AuditEntry.id > after).order_by(t.AuditEntry.id)))


def _last_audit_id(web: WebApp) -> int:
    with web.app.state.sessions() as s:
        return max(e.id for e in audit_store.entries(s, 1))


def test_activation_follows_the_password_policy(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "researcher")
    before = _last_audit_id(web)
    assert _activate(web, username, code, CHOSEN, CHOSEN + "x").status_code == 422  # the two differ
    short = _activate(web, username, code, "fourteen chars")
    assert short.status_code == 422 and "the password is too short" in short.text  # the hint says how long:
    assert "At least 15 characters" in short.text
    same = _activate(web, username, code, username + "-2024")
    assert same.status_code == 422 and "user name" in same.text
    assert _activate(web, username, "00000000-00000000-00000000").status_code == 400
    assert _activate(web, username, code).status_code == 303
    assert _activate(web, username, code).status_code == 400  # used up
    outcomes = [e.outcome for e in _audit_since(web, before) if e.action == "activate"]
    assert outcomes == ["invalid", "invalid", "invalid", "denied", "ok", "denied"]


def test_a_user_changes_their_password_and_other_sessions_end(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "researcher")
    here = _play_the_person(web, username, code)
    elsewhere = sign_in(web.app, username, CHOSEN)
    data = {"current_password": "not it", "new_password": "another long pass phrase", "new_password_again": ""}
    assert here.post("/account/password", data).status_code == 422  # the two new ones differ
    data["new_password_again"] = data["new_password"]
    assert here.post("/account/password", data).status_code == 400  # the current one is wrong
    data["current_password"] = CHOSEN
    changed = here.post("/account/password", data)
    assert changed.status_code == 200 and "Your password is changed" in changed.text
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303
    sign_in(web.app, username, "another long pass phrase")


def test_a_user_makes_and_revokes_an_api_token(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "admin")
    person = _play_the_person(web, username, code)
    too_long = person.post("/account/tokens", {"name": "x", "days": "365"})
    assert too_long.status_code == 422
    made = person.post("/account/tokens", {"name": "registry import", "days": "7"})
    assert made.status_code == 201
    token = re.search(r"<code>(ap_[A-Za-z0-9_-]+)</code>", made.text)
    assert token is not None
    api = TestClient(web.app)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 200
    assert token.group(1) not in person.get("/account").text  # shown once
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', person.get("/account").text)
    assert token_id is not None
    revoked = person.post(f"/account/tokens/{token_id.group(1)}/revoke", follow_redirects=False)
    assert revoked.status_code == 303
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token.group(1)}"}).status_code == 401


def test_the_team_page_lists_who_reads_and_who_waits(web: WebApp, admin: User, clinician: User) -> None:
    username, code, user_id = _create(admin, "clinician", "Demo oncology team")
    _, _, not_activated = _create(admin, "clinician", "Demo oncology team")
    _play_the_person(web, username, code)
    page = clinician.get("/team")
    assert page.status_code == 200 and username in page.text and "Waiting for confirmation" in page.text
    assert f"/team/{not_activated}/confirm" not in page.text  # confirmed only once its owner chose a password
    assert clinician.post(f"/team/{not_activated}/confirm").status_code == 404
    _confirm(clinician, user_id)
    assert f"/team/{user_id}/confirm" not in clinician.get("/team").text


def test_admin_acts_on_the_pages_are_audited(web: WebApp, admin: User) -> None:
    _, _, user_id = _create(admin, "researcher")
    for action in ("deactivate", "reactivate", "revoke-tokens", "reset-password"):
        assert admin.post(f"/admin/users/{user_id}/{action}").status_code == 200
    admin.post(f"/admin/users/{user_id}/role", {"role": "admin", "team": ""})
    with web.app.state.sessions() as s:
        acts = [e.action for e in audit_store.entries(s, 200) if e.resource_id == str(user_id) and e.outcome == "ok"]
    assert set(acts) >= {"create", "deactivate", "reactivate", "revoke_tokens", "reset_password", "change_role"}
    before = _last_audit_id(web)
    page = admin.get("/admin/users").text
    admin_id = _user_id(admin, "admin")
    assert f"/admin/users/{admin_id}/deactivate" not in page  # no way to lock yourself out
    assert admin.post(f"/admin/users/{admin_id}/deactivate").status_code == 409
    assert admin.post("/admin/users/999999/reset-password").status_code == 404
    refusals = [(e.action, e.outcome) for e in _audit_since(web, before) if e.resource == "user" and e.action != "list"]
    assert refusals == [("deactivate", "denied"), ("reset_password", "denied")]


# ---- dead sessions are sent to sign in ------------------------------------------------------------------------


def _pages(web: WebApp) -> list[str]:
    """Every page (GET, outside the API) that needs sign-in, with a real patient id filled in."""
    pages = []
    for _kind, path, methods in app_routes(web.app):
        if path is None or "GET" not in (methods or ()) or path.startswith(("/api", "/static", "/docs")):
            continue
        pages.append(path.replace("{patient_id}", web.ids["family_child"]))
    return [p for p in pages if "{" not in p and TestClient(web.app).get(p, follow_redirects=False).status_code == 303]


@pytest.mark.parametrize("death", ["idle", "absolute", "deactivated"])
def test_dead_sessions_are_sent_to_sign_in_on_every_page(web: WebApp, admin: User, clinician: User, death: str) -> None:
    username, code, user_id = _create(admin, "clinician", "Demo oncology team")
    person = _play_the_person(web, username, code)
    _confirm(clinician, user_id)
    pages = _pages(web)
    assert "/patients" in pages and "/account" in pages and "/team" in pages
    with web.app.state.sessions() as s, s.begin():
        mine = update(t.Session).where(t.Session.user_id == user_id)
        if death == "idle":
            s.execute(mine.values(last_seen_at=clock.now() - timedelta(minutes=31)))
        elif death == "absolute":
            s.execute(mine.values(expires_at=clock.now()))
    if death == "deactivated":
        assert admin.post(f"/admin/users/{user_id}/deactivate").status_code == 200
    for path in pages:
        response = person.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin"), path
