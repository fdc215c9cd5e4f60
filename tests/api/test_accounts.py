"""The account life cycle through the JSON API, on both backends: activation codes instead of passwords set by
an administrator, password changes, expiring and revocable API tokens, idle and absolute session timeouts,
deactivation, confirmation by the data's owners, and the audit of every act and refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from allpath.storage import clock
from allpath.storage import tables as t
from tests.api.conftest import BACKENDS, PASSWORDS, PostgresServer, Service

NEW_PASSWORD = "a new and private pass phrase"


def _admin(service: Service) -> tuple[TestClient, dict[str, str]]:
    return service.client(), service.bearer("admin")


def _create(service: Service, **body: Any) -> dict[str, Any]:
    client, auth = _admin(service)
    response = client.post("/api/users", json={"display_name": "New person", **body}, headers=auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _sign_in(service: Service, username: str, password: str) -> TestClient:
    client = service.client()
    response = client.post("/api/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


# ---- activation ---------------------------------------------------------------------------------------------


def test_an_admin_creates_an_account_without_a_password_and_its_owner_activates_it(service: Service) -> None:
    client, auth = _admin(service)
    with_password = {"username": "nurse.kim", "display_name": "Nurse Kim", "role": "clinician", "team": "Team A"}
    refused = client.post("/api/users", json=with_password | {"password": "an admin-chosen password"}, headers=auth)
    assert refused.status_code == 422  # there is no password field at all
    created = _create(service, username="nurse.kim", role="clinician", team="Team A")
    code = created["activation"]["activation_code"]
    assert created["user"]["activated"] is False and created["user"]["data_access"] is False
    assert service.client().post("/api/session", json={"username": "nurse.kim", "password": ""}).status_code == 422
    anonymous = service.client()
    wrong = anonymous.post(
        "/api/activate", json={"username": "nurse.kim", "code": "00000000-0000", "password": NEW_PASSWORD}
    )
    assert wrong.status_code == 400
    other_name = anonymous.post("/api/activate", json={"username": "clin", "code": code, "password": NEW_PASSWORD})
    assert other_name.status_code == 400  # a code opens only its own account
    weak = anonymous.post("/api/activate", json={"username": "nurse.kim", "code": code, "password": "nurse.kim-12345"})
    assert weak.status_code == 422 and "user name" in weak.json()["detail"]
    done = anonymous.post(
        "/api/activate", json={"username": "nurse.kim", "code": code.lower(), "password": NEW_PASSWORD}
    )
    assert done.status_code == 200 and done.json()["activated"] is True
    again = anonymous.post(
        "/api/activate", json={"username": "nurse.kim", "code": code, "password": NEW_PASSWORD + "!"}
    )
    assert again.status_code == 400  # used up
    me = _sign_in(service, "nurse.kim", NEW_PASSWORD).get("/api/me").json()
    assert me["role"] == "clinician" and me["data_access"] is False  # Team A has data: it waits for a colleague
    audit = [(e.action, e.outcome) for e in service.audit() if e.resource == "user"]
    assert ("create", "ok") in audit and ("activate", "ok") in audit
    assert audit.count(("activate", "denied")) == 3 and ("activate", "invalid") in audit
    assert not any(code in (e.detail or "") or code in (e.resource_id or "") for e in service.audit())


def test_an_activation_code_expires(service: Service) -> None:
    account = service.new_account("researcher", activated=False)
    with service.sessions() as s, s.begin():
        s.execute(
            update(t.ActivationCode)
            .where(t.ActivationCode.user_id == account.id)
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )
    body = {"username": account.username, "code": account.code, "password": NEW_PASSWORD}
    assert service.client().post("/api/activate", json=body).status_code == 400


def test_family_accounts_come_only_by_invitation_and_clinicians_need_a_team(service: Service) -> None:
    client, auth = _admin(service)
    family = client.post("/api/users", json={"username": "fam1", "display_name": "F", "role": "family"}, headers=auth)
    assert family.status_code == 422
    teamless = client.post(
        "/api/users", json={"username": "doc1", "display_name": "D", "role": "clinician"}, headers=auth
    )
    assert teamless.status_code == 422 and "team" in teamless.json()["detail"]
    taken = client.post(
        "/api/users", json={"username": "clin", "display_name": "D", "role": "researcher"}, headers=auth
    )
    assert taken.status_code == 409
    assert [e.outcome for e in service.audit() if e.action == "create" and e.resource == "user"][-3:] == [
        "invalid",
        "invalid",
        "denied",
    ]


def test_the_first_clinician_of_an_empty_team_reads_it_at_once(service: Service) -> None:
    created = _create(service, username="founder", role="clinician", team="Brand new team")
    assert created["user"]["data_access"] is True  # nothing to see yet, nobody to ask
    second = _create(service, username="second", role="clinician", team="Brand new team")
    assert second["user"]["data_access"] is False  # the team has a clinician with access: they confirm


# ---- passwords ------------------------------------------------------------------------------------------------


def test_a_user_changes_their_password_and_their_other_sessions_end(service: Service) -> None:
    this, csrf = service.sign_in("clinician")
    other, _ = service.sign_in("clinician")
    headers = {"X-CSRF-Token": csrf}
    wrong = this.put(
        "/api/me/password", json={"current_password": "not it", "new_password": NEW_PASSWORD}, headers=headers
    )
    assert wrong.status_code == 400
    body = {"current_password": PASSWORDS["clinician"], "new_password": "clinician-password"[:14]}
    assert this.put("/api/me/password", json=body, headers=headers).status_code == 422  # 14 characters
    body["new_password"] = NEW_PASSWORD
    assert this.put("/api/me/password", json=body, headers=headers).status_code == 204
    assert this.get("/api/me").status_code == 200  # this session goes on
    assert other.get("/api/me").status_code == 401  # the other one ended
    assert (
        service.client().post("/api/session", json={"username": "clin", "password": PASSWORDS["clinician"]}).status_code
        == 401
    )
    _sign_in(service, "clin", NEW_PASSWORD)
    outcomes = [e.outcome for e in service.audit() if e.action == "change_password"]
    assert outcomes == ["denied", "invalid", "ok"]
    assert not any(NEW_PASSWORD in (e.detail or "") for e in service.audit())


def test_a_family_invitation_follows_the_password_policy(service: Service) -> None:
    body = {
        "code": service.invitation(),
        "username": "grandpa",
        "display_name": "Grandpa",
        "password": "grandpa123456789",
    }
    client = service.client()
    assert client.post("/api/invitations/accept", json=body).status_code == 422
    assert client.post("/api/invitations/accept", json=body | {"password": "a" * 14}).status_code == 422
    assert client.post("/api/invitations/accept", json=body | {"password": "porch swing in june"}).status_code == 201


# ---- API tokens ---------------------------------------------------------------------------------------------


def test_tokens_expire_after_the_configured_days_or_fewer(service: Service) -> None:
    client, auth = service.client(), service.bearer("clinician")
    longer = client.post("/api/tokens", json={"name": "too long", "days": 91}, headers=auth)
    assert longer.status_code == 400  # ALLPATH_TOKEN_DAYS is 90 here
    made = client.post("/api/tokens", json={"name": "a week", "days": 7}, headers=auth).json()
    mine = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/me", headers=mine).status_code == 200
    listed = {row["id"]: row for row in client.get("/api/tokens", headers=auth).json()}
    assert listed[made["id"]]["expired"] is False and "token" not in listed[made["id"]]
    with service.sessions() as s, s.begin():
        s.execute(update(t.ApiToken).where(t.ApiToken.id == made["id"]).values(expires_at=clock.now()))
    assert client.get("/api/me", headers=mine).status_code == 401
    default = client.post("/api/tokens", json={"name": "default"}, headers=auth).json()
    assert default["expires_at"] > made["expires_at"]


def test_a_user_revokes_their_own_token_and_no_other(service: Service) -> None:
    client = service.client()
    made = client.post("/api/tokens", json={"name": "to revoke"}, headers=service.bearer("researcher")).json()
    assert client.delete(f"/api/tokens/{made['id']}", headers=service.bearer("clinician")).status_code == 404
    assert client.delete(f"/api/tokens/{made['id']}", headers=service.bearer("researcher")).status_code == 204
    assert client.get("/api/me", headers={"Authorization": f"Bearer {made['token']}"}).status_code == 401
    assert client.delete(f"/api/tokens/{made['id']}", headers=service.bearer("researcher")).status_code == 404
    outcomes = [e.outcome for e in service.audit() if e.action == "revoke" and e.resource == "api_token"]
    assert outcomes == ["denied", "ok", "denied"]


# ---- sessions: idle and absolute timeouts -----------------------------------------------------------------------


def _age_sessions(service: Service, **values: Any) -> None:
    with service.sessions() as s, s.begin():
        s.execute(update(t.Session).values(**values))


def test_a_session_ends_after_30_idle_minutes(service: Service) -> None:
    client, _ = service.sign_in("clinician")
    _age_sessions(service, last_seen_at=clock.now() - timedelta(minutes=29, seconds=50))
    assert client.get("/api/me").status_code == 200  # within the idle time: and it counts as use
    _age_sessions(service, last_seen_at=clock.now() - timedelta(minutes=30))
    assert client.get("/api/me").status_code == 401


def _last_seen(service: Service) -> datetime:
    with service.sessions() as s:
        return s.scalars(select(t.Session.last_seen_at)).one()


def test_last_use_is_written_at_most_once_a_minute(service: Service) -> None:
    client, _ = service.sign_in("clinician")
    first = _last_seen(service)
    assert client.get("/api/me").status_code == 200
    assert _last_seen(service) == first  # used again within the minute: not written
    earlier = clock.now() - timedelta(minutes=2)
    _age_sessions(service, last_seen_at=earlier)
    assert client.get("/api/me").status_code == 200
    assert _last_seen(service) > earlier


def test_a_session_ends_at_its_absolute_timeout(service: Service) -> None:
    client, _ = service.sign_in("clinician")
    _age_sessions(service, expires_at=clock.now() + timedelta(seconds=30))
    assert client.get("/api/me").status_code == 200
    _age_sessions(service, expires_at=clock.now())
    assert client.get("/api/me").status_code == 401


# ---- administrators' acts ---------------------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_tokens_and_reactivation_needs_a_new_confirmation(service: Service) -> None:
    client, auth = _admin(service)
    browser, _ = service.sign_in("clinician")
    clinician = service.users["clinician"]
    assert client.post(f"/api/users/{clinician}/deactivate", headers=auth).json()["active"] is False
    assert browser.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=service.bearer("clinician")).status_code == 401
    assert (
        service.client().post("/api/session", json={"username": "clin", "password": PASSWORDS["clinician"]}).status_code
        == 401
    )
    back = client.post(f"/api/users/{clinician}/reactivate", headers=auth).json()
    assert back["active"] is True and back["data_access"] is False  # Team A has patients: a colleague confirms
    again = _sign_in(service, "clin", PASSWORDS["clinician"])
    assert again.get("/api/patients").status_code == 403
    assert client.get("/api/me", headers=service.bearer("clinician")).status_code == 401  # tokens stay revoked


def test_a_forced_reset_ends_the_old_password_sessions_tokens_and_access(service: Service) -> None:
    client, auth = _admin(service)
    browser, _ = service.sign_in("researcher")
    researcher = service.users["researcher"]
    reset = client.post(f"/api/users/{researcher}/reset-password", headers=auth)
    assert reset.status_code == 200
    code = reset.json()["activation_code"]
    assert browser.get("/api/me").status_code == 401
    assert client.get("/api/me", headers=service.bearer("researcher")).status_code == 401
    old = {"username": "researcher", "password": PASSWORDS["researcher"]}
    assert service.client().post("/api/session", json=old).status_code == 401
    body = {"username": "researcher", "code": code, "password": NEW_PASSWORD}
    assert service.client().post("/api/activate", json=body).status_code == 200
    assert _sign_in(service, "researcher", NEW_PASSWORD).get("/api/export/deidentified").status_code == 403


def test_an_admin_revokes_every_token_of_an_account(service: Service) -> None:
    client, auth = _admin(service)
    response = client.delete(f"/api/users/{service.users['family']}/tokens", headers=auth)
    assert response.status_code == 200 and response.json() == {"revoked": 1}
    assert client.get("/api/me", headers=service.bearer("family")).status_code == 401


def test_an_admin_cannot_lock_themselves_out(service: Service) -> None:
    client, auth = _admin(service)
    admin = service.users["admin"]
    assert client.post(f"/api/users/{admin}/deactivate", headers=auth).status_code == 409
    assert client.post(f"/api/users/{admin}/reset-password", headers=auth).status_code == 409
    assert client.patch(f"/api/users/{admin}", json={"role": "clinician", "team": "X"}, headers=auth).status_code == 409
    assert client.get("/api/me", headers=auth).status_code == 200


def test_unknown_accounts_are_404_and_ids_out_of_range_are_422(service: Service) -> None:
    client, auth = _admin(service)
    assert client.post("/api/users/999999/deactivate", headers=auth).status_code == 404
    assert client.post("/api/users/99999999999999/deactivate", headers=auth).status_code == 422
    assert client.delete("/api/tokens/99999999999999", headers=auth).status_code == 422


def test_every_admin_act_is_audited_with_who_what_and_which_account(service: Service) -> None:
    client, auth = _admin(service)
    account = service.new_account("researcher")
    acts = [
        ("POST", f"/api/users/{account.id}/deactivate", None, "deactivate"),
        ("POST", f"/api/users/{account.id}/reactivate", None, "reactivate"),
        ("POST", f"/api/users/{account.id}/reset-password", None, "reset_password"),
        ("DELETE", f"/api/users/{account.id}/tokens", None, "revoke_tokens"),
        ("PATCH", f"/api/users/{account.id}", {"role": "clinician", "team": "Team B"}, "change_role"),
    ]
    for method, url, body, action in acts:
        response = client.request(method, url, json=body, headers=auth)
        assert response.status_code == 200, (url, response.text)
        entry = [e for e in service.audit() if e.action == action][-1]
        assert (entry.user_id, entry.role, entry.resource, entry.resource_id, entry.outcome) == (
            service.users["admin"],
            "admin",
            "user",
            str(account.id),
            "ok",
        )


def test_refusals_of_these_routes_are_audited(service: Service) -> None:
    client = service.client()
    before = len(service.audit())
    client.post("/api/users/1/deactivate", headers=service.bearer("clinician"))  # not an admin
    client.get("/api/tokens")  # not signed in
    client.post("/api/team/members/1/confirm", headers=service.bearer("admin"))  # not a clinician
    client.post("/api/users/999999/reset-password", headers=service.bearer("admin"))  # no such account
    entries = service.audit()[before:]
    assert [e.outcome for e in entries] == ["forbidden", "unauthenticated", "forbidden", "denied"]


# ---- confirmation by the data's owners --------------------------------------------------------------------------


def test_a_clinician_of_the_team_confirms_a_colleague(service: Service) -> None:
    waiting = service.new_account("clinician", "Team A")
    not_yet = service.new_account("clinician", "Team A", activated=False)
    elsewhere = service.new_account("clinician", "Team B")
    client, auth = service.client(), service.bearer("clinician")
    members = {m["username"]: m for m in client.get("/api/team/members", headers=auth).json()}
    assert members["clin"]["waiting"] is False and members[waiting.username]["waiting"] is True
    assert not_yet.username not in members and elsewhere.username not in members
    assert client.post(f"/api/team/members/{elsewhere.id}/confirm", headers=auth).status_code == 404
    assert client.post(f"/api/team/members/{not_yet.id}/confirm", headers=auth).status_code == 404
    newcomer = _sign_in(service, waiting.username, waiting.password)
    assert newcomer.get("/api/patients").status_code == 403
    confirmed = client.post(f"/api/team/members/{waiting.id}/confirm", headers=auth)
    assert confirmed.status_code == 200 and confirmed.json()["granted"] == "colleague"
    assert [p["id"] for p in newcomer.get("/api/patients").json()] == [service.patient_id]
    # An unconfirmed clinician cannot confirm anyone (it reads no data, so it grants none).
    third = service.new_account("clinician", "Team A")
    third_client = _sign_in(service, third.username, third.password)
    assert third_client.get("/api/team/members").status_code == 403


def test_a_researcher_exports_only_the_teams_that_granted_it(service: Service) -> None:
    account = service.new_account("researcher")
    client = _sign_in(service, account.username, account.password)
    assert client.get("/api/export/deidentified").status_code == 403
    confirmed = service.client().post(f"/api/team/members/{account.id}/confirm", headers=service.bearer("clinician"))
    assert confirmed.status_code == 200
    rows = client.get("/api/export/deidentified").json()
    assert len(rows) == 1  # Team A's one patient; Team B has not shared its data


@pytest.mark.parametrize("days", [0, -1])
def test_a_token_lifetime_must_be_positive(service: Service, days: int) -> None:
    response = service.client().post("/api/tokens", json={"name": "x", "days": days}, headers=service.bearer("admin"))
    assert response.status_code == 422


# ---- dead credentials: 401 on every route that needs sign-in -------------------------------------------------


def _operations(service: Service) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document, with its path parameters filled in."""
    schema = service.client().get("/api/openapi.json").json()
    filled = {"{patient_id}": service.patient_id, "{user_id}": str(service.users["family"]), "{token_id}": "1"}
    operations: list[tuple[str, str]] = []
    for path, methods in schema["paths"].items():
        url = path
        for name, value in filled.items():
            url = url.replace(name, value)
        assert "{" not in url, f"fill the parameters of {path}"
        operations.extend((method.upper(), url) for method in methods)
    return operations


