"""The HTTP kernel commits a route's unit of work, never the route (allpath.interfaces.http.unit_of_work).

A route returns: its work is committed in the same worker-thread trip (a coroutine route: on the event loop
when it holds no database work), and the answer waits until its audit entries are durable (the group
writer's future). A route refuses with ``Refusal``: its work is committed, then the refusal is answered. Any
other error: nothing is committed (the request's session rolls back and keeps only the audit entries).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from allpath.interfaces.http.deps import Refusal
from allpath.interfaces.http.unit_of_work import committing
from allpath.service import UnitOfWork
from tests.coroutines import run_coroutine


@dataclass(frozen=True)
class RecordingWork(UnitOfWork):
    """Stands in for a request's unit of work: notes the thread of each commit (``finish``), and hands back
    ``durable`` (the group writer's future) when given one."""

    commits: list[int] = field(default_factory=list)
    durable: Future[None] | None = None
    holding: bool = True  # an open transaction: ended in a worker thread

    def holds_work(self) -> bool:
        return self.holding

    def finish(self, *, on_loop: bool = False) -> Future[None] | None:
        self.commits.append(threading.get_ident())
        return self.durable


def _work(durable: Future[None] | None = None, *, holding: bool = True) -> RecordingWork:
    return RecordingWork(None, None, durable=durable, holding=holding)  # type: ignore[arg-type]  # no session used


def test_a_route_that_returns_has_its_work_committed_in_its_own_thread() -> None:
    work = _work()
    seen: list[int] = []

    def route(work: UnitOfWork) -> str:
        seen.append(threading.get_ident())
        assert work.commits == []  # type: ignore[attr-defined]  # not before the route has finished
        return "answer"

    wrapped = committing(route)
    assert asyncio.iscoroutinefunction(wrapped)  # it awaits the group writer on the event loop

    async def on_the_loop() -> tuple[str, int]:
        return await wrapped(work=work), threading.get_ident()

    answer, loop_thread = run_coroutine(on_the_loop())
    assert answer == "answer"
    assert work.commits == seen  # once, in the worker thread that ran the route
    assert seen != [loop_thread]  # not the event loop's thread


def test_a_refusal_commits_the_work_then_refuses() -> None:
    work = _work()

    def route(work: UnitOfWork) -> str:
        raise Refusal(401, "user name or password is wrong")

    with pytest.raises(Refusal) as refused:
        run_coroutine(committing(route)(work=work))
    assert refused.value.status_code == 401
    assert len(work.commits) == 1


def test_any_other_error_commits_nothing() -> None:
    work = _work()

    def route(work: UnitOfWork) -> str:
        raise RuntimeError("a fault after the audit entry")

    with pytest.raises(RuntimeError):
        run_coroutine(committing(route)(work=work))
    assert work.commits == []


def test_a_coroutine_route_has_its_work_committed_once_it_returns() -> None:
    work = _work()

    async def route(work: UnitOfWork) -> str:
        assert work.commits == []  # type: ignore[attr-defined]
        return "page"

    wrapped = committing(route)
    assert asyncio.iscoroutinefunction(wrapped)  # FastAPI still awaits it on the event loop
    assert run_coroutine(wrapped(work=work)) == "page"
    assert len(work.commits) == 1


def test_work_without_database_work_ends_on_the_event_loop() -> None:
    work = _work(holding=False)

    async def route(work: UnitOfWork) -> str:
        return "assessed"

    async def on_the_loop() -> tuple[str, int]:
        return await committing(route)(work=work), threading.get_ident()

    answer, loop_thread = run_coroutine(on_the_loop())
    assert answer == "assessed"
    assert work.commits == [loop_thread]  # no worker-thread trip: committed in the event loop's own thread


@pytest.mark.parametrize("coroutine", [False, True])
def test_the_answer_waits_until_the_audit_entries_are_durable(coroutine: bool) -> None:
    durable: Future[None] = Future()
    work = _work(durable, holding=not coroutine)
    answered: list[str] = []

    def plain(work: UnitOfWork) -> str:
        return "answer"

    async def coro(work: UnitOfWork) -> str:
        return "answer"

    async def scenario() -> None:
        request = asyncio.ensure_future(committing(coro if coroutine else plain)(work=work))
        request.add_done_callback(lambda done: answered.append(done.result()))
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert answered == []  # committed, but the group writer has not stored the entries yet
        threading.Thread(target=durable.set_result, args=(None,)).start()  # the writer thread resolves it
        await request

    run_coroutine(scenario())
    assert answered == ["answer"]


def test_a_failed_group_commit_fails_the_request() -> None:
    durable: Future[None] = Future()
    durable.set_exception(OSError("disk full"))
    work = _work(durable, holding=False)

    async def route(work: UnitOfWork) -> str:
        return "never acknowledged"

    with pytest.raises(OSError, match="disk full"):
        run_coroutine(committing(route)(work=work))


def test_a_route_without_work_is_left_alone() -> None:
    def route(number: int) -> int:
        return number + 1

    assert run_coroutine(committing(route)(number=1)) == 2


def test_the_wrapped_route_keeps_its_parameters_for_fastapi() -> None:
    import inspect

    def route(patient_id: str, work: UnitOfWork, start: Any = None) -> None:
        return None

    assert list(inspect.signature(committing(route)).parameters) == ["patient_id", "work", "start"]
