"""Group commit of audit entries (``allpath.storage.audit``): a unit of work whose only write is its audit
entries hands them to the database's group writer, which stores many units' entries in one transaction; a
unit that wrote data stores them in its own transaction, with the act. An acknowledged entry is durable:
the request waits for the writer's future before it answers, so a server killed mid-load loses none.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from allpath.interfaces.app import create_app
from allpath.interfaces.http import ending
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, create_patient
from allpath.storage import audit, audit_writer
from allpath.storage import tables as t
from allpath.storage import users as user_store
from allpath.storage.clock import now
from allpath.storage.db import make_engine, migrate, session_factory
from tests.api.conftest import seed, settings_for
from tests.api.test_durability import Server, durable_database  # noqa: F401 - the fixture, both backends
from tests.conftest import complete_b_all
from tests.coroutines import run_coroutine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    migrate(made)
    try:
        yield made
    finally:
        audit.close_writer(made)
        made.dispose()


def _entry(detail: str) -> dict[str, object]:
    return {
        "at": now(),
        "user_id": None,
        "role": None,
        "action": "test",
        "resource": "group",
        "resource_id": None,
        "outcome": "ok",
        "detail": detail,
    }


def _stored(engine: Engine, **where: str) -> list[t.AuditEntry]:
    with session_factory(engine)() as s:
        query = select(t.AuditEntry).order_by(t.AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(t.AuditEntry, name) == value)
        return list(s.scalars(query))


class HeldWriter(audit.AuditWriter):
    """A group writer whose first batch waits until ``release`` is set, and that notes each batch's size."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.release = threading.Event()
        self.batches: list[int] = []

    def _insert(self, rows: list[dict[str, object]]) -> None:
        if not self.batches:
            self.release.wait(10)
        self.batches.append(len(rows))
        super()._insert(rows)


# ---- the writer -------------------------------------------------------------------------------------------


def test_entries_queued_while_a_batch_commits_go_in_one_transaction(engine: Engine) -> None:
    writer = HeldWriter(engine)
    first = writer.submit([_entry("first")])
    time.sleep(0.05)  # the thread has taken the first batch and waits in it
    queued = [writer.submit([_entry(f"unit {n}"), _entry(f"unit {n} again")]) for n in range(20)]
    assert not first.done() and not any(future.done() for future in queued)
    writer.release.set()
    for future in [first, *queued]:
        assert future.result(10) is None
    assert writer.batches == [1, 40]  # one commit for the twenty units queued meanwhile
    assert len(_stored(engine, action="test")) == 41
    writer.close()


class BrokenWriter(audit.AuditWriter):
    """A group writer whose every batch fails, as on a full disk."""

    def _insert(self, rows: list[dict[str, object]]) -> None:
        raise OSError("the disk is full")


def test_a_failed_batch_fails_every_waiting_unit(engine: Engine) -> None:
    writer = BrokenWriter(engine)
    futures = [writer.submit([_entry(f"unit {n}")]) for n in range(10)]
    for future in futures:
        with pytest.raises(OSError, match="disk is full"):
            future.result(10)
    assert _stored(engine, action="test") == []
    writer.close()


def test_one_units_bad_entry_fails_only_that_unit(engine: Engine) -> None:
    writer = HeldWriter(engine)
    blocker = writer.submit([_entry("first")])
    time.sleep(0.05)
    good = [writer.submit([_entry(f"good {n}")]) for n in range(5)]
    bad = writer.submit([_entry("bad") | {"action": None}])  # NOT NULL: the database refuses the row
    writer.release.set()
    assert blocker.result(10) is None
    for future in good:
        assert future.result(10) is None
    with pytest.raises(Exception):  # noqa: B017, PT011 - the database's own integrity error, per backend
        bad.result(10)
    assert sorted(e.detail for e in _stored(engine, action="test")) == ["first"] + [f"good {n}" for n in range(5)]
    writer.close()


def test_shutdown_stores_everything_queued(engine: Engine) -> None:
    writer = HeldWriter(engine)
    futures = [writer.submit([_entry(f"unit {n}")]) for n in range(30)]
    threading.Timer(0.1, writer.release.set).start()
    writer.close()  # waits for the queue to drain
    assert all(future.done() and future.exception() is None for future in futures)
    assert len(_stored(engine, action="test")) == 30
    after = writer.submit([_entry("after shutdown")])  # stored by the caller
    assert after.done() and after.result() is None
    assert len(_stored(engine, action="test")) == 31


