"""PostgreSQL's sign-in generation read on the event loop itself, one statement shared by the requests waiting.

A request that signs in with a kept API token on PostgreSQL must read the sign-in generation in a statement
that began after it asked (``allpath.storage.token_cache``). Read in a sign-in thread, that one trivial
statement cost a worker more CPU than the rest of authentication: the trip to the thread and back hands the
interpreter's lock over about ten times per request (benchmarks/README.md). Here it is read on an
asynchronous psycopg connection of the event loop's own, so the loop waits for the answer as it waits for a
socket, with no thread.

The requests that ask while a statement is under way did not ask before it began, so its value is not theirs:
they share the next statement, which begins once the current one has answered. Every request thus gets a
value read by a statement that began after it asked, and under load one statement serves several requests.
A read that fails (no connection, a broken one) gives a value that matches nothing, so the token is looked
up as without a cache, and that look-up reports the database's error; the connection is made again for the
next statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from typing import TYPE_CHECKING

from allpath.storage.db import finish_now

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow

GENERATION_BYTES = 8


def unmatched() -> bytes:
    """A value that equals no generation read (one byte longer than every one)."""
    return os.urandom(GENERATION_BYTES + 1)


class LoopReads:
    """The generation reads of one event loop: one connection, at most one statement at a time."""

    def __init__(self, conninfo: str, sql: str) -> None:
        self._conninfo = conninfo
        self._sql = sql
        self._connection: AsyncConnection[TupleRow] | None = None
        self._waiting: asyncio.Future[bytes] | None = None  # the callers the next statement will answer
        self._reader: asyncio.Task[None] | None = None  # kept: the loop holds only a weak reference to a task

    async def current(self) -> bytes:
        """The generation, read by a statement that began after this call."""
        loop = asyncio.get_running_loop()
        if self._waiting is None:
            self._waiting = loop.create_future()
        waiting = self._waiting
        if self._reader is None:
            self._reader = loop.create_task(self._read_while_asked())
        return await asyncio.shield(waiting)  # a cancelled request leaves the value to the others

    async def _read_while_asked(self) -> None:
        try:
            while self._waiting is not None:
                asked, self._waiting = self._waiting, None  # everyone in ``asked`` asked before this statement
                value: bytes | None = None  # when the reader is cancelled (its loop closing): matches nothing
                try:
                    value = await self._statement()
                finally:
                    _answer(asked, value)
        finally:
            self._reader = None
            if self._waiting is not None:  # cancelled: nobody reads for those who asked since
                _answer(self._waiting, None)
                self._waiting = None

    async def _statement(self) -> bytes:
        import psycopg  # only with the PostgreSQL extra (``allpath[postgres]``), only for a PostgreSQL database

        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                # closed with the process or the loop (nothing else ends it: a loop lives as long as its server)
                weakref.finalize(self, finish_now, self._connection)
            cursor = self._connection.cursor()  # psycopg prepares a statement it has run 5 times
            await cursor.execute(self._sql)
            row = await cursor.fetchone()
            await cursor.close()
        except Exception:  # noqa: BLE001 - no connection or a broken one: look the token up as without a cache
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.close()
            self._connection = None
            return unmatched()
        return unmatched() if row is None else int(row[0]).to_bytes(GENERATION_BYTES, "big", signed=True)


def _answer(asked: asyncio.Future[bytes], value: bytes | None) -> None:
    if not asked.done():
        asked.set_result(unmatched() if value is None else value)
