"""How the kernel ends a request's unit of work: stored before the answer is sent, without needless thread trips.

A unit that holds database work (an open transaction, changes to write) is committed or rolled back in a
worker thread: on the event loop the wait for the database would stall every other request of the process.
A unit that holds none -- a stateless assessment, a refusal: its only write is its audit entries -- is ended
on the event loop, where that costs no I/O: its entries go to the group writer (``allpath.storage.audit``).
Either way the request then awaits the writer's future, still without a thread, so that the answer leaves
only once its audit entries are durable; a failed batch fails the request (500: nothing acknowledged).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future

from starlette.concurrency import run_in_threadpool

from allpath.service.unit_of_work import UnitOfWork


async def finish(work: UnitOfWork) -> None:
    """Commit ``work`` and wait until its audit entries are durable."""
    await _end(work, work.finish)


async def fail(work: UnitOfWork) -> None:
    """Roll ``work`` back, keep its audit entries, and wait until they are durable."""
    await _end(work, work.fail)


async def _end(work: UnitOfWork, end: Callable[[], Future[None] | None]) -> None:
    durable = await run_in_threadpool(end) if work.holds_work() else end()
    if durable is not None:
        await asyncio.wrap_future(durable)


async def wait_durable(durable: Future[None] | None) -> None:
    """Wait, on the event loop, for the future of a unit ended in a worker thread (``UnitOfWork.finish``)."""
    if durable is not None:
        await asyncio.wrap_future(durable)
