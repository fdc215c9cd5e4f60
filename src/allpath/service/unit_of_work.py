"""The unit of work of one request or one command: the database session and the account acting.

The HTTP kernel makes one per request (``UnitOfWork(session, principal.user)``), hands it to the use cases
and commits it before the answer is sent; on an error it calls ``fail``, which rolls the work back but keeps
the audit entries (refusals keep their outcome, acts that had succeeded are stored as ``failed``). Commands
and scripts use ``unit_of_work(factory, actor)``, which does the same around a ``with`` block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports the service without a database: no SQLAlchemy at import time
    from sqlalchemy.orm import Session, sessionmaker

    from allpath.storage import tables as t


@dataclass(frozen=True)
class UnitOfWork:
    """The session every use case of one request reads and writes through, and who acts (``None``: the
    server's operator, on the command line)."""

    session: Session
    actor: t.User | None

    def audit(
        self,
        action: str,
        resource: str,
        resource_id: str | None = None,
        *,
        outcome: str = "ok",
        detail: str = "",
    ) -> None:
        """Record who did ``action`` to which ``resource`` (ids and action names only, never patient data),
        in this unit's transaction; it is kept even if the work fails afterwards (``fail``)."""
        from allpath.storage import audit

        audit.record(self.session, self.actor, action, resource, resource_id, outcome=outcome, detail=detail)

    def commit(self) -> None:
        """Store the work and its audit entries (before the answer is sent: an answered write is stored)."""
        self.session.commit()

    def fail(self) -> None:
        """Roll the work back, then write its audit entries again on their own (``keep_audit_after_failure``)."""
        from allpath.storage import audit

        self.session.rollback()
        with contextlib.suppress(Exception):  # the work's own error is the one to report
            audit.keep_audit_after_failure(self.session)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session], actor: t.User | None) -> Iterator[UnitOfWork]:
    """A unit of work around a ``with`` block: committed when the block ends, failed (rolled back, its audit
    entries kept) when it raises."""
    with factory() as session:
        work = UnitOfWork(session, actor)
        try:
            yield work
        except BaseException:
            work.fail()
            raise
        work.commit()
