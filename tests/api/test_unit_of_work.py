"""The HTTP kernel commits a route's unit of work, never the route (allpath.interfaces.http.unit_of_work).

A route returns: its work is committed in the same worker-thread trip, before the answer is sent. A route
refuses with ``Refusal``: its work is committed, then the refusal is answered. Any other error: nothing is
committed (the request's session rolls back and keeps only the audit entries).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from allpath.interfaces.http.deps import Refusal
from allpath.interfaces.http.unit_of_work import committing
from allpath.service import UnitOfWork


@dataclass
class RecordingSession:
    """Stands in for the database session: counts commits and notes the thread of each."""

    commits: list[int] = field(default_factory=list)

    def commit(self) -> None:
        self.commits.append(threading.get_ident())


def _work() -> tuple[UnitOfWork, RecordingSession]:
    session = RecordingSession()
    return UnitOfWork(session, None), session  # type: ignore[arg-type]  # only commit() is used


def test_a_route_that_returns_has_its_work_committed_in_its_own_thread() -> None:
    work, session = _work()
    seen: list[int] = []

    def route(work: UnitOfWork) -> str:
        seen.append(threading.get_ident())
        assert session.commits == []  # not before the route has finished
        return "answer"

    assert committing(route)(work=work) == "answer"
    assert session.commits == seen  # once, in the thread that ran the route


def test_a_refusal_commits_the_work_then_refuses() -> None:
    work, session = _work()

    def route(work: UnitOfWork) -> str:
        raise Refusal(401, "user name or password is wrong")

    with pytest.raises(Refusal) as refused:
        committing(route)(work=work)
    assert refused.value.status_code == 401
    assert len(session.commits) == 1


def test_any_other_error_commits_nothing() -> None:
    work, session = _work()

    def route(work: UnitOfWork) -> str:
        raise RuntimeError("a fault after the audit entry")

    with pytest.raises(RuntimeError):
        committing(route)(work=work)
    assert session.commits == []


def test_a_coroutine_route_has_its_work_committed_once_it_returns() -> None:
    work, session = _work()

    async def route(work: UnitOfWork) -> str:
        assert session.commits == []
        return "page"

    wrapped = committing(route)
    assert asyncio.iscoroutinefunction(wrapped)  # FastAPI still awaits it on the event loop
    assert asyncio.run(wrapped(work=work)) == "page"
    assert len(session.commits) == 1


def test_a_route_without_work_is_left_alone() -> None:
    def route(number: int) -> int:
        return number + 1

    assert committing(route)(number=1) == 2


def test_the_wrapped_route_keeps_its_parameters_for_fastapi() -> None:
    import inspect

    def route(patient_id: str, work: UnitOfWork, start: Any = None) -> None:
        return None

    assert list(inspect.signature(committing(route)).parameters) == ["patient_id", "work", "start"]
