"""The group writer of one event loop on PostgreSQL: the audit entries of its requests stored without a thread.

On PostgreSQL the disk flush of a commit happens in the database server, so a commit is a network round trip
for the client, which an event loop waits for as it waits for any socket: the entries of the requests
answered on a loop are stored on an asynchronous psycopg connection of the loop's own. The group writer's
thread (``allpath.storage.audit_writer``) cost each request trips of the interpreter's lock between the loop
and the thread, more CPU than the insert itself (benchmarks/README.md). SQLite keeps the thread: its commit
flushes the disk in this process and would stall the loop.

Group commit as in the thread: the entries submitted while a batch is being stored wait, and the next batch
stores them all in one transaction: one multi-row ``INSERT`` on a connection in autocommit mode, its own
transaction, committed (and flushed by the server) before it answers; one round trip. (``executemany`` in a
pipeline with an explicit transaction cost the loop as much CPU, in psycopg's own Python, as the thread
trips it saved; benchmarks/README.md.) A failed batch is tried again unit by unit, so that one unit's bad
entry fails only that unit; a failed connection is made again for the next batch. Each unit's future is
resolved on the loop, once its entries are committed: the request answers only then.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from allpath.storage.audit_insert import AuditInsert, Entry
from allpath.storage.db import finish_now

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow

BATCH_ROWS = 1000  # at most this many entries in one transaction


class Unit(Protocol):
    """One unit of work's entries, and what to call once they are stored (``None``) or refused (the error)."""

    @property
    def entries(self) -> list[Entry]: ...

    @property
    def done(self) -> Callable[[BaseException | None], None]: ...


class LoopClosed(RuntimeError):
    """The event loop stopped before these entries were stored: nothing was acknowledged."""


class LoopWriter:
    """The audit entries of one event loop's requests, stored in batches on the loop's own connection."""

    def __init__(self, conninfo: str, insert: AuditInsert) -> None:
        self._conninfo = conninfo
        self._insert = insert
        self._connection: AsyncConnection[TupleRow] | None = None
        self._queued: list[Unit] = []
        self._writer: asyncio.Task[None] | None = None  # kept: the loop holds only a weak reference to a task

    def add(self, unit: Unit) -> None:
        """Queue ``unit`` for the next batch (call on the loop); its ``done`` is called on the loop."""
        self._queued.append(unit)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_while_queued())
            self._writer.add_done_callback(self._stopped)

    async def _write_while_queued(self) -> None:
        try:
            while self._queued:
                batch = self._next_batch()
                outcomes: list[tuple[Unit, BaseException | None]] = []
                try:
                    await self._store_into(batch, outcomes)
                except BaseException:  # cancelled, its loop stopping: these were not acknowledged
                    _fail(batch)
                    raise
                for unit, error in outcomes:
                    unit.done(error)
        finally:
            self._writer = None

    def _stopped(self, writer: asyncio.Task[None]) -> None:
        """After the writer's task: if it was cancelled (its loop stopping, perhaps before it began), the
        entries still queued are not stored, and their units are told so."""
        if writer.cancelled() or writer.exception() is not None:
            if self._writer is writer:
                self._writer = None
            left, self._queued = self._queued, []
            _fail(left)

    def _next_batch(self) -> list[Unit]:
        rows = 0
        for taken, unit in enumerate(self._queued):
            rows += len(unit.entries)
            if rows > BATCH_ROWS and taken:
                break
        else:
            taken = len(self._queued)
        batch, self._queued = self._queued[:taken], self._queued[taken:]
        return batch

    async def _store_into(self, batch: list[Unit], outcomes: list[tuple[Unit, BaseException | None]]) -> None:
        try:
            await self._store([row for unit in batch for row in unit.entries])
        except Exception as error:  # noqa: BLE001 - handed to the waiting requests, which answer 500
            if len(batch) == 1:
                outcomes.append((batch[0], error))
                return
            for unit in batch:  # one unit's bad entry must not fail the others
                await self._store_into([unit], outcomes)
            return
        outcomes.extend((unit, None) for unit in batch)

    async def _store(self, rows: list[Entry]) -> None:
        """Insert ``rows`` in one statement, its own transaction (autocommit): stored, or none of them."""
        import psycopg  # only with the PostgreSQL extra (``allpath[postgres]``), only for a PostgreSQL database

        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                weakref.finalize(self, finish_now, self._connection)  # with the process or the loop
            sql, names = self._insert.one_statement(len(rows))
            await self._connection.execute(sql, [values[name] for values in self._insert.named(rows) for name in names])
        except BaseException:
            broken, self._connection = self._connection, None  # in an unknown state: not used again
            if broken is not None:
                finish_now(broken)
            raise


def _fail(units: list[Unit]) -> None:
    for unit in units:
        unit.done(LoopClosed("the server stopped before these audit entries were stored"))
