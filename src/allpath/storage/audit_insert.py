"""The audit log's insert, as SQLAlchemy compiles it for a database, and the connections that run it.

The group writers (``allpath.storage.audit_writer``: a thread's, and on PostgreSQL the event loop's own,
``allpath.storage.audit_loop``) store every request's audit entries. Not through SQLAlchemy's ``Connection``:
a pool checkout, a compiled-statement look-up, the execution events and a checkin cost 0.2-0.4 ms of CPU per
batch, twice the work of the insert and commit themselves (benchmarks/README.md). The statement and the
columns' conversions are SQLAlchemy's own, made once (``AuditInsert``), so the rows stored are the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Dialect, Engine, insert
from sqlalchemy.engine.interfaces import DBAPIConnection

from allpath.storage import tables as t

AUDIT_TABLE = t.Base.metadata.tables[t.AuditEntry.__tablename__]  # the Core table (typed as a Table)
COLUMNS = ("at", "user_id", "role", "action", "resource", "resource_id", "outcome", "detail")  # of an entry
ROWS_PER_STATEMENT = 100  # SQLite: a batch of up to this many rows is one multi-row INSERT (see ``PreparedInsert``)

Entry = dict[str, object]  # one audit row: the AuditEntry columns by name


class AuditInsert:
    """The insert of one audit row for ``dialect`` and the conversions of its columns' values."""

    def __init__(self, dialect: Dialect) -> None:
        compiled = insert(AUDIT_TABLE).compile(dialect=dialect, column_keys=list(COLUMNS))
        self.sql = compiled.string
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.convert: list[tuple[str, Callable[[Any], Any]]] = []
        for name in COLUMNS:
            process = AUDIT_TABLE.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.convert.append((name, process))
        self._one_statements: dict[int, tuple[str, tuple[str, ...]]] = {}

    def one_statement(self, rows: int) -> tuple[str, tuple[str, ...]]:
        """One ``INSERT`` of ``rows`` rows with positional parameters, and the column of each parameter of a
        row, in order: a positional dialect's own (SQLite's ``?``), a pyformat one's made positional
        (PostgreSQL's ``%(name)s`` as ``%s``). Without ``RETURNING``: nothing reads the ids."""
        found = self._one_statements.get(rows)
        if found is None:
            head, _, row = self.sql.partition(" VALUES ")
            row = row.partition(" RETURNING ")[0]
            if self.order is not None:
                names = self.order
            else:
                names = tuple(re.findall(r"%\((\w+)\)s", row))
                row = re.sub(r"%\(\w+\)s", "%s", row)
            found = self._one_statements[rows] = (f"{head} VALUES {', '.join([row] * rows)}", names)
        return found

    def named(self, rows: list[Entry]) -> list[Mapping[str, object]]:
        """Each row's parameters by column name, converted as SQLAlchemy would."""
        named: list[Mapping[str, object]] = []
        for row in rows:
            values = {name: row[name] for name in COLUMNS}
            for name, process in self.convert:
                values[name] = process(values[name])
            named.append(values)
        return named


class PreparedInsert:
    """A DBAPI connection of the group writer's thread with the insert (``AuditInsert``).

    On SQLite a batch of up to ``ROWS_PER_STATEMENT`` rows is stored by one multi-row ``INSERT`` on a
    connection in autocommit mode: the statement is its own transaction, stored and flushed to disk in one
    step. The driver lets go of the interpreter's lock for each step (``BEGIN``, each row's insert, ``COMMIT``)
    and the writer's thread had to take it back from the busy event loop after each; one step a batch
    instead of two more than its rows. A larger batch is several statements in one explicit transaction.
    PostgreSQL keeps ``executemany`` (the driver sends a batch's rows in one round trip) and its commit."""

    def __init__(self, engine: Engine) -> None:
        self.insert = AuditInsert(engine.dialect)
        self.sql, self.order = self.insert.sql, self.insert.order
        self.pooled = engine.raw_connection()  # kept out of the pool while the writer lives
        self.connection: DBAPIConnection = self.pooled.dbapi_connection  # type: ignore[assignment]
        self.one_statement = engine.dialect.name == "sqlite" and self.order is not None and " VALUES " in self.sql
        self._isolation: object = None
        if self.one_statement:
            self._isolation = getattr(self.connection, "isolation_level", "")
            self.connection.isolation_level = None  # autocommit (given back on close)

    def store(self, rows: list[Entry]) -> None:
        named = self.insert.named(rows)
        order = self.order
        cursor = self.connection.cursor()
        try:
            if order is None:
                cursor.executemany(self.sql, named)
            elif not self.one_statement:
                cursor.executemany(self.sql, [tuple(values[name] for name in order) for values in named])
            elif len(named) <= ROWS_PER_STATEMENT:
                cursor.execute(self._statement(len(named)), [values[name] for values in named for name in order])
                return  # stored: the statement was its own transaction
            else:
                cursor.execute("BEGIN")
                for start in range(0, len(named), ROWS_PER_STATEMENT):
                    chunk = named[start : start + ROWS_PER_STATEMENT]
                    cursor.execute(self._statement(len(chunk)), [values[name] for values in chunk for name in order])
                cursor.execute("COMMIT")  # a failure before it leaves the transaction to ``discard``
                return
        finally:
            cursor.close()
        self.connection.commit()

    def _statement(self, rows: int) -> str:
        return self.insert.one_statement(rows)[0]

    def discard(self) -> None:
        """Drop the connection after a failed batch (rolled back by the pool; a broken one is not reused)."""
        try:
            self.pooled.invalidate()
        except Exception:  # noqa: BLE001 - already broken: nothing more to give back
            return

    def close(self) -> None:
        if self.one_statement:  # the pool's other users expect the driver's own transactions
            self.connection.isolation_level = self._isolation
        self.pooled.close()  # back to the pool
