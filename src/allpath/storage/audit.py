"""The audit log: who did what to which resource, and with what outcome; never patient data.

An entry is written in the caller's transaction, so that it commits (or fails) with the act. If the
transaction is rolled back instead, ``keep_audit_after_failure`` writes the request's entries again on their
own, so that no refusal and no attempted act is lost.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session

from allpath.storage import tables as t
from allpath.storage.clock import engine_of, now

AUDIT_TABLE = t.Base.metadata.tables[t.AuditEntry.__tablename__]  # the Core table (typed as a Table)
_PENDING_AUDIT = "allpath_pending_audit"


def record(
    s: Session,
    user: t.User | None,
    action: str,
    resource: str,
    resource_id: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Add an audit entry in the caller's transaction (so it commits, or fails, with the action).

    A Core insert, not an ORM object: every API request writes one, and the unit-of-work flush of an ORM
    object cost about a quarter of a stateless assessment request. The insert runs at once, in the open
    transaction; on SQLite it takes the writer lock, so callers audit after their slow work, not before.
    The entry is also kept on the session until the transaction commits: if the request fails instead,
    ``keep_audit_after_failure`` writes it again, marked as failed, so that no audited act is lost.
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
    s.execute(insert(AUDIT_TABLE), [entry])


@listens_for(Session, "after_commit")
def _audit_committed(s: Session) -> None:
    s.info.pop(_PENDING_AUDIT, None)


def keep_audit_after_failure(s: Session) -> None:
    """After a rolled-back request, write its audit entries again in a transaction of their own.

    An entry whose act had succeeded (``ok``) is stored as ``failed``: the act itself was rolled back.
    Refusals and denials keep their outcome. Nothing else of the failed request is written.
    """
    entries = s.info.pop(_PENDING_AUDIT, None)
    if not entries:
        return
    rows = [entry | {"outcome": "failed" if entry["outcome"] == "ok" else entry["outcome"]} for entry in entries]
    with engine_of(s).connect() as connection:
        connection.execute(insert(AUDIT_TABLE), rows)
        connection.commit()


def entries(s: Session, limit: int = 200) -> list[t.AuditEntry]:
    """The newest audit entries, newest first."""
    return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id.desc()).limit(limit)))
