"""A clinician of a team withdraws the team's grant from another account (``POST /api/team/members/{id}/withdraw``),
on both backends: never their own (so a team always keeps a custodian), only of their own team, audited, and
refused on the account's very next request, also with a token another worker has cached."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import accounts, clock, token_cache
from allpath.storage import tables as t
from tests.api.conftest import Service, _service, settings_for


def _withdraw(service: Service, user_id: int, role: str = "clinician") -> int:
    response = service.client().post(f"/api/team/members/{user_id}/withdraw", headers=service.bearer(role))
    status: int = response.status_code
    return status


def _confirmed_colleague(service: Service) -> tuple[int, TestClient]:
    colleague = service.new_account("clinician", "Team A")
    assert (
        service.client()
        .post(f"/api/team/members/{colleague.id}/confirm", headers=service.bearer("clinician"))
        .is_success
    )
    client = service.client()
    signed_in = client.post("/api/session", json={"username": colleague.username, "password": colleague.password})
    assert signed_in.status_code == 200
    assert client.get("/api/patients").status_code == 200
    return colleague.id, client


def test_a_clinician_withdraws_a_colleague_who_waits_again(service: Service) -> None:
    colleague, their_client = _confirmed_colleague(service)
    assert _withdraw(service, colleague) == 204
    assert their_client.get("/api/patients").status_code == 403  # the very next request
    members = service.client().get("/api/team/members", headers=service.bearer("clinician")).json()
    assert [m["waiting"] for m in members if m["id"] == colleague] == [True]  # a colleague may confirm it again
    entry = [e for e in service.audit() if e.action == "withdraw"][-1]
    assert (entry.user_id, entry.resource, entry.resource_id, entry.outcome) == (
        service.users["clinician"],
        "user",
        str(colleague),
        "ok",
    )
    with service.sessions() as s:
        team = s.get(t.User, service.users["clinician"])
        assert team is not None and entry.detail == f"clinician no longer granted team {team.team_id}"
    assert _withdraw(service, colleague) == 404  # nothing left to withdraw


def test_a_researcher_loses_only_the_withdrawing_team(service: Service) -> None:
    export = "/api/export/deidentified"
    before = service.client().get(export, headers=service.bearer("researcher")).json()
    assert _withdraw(service, service.users["researcher"]) == 204
    after = service.client().get(export, headers=service.bearer("researcher"))
    assert after.status_code == 200 and 0 < len(after.json()) < len(before)


def test_a_family_loses_its_child_when_the_team_withdraws_it(service: Service) -> None:
    family = service.bearer("family")
    assert service.client().get(f"/api/patients/{service.patient_id}", headers=family).status_code == 200
    assert _withdraw(service, service.users["family"]) == 204
    assert service.client().get(f"/api/patients/{service.patient_id}", headers=family).status_code == 403


def test_nobody_withdraws_their_own_access_nor_another_teams(service: Service) -> None:
    assert _withdraw(service, service.users["clinician"]) == 409  # a team always keeps its custodian
    assert _withdraw(service, service.users["other_clinician"]) == 404  # Team B's clinician
    assert _withdraw(service, service.users["family"], role="admin") == 403  # administrators never grant data
    assert _withdraw(service, service.users["family"], role="family") == 403
    outcomes = [e.outcome for e in service.audit() if e.action == "withdraw"]
    assert outcomes == ["denied", "denied"]
    me = service.client().get("/api/me", headers=service.bearer("clinician")).json()
    assert me["data_access"] is True


def test_two_clinicians_withdrawing_each_other_leave_one_custodian(service: Service) -> None:
    """Two withdrawals of one team at once: the second waits for the first (the team's row), then finds its own
    clinician's grant gone and is refused."""
    colleague, _client = _confirmed_colleague(service)
    clinician = service.users["clinician"]
    outcome: list[object] = []

    def the_colleague_withdraws_the_clinician() -> None:
        with service.sessions() as s:
            stale = s.get(t.User, colleague)  # read before the first withdrawal commits
            assert stale is not None
            try:
                accounts.withdraw(s, stale, clinician)
                s.commit()
                outcome.append("withdrawn")
            except accounts.AccountError as error:
                s.rollback()
                outcome.append(error)

    with service.sessions() as first, first.begin():
        withdrawing = first.get(t.User, clinician)
        assert withdrawing is not None
        accounts.withdraw(first, withdrawing, colleague)  # written, not yet committed
        second = threading.Thread(target=the_colleague_withdraws_the_clinician)
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive()  # it waits for the first withdrawal of the team
    second.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], accounts.NotFound)
    me = service.client().get("/api/me", headers=service.bearer("clinician")).json()
    assert me["data_access"] is True


