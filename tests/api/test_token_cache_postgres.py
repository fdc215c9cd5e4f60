"""The token cache on PostgreSQL (``allpath.storage.token_cache.DatabaseGeneration``): a token checked once is
answered with one read of the sign-in generation row, and every change that decides sign-in -- made by
another application (a second worker or server), another Python process, or by hand outside allpath -- is
refused on the very next request, because PostgreSQL's triggers change the row in the change's own
transaction (migration 0006).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text, update

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import tables as t
from allpath.storage import token_cache
from allpath.storage.db import make_engine, session_factory
from tests.api.conftest import Service, _database, _service, settings_for
from tests.conftest import complete_b_all


@pytest.fixture
def pg_service(request: pytest.FixtureRequest, tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    for url in _database(request, "postgresql", tmp_path):
        yield from _service(url, tmp_path, kb)


@pytest.fixture
def second_server(pg_service: Service, tmp_path: Path, kb: KnowledgeBase) -> Iterator[TestClient]:
    """A second application on the same PostgreSQL database: another server, with a cache of its own."""
    app = create_app(settings_for(pg_service.engine.url.render_as_string(False), tmp_path / "second"), kb=kb)
    try:
        yield TestClient(app, raise_server_exceptions=False)
    finally:
        app.state.engine.dispose()


def _statements(engine: Engine) -> list[str]:
    """The SQL statements ``engine``'s pool runs from now on (not the generation's own connections)."""
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    return seen


def _assess(client: TestClient, token: str) -> int:
    response = client.post("/api/assess", json=complete_b_all(), headers={"Authorization": f"Bearer {token}"})
    status: int = response.status_code
    return status


def _url(service: Service) -> str:
    return service.engine.url.render_as_string(False)


def test_a_checked_token_is_answered_by_one_read_of_the_generation(pg_service: Service) -> None:
    client = pg_service.client()
    token = pg_service.tokens["clinician"]
    assert _assess(client, token) == 200
    seen = _statements(pg_service.engine)
    for _ in range(3):
        assert _assess(client, token) == 200
    assert seen == []  # no look-up through the pool: the generation's own connection, the group writer's
    entries = [e for e in pg_service.audit() if e.action == "assess"]
    assert len(entries) == 4 and {e.user_id for e in entries} == {pg_service.users["clinician"]}


@pytest.mark.parametrize(
    "change",
    ["revoke the token", "deactivate the account", "revoke every token of the account", "change its role"],
)
def test_a_change_in_another_server_is_refused_on_the_very_next_request(
    pg_service: Service, second_server: TestClient, change: str
) -> None:
    token = pg_service.tokens["clinician"]
    first = pg_service.client()
    assert _assess(first, token) == 200 and _assess(first, token) == 200  # now in the first server's cache
    admin = {"Authorization": f"Bearer {pg_service.tokens['admin']}"}
    clinician = pg_service.users["clinician"]
    if change == "revoke the token":
        mine = {"Authorization": f"Bearer {token}"}
        (listed,) = [k for k in second_server.get("/api/tokens", headers=mine).json() if not k["revoked"]]
        assert second_server.delete(f"/api/tokens/{listed['id']}", headers=mine).status_code == 204
    elif change == "deactivate the account":
        assert second_server.post(f"/api/users/{clinician}/deactivate", headers=admin).status_code == 200
    elif change == "revoke every token of the account":
        assert second_server.delete(f"/api/users/{clinician}/tokens", headers=admin).status_code == 200
    else:
        with session_factory(pg_service.engine)() as s, s.begin():
            s.execute(update(t.User).where(t.User.id == clinician).values(role="admin"))
    assert _assess(first, token) in {401, 403}


def test_a_withdrawn_grant_is_refused_on_the_very_next_request(pg_service: Service) -> None:
    bearer = {"Authorization": f"Bearer {pg_service.tokens['researcher']}"}
    client = pg_service.client()
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 200
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 200  # from the cache
    with session_factory(pg_service.engine)() as s, s.begin():
        s.query(t.AccessGrant).filter(t.AccessGrant.user_id == pg_service.users["researcher"]).delete()
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 403


def test_a_revocation_by_another_process_is_refused_on_the_very_next_request(pg_service: Service) -> None:
    token = pg_service.tokens["family"]
    client = pg_service.client()
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=me).status_code == 200
    seen = _statements(pg_service.engine)
    assert client.get("/api/me", headers=me).status_code == 200
    assert not any("api_tokens" in statement for statement in seen)  # from the cache
    script = (
        "import sys\n"
        "from allpath.storage.db import make_engine, session_factory\n"
        "from allpath.storage import signin, tables as t\n"
        "engine = make_engine(sys.argv[1])\n"
        "with session_factory(engine)() as s, s.begin():\n"
        "    signin.revoke_api_tokens(s, s.get(t.User, int(sys.argv[2])))\n"
    )
    subprocess.run([sys.executable, "-c", script, _url(pg_service), str(pg_service.users["family"])], check=True)
    assert client.get("/api/me", headers=me).status_code == 401


def test_a_change_made_by_hand_is_refused_on_the_very_next_request(pg_service: Service) -> None:
    """Unlike SQLite's file, PostgreSQL's generation is changed by the database: no allpath code is needed."""
    client = pg_service.client()
    token = pg_service.tokens["clinician"]
    assert _assess(client, token) == 200
    engine = make_engine(_url(pg_service))
    try:  # a connection, no session: nothing of allpath's runs
        with engine.begin() as connection:
            connection.execute(text("UPDATE api_tokens SET revoked = true"))
    finally:
        engine.dispose()
    assert _assess(client, token) == 401


def test_a_rolled_back_change_leaves_the_generation_as_it_was(pg_service: Service) -> None:
    client = pg_service.client()
    token = pg_service.tokens["clinician"]
    assert _assess(client, token) == 200
    generation = token_cache.generation_of(pg_service.engine)
    assert generation is not None
    before = generation.current()
    with session_factory(pg_service.engine)() as s:
        s.execute(update(t.ApiToken).values(revoked=True))
        assert generation.current() == before  # not committed: not seen
        s.rollback()
    assert generation.current() == before
    seen = _statements(pg_service.engine)
    assert _assess(client, token) == 200 and seen == []


def test_a_deleted_generation_row_is_made_again_by_the_next_change(pg_service: Service) -> None:
    client = pg_service.client()
    token = pg_service.tokens["clinician"]
    assert _assess(client, token) == 200
    with session_factory(pg_service.engine)() as s, s.begin():
        s.execute(text("DELETE FROM sign_in_generation"))
    assert _assess(client, token) == 200  # looked up again (no row: nothing is trusted), still valid
    with session_factory(pg_service.engine)() as s, s.begin():
        s.execute(update(t.ApiToken).values(revoked=True))
    with session_factory(pg_service.engine)() as s:
        assert s.scalar(select(t.SignInGeneration.value)) is not None
    assert _assess(client, token) == 401


def test_a_broken_generation_connection_is_made_again(pg_service: Service) -> None:
    client = pg_service.client()
    token = pg_service.tokens["clinician"]
    assert _assess(client, token) == 200 and _assess(client, token) == 200
    with session_factory(pg_service.engine)() as s:  # the database ends the generation's connection
        ended = s.scalar(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": token_cache.APPLICATION_NAME},
        )
        assert ended == 1
    assert _assess(client, token) == 200  # the read failed: looked up instead, and answered
    seen = _statements(pg_service.engine)
    assert _assess(client, token) == 200 and seen == []  # a new connection reads it again
    with session_factory(pg_service.engine)() as s, s.begin():
        s.execute(update(t.ApiToken).values(revoked=True))
    assert _assess(client, token) == 401
