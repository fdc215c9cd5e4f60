"""Reads of the sign-in generation kept in the database (PostgreSQL), shared by the requests that wait for one.

A request signed in with a kept API token is admitted from the token cache only if nothing that decides
sign-in has changed since its entry was read; on PostgreSQL that takes reading the generation row, in a
statement that began after the request arrived (``allpath.storage.token_cache``). One read per request was a
thread trip and a round trip each: most of the sign-in's CPU. A read is therefore shared: a request that
arrives while none is running starts one; a request that arrives while one is running waits for the next,
which begins as soon as the running one ends and serves every request that came meanwhile. Each request
still gets a value read by a statement that began after it arrived -- the same guarantee as its own read --
for at most one read per request and usually fewer under load.

Only the event loop's thread touches a ``SharedReads`` (the reads themselves run in the sign-in threads).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import Executor

from sqlalchemy import Engine


class SharedReads:
    """The generation reads of one database on one event loop (``read_after_arrival``)."""

    def __init__(self, read: Callable[[], bytes], executor: Executor) -> None:
        self._read = read
        self._executor = executor
        self._running: asyncio.Future[bytes] | None = None  # began before any request that arrives now
        self._next: asyncio.Future[bytes] | None = None  # to begin when the running one ends

    async def after_arrival(self) -> bytes:
        """The generation, read by a statement that began after this call."""
        if self._running is None:
            self._running = self._start()
            waited = self._running
        else:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            waited = self._next
        return await asyncio.shield(waited)  # a request cancelled meanwhile does not cancel the others' read

    def _start(self) -> asyncio.Future[bytes]:
        running = asyncio.get_running_loop().run_in_executor(self._executor, self._read)
        running.add_done_callback(self._ended)
        return running

    def _ended(self, ended: asyncio.Future[bytes]) -> None:
        self._running = None
        waiting, self._next = self._next, None
        if waiting is None:
            return
        self._running = self._start()  # begins now: after every request that waits for it arrived
        self._running.add_done_callback(lambda read: _copy(read, waiting))


def _copy(source: asyncio.Future[bytes], target: asyncio.Future[bytes]) -> None:
    if target.done():
        return
    error = None if source.cancelled() else source.exception()
    if source.cancelled():
        target.cancel()
    elif error is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


_READS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Engine, SharedReads]] = (
    weakref.WeakKeyDictionary()
)


async def read_after_arrival(engine: Engine, read: Callable[[Engine], bytes], executor: Executor) -> bytes:
    """The sign-in generation of ``engine``'s database, read (``read(engine)``, in ``executor``) by a statement
    that began after this call, shared with the other requests of the running loop that wait meanwhile."""
    loop = asyncio.get_running_loop()
    by_engine = _READS.get(loop)
    if by_engine is None:
        by_engine = _READS[loop] = weakref.WeakKeyDictionary()
    reads = by_engine.get(engine)
    if reads is None:
        reads = by_engine[engine] = SharedReads(_reading(engine, read), executor)
    return await reads.after_arrival()


def _reading(engine: Engine, read: Callable[[Engine], bytes]) -> Callable[[], bytes]:
    alive = weakref.ref(engine)  # kept weakly: the reads are kept by the engine, weakly, not the other way

    def read_now() -> bytes:
        found = alive()
        return b"" if found is None else read(found)

    return read_now


__all__ = ["SharedReads", "read_after_arrival"]
