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

from concurrent.futures import Future

from sqlalchemy import insert, select
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from allpath.storage import tables as t
from allpath.storage.audit_writer import AUDIT_TABLE, COLUMNS, AuditWriter, Entry, close_writer, writer_for
from allpath.storage.clock import engine_of, now

_PENDING_AUDIT = "allpath_pending_audit"  # the entries noted on a session, not yet stored
_WROTE = "allpath_wrote"  # the session's transaction has written something besides audit entries
_CONNECTED = "allpath_connected"  # the session's transaction holds a database connection


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


def finish(s: Session, *, on_loop: bool = False) -> Future[None] | None:
    """Commit the unit of work of ``s``. Its audit entries commit with its writes; a unit that wrote nothing
    else hands them to the group writer instead: the future resolves once they are stored (None: stored).
    ``on_loop``: the caller awaits the future on the running event loop (``AuditWriter.submit``)."""
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
    return writer_for(engine_of(s)).submit(entries, on_loop=on_loop)


def fail(s: Session, *, on_loop: bool = False) -> Future[None] | None:
    """Roll the unit of work of ``s`` back, then store its audit entries all the same, through the group
    writer: an entry whose act had succeeded (``ok``) as ``failed`` (the act was rolled back); refusals and
    denials keep their outcome. The future resolves once they are stored (None: there were none)."""
    if holds_work(s):
        s.rollback()
    entries = s.info.pop(_PENDING_AUDIT, None)
    if not entries:
        return None
    return writer_for(engine_of(s)).submit(_as_failed(entries), on_loop=on_loop)


def _as_failed(entries: list[Entry]) -> list[Entry]:
    return [entry | {"outcome": "failed" if entry["outcome"] == "ok" else entry["outcome"]} for entry in entries]


def keep_audit_after_failure(s: Session) -> None:
    """After a rolled-back unit of work, store its audit entries on their own and wait until they are (see
    ``fail``)."""
    stored = fail(s)
    if stored is not None:
        stored.result()


def entries(s: Session, limit: int = 200) -> list[t.AuditEntry]:
    """The newest audit entries, newest first."""
    return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id.desc()).limit(limit)))


__all__ = [
    "AUDIT_TABLE",
    "COLUMNS",
    "AuditWriter",
    "Entry",
    "close_writer",
    "entries",
    "fail",
    "finish",
    "holds_work",
    "keep_audit_after_failure",
    "record",
    "writer_for",
]
