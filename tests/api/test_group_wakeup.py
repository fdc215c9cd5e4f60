"""The group writer wakes an event loop once per batch (``allpath.storage.audit_writer``): the futures of the
units submitted on a loop are resolved on that loop's thread, all of a batch's in one callback, and the kernel
waits for them there without a further hand-off (``allpath.interfaces.http.ending.wait_durable``). Before,
each request's future woke its loop on its own (``asyncio.wrap_future``: one ``call_soon_threadsafe`` each).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from allpath.interfaces.http import ending
from allpath.storage import audit
from allpath.storage.db import make_engine, migrate
from tests.api.test_group_commit import BrokenWriter, HeldWriter, _entry, _stored
from tests.coroutines import run_coroutine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'wakeup.db'}")
    migrate(made)
    try:
        yield made
    finally:
        audit.close_writer(made)
        made.dispose()


def _counting_wake_ups(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Note each ``call_soon_threadsafe`` of ``loop`` (each wakes it from another thread)."""
    calls: list[str] = []
    original = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(callback, "__name__", repr(callback)))
        return original(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
    return calls


def test_a_batch_of_twenty_requests_wakes_their_loop_once(engine: Engine) -> None:
    writer = HeldWriter(engine)
    first = writer.submit([_entry("first")])
    time.sleep(0.05)  # the thread has taken the first batch and waits in it

    async def twenty_requests() -> tuple[list[str], set[int]]:
        wake_ups = _counting_wake_ups(asyncio.get_running_loop())
        resolved_on: set[int] = set()
        futures = [writer.submit([_entry(f"unit {n}")]) for n in range(20)]
        for future in futures:
            future.add_done_callback(lambda _: resolved_on.add(threading.get_ident()))
        waits = [asyncio.ensure_future(ending.wait_durable(future)) for future in futures]
        await asyncio.sleep(0)  # each request waits (and has asked to be resolved here)
        writer.release.set()
        await asyncio.gather(*waits)
        return wake_ups, resolved_on - {threading.get_ident()}

    wake_ups, other_threads = run_coroutine(twenty_requests())
    assert first.result(10) is None
    assert writer.batches == [1, 20]
    assert wake_ups == ["_resolve_now"]  # one for the batch of twenty (before: twenty)
    assert other_threads == set()  # every future resolved on the loop's own thread
    assert len(_stored(engine, action="test")) == 21
    writer.close()


def test_a_future_waited_for_by_blocking_the_loop_is_resolved_by_the_writer(engine: Engine) -> None:
    """A unit ended on the loop's thread whose caller waits with ``result()`` (a synchronous helper called
    there) never asked for the loop: the writer resolves it on its own thread, as before, and nothing hangs."""
    writer = audit.AuditWriter(engine)

    async def blocking() -> None:
        assert writer.submit([_entry("blocking")]).result(10) is None

    run_coroutine(blocking())
    assert [entry.detail for entry in _stored(engine, action="test")] == ["blocking"]
    writer.close()


def test_a_failed_batch_fails_each_waiting_request_on_its_loop(engine: Engine) -> None:
    writer = BrokenWriter(engine)

    async def three_requests() -> list[BaseException | None]:
        futures = [writer.submit([_entry(f"unit {n}")]) for n in range(3)]
        waits = (ending.wait_durable(future) for future in futures)
        return await asyncio.gather(*waits, return_exceptions=True)

    outcomes = run_coroutine(three_requests())
    assert [type(outcome) for outcome in outcomes] == [OSError] * 3
    assert _stored(engine, action="test") == []
    writer.close()


def test_a_unit_ended_in_a_worker_thread_is_waited_for_on_the_loop(engine: Engine) -> None:
    writer = audit.AuditWriter(engine)

    async def ended_in_a_thread() -> None:
        future = await asyncio.to_thread(writer.submit, [_entry("from a thread")])
        await ending.wait_durable(future)

    run_coroutine(ended_in_a_thread())
    assert [entry.detail for entry in _stored(engine, action="test")] == ["from a thread"]
    writer.close()


def test_a_cancelled_request_leaves_its_entries_stored(engine: Engine) -> None:
    writer = HeldWriter(engine)

    async def cancelled() -> None:
        waiting = asyncio.ensure_future(ending.wait_durable(writer.submit([_entry("cancelled")])))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        writer.release.set()
        await asyncio.wait_for(ending.wait_durable(writer.submit([_entry("after")])), 10)  # the writer lives on

    run_coroutine(cancelled())
    assert [entry.detail for entry in _stored(engine, action="test")] == ["cancelled", "after"]
    writer.close()
