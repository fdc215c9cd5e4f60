"""The audit log: who did what to which resource, and with what outcome; never patient data.

``record`` only notes an entry on the session; it reaches the database when the unit of work ends:

- **A unit that wrote data** (a new patient version, an account change): its entries are inserted in its own
  transaction, just before the commit, so that they commit (or fail) with the act.
- **A unit whose only write is its audit entries** (every read, every stateless assessment, every refusal:
  most requests): a transaction and a disk flush of its own would be most of the request's cost, so
  ``finish`` hands its entries to the database's ``AuditWriter``, which stores everything queued by all
  requests in one transaction, and gives back a future that resolves once they are committed. The request
  waits for it before it answers, so an acknowledged entry is durable; if the batch fails, the future fails
  and the request answers 500 (nothing acknowledged).

If the work is rolled back instead, ``fail`` stores the entries all the same (an act that had succeeded as
``failed``; refusals keep their outcome), so that no refusal and no attempted act is lost.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from allpath.storage import tables as t
from allpath.storage.clock import engine_of, now
from allpath.storage.db import writer_lock

AUDIT_TABLE = t.Base.metadata.tables[t.AuditEntry.__tablename__]  # the Core table (typed as a Table)
COLUMNS = ("at", "user_id", "role", "action", "resource", "resource_id", "outcome", "detail")  # of an entry
_PENDING_AUDIT = "allpath_pending_audit"  # the entries noted on a session, not yet stored
_WROTE = "allpath_wrote"  # the session's transaction has written something besides audit entries
_CONNECTED = "allpath_connected"  # the session's transaction holds a database connection

Entry = dict[str, object]  # one audit row: the AuditEntry columns by name


def record(
    s: Session,
    user: t.User | None,
    action: str,
    resource: str,
    resource_id: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Note an audit entry on the session; it is stored when the unit of work ends (see the module docstring).

    Nothing is written now: on SQLite a write takes the writer lock until the commit, and most units write
    nothing but their entries, which the group writer stores for many requests at once.
    """
    entry = {
        "at": now(),
        "user_id": user.id if user else None,
        "role": user.role if user else None,
        "action": action,
        "resource": resource,
        "resource_id": resource_id,
        "outcome": outcome,
        "detail": detail,
    }
    s.info.setdefault(_PENDING_AUDIT, []).append(entry)


# ---- what the session has written ------------------------------------------------------------------------


@listens_for(Session, "after_flush")
def _flushed(s: Session, _context: UOWTransaction) -> None:
    s.info[_WROTE] = True  # a flush runs only when there are ORM changes to write


@listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not state.is_select:  # insert, update, delete, or a text statement (counted as a write, to be safe)
        state.session.info[_WROTE] = True


@listens_for(Session, "after_begin")
def _connected(s: Session, _transaction: SessionTransaction, _connection: object) -> None:
    s.info[_CONNECTED] = True  # the transaction has begun on a connection: ending it is I/O


@listens_for(Session, "before_commit")
def _store_with_the_act(s: Session) -> None:
    """Whatever commits a session stores its noted entries in the same transaction (``finish`` takes them
    out first when they go to the group writer instead)."""
    entries = s.info.get(_PENDING_AUDIT)
    if entries:
        s.execute(insert(AUDIT_TABLE), entries)


@listens_for(Session, "after_commit")
def _audit_committed(s: Session) -> None:
    s.info.pop(_PENDING_AUDIT, None)
    s.info.pop(_WROTE, None)