def _dead_credentials(service: Service) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """(headers, cookies) of each kind of credential that no longer works."""
    client = service.client()
    made = {
        name: client.post("/api/tokens", json={"name": name}, headers=service.bearer("clinician")).json()
        for name in ("expired", "revoked")
    }
    client.delete(f"/api/tokens/{made['revoked']['id']}", headers=service.bearer("clinician"))
    cookies = {}
    for name, role in (("idle", "clinician"), ("absolute", "clinician"), ("deactivated", "researcher")):
        signed_in, _ = service.sign_in(role)
        cookies[name] = signed_in.cookies.get("allpath_session")
    with service.sessions() as s, s.begin():
        s.execute(update(t.ApiToken).where(t.ApiToken.id == made["expired"]["id"]).values(expires_at=clock.now()))
        idle, absolute = (clock.digest(cookies[name] or "") for name in ("idle", "absolute"))
        s.execute(
            update(t.Session).where(t.Session.id_hash == idle).values(last_seen_at=clock.now() - timedelta(hours=1))
        )
        s.execute(update(t.Session).where(t.Session.id_hash == absolute).values(expires_at=clock.now()))
    deactivated_token = service.tokens["researcher"]
    response = client.post(f"/api/users/{service.users['researcher']}/deactivate", headers=service.bearer("admin"))
    assert response.status_code == 200
    bearer = {name: {"Authorization": f"Bearer {made[name]['token']}"} for name in made}
    return {
        "expired token": (bearer["expired"], {}),
        "revoked token": (bearer["revoked"], {}),
        "token of a deactivated account": ({"Authorization": f"Bearer {deactivated_token}"}, {}),
        "idle session": ({"X-CSRF-Token": "x"}, {"allpath_session": cookies["idle"] or ""}),
        "expired session": ({"X-CSRF-Token": "x"}, {"allpath_session": cookies["absolute"] or ""}),
        "session of a deactivated account": ({"X-CSRF-Token": "x"}, {"allpath_session": cookies["deactivated"] or ""}),
    }


