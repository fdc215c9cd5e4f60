"""How the kernel ends a request's unit of work: stored before the answer is sent, without needless thread trips.

A unit that holds database work (an open transaction on a connection, changes to write) is committed or
rolled back in a worker thread: on the event loop the wait for the database would stall every other request
of the process. A unit that holds none -- a stateless assessment, a refusal: its only write is its audit
entries -- is ended on the event loop, where that costs no I/O, and its entries go to the group writer
(``allpath.storage.audit_writer``) *with those of the other requests of this event loop*:

**One hand-off per batch, not per request.** The requests that end while the loop's previous hand-off is
being stored queue here; when it is stored, all of them go to the writer in one ``store_units`` call and wait
on one future, so the writer's thread and the event loop wake once per batch instead of once per request (a
thread wake-up and a GIL hand-over cost more than the entry itself: benchmarks/README.md). Each request still
waits for its own entries to be durable before it answers, and a unit whose entries are refused fails alone
(500: nothing acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from allpath.service.unit_of_work import UnitOfWork, store_units

if TYPE_CHECKING:
    from allpath.service.unit_of_work import Unstored


async def finish(work: UnitOfWork) -> None:
    """Commit ``work`` and wait until its audit entries are durable."""
    await _end(work, work.finish, failed=False)


async def fail(work: UnitOfWork) -> None:
    """Roll ``work`` back, keep its audit entries, and wait until they are durable."""
    await _end(work, work.fail, failed=True)


async def _end(work: UnitOfWork, end: Callable[[], Future[None] | None], *, failed: bool) -> None:
    if work.holds_work():
        await wait_durable(await run_in_threadpool(end))
        return
    unstored = work.take_unstored(failed=failed)
    if unstored is not None:
        await _batch_of_this_loop().stored(unstored)


async def wait_durable(durable: Future[None] | None) -> None:
    """Wait, on the event loop, for the future of a unit ended in a worker thread (``UnitOfWork.finish``)."""
    if durable is not None:
        await asyncio.wrap_future(durable)


@dataclass
class _LoopBatch:
    """The units of one event loop waiting for the group writer, and whether a hand-off is being stored."""

    waiting: list[tuple[Unstored, asyncio.Future[None]]] = field(default_factory=list)
    storing: asyncio.Task[None] | None = None  # the hand-off under way (kept: a task nobody holds may vanish)

    async def stored(self, unit: Unstored) -> None:
        """Queue ``unit`` and wait until its entries are durable (or raise the error that refused them)."""
        durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((unit, durable))
        if self.storing is None:
            self.storing = asyncio.ensure_future(self._hand_over())
        await durable

    async def _hand_over(self) -> None:
        batch: list[tuple[Unstored, asyncio.Future[None]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    for engine_batch in _by_engine(batch):
                        await _store(engine_batch)
                except Exception as error:  # noqa: BLE001 - no request may wait for ever: each of them fails
                    _fail(batch, error)
        except BaseException:  # the loop is ending (cancelled): nobody is answered, nobody waits
            _fail([*batch, *self.waiting], RuntimeError("the server stopped before the audit entries were stored"))
            raise
        finally:
            self.storing = None


def _fail(batch: list[tuple[Unstored, asyncio.Future[None]]], error: Exception) -> None:
    for _, durable in batch:
        if not durable.done():
            durable.set_exception(error)


def _by_engine(
    batch: list[tuple[Unstored, asyncio.Future[None]]],
) -> list[list[tuple[Unstored, asyncio.Future[None]]]]:
    """The batch split by database (one application has one; tests may run several on one loop)."""
    groups: dict[int, list[tuple[Unstored, asyncio.Future[None]]]] = {}
    for item in batch:
        groups.setdefault(id(item[0].engine), []).append(item)
    return list(groups.values())


async def _store(batch: list[tuple[Unstored, asyncio.Future[None]]]) -> None:
    try:
        outcomes: list[BaseException | None] = await asyncio.wrap_future(store_units([unit for unit, _ in batch]))
    except Exception as error:  # noqa: BLE001 - the hand-off itself failed: every unit of it fails
        outcomes = [error] * len(batch)
    for (_, durable), refused in zip(batch, outcomes, strict=True):
        if durable.done():  # its request was cancelled meanwhile; its entries are stored all the same
            continue
        if refused is None:
            durable.set_result(None)
        else:
            durable.set_exception(refused)


_BATCHES: dict[int, tuple[asyncio.AbstractEventLoop, _LoopBatch]] = {}


def _batch_of_this_loop() -> _LoopBatch:
    """This event loop's batch (kept with the loop itself, so that an ended loop's id never finds it)."""
    loop = asyncio.get_running_loop()
    kept = _BATCHES.get(id(loop))
    if kept is None or kept[0] is not loop:
        for key, (other, _) in list(_BATCHES.items()):
            if other.is_closed():
                with contextlib.suppress(KeyError):
                    del _BATCHES[key]
        kept = _BATCHES[id(loop)] = (loop, _LoopBatch())
    return kept[1]
