"""The token cache (``allpath.storage.token_cache``): a token checked once is not looked up again while nothing
that decides sign-in has changed, and every change is seen at once by every process of the database.

"Another process" is a second application on the same SQLite file (another engine, its own cache and its
own memory map of the sign-in generation, as a second worker has) and a real second Python process that
revokes through the storage layer, as the command line would.
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
from sqlalchemy import Engine, event, update

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import clock, signin, token_cache
from allpath.storage import tables as t
from allpath.storage.db import make_engine, session_factory
from tests.api.conftest import Service, _service, settings_for
from tests.conftest import complete_b_all


@pytest.fixture
def sqlite_service(tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """The service of the API tests on SQLite (PostgreSQL's cache: ``test_token_cache_postgres.py``)."""
    yield from _service(f"sqlite:///{tmp_path / 'allpath.db'}", tmp_path, kb)


@pytest.fixture
def second_worker(sqlite_service: Service, tmp_path: Path, kb: KnowledgeBase) -> Iterator[TestClient]:
    """A second application on the same database file: another worker, with a cache of its own."""
    url = str(sqlite_service.engine.url)
    app = create_app(settings_for(url, tmp_path / "second"), kb=kb)
    try:
        yield TestClient(app, raise_server_exceptions=False)
    finally:
        app.state.engine.dispose()


def _statements(engine: Engine) -> list[str]:
    """The SQL statements ``engine`` runs from now on (the group writer's own connection is not counted)."""
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_c: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    return seen


def _assess(client: TestClient, token: str) -> int:
    response = client.post("/api/assess", json=complete_b_all(), headers={"Authorization": f"Bearer {token}"})
    status: int = response.status_code
    return status


def test_a_checked_token_is_not_looked_up_again(sqlite_service: Service) -> None:
    client = sqlite_service.client()
    token = sqlite_service.tokens["clinician"]
    assert _assess(client, token) == 200
    seen = _statements(sqlite_service.engine)
    for _ in range(3):
        assert _assess(client, token) == 200
    assert seen == []  # no look-up, no transaction: the audit entries went to the group writer
    entries = [e for e in sqlite_service.audit() if e.action == "assess"]
    assert len(entries) == 4 and {e.user_id for e in entries} == {sqlite_service.users["clinician"]}


@pytest.mark.parametrize(
    "change",
    ["revoke the token", "deactivate the account", "revoke every token of the account", "change its role"],
)
def test_a_change_in_one_worker_is_seen_at_once_by_another(
    sqlite_service: Service, second_worker: TestClient, change: str
) -> None:
    token = sqlite_service.tokens["clinician"]
    first = sqlite_service.client()
    assert _assess(first, token) == 200 and _assess(first, token) == 200  # now in the first worker's cache
    admin = {"Authorization": f"Bearer {sqlite_service.tokens['admin']}"}
    clinician = sqlite_service.users["clinician"]
    if change == "revoke the token":
        mine = {"Authorization": f"Bearer {token}"}
        (listed,) = [k for k in second_worker.get("/api/tokens", headers=mine).json() if not k["revoked"]]
        assert second_worker.delete(f"/api/tokens/{listed['id']}", headers=mine).status_code == 204
    elif change == "deactivate the account":
        assert second_worker.post(f"/api/users/{clinician}/deactivate", headers=admin).status_code == 200
    elif change == "revoke every token of the account":
        assert second_worker.delete(f"/api/users/{clinician}/tokens", headers=admin).status_code == 200
    else:
        with session_factory(sqlite_service.engine)() as s, s.begin():  # no route changes a role: storage does
            s.execute(update(t.User).where(t.User.id == clinician).values(role="admin"))
    assert _assess(first, token) in {401, 403}  # the very next request, in the other worker


def test_a_withdrawn_grant_is_seen_at_once(sqlite_service: Service, second_worker: TestClient) -> None:
    token = sqlite_service.tokens["researcher"]
    first = sqlite_service.client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert first.get("/api/export/deidentified", headers=bearer).status_code == 200
    with session_factory(sqlite_service.engine)() as s, s.begin():
        s.query(t.AccessGrant).filter(t.AccessGrant.user_id == sqlite_service.users["researcher"]).delete()
    assert first.get("/api/export/deidentified", headers=bearer).status_code == 403


def test_a_revocation_by_another_process_is_seen_at_once(sqlite_service: Service) -> None:
    token = sqlite_service.tokens["family"]
    client = sqlite_service.client()
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=me).status_code == 200
    assert client.get("/api/me", headers=me).status_code == 200  # from the cache
    script = (
        "import sys\n"
        "from allpath.storage.db import make_engine, session_factory\n"
        "from allpath.storage import signin, tables as t\n"
        "engine = make_engine(sys.argv[1])\n"
        "with session_factory(engine)() as s, s.begin():\n"
        "    signin.revoke_api_tokens(s, s.get(t.User, int(sys.argv[2])))\n"
    )
    url, family = str(sqlite_service.engine.url), str(sqlite_service.users["family"])
    subprocess.run([sys.executable, "-c", script, url, family], check=True, timeout=120)
    assert client.get("/api/me", headers=me).status_code == 401


def test_a_rolled_back_change_leaves_the_cache_valid(sqlite_service: Service) -> None:
    client = sqlite_service.client()
    token = sqlite_service.tokens["clinician"]
    assert _assess(client, token) == 200
    generation = token_cache.generation_of(sqlite_service.engine)
    assert generation is not None
    before = generation.current()
    with session_factory(sqlite_service.engine)() as s:
        s.execute(update(t.ApiToken).values(revoked=True))
        s.rollback()
    assert generation.current() == before
    seen = _statements(sqlite_service.engine)
    assert _assess(client, token) == 200 and seen == []


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


def test_a_change_made_outside_allpath_is_seen_after_the_maximum_age(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sqlite_service.client()
    token = sqlite_service.tokens["clinician"]
    assert _assess(client, token) == 200
    engine = make_engine(str(sqlite_service.engine.url))
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


def test_a_removed_generation_file_is_made_again_and_every_process_follows_it(sqlite_service: Service) -> None:
    token = sqlite_service.tokens["family"]
    client = sqlite_service.client()
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=me).status_code == 200  # cached
    Path(str(sqlite_service.engine.url.database) + ".sign-in").unlink()  # an operator tidies the folder
    engine = make_engine(str(sqlite_service.engine.url))  # another process's engine: it makes a new file
    try:
        with session_factory(engine)() as s, s.begin():
            s.execute(
                update(t.ApiToken).where(t.ApiToken.user_id == sqlite_service.users["family"]).values(revoked=True)
            )
    finally:
        engine.dispose()
    assert client.get("/api/me", headers=me).status_code == 401
