"""Reads of the sign-in generation shared by the requests that wait for one
(``allpath.interfaces.http.generation_reads``): each request gets a value read by a statement that began after
it arrived, as with a read of its own, for at most one read per request and fewer under load."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from allpath.interfaces.http.generation_reads import SharedReads
from tests.coroutines import run_coroutine


class SlowDatabase:
    """A generation that changes at every read, each read taking ``seconds``; notes when each read began."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.began: list[float] = []
        self._values = itertools.count(1)
        self._lock = threading.Lock()

    def read(self) -> bytes:
        with self._lock:
            self.began.append(time.monotonic())
            value = next(self._values)
        time.sleep(self.seconds)
        return value.to_bytes(8, "big")


def _reads(database: SlowDatabase, pool: ThreadPoolExecutor) -> SharedReads:
    return SharedReads(database.read, pool)


def test_a_request_alone_starts_a_read_of_its_own() -> None:
    database = SlowDatabase(0.0)
    with ThreadPoolExecutor(2) as pool:

        async def two_in_turn() -> list[bytes]:
            reads = _reads(database, pool)
            return [await reads.after_arrival(), await reads.after_arrival()]

        assert run_coroutine(two_in_turn()) == [(1).to_bytes(8, "big"), (2).to_bytes(8, "big")]
    assert len(database.began) == 2


def test_requests_arriving_during_a_read_share_the_next_one_which_begins_after_them() -> None:
    database = SlowDatabase(0.1)
    with ThreadPoolExecutor(2) as pool:

        async def a_burst() -> tuple[bytes, list[tuple[float, bytes]]]:
            reads = _reads(database, pool)
            first = asyncio.ensure_future(reads.after_arrival())
            await asyncio.sleep(0.03)  # the first read is running

            async def later() -> tuple[float, bytes]:
                arrived = time.monotonic()
                return arrived, await reads.after_arrival()

            others = await asyncio.gather(*(later() for _ in range(10)))
            return await first, others

        first, others = run_coroutine(a_burst())
    assert first == (1).to_bytes(8, "big")
    assert {value for _, value in others} == {(2).to_bytes(8, "big")}  # the ten share one read, not the first
    assert len(database.began) == 2  # two reads for eleven requests
    assert all(arrived <= database.began[1] for arrived, _ in others)  # it began after every one arrived


def test_a_cancelled_request_does_not_cancel_the_read_the_others_wait_for() -> None:
    database = SlowDatabase(0.1)
    with ThreadPoolExecutor(2) as pool:

        async def one_gone() -> tuple[bytes, bytes]:
            reads = _reads(database, pool)
            starter = asyncio.ensure_future(reads.after_arrival())  # starts the first read
            await asyncio.sleep(0.02)
            leaving = asyncio.ensure_future(reads.after_arrival())  # these two share the next read
            staying = asyncio.ensure_future(reads.after_arrival())
            await asyncio.sleep(0.02)
            leaving.cancel()
            return await starter, await staying

        assert run_coroutine(one_gone()) == ((1).to_bytes(8, "big"), (2).to_bytes(8, "big"))
    assert len(database.began) == 2


def test_a_read_that_fails_fails_the_requests_that_share_it() -> None:
    def broken() -> bytes:
        raise OSError("connection lost")

    with ThreadPoolExecutor(1) as pool:

        async def two() -> list[bytes | BaseException]:
            reads = SharedReads(broken, pool)
            return list(await asyncio.gather(reads.after_arrival(), reads.after_arrival(), return_exceptions=True))

        assert [type(outcome) for outcome in run_coroutine(two())] == [OSError, OSError]