@listens_for(Session, "after_transaction_end")
def _transaction_ended(s: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        s.info.pop(_WROTE, None)
        s.info.pop(_CONNECTED, None)


# ---- ending a unit of work ---------------------------------------------------------------------------------


def holds_work(s: Session) -> bool:
    """Whether ending this session's unit of work needs the database (a transaction begun on a connection,
    or ORM changes not yet flushed); when not, ``finish`` and ``fail`` only hand entries to the group writer.
    A transaction that holds no connection (an account from the token cache attached to the session,
    ``allpath.storage.token_cache``) ends without I/O."""
    return (s.in_transaction() and bool(s.info.get(_CONNECTED))) or bool(s.new or s.dirty or s.deleted)


def finish(s: Session) -> Future[None] | None:
    """Commit the unit of work of ``s``. Its audit entries commit with its writes; a unit that wrote nothing
    else hands them to the group writer instead: the future resolves once they are stored (None: stored)."""
    if not s.info.get(_PENDING_AUDIT) and not holds_work(s):
        return None  # nothing to store, nothing to end
    if s.new or s.dirty or s.deleted:
        s.flush()
    if s.info.get(_WROTE) or not s.info.get(_PENDING_AUDIT):
        s.commit()
        return None
    entries: list[Entry] = s.info.pop(_PENDING_AUDIT)
    if s.in_transaction():
        s.commit()  # ends the unit's reads (nothing written): the connection goes back to the pool
    return writer_for(engine_of(s)).submit(entries)


def fail(s: Session) -> Future[None] | None:
    """Roll the unit of work of ``s`` back, then store its audit entries all the same, through the group
    writer: an entry whose act had succeeded (``ok``) as ``failed`` (the act was rolled back); refusals and
    denials keep their outcome. The future resolves once they are stored (None: there were none)."""
    if holds_work(s):
        s.rollback()
    entries = s.info.pop(_PENDING_AUDIT, None)
    if not entries:
        return None
    rows = [entry | {"outcome": "failed" if entry["outcome"] == "ok" else entry["outcome"]} for entry in entries]
    return writer_for(engine_of(s)).submit(rows)


def keep_audit_after_failure(s: Session) -> None:
    """After a rolled-back unit of work, store its audit entries on their own and wait until they are (see
    ``fail``)."""
    stored = fail(s)
    if stored is not None:
        stored.result()


# ---- the group writer --------------------------------------------------------------------------------------

BATCH_ROWS = 1000  # at most this many entries in one transaction
IDLE_SECONDS = 2.0  # a writer thread with nothing to do for this long ends (the next entry starts another)


class AuditWriter:
    """Stores the audit entries of many units of work in one transaction (group commit), in a thread of its
    own, one per database engine and process.

    ``submit`` queues a unit's entries and returns a future. The thread takes everything queued, inserts it
    in one transaction, commits, and resolves each future; while it commits, new entries queue up for the
    next batch, so under load one commit (one disk flush) serves many requests. If a batch fails, each unit
    of it is tried again alone, so that one unit's bad entry fails only that unit. The thread is started on
    the first entry, in the process that submits it (never inherited by a fork), and ends when idle.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[list[Entry], Future[None]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self._prepared: _Prepared | None = None  # the writer's connection, made on the first batch

    def submit(self, entries: list[Entry]) -> Future[None]:
        """Queue ``entries`` for the next batch; the future resolves when they are committed (or fails)."""
        future: Future[None] = Future()
        with self._lock:
            if self._pid != os.getpid():  # a forked copy: its parent's thread, queue and connection are not its own
                self._queue, self._thread, self._pid, self._prepared = queue.SimpleQueue(), None, os.getpid(), None
            if self._closed:  # after shutdown: stored at once, by the caller
                self._store([(entries, future)])
                self._disconnect()
                return future
            self._queue.put((entries, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="allpath-audit-writer", daemon=True)
                self._thread.start()
        return future

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
            batch = [] if item is None else [item]
            stop = item is None
            rows = len(item[0]) if item is not None else 0
            while rows < BATCH_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    continue
                batch.append(item)
                rows += len(item[0])
            if batch:
                self._store(batch)
            if stop:
                with self._lock:
                    self._disconnect()
                    self._thread = None
                # anything queued after the stop is stored by close()'s callers (the writer is closed)
                return

    def _store(self, batch: list[tuple[list[Entry], Future[None]]]) -> None:
        try:
            self._insert([row for entries, _ in batch for row in entries])
        except Exception as error:  # noqa: BLE001 - handed to the waiting requests, which answer 500
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for unit in batch:  # one unit's bad entry must not fail the others
                self._store([unit])
            return
        for _, future in batch:
            future.set_result(None)

    def _insert(self, rows: list[Entry]) -> None:
        """Insert ``rows`` in one transaction and commit, on the writer's own DBAPI connection.

        Not through SQLAlchemy's ``Connection``: a pool checkout, a compiled-statement look-up, the
        execution events and a checkin cost 0.2-0.4 ms of CPU per batch, twice the work of the insert
        and commit themselves (benchmarks/README.md), and every request's entry passes here. The statement
        and the columns' conversions are SQLAlchemy's own, made once (``_Prepared``), so the rows stored are
        the same; on SQLite the writer takes the database's ``WriterLock`` itself, as every writer does."""
        prepared = self._prepared or _Prepared(self._engine)
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


class _Prepared:
    """A DBAPI connection of the group writer's own with its insert statement and the conversions of the
    audit columns, as SQLAlchemy compiles them for the engine's dialect."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        compiled = insert(AUDIT_TABLE).compile(dialect=dialect, column_keys=list(COLUMNS))
        self.sql = compiled.string
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.convert: list[tuple[str, Callable[[Any], Any]]] = []
        for name in COLUMNS:
            process = AUDIT_TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.convert.append((name, process))
        self.pooled = engine.raw_connection()  # kept out of the pool while the writer lives
        self.connection: DBAPIConnection = self.pooled.dbapi_connection  # type: ignore[assignment]

    def store(self, rows: list[Entry]) -> None:
        named: list[Mapping[str, object]] = []
        for row in rows:
            values = {name: row[name] for name in COLUMNS}
            for name, process in self.convert:
                values[name] = process(values[name])
            named.append(values)
        order = self.order
        cursor = self.connection.cursor()
        try:
            if order is None:
                cursor.executemany(self.sql, named)
            else:
                cursor.executemany(self.sql, [tuple(values[name] for name in order) for values in named])
        finally:
            cursor.close()
        self.connection.commit()

    def discard(self) -> None:
        """Drop the connection after a failed batch (rolled back by the pool; a broken one is not reused)."""
        try:
            self.pooled.invalidate()
        except Exception:  # noqa: BLE001 - already broken: nothing more to give back
            return

    def close(self) -> None:
        self.pooled.close()  # back to the pool


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


def entries(s: Session, limit: int = 200) -> list[t.AuditEntry]:
    """The newest audit entries, newest first."""
    return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id.desc()).limit(limit)))