def test_an_idle_writer_thread_ends_and_the_next_entry_starts_another(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_writer, "IDLE_SECONDS", 0.05)
    writer = audit.AuditWriter(engine)
    writer.submit([_entry("one")]).result(10)
    deadline = time.monotonic() + 5
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._thread is None
    writer.submit([_entry("two")]).result(10)
    assert len(_stored(engine, action="test")) == 2
    writer.close()


@pytest.mark.parametrize("waited", ["blocking", "on_the_loop"])
def test_the_writer_stores_the_same_rows_as_sqlalchemy_would(engine: Engine, waited: str) -> None:
    """The writer inserts on a DBAPI connection of its own (PostgreSQL, awaited on an event loop: the loop's own
    asynchronous connection, ``allpath.storage.audit_loop``), with SQLAlchemy's statement and column conversions
    made once: each column comes back exactly as from an insert through SQLAlchemy (a time in UTC with its
    microseconds, no user, text with quotes, placeholders and non-ASCII letters)."""
    at = now()
    rows = [
        _entry("by SQLAlchemy") | {"at": at, "user_id": None, "role": "clinician", "resource_id": "p-1"},
        _entry('l\'écrit "exact" %s %(x)s ?') | {"at": at, "resource_id": None},
    ]
    with engine.begin() as connection:
        connection.execute(insert(audit.AUDIT_TABLE), [rows[0]])
    writer = audit.AuditWriter(engine)
    units = [rows[0] | {"detail": "by the writer"}, rows[1]]
    if waited == "blocking":
        writer.submit(units).result(10)
    else:

        async def on_the_loop() -> None:
            await ending.wait_durable(writer.submit(units, on_loop=True))

        run_coroutine(on_the_loop())
        # PostgreSQL: the loop stored them itself, no writer thread was started (SQLite: the thread did)
        assert (writer._thread is None) is (engine.dialect.name == "postgresql")
    writer.close()
    stored = _stored(engine, action="test")
    assert [e.detail for e in stored] == ["by SQLAlchemy", "by the writer", 'l\'écrit "exact" %s %(x)s ?']
    columns = ("at", "user_id", "role", "action", "resource", "resource_id", "outcome")
    assert [getattr(stored[1], c) for c in columns] == [getattr(stored[0], c) for c in columns]
    assert stored[1].at == stored[0].at and stored[1].at.microsecond == at.microsecond
    assert stored[2].at == at and stored[2].resource_id is None
    with engine.connect() as connection:  # the raw values too, as each backend keeps them
        raw = connection.execute(select(audit.AUDIT_TABLE.c.at).where(audit.AUDIT_TABLE.c.action == "test")).all()
    assert raw[0] == raw[1] == raw[2]


def test_a_writer_whose_connection_failed_makes_a_new_one(engine: Engine) -> None:
    writer = audit.AuditWriter(engine)
    writer.submit([_entry("first")]).result(10)
    bad = writer.submit([_entry("bad") | {"action": None}])  # NOT NULL: refused, the connection is dropped
    with pytest.raises(Exception):  # noqa: B017, PT011 - the database's own integrity error, per backend
        bad.result(10)
    writer.submit([_entry("after")]).result(10)
    writer.close()
    assert [e.detail for e in _stored(engine, action="test")] == ["first", "after"]


def test_the_service_stores_what_its_group_writer_holds_when_it_shuts_down(
    database_url: str, tmp_path: Path, kb: KnowledgeBase
) -> None:
    app = create_app(settings_for(database_url, tmp_path), kb=kb)
    engine: Engine = app.state.engine
    try:
        with TestClient(app):  # runs the application's lifespan: startup, then shutdown
            writer = audit.writer_for(engine)
            queued = writer.submit([_entry("queued at shutdown")])
        assert queued.done() and queued.exception() is None
        assert writer._closed
        assert [e.detail for e in _stored(engine, action="test")] == ["queued at shutdown"]
    finally:
        engine.dispose()


# ---- the unit of work: which path an entry takes ------------------------------------------------------------


def test_a_unit_that_writes_only_audit_entries_uses_the_group_writer(engine: Engine) -> None:
    with session_factory(engine)() as s:
        s.scalar(select(func.count()).select_from(t.User))  # reads open a transaction
        work = UnitOfWork(s, None)
        work.audit("assess", "record")
        durable = work.finish()
        assert isinstance(durable, Future)
        assert not s.in_transaction()  # the reads ended; nothing was committed with them
        durable.result(10)
    assert [e.action for e in _stored(engine, resource="record")] == ["assess"]


