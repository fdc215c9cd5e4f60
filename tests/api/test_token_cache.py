"""The token cache (``allpath.storage.token_cache``): a token checked once is not looked up again while nothing
that decides sign-in has changed, and every change is seen at once by every process of the database.

Each behaviour is written once and runs on each backend where it holds (``service``: SQLite and PostgreSQL,
``tests/api/conftest.py``); what only one backend does has a test of its own on that backend, and the cache's
own entries (their expiry, their copies), the same code whatever the backend, run on SQLite. On SQLite the
sign-in generation is a file next to the database, which allpath's sessions change when they commit; on
PostgreSQL it is a row that the database's triggers change in the change's own transaction (migration 0006,
``DatabaseGeneration``), read through a connection of its own, so even a change made by hand is seen at once.

"Another process" is a second application on the same database (another engine and its own cache, as a
second worker or another server has) and a real second Python process that revokes through the storage layer,
as the command line would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text, update

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import clock, signin, token_cache
from allpath.storage import tables as t
from allpath.storage.db import make_engine, session_factory
from tests.api.conftest import Service, _database, _service, settings_for
from tests.conftest import complete_b_all


@pytest.fixture
def sqlite_service(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """The service of the API tests on SQLite only (what only SQLite's generation file does)."""
    yield from _service(f"sqlite:///{tmp_path / 'allpath.db'}", tmp_path, kb)


@pytest.fixture
def pg_service(request: pytest.FixtureRequest, tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """The service of the API tests on PostgreSQL only (what only PostgreSQL's generation row does)."""
    for url in _database(request, "postgresql", tmp_path):
        yield from _service(url, tmp_path, kb)


def _url(service: Service) -> str:
    return service.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def second(service: Service, tmp_path: Path, kb: KnowledgeBase) -> Iterator[TestClient]:
    """A second application on the same database: another worker (or server), with a cache of its own."""
    app = create_app(settings_for(_url(service), tmp_path / "second"), kb=kb)
    try:
        yield TestClient(app, raise_server_exceptions=False)
    finally:
        app.state.engine.dispose()


def _statements(engine: Engine) -> list[str]:
    """The SQL statements ``engine``'s pool runs from now on (not the group writer's connection, nor
    PostgreSQL's generation connections)."""
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    return seen


def _assess(client: TestClient, token: str) -> int:
    response = client.post("/api/assess", json=complete_b_all(), headers={"Authorization": f"Bearer {token}"})
    status: int = response.status_code
    return status


# ---- on both backends ----------------------------------------------------------------------------------


def test_a_checked_token_is_not_looked_up_again(service: Service) -> None:
    client = service.client()
    token = service.tokens["clinician"]
    assert _assess(client, token) == 200
    seen = _statements(service.engine)
    for _ in range(3):
        assert _assess(client, token) == 200
    # No look-up, no transaction through the pool: the audit entries went to the group writer (and on
    # PostgreSQL the generation was read once per request through its own connection).
    assert seen == []
    entries = [e for e in service.audit() if e.action == "assess"]
    assert len(entries) == 4 and {e.user_id for e in entries} == {service.users["clinician"]}


@pytest.mark.parametrize(
    "change",
    ["revoke the token", "deactivate the account", "revoke every token of the account", "change its role"],
)
def test_a_change_in_another_worker_is_refused_on_the_very_next_request(
    service: Service, second: TestClient, change: str
) -> None:
    token = service.tokens["clinician"]
    first = service.client()
    assert _assess(first, token) == 200 and _assess(first, token) == 200  # now in the first worker's cache
    admin = {"Authorization": f"Bearer {service.tokens['admin']}"}
    clinician = service.users["clinician"]
    if change == "revoke the token":
        mine = {"Authorization": f"Bearer {token}"}
        (listed,) = [k for k in second.get("/api/tokens", headers=mine).json() if not k["revoked"]]
        assert second.delete(f"/api/tokens/{listed['id']}", headers=mine).status_code == 204
    elif change == "deactivate the account":
        assert second.post(f"/api/users/{clinician}/deactivate", headers=admin).status_code == 200
    elif change == "revoke every token of the account":
        assert second.delete(f"/api/users/{clinician}/tokens", headers=admin).status_code == 200
    else:
        with session_factory(service.engine)() as s, s.begin():  # no route changes a role: storage does
            s.execute(update(t.User).where(t.User.id == clinician).values(role="admin"))
    assert _assess(first, token) in {401, 403}  # the very next request, in the other worker


def test_a_withdrawn_grant_is_refused_on_the_very_next_request(service: Service) -> None:
    bearer = {"Authorization": f"Bearer {service.tokens['researcher']}"}
    client = service.client()
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 200
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 200  # from the cache
    with session_factory(service.engine)() as s, s.begin():
        s.query(t.AccessGrant).filter(t.AccessGrant.user_id == service.users["researcher"]).delete()
    assert client.get("/api/export/deidentified", headers=bearer).status_code == 403


def test_a_revocation_by_another_process_is_refused_on_the_very_next_request(service: Service) -> None:
    token = service.tokens["family"]
    client = service.client()
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=me).status_code == 200
    seen = _statements(service.engine)
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
    family = str(service.users["family"])
    subprocess.run([sys.executable, "-c", script, _url(service), family], check=True, timeout=120)
    assert client.get("/api/me", headers=me).status_code == 401


def test_a_rolled_back_change_leaves_the_generation_as_it_was(service: Service) -> None:
    client = service.client()
    token = service.tokens["clinician"]
    assert _assess(client, token) == 200
    generation = token_cache.generation_of(service.engine)
    assert generation is not None
    before = generation.current()
    with session_factory(service.engine)() as s:
        s.execute(update(t.ApiToken).values(revoked=True))
        assert generation.current() == before  # not committed: not seen
        s.rollback()
    assert generation.current() == before
    seen = _statements(service.engine)
    assert _assess(client, token) == 200 and seen == []


# ---- the cache's own entries: the same code whatever the backend, run on SQLite ----------------------------


def test_a_cached_token_expires_to_the_microsecond(sqlite_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sqlite_service.client()
    token = sqlite_service.tokens["clinician"]
    assert _assess(client, token) == 200
    with session_factory(sqlite_service.engine)() as s:
        expires = clock.aware(
            s.query(t.ApiToken.expires_at).filter_by(user_id=sqlite_service.users["clinician"]).one()[0]
        )
    monkeypatch.setattr(token_cache, "now", lambda: expires - timedelta(microseconds=1))
    seen = _statements(sqlite_service.engine)
    assert _assess(client, token) == 200 and seen == []  # one microsecond before: still the cached entry
    monkeypatch.setattr(token_cache, "now", lambda: expires)
    monkeypatch.setattr(signin, "now", lambda: expires)  # the look-up's own clock agrees
    assert _assess(client, token) == 401  # at the expiry: looked up, and refused


def test_the_account_of_each_request_is_its_own_copy(sqlite_service: Service) -> None:
    token = sqlite_service.tokens["clinician"]
    assert _assess(sqlite_service.client(), token) == 200
    cache = token_cache.cache_for(sqlite_service.engine)
    assert cache is not None
    with sqlite_service.sessions() as one, sqlite_service.sessions() as two:
        first, second = cache.found(one, clock.digest(token)), cache.found(two, clock.digest(token))
        assert first is not None and second is not None
        assert first[0] is not second[0] and first[0] in one and second[0] in two
        first[0].display_name = "changed in one request"
        assert second[0].display_name != "changed in one request"


# ---- SQLite: the generation is a file that allpath's sessions change -------------------------------------


def test_on_sqlite_a_change_made_outside_allpath_is_seen_after_the_maximum_age(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sqlite_service.client()
    token = sqlite_service.tokens["clinician"]
    assert _assess(client, token) == 200
    engine = make_engine(_url(sqlite_service))
    try:  # a hand edit: a connection, no session, so no new generation
        with engine.begin() as connection:
            connection.execute(update(t.ApiToken).values(revoked=True))
    finally:
        engine.dispose()
    read_at = time.monotonic()
    monkeypatch.setattr(token_cache, "monotonic", lambda: read_at + token_cache.MAX_AGE_SECONDS - 1)
    assert _assess(client, token) == 200  # within the maximum age the entry still stands
    monkeypatch.setattr(token_cache, "monotonic", lambda: read_at + token_cache.MAX_AGE_SECONDS + 1)
    assert _assess(client, token) == 401


def _revoke_family_tokens(service: Service) -> None:
    engine = make_engine(_url(service))  # another process's engine
    try:
        with session_factory(engine)() as s, s.begin():
            s.execute(update(t.ApiToken).where(t.ApiToken.user_id == service.users["family"]).values(revoked=True))
    finally:
        engine.dispose()


def test_on_sqlite_a_removed_generation_file_is_made_again_and_every_process_follows_it(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that made the new file revokes: the others, which map the removed one, look at the folder
    again within ``RECHECK_SECONDS`` (not on every request: benchmarks/README.md) and then refuse the token."""
    token = sqlite_service.tokens["family"]
    client = sqlite_service.client()
    me = {"Authorization": f"Bearer {token}"}
    start = time.monotonic() + 1.0  # past any look the set-up made: the file is looked at now
    monkeypatch.setattr(token_cache, "monotonic", lambda: start)
    assert client.get("/api/me", headers=me).status_code == 200  # cached, the file looked at
    Path(str(sqlite_service.engine.url.database) + ".sign-in").unlink()  # an operator tidies the folder
    _revoke_family_tokens(sqlite_service)  # another process: it makes a new file and changes that one
    half = start + token_cache.RECHECK_SECONDS / 2
    monkeypatch.setattr(token_cache, "monotonic", lambda: half)
    assert client.get("/api/me", headers=me).status_code == 200  # not looked at again yet: the old file
    later = start + token_cache.RECHECK_SECONDS + 0.001
    monkeypatch.setattr(token_cache, "monotonic", lambda: later)
    assert client.get("/api/me", headers=me).status_code == 401


def test_on_sqlite_a_revocation_reaches_the_processes_that_still_map_a_removed_file_at_once(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revoking process mapped the removed file too (it opened the database before the operator tidied):
    it writes the new generation to that one as well, so nobody waits for ``RECHECK_SECONDS``."""
    token = sqlite_service.tokens["family"]
    client = sqlite_service.client()
    me = {"Authorization": f"Bearer {token}"}
    start = time.monotonic() + 1.0  # looked at once, on the first request, then never again
    monkeypatch.setattr(token_cache, "monotonic", lambda: start)
    assert client.get("/api/me", headers=me).status_code == 200  # cached
    revoking = make_engine(_url(sqlite_service))  # another process, its file mapped before the removal
    try:
        assert token_cache.generation_of(revoking) is not None
        Path(str(sqlite_service.engine.url.database) + ".sign-in").unlink()
        with session_factory(revoking)() as s, s.begin():
            s.execute(
                update(t.ApiToken).where(t.ApiToken.user_id == sqlite_service.users["family"]).values(revoked=True)
            )
    finally:
        revoking.dispose()
    assert client.get("/api/me", headers=me).status_code == 401


# ---- PostgreSQL: the generation is a row that the database's triggers change ---------------------------


def test_postgresql_keeps_its_generation_in_the_database() -> None:
    engine = make_engine("postgresql://allpath@127.0.0.1:1/none")  # never connected: made without I/O
    try:
        generation = token_cache.generation_of(engine)
        assert isinstance(generation, token_cache.DatabaseGeneration) and not generation.in_memory
        cache = token_cache.cache_for(engine)
        assert cache is not None and cache.generation is generation
        assert generation.current() != generation.current()  # no server: a value that matches nothing
    finally:
        engine.dispose()


def test_on_postgresql_a_change_made_by_hand_is_refused_on_the_very_next_request(pg_service: Service) -> None:
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


def test_on_postgresql_a_deleted_generation_row_is_made_again_by_the_next_change(pg_service: Service) -> None:
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


def test_on_postgresql_a_broken_generation_connection_is_made_again(pg_service: Service) -> None:
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