@pytest.fixture
def sqlite_service(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """SQLite in a file, whose processes keep the accounts of checked tokens (``token_cache``)."""
    yield from _service(f"sqlite:///{tmp_path / 'allpath.db'}", tmp_path, kb)


def test_a_withdrawn_account_is_refused_with_a_token_another_worker_cached(
    sqlite_service: Service, tmp_path: Path, kb: KnowledgeBase
) -> None:
    second = create_app(settings_for(str(sqlite_service.engine.url), tmp_path / "second"), kb=kb)
    try:
        worker = TestClient(second, raise_server_exceptions=False)
        researcher = sqlite_service.bearer("researcher")
        for _ in range(2):  # the second answer comes from the worker's cache
            assert worker.get("/api/export/deidentified", headers=researcher).status_code == 200
        family = sqlite_service.bearer("family")
        mine = f"/api/patients/{sqlite_service.patient_id}"
        assert worker.get(mine, headers=family).status_code == 200
        assert _withdraw(sqlite_service, sqlite_service.users["family"]) == 204  # in the first worker
        assert worker.get(mine, headers=family).status_code == 403
    finally:
        second.state.engine.dispose()


def test_the_withdrawn_account_is_told_which_team_withdrew_it_and_when(service: Service) -> None:
    family = service.bearer("family")
    assert service.client().get("/api/me", headers=family).json()["access_withdrawn"] == []
    assert _withdraw(service, service.users["family"]) == 204
    me = service.client().get("/api/me", headers=family)
    assert me.status_code == 200 and me.json()["data_access"] is False
    [withdrawal] = me.json()["access_withdrawn"]
    day = withdrawal["withdrawn_at"][:10]
    assert (withdrawal["team"], withdrawal["by"]) == ("Team A", "team")
    assert withdrawal["message"] == (
        f"The care team \u201cTeam A\u201d withdrew your access to its patient data on {day}. A clinician of that team"
        " can grant it again."
    )
    words = me.text.replace("clinician", "")
    assert "clin" not in words and "Dr. A" not in words  # the team, never the clinician who withdrew it
    spanish = service.client().get("/api/me?lang=es", headers=family).json()["access_withdrawn"][0]["message"]
    assert spanish.startswith("El equipo médico \u201cTeam A\u201d retiró su acceso")
    assert day not in spanish  # its date in words
    reader = service.client().get("/api/me", headers=service.bearer("researcher")).json()
    assert reader["access_withdrawn"] == []  # only the account it was withdrawn from
    confirmed = service.client().post(
        f"/api/team/members/{service.users['family']}/confirm", headers=service.bearer("clinician")
    )
    assert confirmed.status_code == 200, confirmed.text
    again = service.client().get("/api/me", headers=family).json()
    assert again["data_access"] is True and again["access_withdrawn"] == []  # granted again: nothing to say


def test_a_session_and_a_token_opened_before_the_withdrawal_read_no_patient_data_after_it(service: Service) -> None:
    """In the same process and through its token cache (both backends): the account's session and API token stay
    valid for its own pages (a withdrawal takes the team's data, not the account), and read none of the team's
    data from the very next request."""
    session, _csrf = service.sign_in("family")
    token = service.bearer("family")
    mine = f"/api/patients/{service.patient_id}"
    for _ in range(2):  # the second answer to the token comes from the process's cache
        assert session.get(mine).status_code == 200
        assert service.client().get(mine, headers=token).status_code == 200
    cache = token_cache.cache_for(service.engine)
    assert cache is not None
    cached = cache.exact(clock.digest(service.tokens["family"]))
    assert cached is not None and cached.granted  # the token's account, granted, kept by this process
    assert _withdraw(service, service.users["family"]) == 204
    assert session.get(mine).status_code == 403
    assert service.client().get(mine, headers=token).status_code == 403
    for me in (session.get("/api/me"), service.client().get("/api/me", headers=token)):
        assert me.status_code == 200 and [w["team"] for w in me.json()["access_withdrawn"]] == ["Team A"]
