"""How the kernel ends a request's unit of work: stored before the answer is sent, without needless thread trips.

A unit that holds database work (an open transaction, changes to write) is committed or rolled back in a
worker thread: on the event loop the wait for the database would stall every other request of the process.
A unit that holds none -- a stateless assessment, a refusal: its only write is its audit entries -- is ended
on the event loop, where that costs no I/O: its entries go to the group writer (``allpath.storage.audit``;
on PostgreSQL, the loop's own: ``allpath.storage.audit_loop``).
Either way the request then awaits the writer's future, still without a thread, so that the answer leaves
only once its audit entries are durable; a failed batch fails the request (500: nothing acknowledged).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future

from starlette.concurrency import run_in_threadpool

from allpath.service.unit_of_work import UnitOfWork, resolve_on


async def finish(work: UnitOfWork) -> None:
    """Commit ``work`` and wait until its audit entries are durable."""
    await _end(work, work.finish)


async def fail(work: UnitOfWork) -> None:
    """Roll ``work`` back, keep its audit entries, and wait until they are durable."""
    await _end(work, work.fail)


async def _end(work: UnitOfWork, end: Callable[..., Future[None] | None]) -> None:
    if work.holds_work():
        durable = await run_in_threadpool(end)
    else:  # awaited here, on the loop: on PostgreSQL the loop stores the entries itself
        durable = end(on_loop=True)
    await wait_durable(durable)


async def wait_durable(durable: Future[None] | None) -> None:
    """Wait, on the event loop, for the future of a unit's audit entries (``UnitOfWork.finish``).

    Not ``asyncio.wrap_future``, whose callback hands every future over with ``call_soon_threadsafe``: the
    group writer is asked to resolve the future on this loop's thread, a batch's all in one callback
    (``resolve_on``, ``allpath.storage.audit_writer``), and it is copied here at once; only a future
    resolved on another thread (asked too late) takes the thread-safe hand-off."""
    if durable is None:
        return
    if durable.done():
        durable.result()  # raises the batch's error
        return
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    resolve_on(durable, loop)

    def resolved(source: Future[None]) -> None:
        if asyncio._get_running_loop() is loop:
            _copy(source, waiter)
        else:
            loop.call_soon_threadsafe(_copy, source, waiter)

    durable.add_done_callback(resolved)
    await waiter


def _copy(source: Future[None], waiter: asyncio.Future[None]) -> None:
    if waiter.done():  # the request was cancelled meanwhile
        return
    if source.cancelled():
        waiter.cancel()
        return
    error = source.exception()
    if error is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(error)
