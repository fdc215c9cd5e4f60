"""Database engine, sessions and migrations.

SQLite (the default) runs in WAL mode with foreign keys on and ``synchronous=FULL``, so that an
acknowledged write survives a killed process, and its writers queue on a lock (``WriterLock``) instead of
polling SQLite's own. PostgreSQL is used through ``ALLPATH_DATABASE_URL``.
The schema is created and upgraded by Alembic migrations only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import stat
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _private_database_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
        if path and path != ":memory:":
            _queue_writers(engine, WriterLock(Path(path + ".writer-lock")))

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True)


def _private_database_file(path: Path) -> None:
    """Create the data directory (mode 0700) and the database file (0600) for this user alone.

    The database holds patient records: nobody else on the machine may list or read it. SQLite creates its
    ``-wal`` and ``-shm`` files with the permissions of the database file, so creating that file first, with
    mode 0600, covers them too. An existing directory or file of this user is narrowed to the same modes,
    except a shared directory with the sticky bit (such as ``/tmp``), which is not allpath's to change.
    """
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid == os.getuid() and not info.st_mode & stat.S_ISVTX:
        directory.chmod(0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists() and name.stat().st_uid == os.getuid():
            name.chmod(0o600)


class WriterLock:
    """One writer at a time on a SQLite database, across threads and processes, waiting without SQLite's polls.

    SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps 1, 2, 5,
    10, ... up to 100 ms between tries. Every API request writes (at least its audit entry), so under
    concurrent requests those sleeps became the latency: 2 workers with 8 connections gave about 300
    assessments/s with a p99 over 100 ms, against about 550/s and 40 ms when writers queue here instead. A
    thread lock queues the writers of one process; an ``flock`` on a file beside the database queues the
    processes (the kernel drops it if a process dies). Waits are bounded by ``BUSY_TIMEOUT_S`` like SQLite's.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = threading.Lock()
        # The lock file stays open between writes: opening and closing it for each one cost two system calls
        # per commit, and each released the interpreter's lock to the event loop and back (benchmarks/README.md).
        # A forked process opens its own (an inherited descriptor shares its parent's lock).
        self._fd: int | None = None
        self._pid = os.getpid()

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            weakref.finalize(self, os.close, self._fd)  # closed with the lock (an engine disposed and dropped)
        return self._fd

    def acquire(self) -> int:
        if not self._thread.acquire(timeout=BUSY_TIMEOUT_S):
            raise sqlite3.OperationalError("database is locked (another writer of this process)")
        try:
            fd = self._descriptor()
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError("database is locked (another process)") from None
                    time.sleep(0.0002)
        except BaseException:
            self._thread.release()
            raise

    def release(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()


_HELD = "allpath_writer_lock"


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()


def writer_lock(engine: Engine) -> WriterLock | None:
    """The ``WriterLock`` of a SQLite file database (None for any other): code that writes through a DBAPI
    connection of its own, past SQLAlchemy's events (the audit group writer), takes it itself."""
    return _WRITER_LOCKS.get(engine)


def _queue_writers(engine: Engine, lock: WriterLock) -> None:
    """Take ``lock`` before a connection's first write; give it back when the connection returns to the pool
    (after its commit or rollback), or is invalidated or closed."""
    _WRITER_LOCKS[engine] = lock

    @event.listens_for(engine, "before_cursor_execute")
    def _take(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if _HELD not in connection.info and statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
            connection.info[_HELD] = lock.acquire()

    def _give(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        fd = record.info.pop(_HELD, None)
        if fd is not None:
            lock.release(fd)

    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, _give)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def integrity_ok(engine: Engine) -> bool:
    """The database's own integrity check (SQLite ``PRAGMA integrity_check``; PostgreSQL: a sanity query)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        return connection.execute(text("SELECT 1")).scalar() == 1


def finish_now(connection: Any) -> None:
    """Close an event loop's own PostgreSQL connection without waiting: a broken one, or one whose loop is gone
    (no loop left to close it on); psycopg's ``close`` is a coroutine."""
    with contextlib.suppress(Exception):
        connection.pgconn.finish()


def loop_conninfo(engine: Engine, application_name: str) -> str:
    """The libpq connection string of ``engine``'s PostgreSQL database, for a connection an event loop keeps of
    its own outside the engine's pool (``loop_reads``, ``audit_loop``), named ``application_name`` in
    ``pg_stat_activity``. The keywords are the dialect's own (host, port, database, user, password and the
    URL's options); SQLAlchemy's type adapters for its connections are left out: these statements bind values
    converted already."""
    from psycopg.conninfo import make_conninfo  # only with the PostgreSQL extra, only for a PostgreSQL database

    _none, params = engine.dialect.create_connect_args(engine.url)  # psycopg: keywords only
    params.pop("context", None)
    return make_conninfo(**params, application_name=application_name)
