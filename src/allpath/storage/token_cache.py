"""API tokens already checked, kept per process, and the shared generation that makes a revocation exact.

Every machine request signs in with its API token. Looking the token up costs an indexed query, a
transaction and a worker-thread trip: more CPU than the rest of the request path around the engine
(benchmarks/README.md). A process therefore keeps the accounts of the tokens it has checked, but trusts
an entry only while nothing that decides sign-in has changed since it was read, in any process:

- **The sign-in generation.** Eight bytes in a file beside the SQLite database (``allpath.db.sign-in``),
  mapped into the memory of every process that opens the database (servers, workers, the command line). A
  file removed or replaced by hand (an operator tidying the folder, a backup put back) is noticed and mapped
  again within ``RECHECK_SECONDS``: a ``stat`` at most that often, not on every request (on the event loop each
  one handed the interpreter's lock to the audit writer's thread and back: about 1.8 thread switches and 0.1 ms
  of CPU per request over HTTP, benchmarks/README.md).
  Any session that writes the ``users``, ``api_tokens`` or ``access_grants`` tables -- a revocation, a
  deactivated account, a changed role or team, a grant given or withdrawn -- writes new random bytes there
  right after its commit, before its request is answered or its command ends. A process compares the bytes
  with those it read before its look-up, on every request: after a change every entry
  read before it is refused, in every process at once, and the token is looked up again.
- **The token's expiry** is kept with the entry and checked on every use, to the microsecond.
- **At most ``MAX_AGE_SECONDS`` old**: a change made outside allpath (a database edited by hand, a backup
  put back) writes no new generation; it is seen within this time, or at once after a restart.

On PostgreSQL, which servers on several machines may share (no file could tell them of a revocation), the
generation is a row in the database (``sign_in_generation``) that PostgreSQL's own triggers change in the very
transaction of every change to those tables, whoever makes it (migration 0006: a hand edit too). A request
with a kept token has it read in one statement that began after the request asked, on a connection the process
keeps for that (``DatabaseGeneration``: autocommit, prepared by psycopg, no pool, no ORM, no transaction to
end): a statement sees every commit made before it began, so a request that arrives after a revocation, a
deactivation or a withdrawn grant has committed reads the new value and looks its token up again. The hot
route reads it on the event loop itself (``allpath.storage.loop_reads``: an asynchronous connection per loop,
one statement shared by the requests that asked before it began): read in a sign-in thread, the trip there and
back cost a worker about 0.4 ms of CPU per request (benchmarks/README.md). That replaces the look-up's
pool checkout and pre-ping, its join, its ORM rows, BEGIN and COMMIT with one trivial round trip (the sign-in
costs a quarter of the CPU: benchmarks/README.md). Chosen over reading the
generation in the audit group writer's batch (no round trip of its own, but every answer would need holding
back and re-checking in the kernel) and over LISTEN/NOTIFY (delivered later: not immediate). A SQLite
database in memory has no generation and no cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import queue
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, make_transient_to_detached

from allpath.storage import tables as t
from allpath.storage.clock import engine_of, now
from allpath.storage.db import loop_conninfo
from allpath.storage.loop_reads import LoopReads

SIGN_IN_TABLES = frozenset({t.User.__tablename__, t.ApiToken.__tablename__, t.AccessGrant.__tablename__})
SIGN_IN_CLASSES = (t.User, t.ApiToken, t.AccessGrant)
MAX_AGE_SECONDS = 30.0
RECHECK_SECONDS = 0.05  # how often a process looks whether the sign-in file is still the one it maps
MAX_ENTRIES = 1024  # tokens kept per process; when full, the cache starts again empty
_CHANGED = "allpath_sign_in_changed"  # the session's transaction wrote a table that decides sign-in
GENERATION_BYTES = 8


class Generation:
    """The sign-in generation of one SQLite database file, shared through a memory map of a file beside it."""

    in_memory = True  # ``current`` does no I/O: the event loop may ask

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._remapped = 0  # how often this process mapped the file again: part of the generation it reads
        self._map, self._file = self._mapped_file()
        self._recheck_at = monotonic() + RECHECK_SECONDS

    def _mapped_file(self) -> tuple[mmap.mmap, tuple[int, int]]:
        descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            info = os.fstat(descriptor)
            if info.st_size < GENERATION_BYTES:
                os.ftruncate(descriptor, GENERATION_BYTES)  # zeros: the first generation
            return mmap.mmap(descriptor, GENERATION_BYTES), (info.st_dev, info.st_ino)
        finally:
            os.close(descriptor)  # the map keeps the file

    def _shared(self) -> mmap.mmap:
        """The map of the file that is beside the database now. One ``stat``: a file removed or replaced is
        mapped again, since the processes that open the database later read and write the new one; the
        generation read then differs from every one read before (``_remapped``)."""
        self._recheck_at = monotonic() + RECHECK_SECONDS
        try:
            info = os.stat(self._path)
            same = (info.st_dev, info.st_ino) == self._file
        except FileNotFoundError:
            same = False
        if not same:
            with self._lock:
                self._map, self._file = self._mapped_file()
                self._remapped += 1
        return self._map

    def current(self) -> bytes:
        """The generation now: read from memory shared with every other process of the database (the file
        looked at again once ``RECHECK_SECONDS`` have passed)."""
        shared = self._map if monotonic() < self._recheck_at else self._shared()
        return self._remapped.to_bytes(8, "big") + shared[:GENERATION_BYTES]

    async def current_on_loop(self) -> bytes:
        """``current``: no I/O, so the same on the event loop."""
        return self.current()

    def advance(self) -> None:
        """A new generation (random bytes: no counter to read, increment and lose between processes), written
        to the file this process mapped and, if that one was removed or replaced, to the file there now: the
        processes that still map the old one see the change at once too, not only after ``RECHECK_SECONDS``."""
        generation = os.urandom(GENERATION_BYTES)
        self._map[:GENERATION_BYTES] = generation
        self._shared()[:GENERATION_BYTES] = generation


APPLICATION_NAME = "allpath sign-in generation"
LOOP_APPLICATION_NAME = "allpath sign-in generation, event loop"


class DatabaseGeneration:
    """The sign-in generation kept in the database (PostgreSQL): read in one statement per use.

    ``current`` does I/O, so a request asks it in its sign-in thread, never on the event loop
    (``in_memory`` is False); ``current_on_loop`` reads it on the event loop, without a thread. It is read on
    connections of this process's own, made outside the engine's pool (the pool's connections stay for the
    sessions) and kept between requests: at most ``MAX_CONNECTIONS`` for the threads, and one per event loop.
    A read that fails drops its connection and gives a value that matches nothing, so the token is looked up
    as without a cache (and that look-up reports the database's error).
    """

    in_memory = False
    MAX_CONNECTIONS = 2  # a read takes a fraction of a request's time: more would only hold connections
    SQL = "SELECT value FROM sign_in_generation WHERE id = 1"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()  # DBAPI connections not in use
        self._slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)
        self._pid = os.getpid()
        self._loop_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopReads] = weakref.WeakKeyDictionary()

    def _connect(self) -> Any:
        dialect = self._engine.dialect
        args, params = dialect.create_connect_args(self._engine.url)
        params.setdefault("application_name", APPLICATION_NAME)  # pg_stat_activity says what it is
        connection = dialect.connect(*args, **params)
        connection.autocommit = True  # one statement, no transaction to end
        return connection

    def current(self) -> bytes:
        """The generation now, read from the database in one statement that began after this call did."""
        if self._pid != os.getpid():  # a forked copy: its parent's connections and slots are not its own
            self._idle, self._slots = queue.SimpleQueue(), threading.BoundedSemaphore(self.MAX_CONNECTIONS)
            self._pid = os.getpid()
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                connection = None
            try:
                connection = connection or self._connect()
                cursor = connection.cursor()  # psycopg prepares a statement it has run 5 times on a connection
                cursor.execute(self.SQL)
                row = cursor.fetchone()
                cursor.close()
            except Exception:  # noqa: BLE001 - a broken connection: look the token up as without a cache
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
                return os.urandom(GENERATION_BYTES + 1)  # never equal to a value read
            self._idle.put(connection)
        return os.urandom(GENERATION_BYTES + 1) if row is None else int(row[0]).to_bytes(8, "big", signed=True)

    async def current_on_loop(self) -> bytes:
        """``current`` read on the running event loop, on the loop's own connection (``allpath.storage.loop_reads``)."""
        loop = asyncio.get_running_loop()
        reads = self._loop_reads.get(loop)
        if reads is None:
            reads = self._loop_reads[loop] = LoopReads(loop_conninfo(self._engine, LOOP_APPLICATION_NAME), self.SQL)
        return await reads.current()

    def advance(self) -> None:
        """Nothing to do: the database's triggers changed the value in the committed transaction itself."""


_GENERATIONS: weakref.WeakKeyDictionary[Engine, Generation | DatabaseGeneration | None] = weakref.WeakKeyDictionary()
_GENERATIONS_LOCK = threading.Lock()


def generation_of(engine: Engine) -> Generation | DatabaseGeneration | None:
    """The sign-in generation of ``engine``'s database; None when it has none (SQLite in memory)."""
    try:
        return _GENERATIONS[engine]
    except KeyError:
        pass
    with _GENERATIONS_LOCK:
        if engine not in _GENERATIONS:
            backend = engine.url.get_backend_name()
            database = engine.url.database if backend == "sqlite" else None
            found: Generation | DatabaseGeneration | None = None
            if backend == "postgresql":
                found = DatabaseGeneration(engine)
            elif database and database != ":memory:" and not database.startswith("file:"):
                found = Generation(Path(database + ".sign-in"))
            _GENERATIONS[engine] = found
        return _GENERATIONS[engine]


# ---- a session that changes sign-in advances the generation after its commit ---------------------------


@event.listens_for(Session, "after_flush")
def _flushed(s: Session, _context: UOWTransaction) -> None:
    for instance in (*s.new, *s.dirty, *s.deleted):
        if isinstance(instance, SIGN_IN_CLASSES):
            s.info[_CHANGED] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in SIGN_IN_TABLES:  # a text statement counts as a change, to be safe
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _committed(s: Session) -> None:
    if s.info.pop(_CHANGED, False):
        generation = generation_of(engine_of(s))
        if generation is not None:
            generation.advance()


@event.listens_for(Session, "after_rollback")
def _rolled_back(s: Session) -> None:
    s.info.pop(_CHANGED, None)  # nothing of it was stored


# ---- the accounts of checked tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A token's account as looked up under ``generation``: copied into a request's session (``found``), or
    read as it is, never attached nor changed, by a route that needs only its id and role (``exact``)."""

    user: t.User  # detached: a template
    granted: bool
    expires_at: datetime
    generation: bytes
    read_at: float  # monotonic() of the look-up


class TokenCache:
    """The accounts of the tokens this process has checked for one database, by the token's digest."""

    def __init__(self, generation: Generation | DatabaseGeneration) -> None:
        self.generation = generation
        self._entries: dict[str, Checked] = {}

    def found(self, s: Session, token_hash: str) -> tuple[t.User, bool] | None:
        """The account of the token (attached to ``s``, no SQL) and whether it was granted patient data, when
        an entry is still exact; None when it must be looked up."""
        entry = self.exact(token_hash)
        return None if entry is None else (s.merge(entry.user, load=False), entry.granted)

    def exact(self, token_hash: str) -> Checked | None:
        """The token's entry while it is still exact (see the module docstring); None when it must be looked
        up. Its ``user`` is the detached template shared by every request: read it, never attach or change
        it (``found`` gives a copy in a session)."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        return self._still_exact(token_hash, entry, self.generation.current())

    async def exact_on_loop(self, token_hash: str) -> Checked | None:
        """``exact``, its generation read on the running event loop where it is I/O (PostgreSQL)."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        return self._still_exact(token_hash, entry, await self.generation.current_on_loop())

    def _still_exact(self, token_hash: str, entry: Checked, generation: bytes) -> Checked | None:
        if entry.generation != generation or monotonic() - entry.read_at > MAX_AGE_SECONDS or now() >= entry.expires_at:
            self._entries.pop(token_hash, None)
            return None
        return entry

    def keep(self, token_hash: str, user: t.User, granted: bool, expires_at: datetime, generation: bytes) -> None:
        """Keep what a look-up found, read under ``generation`` (read *before* the look-up began)."""
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = Checked(_template(user), granted, expires_at, generation, monotonic())


def _template(user: t.User) -> t.User:
    """A detached copy of a loaded account, with its columns only (``User`` has no relationships)."""
    columns = {column.key: getattr(user, column.key) for column in inspect(t.User).column_attrs}
    copy = t.User(**columns)
    make_transient_to_detached(copy)
    return copy


_CACHES: weakref.WeakKeyDictionary[Engine, TokenCache | None] = weakref.WeakKeyDictionary()


def cache_for(engine: Engine) -> TokenCache | None:
    """The token cache of ``engine``'s database in this process; None where there is no generation."""
    try:
        return _CACHES[engine]
    except KeyError:
        generation = generation_of(engine)
        cache = _CACHES[engine] = TokenCache(generation) if generation is not None else None
        return cache
