"""The unit of work of one request or one command: the database session and the account acting.

The HTTP kernel makes one per request (``UnitOfWork(session, principal.user)``), hands it to the use cases
and ends it before the answer is sent: ``finish`` commits it, ``fail`` rolls it back but keeps the audit
entries (refusals keep their outcome, acts that had succeeded are stored as ``failed``). A unit whose only
write is its audit entries has them stored by the database's group writer (``allpath.storage.audit``): both
then return a future that resolves once the entries are durable, which the kernel awaits before it answers.
Commands and scripts use ``unit_of_work(factory, actor)``, which does the same around a ``with`` block, and
``commit`` (``finish`` and wait).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports the service without a database: no SQLAlchemy at import time
    import asyncio
    from concurrent.futures import Future  # (nor concurrent.futures, which imports logging: 3-5 ms of a start)

    from sqlalchemy import Engine
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
        """Record who did ``action`` to which ``resource`` (ids and action names only, never patient data);
        stored when the unit ends, with its writes, and kept even if the work fails (``fail``)."""
        from allpath.storage import audit

        audit.record(self.session, self.actor, action, resource, resource_id, outcome=outcome, detail=detail)

    def holds_work(self) -> bool:
        """Whether ending this unit needs the database (an open transaction or unflushed changes); when not,
        ``finish`` and ``fail`` only hand its audit entries to the group writer (no I/O, no thread needed)."""
        from allpath.storage import audit

        return audit.holds_work(self.session)

    def finish(self, *, on_loop: bool = False) -> Future[None] | None:
        """Commit the work; its audit entries commit with it, or, when it wrote nothing else, go to the group
        writer: then the returned future resolves once they are stored (None: all is stored already).
        ``on_loop``: the caller awaits that future on the running event loop, never blocking it meanwhile
        (the HTTP kernel); on PostgreSQL the loop then stores the entries itself."""
        from allpath.storage import audit

        return audit.finish(self.session, on_loop=on_loop)

    def fail(self, *, on_loop: bool = False) -> Future[None] | None:
        """Roll the work back, then store its audit entries on their own (acts that had succeeded as
        ``failed``); the returned future resolves once they are stored (None: there were none). ``on_loop``
        as for ``finish``."""
        from allpath.storage import audit

        return audit.fail(self.session, on_loop=on_loop)

    def commit(self) -> None:
        """``finish``, and wait until the audit entries are stored too (a command line, a script)."""
        durable = self.finish()
        if durable is not None:
            durable.result()

    def roll_back(self) -> None:
        """``fail``, and wait until the audit entries are stored (a command line, a script)."""
        durable = self.fail()
        if durable is not None:
            durable.result()


def resolve_on(durable: Future[None], loop: asyncio.AbstractEventLoop) -> None:
    """Ask that ``durable`` (from ``finish`` or ``fail``), awaited on ``loop`` without blocking it, be
    resolved on that loop's thread: the group writer then wakes the loop once per batch, not once per unit."""
    from allpath.storage.audit_writer import Durable

    if isinstance(durable, Durable):
        durable.resolve_on(loop)


def shut_down(engine: Engine) -> None:
    """Store the audit entries the group writer of ``engine`` still holds, then stop it (the service is
    shutting down; each answered request's entries are stored already)."""
    from allpath.storage import audit

    audit.close_writer(engine)


@contextlib.contextmanager
def unit_of_work(factory: sessionmaker[Session], actor: t.User | None) -> Iterator[UnitOfWork]:
    """A unit of work around a ``with`` block: committed when the block ends, failed (rolled back, its audit
    entries kept) when it raises."""
    with factory() as session:
        work = UnitOfWork(session, actor)
        try:
            yield work
        except BaseException:
            with contextlib.suppress(Exception):  # the block's own error is the one to report
                work.roll_back()
            raise
        work.commit()
