"""The event loop's own group writer on PostgreSQL (``allpath.storage.audit_loop``).

Entries submitted on an event loop are stored by that loop on its own asynchronous connection, with no writer
thread; entries submitted while a batch is stored go together in the next transaction; a failed connection is
made again; a loop that stops before storing them fails their units (nothing acknowledged). What every group
writer must do (one unit's bad entry fails only that unit, the same rows as SQLAlchemy writes, awaited on a
loop or not, no acknowledged entry lost when the server is killed) runs on both backends in ``test_group_commit``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from allpath.interfaces.http import ending
from allpath.storage import audit, audit_insert, audit_loop, audit_writer
from allpath.storage.audit_insert import Entry
from allpath.storage.db import loop_conninfo, make_engine, migrate
from tests.api.conftest import _database
from tests.api.test_group_commit import _entry, _stored
from tests.coroutines import run_coroutine


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for url in _database(request, "postgresql", tmp_path):
        made = make_engine(url)
        migrate(made)
        try:
            yield made
        finally:
            audit.close_writer(made)
            made.dispose()


async def _stored_on_loop(writer: audit.AuditWriter, entries: list[Entry]) -> None:
    await ending.wait_durable(writer.submit(entries, on_loop=True))


def test_entries_submitted_on_a_loop_are_stored_by_the_loop_without_a_thread(pg_engine: Engine) -> None:
    writer = audit.AuditWriter(pg_engine)

    async def scenario() -> None:
        await asyncio.gather(*(_stored_on_loop(writer, [_entry(f"unit {n}")]) for n in range(10)))

    run_coroutine(scenario())
    assert writer._thread is None  # this writer never started its thread
    assert sorted(e.detail for e in _stored(pg_engine, action="test")) == sorted(f"unit {n}" for n in range(10))
    writer.submit([_entry("from a thread")]).result(10)  # no loop running here: the writer's thread stores it
    assert [e.detail for e in _stored(pg_engine, action="test", detail="from a thread")] == ["from a thread"]
    writer.close()


class HeldLoopWriter(audit_loop.LoopWriter):
    """A loop writer whose first batch waits until ``release`` is set, and that notes each batch's size."""

    release: asyncio.Event
    batches: list[int]

    async def _store(self, rows: list[Entry]) -> None:
        if not self.batches:
            await self.release.wait()
        self.batches.append(len(rows))
        await super()._store(rows)


