"""PostgreSQL's sign-in generation read on the event loop (``allpath.storage.loop_reads``).

What makes a kept token's revocation exact is that each request compares its entry with a value read by a
statement that *began after the request asked*. The reads of one loop share statements; these tests hold the
sharing to that rule: generated orders of arrivals and answers with a statement the test controls, then the
real statement on PostgreSQL (a change by hand seen by the very next read, a broken connection made again,
no server at all).
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from allpath.storage import token_cache
from allpath.storage.db import make_engine
from allpath.storage.loop_reads import GENERATION_BYTES, LoopReads
from tests.api.conftest import _database
from tests.coroutines import run_coroutine


class Controlled(LoopReads):
    """Reads whose statements the test answers: each statement notes when it began and waits to be let go."""

    def __init__(self) -> None:
        super().__init__("", "")
        self.clock = 0  # a step counter: callers and statements note the step they began at
        self.begun: list[int] = []
        self.release: list[asyncio.Event] = []

    async def _statement(self) -> bytes:
        self.clock += 1
        self.begun.append(self.clock)
        number = len(self.begun)
        self.release.append(asyncio.Event())
        await self.release[-1].wait()
        return number.to_bytes(GENERATION_BYTES, "big")


def _statement_of(value: bytes) -> int:
    return int.from_bytes(value, "big")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["ask", "answer", "cancel"]), min_size=1, max_size=30))
def test_every_caller_gets_a_value_read_by_a_statement_that_began_after_it_asked(steps: list[str]) -> None:
    async def scenario() -> None:
        reads = Controlled()
        callers: list[tuple[int, asyncio.Task[bytes]]] = []
        for step in steps:
            if step == "ask":
                reads.clock += 1
                callers.append((reads.clock, asyncio.ensure_future(reads.current())))
            elif step == "answer" and len(reads.release) > sum(e.is_set() for e in reads.release):
                next(e for e in reads.release if not e.is_set()).set()
            elif step == "cancel" and callers and not callers[-1][1].done():
                callers[-1][1].cancel()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running = sum(not e.is_set() for e in reads.release)
            assert running <= 1  # one statement at a time on the loop's one connection
        while any(not task.done() for _, task in callers):  # let every statement answer
            for event in reads.release:
                event.set()
            await asyncio.sleep(0)
        for asked_at, task in callers:
            if task.cancelled():
                continue
            statement = _statement_of(task.result())
            assert reads.begun[statement - 1] > asked_at  # began after this caller asked
        asked = [a for a, task in callers if not task.cancelled()]
        assert len(reads.begun) <= len(callers)  # never more statements than callers
        if asked:
            assert len(reads.begun) >= 1

    run_coroutine(scenario())


def test_callers_that_ask_during_a_statement_share_the_next_one() -> None:
    async def scenario() -> None:
        reads = Controlled()
        first = asyncio.ensure_future(reads.current())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        later = [asyncio.ensure_future(reads.current()) for _ in range(3)]  # while the first statement runs
        await asyncio.sleep(0)
        assert len(reads.begun) == 1
        reads.release[0].set()
        assert _statement_of(await first) == 1
        await asyncio.sleep(0)
        assert len(reads.begun) == 2  # one statement for the three
        reads.release[1].set()
        assert [_statement_of(await task) for task in later] == [2, 2, 2]

    run_coroutine(scenario())


def test_a_cancelled_caller_leaves_the_statement_to_the_others() -> None:
    async def scenario() -> None:
        reads = Controlled()
        gone, staying = asyncio.ensure_future(reads.current()), asyncio.ensure_future(reads.current())
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        reads.release[0].set()
        assert _statement_of(await staying) == 1 and gone.cancelled()

    run_coroutine(scenario())


def test_a_reader_cancelled_with_its_loop_answers_a_value_that_matches_nothing() -> None:
    async def scenario() -> None:
        reads = Controlled()
        waiting = asyncio.ensure_future(reads.current())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert reads._reader is not None
        reads._reader.cancel()
        value = await waiting
        assert len(value) == GENERATION_BYTES + 1  # longer than every generation: equal to none
        assert reads._reader is None and reads._waiting is None  # the next caller starts a reader again

    run_coroutine(scenario())


# ---- the real statement, on PostgreSQL -------------------------------------------------------------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database(request, "postgresql", tmp_path)


def _generation(url: str) -> token_cache.DatabaseGeneration:
    generation = token_cache.generation_of(make_engine(url))
    assert isinstance(generation, token_cache.DatabaseGeneration)
    return generation


def _change_by_hand(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE api_tokens SET revoked = revoked"))  # its statement trigger changes it
    finally:
        engine.dispose()


def test_on_postgresql_the_loop_reads_what_a_thread_reads_and_sees_a_change_at_once(pg_url: str) -> None:
    generation = _generation(pg_url)

    async def scenario() -> None:
        before = await generation.current_on_loop()
        assert before == generation.current()  # the same row, read on the loop
        assert await generation.current_on_loop() == before  # nothing changed: the same value
        _change_by_hand(pg_url)
        after = await generation.current_on_loop()
        assert after != before and after == generation.current()

    run_coroutine(scenario())


def test_on_postgresql_a_broken_loop_connection_is_made_again(pg_url: str) -> None:
    generation = _generation(pg_url)
    engine = make_engine(pg_url)

    async def scenario() -> None:
        value = await generation.current_on_loop()
        with engine.connect() as connection:  # the database ends the loop's connection
            ended = connection.scalar(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": token_cache.LOOP_APPLICATION_NAME},
            )
        assert ended == 1
        assert len(await generation.current_on_loop()) == GENERATION_BYTES + 1  # failed: matches nothing
        assert await generation.current_on_loop() == value  # a new connection reads it again

    try:
        run_coroutine(scenario())
    finally:
        engine.dispose()


def test_without_a_server_the_loop_reads_a_value_that_matches_nothing() -> None:
    generation = _generation("postgresql://allpath@127.0.0.1:1/none")

    async def scenario() -> None:
        first, second = await generation.current_on_loop(), await generation.current_on_loop()
        assert len(first) == GENERATION_BYTES + 1 and first != second

    run_coroutine(scenario())


def test_on_postgresql_the_connection_of_a_finished_loop_is_closed(pg_url: str) -> None:
    """A test client runs each request on a loop of its own: their connections must not pile up, and are
    closed, not left to the garbage collector (which would warn that they were deleted while still open)."""
    generation = _generation(pg_url)
    engine = make_engine(pg_url)

    def loop_connections() -> int:
        with engine.connect() as connection:
            count: int = connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                {"n": token_cache.LOOP_APPLICATION_NAME},
            )
            return count

    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            for _ in range(5):
                run_coroutine(generation.current_on_loop())
            gc.collect()
        assert not [w for w in warned if "AsyncConnection" in str(w.message)]  # not others' left-overs
        deadline = time.monotonic() + 5  # the server notices a connection ended as soon as it reads from it
        while loop_connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loop_connections() == 0
    finally:
        engine.dispose()


def test_on_postgresql_the_loop_reads_on_uvloop_as_the_server_runs_it(pg_url: str) -> None:
    """``allpath serve`` runs its workers on uvloop (uvicorn's choice when it is installed): the same reads there."""
    uvloop = pytest.importorskip("uvloop")
    generation = _generation(pg_url)

    async def scenario() -> list[bytes]:
        return [await generation.current_on_loop() for _ in range(3)]

    with ThreadPoolExecutor(max_workers=1) as thread:  # a loop of its own, as run_coroutine gives
        values = thread.submit(uvloop.run, scenario()).result()
    assert values == [generation.current()] * 3
