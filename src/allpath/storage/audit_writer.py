"""The group writer of the audit log: the entries of many units of work stored in one transaction.

``allpath.storage.audit`` notes entries on a unit's session and, when the unit wrote nothing else, hands them
here when it ends (``AuditWriter.submit``); the caller waits for the future before it answers, so an
acknowledged entry is durable. The writer stores them in a thread of its own; on PostgreSQL, the entries of a
request whose event loop awaits them are stored by that loop itself (``allpath.storage.audit_loop``).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from time import monotonic

from sqlalchemy import Engine

from allpath.storage.audit_insert import AUDIT_TABLE, COLUMNS, AuditInsert, Entry, PreparedInsert
from allpath.storage.audit_loop import LoopWriter
from allpath.storage.db import loop_conninfo, writer_lock

__all__ = ["AUDIT_TABLE", "COLUMNS", "AuditWriter", "Durable", "Entry", "close_writer", "writer_for"]


# ---- the group writer --------------------------------------------------------------------------------------

BATCH_ROWS = 1000  # at most this many entries in one transaction
IDLE_SECONDS = 2.0  # a writer thread with nothing to do for this long ends (the next entry starts another)
# How long a batch may wait for the entries of the other requests in flight (``expecting``) before it commits.
# SQLite only: its commit's disk flush is this process's own CPU (most of the writer's); PostgreSQL flushes in
# the server, its commits take a round trip during which the next batch queues up anyway, and waiting only
# cost CPU (benchmarks/README.md). The batch is woken when what it waits for changes (an entry queued, a
# request answered without one), not by polling: each wake-up of the thread cost the event loop CPU too.
LINGER_SECONDS = 0.002


@dataclass(frozen=True)
class _Unit:
    """One unit of work's entries in the writer's queue, and what to call once they are stored or refused."""

    entries: list[Entry]
    done: Callable[[BaseException | None], None]
    future: Durable


class Durable(Future[None]):
    """The future of a unit's entries (``AuditWriter.submit``): resolved once they are committed."""

    loop: asyncio.AbstractEventLoop | None = None  # resolve on this loop's thread (``resolve_on``)
    stored_by: asyncio.AbstractEventLoop | None = None  # the event loop that stores the entries (PostgreSQL)

    def result(self, timeout: float | None = None) -> None:
        """The outcome, waited for; refused at once on the thread of the loop that stores the entries."""
        self._refuse_waiting_for_itself()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._refuse_waiting_for_itself()
        return super().exception(timeout)

    def _refuse_waiting_for_itself(self) -> None:
        """A caller that said it would await (``submit(on_loop=True)``) but blocks the thread of the event loop
        that stores its entries would wait forever: that loop cannot run while its thread waits. Refused at
        once instead, saying why."""
        if self.stored_by is not None and not self.done() and asyncio._get_running_loop() is self.stored_by:
            raise RuntimeError(
                "these audit entries are stored by this event loop: await them (ending.wait_durable), do not block"
            )

    def resolve_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Have the writer resolve this future on ``loop``'s thread, with the batch's other futures of that
        loop in one callback; asked by an ``async`` waiter on that loop, which never blocks it meanwhile (a
        ``result()`` on the loop's thread would then wait for itself). Asked too late, it is resolved on
        the writer's thread, as any other."""
        self.loop = loop


_WAKE: list[_Unit] = []  # queued to wake a waiting batch (``expecting``): no entries, never stored
NOT_WAITING = -1
LOOP_APPLICATION_NAME = "allpath audit writer, event loop"  # pg_stat_activity says what it is


class AuditWriter:
    """Stores the audit entries of many units of work in one transaction (group commit), in a thread of its
    own, one per database engine and process.

    ``submit`` queues a unit's entries and returns a future. The thread takes everything queued, inserts it
    in one transaction, commits, and resolves each future; while it commits, new entries queue up for the
    next batch, so under load one commit (one disk flush) serves many requests. On SQLite a batch also waits
    a moment (``LINGER_SECONDS`` at most) while other requests that will submit entries are in flight
    (``expecting``): on a busy event loop their entries come one request's CPU time apart, each sooner than
    a disk flush, and without the wait most batches held one entry. If a batch fails, each unit of it is
    tried again alone, so that one unit's bad entry fails only that unit. The thread is started on the
    first entry, in the process that submits it (never inherited by a fork), and ends when idle.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[list[_Unit] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self._prepared: PreparedInsert | None = None  # the writer's connection, made on the first batch
        self._expected = 0  # requests in flight that will submit entries (``expecting``)
        self._waiting_with = NOT_WAITING  # the units of the batch waiting for the others' entries, if one is
        self._lingers = engine.url.get_backend_name() == "sqlite"
        self._expected_lock = threading.Lock()
        # PostgreSQL: entries submitted on an event loop are stored by that loop (``allpath.storage.audit_loop``)
        self._on_loop = engine.url.get_backend_name() == "postgresql"
        self._loop_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWriter] = (
            weakref.WeakKeyDictionary()
        )

    def submit(self, entries: list[Entry], *, on_loop: bool = False) -> Future[None]:
        """Queue ``entries`` for the next batch; the future resolves when they are committed (or fails).

        ``on_loop``: the caller awaits the future on the running event loop and never blocks that loop
        waiting for it (``allpath.interfaces.http.ending``). On PostgreSQL the loop then stores the entries
        itself (``allpath.storage.audit_loop``); a caller that blocks on ``result()`` must not say so: on
        that loop's thread, before they are stored, ``result()`` raises ``RuntimeError`` rather than wait
        for its own loop forever.

        A future whose waiter asked for it (``Durable.resolve_on``) is resolved on that event loop's thread,
        the batch's futures of each loop all in one callback: one wake-up of the loop per batch, not one per
        request, and no further hand-off for the waiter (``allpath.interfaces.http.ending``)."""
        future = Durable()

        def done(error: BaseException | None) -> None:
            if future.cancelled():  # nobody waits for it any more (the entries are stored all the same)
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        unit = _Unit(entries, done, future)
        loop = asyncio._get_running_loop() if on_loop and self._on_loop and not self._closed else None
        if loop is None:
            self._enqueue([unit])
        else:
            future.stored_by = loop
            self._loop_writer(loop).add(unit)
        return future

    def _loop_writer(self, loop: asyncio.AbstractEventLoop) -> LoopWriter:
        writer = self._loop_writers.get(loop)
        if writer is None:
            conninfo = loop_conninfo(self._engine, LOOP_APPLICATION_NAME)
            writer = self._loop_writers[loop] = LoopWriter(conninfo, AuditInsert(self._engine.dialect))
        return writer

    def expecting(self) -> Callable[[], None]:
        """Note a request in flight that will submit entries (an assessment, admitted or refused); call what
        this returns, once, when it has been answered. While more such requests are in flight than units in
        a batch, the batch waits for their entries, ``LINGER_SECONDS`` at most: under load one commit (most
        of the writer's CPU is its disk flush) then serves several requests; a request alone is committed
        at once."""
        with self._expected_lock:
            self._expected += 1
        pending = True

        def done() -> None:
            nonlocal pending
            if pending:
                pending = False
                with self._expected_lock:
                    self._expected -= 1
                    complete = self._expected <= self._waiting_with
                if complete:  # the waiting batch has all it waits for: wake it (once per batch, not per poll)
                    self._queue.put(_WAKE)

        return done

    def _enqueue(self, units: list[_Unit]) -> None:
        with self._lock:
            if self._pid != os.getpid():  # a forked copy: its parent's thread, queue and connection are not its own
                self._queue, self._thread, self._pid, self._prepared = queue.SimpleQueue(), None, os.getpid(), None
                self._expected, self._waiting_with = 0, NOT_WAITING
            if self._closed:  # after shutdown: stored at once, by the caller
                self._store(units)
                self._disconnect()
                return
            self._queue.put(units)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="allpath-audit-writer", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Store everything queued, then stop the thread (application shutdown); later entries are stored
        by their callers."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # nothing came in meanwhile: end (submit starts a new thread)
                        self._disconnect()  # an idle process holds no connection
                        self._thread = None
                        return
                continue
            if item is _WAKE:
                continue  # a wake-up for a batch already committed
            batch: list[_Unit] = [] if item is None else list(item)
            stop = item is None
            rows = sum(len(unit.entries) for unit in batch)
            linger_until = monotonic() + (LINGER_SECONDS if self._lingers else 0.0)
            while rows < BATCH_ROWS:
                try:
                    item = self._next_of_batch(len(batch), linger_until)
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    continue
                batch.extend(item)
                rows += sum(len(unit.entries) for unit in item)
            if batch:
                self._store(batch)
            if stop:
                with self._lock:
                    self._disconnect()
                    self._thread = None
                # anything queued after the stop is stored by close()'s callers (the writer is closed)
                return

    def _next_of_batch(self, units: int, linger_until: float) -> list[_Unit] | None:
        """The next item queued for this batch of ``units``: waited for, until ``linger_until`` at most, while
        more requests that will submit entries are in flight than the batch holds; ``queue.Empty`` when the
        batch is complete. A request answered without entries meanwhile wakes the wait (``expecting``)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = _WAKE
            if item is not _WAKE:
                return item
            left = linger_until - monotonic()
            with self._expected_lock:  # published before the check: a request answered after it wakes the wait
                self._waiting_with = units
                complete = self._expected <= units
            try:
                if left <= 0 or complete:
                    raise queue.Empty
                item = self._queue.get(timeout=left)
            finally:
                self._waiting_with = NOT_WAITING
            if item is not _WAKE:
                return item

    def _store(self, batch: list[_Unit]) -> None:
        outcomes: list[tuple[_Unit, BaseException | None]] = []
        self._store_into(batch, outcomes)
        _resolve(outcomes)

    def _store_into(self, batch: list[_Unit], outcomes: list[tuple[_Unit, BaseException | None]]) -> None:
        try:
            self._insert([row for unit in batch for row in unit.entries])
        except Exception as error:  # noqa: BLE001 - handed to the waiting requests, which answer 500
            if len(batch) == 1:
                outcomes.append((batch[0], error))
                return
            for unit in batch:  # one unit's bad entry must not fail the others
                self._store_into([unit], outcomes)
            return
        outcomes.extend((unit, None) for unit in batch)

    def _insert(self, rows: list[Entry]) -> None:
        """Insert ``rows`` in one transaction and commit, on the writer's own DBAPI connection
        (``allpath.storage.audit_insert``); on SQLite the writer takes the database's ``WriterLock`` itself,
        as every writer does."""
        prepared = self._prepared or PreparedInsert(self._engine)
        self._prepared = prepared
        lock = writer_lock(self._engine)
        held = lock.acquire() if lock is not None else None
        try:
            prepared.store(rows)
        except BaseException:
            self._prepared = None  # a connection in an unknown state is not used again
            prepared.discard()
            raise
        finally:
            if lock is not None and held is not None:
                lock.release(held)

    def _disconnect(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.close()


def _resolve(outcomes: list[tuple[_Unit, BaseException | None]]) -> None:
    """Resolve the futures of a stored batch: each event loop's on its own thread, in one callback (one
    wake-up of that loop), the others (a command, a worker thread) here."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Unit, BaseException | None]]] = {}
    for unit, error in outcomes:
        loop = unit.future.loop
        if loop is None or loop is asyncio._get_running_loop():
            unit.done(error)
        else:
            by_loop.setdefault(loop, []).append((unit, error))
    for loop, theirs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_now, theirs)
        except RuntimeError:  # the loop is closed: nobody waits there any more, resolve the futures here
            _resolve_now(theirs)


def _resolve_now(outcomes: list[tuple[_Unit, BaseException | None]]) -> None:
    for unit, error in outcomes:
        unit.done(error)


_WRITERS: weakref.WeakKeyDictionary[Engine, AuditWriter] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer_for(engine: Engine) -> AuditWriter:
    """The group writer of ``engine`` (made on first use)."""
    writer = _WRITERS.get(engine)
    if writer is None:
        with _WRITERS_LOCK:
            writer = _WRITERS.get(engine)
            if writer is None:
                writer = _WRITERS[engine] = AuditWriter(engine)
    return writer


def close_writer(engine: Engine) -> None:
    """Store what ``engine``'s group writer still holds and stop it (the application shuts down)."""
    writer = _WRITERS.pop(engine, None)
    if writer is not None:
        writer.close()


@atexit.register
def _close_all_writers() -> None:
    for writer in list(_WRITERS.values()):
        writer.close(timeout=10.0)