def test_entries_submitted_while_a_batch_is_stored_go_in_one_transaction(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[HeldLoopWriter] = []

    def made(*args: object) -> HeldLoopWriter:
        loop_writer = HeldLoopWriter(*args)  # type: ignore[arg-type]
        loop_writer.release, loop_writer.batches = asyncio.Event(), []
        held.append(loop_writer)
        return loop_writer

    monkeypatch.setattr(audit_writer, "LoopWriter", made)
    writer = audit.AuditWriter(pg_engine)

    async def scenario() -> None:
        first = asyncio.ensure_future(_stored_on_loop(writer, [_entry("first")]))
        await asyncio.sleep(0.01)
        later = [
            asyncio.ensure_future(_stored_on_loop(writer, [_entry(f"unit {n}"), _entry(f"unit {n} again")]))
            for n in range(20)
        ]
        await asyncio.sleep(0.01)
        assert not first.done() and not any(task.done() for task in later)
        held[0].release.set()
        await asyncio.gather(first, *later)

    run_coroutine(scenario())
    assert held[0].batches == [1, 40]  # one transaction for the twenty units submitted meanwhile
    assert len(_stored(pg_engine, action="test")) == 41
    writer.close()


def test_a_loop_writer_whose_connection_failed_makes_a_new_one(pg_engine: Engine) -> None:
    writer = audit.AuditWriter(pg_engine)

    async def scenario() -> list[str]:
        outcomes = []
        await _stored_on_loop(writer, [_entry("first")])
        with pg_engine.connect() as connection:  # the database ends the loop writer's connection
            ended = connection.scalar(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": audit_writer.LOOP_APPLICATION_NAME},
            )
        assert ended == 1
        for detail in ("lost", "after"):
            try:
                await _stored_on_loop(writer, [_entry(detail)])
                outcomes.append("stored")
            except Exception:  # noqa: BLE001 - the database's error: the request would answer 500
                outcomes.append("failed")
        return outcomes

    assert run_coroutine(scenario()) == ["failed", "stored"]
    assert [e.detail for e in _stored(pg_engine, action="test")] == ["first", "after"]
    writer.close()


def test_entries_a_stopping_loop_did_not_store_are_not_acknowledged(pg_engine: Engine) -> None:
    writer = audit.AuditWriter(pg_engine)
    future: Future[None] | None = None

    async def scenario() -> None:
        nonlocal future
        future = writer.submit([_entry("never")], on_loop=True)
        # the loop stops before its writer ran: asyncio.run (in run_coroutine) cancels the writer's task

    run_coroutine(scenario())
    assert future is not None
    with pytest.raises(audit_loop.LoopClosed):
        future.result(10)
    assert _stored(pg_engine, action="test") == []
    writer.close()


def test_sqlite_keeps_the_writer_thread(tmp_path: Path) -> None:
    """SQLite's commit flushes the disk in this process: on the loop it would stall every other request."""
    engine = make_engine(f"sqlite:///{tmp_path / 'allpath.db'}")
    migrate(engine)
    writer = audit.AuditWriter(engine)
    try:

        async def scenario() -> None:
            await _stored_on_loop(writer, [_entry("on sqlite")])

        run_coroutine(scenario())
        assert len(writer._loop_writers) == 0 and writer._thread is not None
    finally:
        writer.close()
        engine.dispose()


def test_a_loop_batch_with_a_refused_row_stores_none_of_it(pg_engine: Engine) -> None:
    """The batch is one statement: all of it or none (then each unit is tried alone, ``test_group_commit``)."""
    insert_rows = audit_insert.AuditInsert(pg_engine.dialect)
    loop_writer = audit_loop.LoopWriter(loop_conninfo(pg_engine, "test"), insert_rows)
    rows = [_entry(f"row {n}") for n in range(5)]
    rows[3] = rows[3] | {"user_id": 999_999}  # no such account: the foreign key refuses it

    async def scenario() -> None:
        with pytest.raises(Exception, match="foreign key"):
            await loop_writer._store(rows)

    run_coroutine(scenario())
    assert _stored(pg_engine, action="test") == []


def test_on_uvloop_as_the_server_runs_it_the_loop_stores_the_entries(pg_engine: Engine) -> None:
    """``allpath serve`` runs its workers on uvloop (uvicorn's choice when it is installed)."""
    uvloop = pytest.importorskip("uvloop")
    writer = audit.AuditWriter(pg_engine)

    async def scenario() -> None:
        await asyncio.gather(*(_stored_on_loop(writer, [_entry(f"uvloop {n}")]) for n in range(5)))

    with ThreadPoolExecutor(max_workers=1) as thread:  # a loop of its own, as run_coroutine gives
        thread.submit(uvloop.run, scenario()).result()
    writer.close()
    assert writer._thread is None
    assert sorted(e.detail for e in _stored(pg_engine, action="test")) == [f"uvloop {n}" for n in range(5)]


def test_blocking_the_loop_that_stores_the_entries_is_refused_not_a_hang(pg_engine: Engine) -> None:
    """``submit(on_loop=True)`` promises an ``await``; a caller that blocks the storing loop's thread instead
    would wait forever (the loop cannot store while its thread waits). It is told so at once; the entries are
    stored all the same, and the same future can still be awaited."""
    writer = audit.AuditWriter(pg_engine)

    async def scenario() -> None:
        durable = writer.submit([_entry("blocked")], on_loop=True)
        with pytest.raises(RuntimeError, match="await them"):
            durable.result(timeout=5)
        with pytest.raises(RuntimeError, match="await them"):
            durable.exception(timeout=5)
        await ending.wait_durable(durable)
        assert durable.result() is None  # done: the outcome is given on any thread

    run_coroutine(scenario())
    writer.close()
    assert [e.detail for e in _stored(pg_engine, action="test")] == ["blocked"]
