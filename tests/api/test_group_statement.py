"""How the group writer stores a batch on SQLite (``allpath.storage.audit_insert.PreparedInsert``): one multi-row
INSERT in autocommit mode, its own transaction, for a batch of up to ``ROWS_PER_STATEMENT`` rows; several in
one explicit transaction for a larger one; all of a batch or none of it; and the connection handed back to the
pool in the driver's own transaction mode."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from allpath.storage import audit_insert
from tests.api import test_group_wakeup
from tests.api.test_group_commit import _entry, _stored

engine = test_group_wakeup.engine  # the fixture: a migrated SQLite file (its group writer closed after)


def _statements(prepared: audit_insert.PreparedInsert) -> list[str]:
    seen: list[str] = []
    prepared.connection.set_trace_callback(seen.append)  # sqlite3's own
    return seen


def test_a_batch_is_one_statement_that_is_its_own_transaction(engine: Engine) -> None:
    prepared = audit_insert.PreparedInsert(engine)
    seen = _statements(prepared)
    prepared.store([_entry(f"row {n}") for n in range(5)])
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO audit_log") and seen[0].count("), (") == 4
    assert [entry.detail for entry in _stored(engine, action="test")] == [f"row {n}" for n in range(5)]
    prepared.close()


def test_a_larger_batch_is_several_statements_in_one_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_insert, "ROWS_PER_STATEMENT", 3)
    prepared = audit_insert.PreparedInsert(engine)
    seen = _statements(prepared)
    prepared.store([_entry(f"row {n}") for n in range(7)])
    assert [statement.split(" ", 1)[0] for statement in seen] == ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"]
    assert len(_stored(engine, action="test")) == 7
    prepared.close()


@pytest.mark.parametrize("rows_per_statement", [100, 3])
def test_a_batch_with_a_bad_row_stores_none_of_its_rows(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, rows_per_statement: int
) -> None:
    monkeypatch.setattr(audit_insert, "ROWS_PER_STATEMENT", rows_per_statement)
    prepared = audit_insert.PreparedInsert(engine)
    rows = [_entry(f"row {n}") for n in range(7)]
    rows[5] = rows[5] | {"user_id": 999_999}  # no such account: the foreign key refuses it
    with pytest.raises(Exception, match="FOREIGN KEY"):
        prepared.store(rows)
    prepared.discard()
    assert _stored(engine, action="test") == []  # nothing of the batch: its units are then tried alone


def test_the_connection_goes_back_to_the_pool_in_the_drivers_own_transaction_mode(engine: Engine) -> None:
    prepared = audit_insert.PreparedInsert(engine)
    connection = prepared.connection
    before = prepared._isolation
    assert connection.isolation_level is None  # autocommit while the writer has it
    prepared.close()
    assert connection.isolation_level == before
    raw = engine.raw_connection()
    try:
        assert raw.dbapi_connection is connection and connection.isolation_level == before
    finally:
        raw.close()
