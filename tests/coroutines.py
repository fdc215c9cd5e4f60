"""Running a coroutine to its end from a test, whatever ran before it in the session.

Once a browser test has run, the session-wide sync Playwright browser (tests/web/conftest.py) keeps an event
loop running in the main thread, and ``asyncio.run`` there refuses to start another ("cannot be called from a
running event loop"). ``run_coroutine`` runs the coroutine on a fresh thread with its own loop instead, so that
a test's outcome never depends on the order the tests ran in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` on a thread of its own; its result, or its exception raised here."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result()
