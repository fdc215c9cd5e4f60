"""The sign-in look-ups run in threads of their own (``allpath.interfaces.http.deps``), with the guarantee
Starlette's ``run_in_threadpool`` gave: a request cancelled meanwhile still waits for its look-up, so that its
session is not closed while a thread uses it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from allpath.interfaces.http import deps
from tests.coroutines import run_coroutine


def test_the_look_up_runs_in_a_sign_in_thread_and_answers() -> None:
    async def look_up() -> tuple[str, int]:
        return await deps._looked_up_in_thread(lambda x: (threading.current_thread().name, x + 1), 41)

    name, answer = run_coroutine(look_up())
    assert name.startswith("allpath-sign-in") and answer == 42


def test_a_cancelled_request_waits_for_its_look_up_to_end() -> None:
    started, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def slow_look_up() -> str:
        started.set()
        release.wait(5)
        ended.append("look-up")
        return "account"

    async def scenario() -> None:
        request = asyncio.create_task(deps._looked_up_in_thread(slow_look_up))
        while not started.is_set():
            await asyncio.sleep(0.001)
        request.cancel()
        await asyncio.sleep(0.05)
        assert not request.done()  # cancelled, but still waiting for the thread
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await request
        assert ended == ["look-up"]  # the cancellation reached the request only after the look-up ended

    run_coroutine(scenario())
