"""The audit entries of one event loop's requests, gathered on the loop and handed to the group writer a batch
at a time (``allpath.storage.audit_writer``).

Every assessment's only write is its audit entry, and the request answers only once that entry is durable.
On SQLite one commit -- one disk flush, most of it this process's own CPU -- should serve as many requests as
possible; but on a busy loop the entries of its requests come one request's CPU time apart, each sooner than
a disk flush, so a batch has to wait for the others in flight. The loop is where that is known without a lock:
every request that will submit an entry says so when it starts (``expecting``) and when it has been answered;
an entry submitted here (``submit``) waits while another such request of the loop is still computing, and the
batch is handed to the writer, in one put, as soon as none is (or after ``LINGER_SECONDS``, whatever happens).
The writer then resolves the batch's futures on the loop, all in one callback.

Before, the writer's thread did the waiting: each entry and each answered request woke it to look again, and
every wake-up took the interpreter's lock from the loop (about a tenth of a millisecond of CPU per request
over HTTP: benchmarks/README.md). Now the thread is woken once per batch and the loop once per batch.

Only the loop's thread touches a ``LoopGathering`` (its requests, its timer, the writer's callback), so it
holds no lock. PostgreSQL's batches do not wait (``AuditWriter.gathers``): each entry is handed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from allpath.storage.audit_writer import AuditWriter, Entry, Unit

# How long a batch may wait for the entries of the loop's other requests in flight before it is handed over:
# a request still computing after this is not waited for (its entry joins a later batch).
LINGER_SECONDS = 0.002


class LoopGathering:
    """The batch being gathered on one event loop for one group writer (``gathering``)."""

    def __init__(self, writer: AuditWriter) -> None:
        self._writer = writer  # not the loop: the writer keeps its loops' gatherings weakly, by loop
        self._waits = writer.gathers
        self._units: list[Unit] = []  # submitted here, not yet handed to the writer
        self._in_flight = 0  # requests of the loop that said they will submit, not yet answered
        self._outstanding = 0  # units submitted here and not yet stored (gathered or with the writer)
        self._timer: asyncio.TimerHandle | None = None

    def expecting(self) -> Callable[[], None]:
        """Note a request in flight that will submit entries; call what this returns, once, when it has been
        answered (with entries or without: a refused record)."""
        self._in_flight += 1
        pending = True

        def answered() -> None:
            nonlocal pending
            if pending:
                pending = False
                self._in_flight -= 1
                if self._units and self._complete():
                    self._hand()

        return answered

    def submit(self, entries: list[Entry]) -> asyncio.Future[None]:
        """Gather ``entries`` into the loop's batch; the future (of this loop) resolves once they are stored,
        or fails with the batch's error. Call it on the loop's thread and await the future there."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            self._outstanding -= 1
            if future.done():  # the request was cancelled meanwhile (the entries are stored all the same)
                return
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

        self._units.append(Unit(entries, settle, loop=loop))
        self._outstanding += 1
        if not self._waits or self._complete():
            self._hand()
        elif self._timer is None:
            self._timer = loop.call_later(LINGER_SECONDS, self._hand)
        return future

    def _complete(self) -> bool:
        """Whether no request of the loop that will submit entries is still computing: each one in flight has
        submitted already (some may be in a batch being stored)."""
        return self._in_flight <= self._outstanding

    def _hand(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        units, self._units = self._units, []
        if units:
            self._writer.hand(units)


def gathering(writer: AuditWriter) -> LoopGathering:
    """The batch gathered for ``writer`` on the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    found = writer.gatherings.get(loop)
    if found is None:
        found = writer.gatherings[loop] = LoopGathering(writer)
    return found


__all__ = ["LINGER_SECONDS", "LoopGathering", "Unit", "gathering"]