def test_a_unit_that_wrote_data_commits_its_entries_with_the_act(engine: Engine, kb: KnowledgeBase) -> None:
    with session_factory(engine)() as s:
        team = user_store.ensure_team(s, "Team A")
        user = user_store.create_user(s, "clin", "clinician-password-1", "clinician", "Dr. A", team.id)
        work = UnitOfWork(s, user)
        created = create_patient(work, kb, "Child", complete_b_all(id="A-1"))
        assert work.finish() is None  # stored in the act's own transaction
    entries = _stored(engine, resource_id=created.patient.id)
    assert [(e.action, e.outcome) for e in entries] == [("create", "ok")]


def test_a_failed_unit_keeps_its_entries_acts_as_failed_refusals_as_they_were(engine: Engine) -> None:
    with session_factory(engine)() as s:
        user_store.ensure_team(s, "Team A")  # a write, rolled back below
        work = UnitOfWork(s, None)
        work.audit("update", "patient", "p-1")
        work.audit("access", "route", outcome="forbidden")
        durable = work.fail()
        assert durable is not None
        durable.result(10)
        assert s.scalar(select(func.count()).select_from(t.Team)) == 0
    stored = [(e.action, e.outcome) for e in _stored(engine) if e.resource in ("patient", "route")]
    assert stored == [("update", "failed"), ("access", "forbidden")]


def test_a_commit_outside_the_kernel_still_stores_the_entries(engine: Engine) -> None:
    with session_factory(engine)() as s:
        audit.record(s, None, "note", "script")
        s.commit()  # a plain commit (a script): the entries go in its transaction
    assert [e.action for e in _stored(engine, resource="script")] == ["note"]


# ---- a real server, killed mid-load ---------------------------------------------------------------------------

ASSESSORS = 8
LOAD_SECONDS = 1.5


def _assessor(base: str, token: str, stop: threading.Event, acks: Counter[str], who: str, lock: threading.Lock) -> None:
    record = complete_b_all(id="bench")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:
        while not stop.is_set():
            try:
                response = client.post("/api/assess", json=record)
            except httpx.HTTPError:
                continue  # the kill: no answer, nothing acknowledged
            if response.status_code == 200:
                with lock:
                    acks[who] += 1


@pytest.mark.slow
def test_every_acknowledged_assessment_is_audited_after_a_kill(
    durable_database: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    kb: KnowledgeBase,
) -> None:
    url = durable_database
    engine = make_engine(url)
    migrate(engine)
    users, tokens, _, _ = seed(session_factory(engine), kb)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLPATH_")}
    env |= {"ALLPATH_DATA_DIR": str(tmp_path / "data"), "ALLPATH_DATABASE_URL": url}
    acks: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    server = Server(env, tmp_path / "server.log")  # one worker: the process killed is the one serving
    try:
        threads = [
            threading.Thread(target=_assessor, args=(server.url, tokens[who], stop, acks, who, lock), daemon=True)
            for who in ("clinician", "researcher") * (ASSESSORS // 2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_SECONDS)
    finally:
        server.kill()  # SIGKILL, mid-load: requests in flight get no answer
        stop.set()
    for thread in threads:
        thread.join(timeout=15)
    try:
        with session_factory(engine)() as s:
            for who in ("clinician", "researcher"):
                stored = s.scalar(
                    select(func.count())
                    .select_from(t.AuditEntry)
                    .where(t.AuditEntry.user_id == users[who], t.AuditEntry.action == "assess")
                )
                assert acks[who] >= 20, f"the load got almost nothing done for {who}"
                assert stored is not None and stored >= acks[who], f"{who}: {acks[who]} acknowledged, {stored} stored"
    finally:
        engine.dispose()


# ---- the requests of one event loop -----------------------------------------------------------------------------


def _noted_unit(engine: Engine, detail: str, *, action: str | None = "test") -> UnitOfWork:
    work = UnitOfWork(session_factory(engine)(), None)
    work.audit(action, "group", detail=detail)  # type: ignore[arg-type]  # None: a row the database refuses
    return work


def test_a_refused_entry_fails_only_its_own_request(engine: Engine) -> None:
    async def request(detail: str, action: str | None) -> str:
        work = _noted_unit(engine, detail, action=action)
        try:
            await ending.finish(work)
        except Exception:  # noqa: BLE001 - the refused unit's request answers 500
            return "failed"
        finally:
            work.session.close()
        return "stored"

    async def scenario() -> list[str]:
        return list(await asyncio.gather(*(request(f"unit {n}", None if n == 3 else "test") for n in range(6))))

    assert run_coroutine(scenario()) == ["stored", "stored", "stored", "failed", "stored", "stored"]
    assert sorted(e.detail for e in _stored(engine, action="test")) == [f"unit {n}" for n in (0, 1, 2, 4, 5)]