def test_expired_revoked_and_deactivated_credentials_get_401_on_every_route(service: Service) -> None:
    operations = _operations(service)
    dead = _dead_credentials(service)
    needs_sign_in = [(m, url) for m, url in operations if service.client().request(m, url, json={}).status_code == 401]
    assert len(needs_sign_in) >= 30 and ("GET", "/api/patients") in needs_sign_in
    for kind, (headers, cookies) in dead.items():
        for method, url in needs_sign_in:
            client = service.client()
            client.cookies.update(cookies)
            response = client.request(method, url, json={}, headers=headers)
            assert response.status_code == 401, f"{kind}: {method} {url} gave {response.status_code}"


# ---- the migration keeps existing access -------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (the shared PostgreSQL template is already migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


def test_migration_0003_keeps_the_access_accounts_had_and_dates_old_tokens(empty_database_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from allpath.storage.db import MIGRATIONS, make_engine, migrate

    engine = make_engine(empty_database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        made = clock.now() - timedelta(days=10)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO teams (id, name) VALUES (1, 'A'), (2, 'B')"))
            users = [(1, "clin", "clinician", 1), (2, "res", "researcher", None), (3, "fam", "family", None)]
            users.append((4, "adm", "admin", None))
            for user_id, name, role, team in users:
                connection.execute(
                    text(
                        "INSERT INTO users (id, username, display_name, password_hash, role, team_id, active, "
                        "created_at) VALUES (:id, :name, :name, 'x', :role, :team, true, :at)"
                    ),
                    {"id": user_id, "name": name, "role": role, "team": team, "at": made},
                )
            connection.execute(
                text(
                    "INSERT INTO patients (id, team_id, display_name, current_version, created_at, created_by) "
                    "VALUES ('p1', 2, 'P', 1, :at, 1)"
                ),
                {"at": made},
            )
            connection.execute(text("INSERT INTO family_links (user_id, patient_id) VALUES (3, 'p1')"))
            connection.execute(
                text(
                    "INSERT INTO api_tokens (id, token_hash, user_id, name, created_at, revoked) "
                    "VALUES (1, 'h', 1, 'old', :at, false)"
                ),
                {"at": made},
            )
            connection.execute(
                text("INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ('s', 1, 'c', :at)"),
                {"at": clock.now() + timedelta(hours=1)},
            )
        migrate(engine)
        with engine.connect() as connection:
            granted = connection.execute(text("SELECT user_id, team_id FROM access_grants"))
            grants = {(user, team) for user, team in granted}
            expires = connection.execute(text("SELECT expires_at FROM api_tokens")).scalar_one()
            sessions = connection.execute(text("SELECT count(*) FROM sessions")).scalar_one()
        assert grants == {(1, 1), (2, 1), (2, 2), (3, 2)}  # the admin none
        if isinstance(expires, str):  # SQLite hands back text through a plain query
            expires = datetime.fromisoformat(expires)
        expected = made + timedelta(days=90)
        assert abs(expires.replace(tzinfo=None) - expected.replace(tzinfo=None)) < timedelta(seconds=1)
        assert sessions == 0
    finally:
        engine.dispose()
