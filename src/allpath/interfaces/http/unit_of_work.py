"""The unit of work of a request: made by the kernel, committed by the kernel, never by a route.

Every route that reads or writes takes a ``Work`` (``Annotated[Work, Depends(acting("clinician"))]``): the
request's database session, the account acting and how it signed in. The use cases of ``allpath.service``
audit themselves in it; a route only translates the request into a use case and its result into an answer.

**When the work is committed.** Routes are ``KernelRoute``s: the kernel commits a route's work as soon as the
route returns, in the same worker-thread trip as the route itself, and so before the answer is sent: a client
that receives a 2xx knows its write and its audit entry are stored. Committing in the same trip matters on
SQLite, where the audit insert takes the writer lock until the commit: left to the end of the request, the
commit would wait for another hop through the event loop, and every other writer with it.

A route that refuses with ``Refusal`` has its work committed too, before the refusal is answered (a failed
sign-in counts towards the limit although the answer is 401). Any other error rolls the work back; its audit
entries are written again on their own (``db_session``), so that no refusal and no attempted act is lost.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from allpath.interfaces.http.deps import DB, Principal, Refusal, patient_for, require, signed_in
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import tables as t


@dataclass(frozen=True)
class Work(UnitOfWork):
    """The unit of work of one request: its session, the account acting (``None`` before sign-in) and the
    principal it signed in as."""

    principal: Principal | None = None

    def as_actor(self, user: t.User) -> Work:
        """This work, acting as ``user`` from now on (the account that has just signed in or joined)."""
        return replace(self, actor=user)

    @property
    def user(self) -> t.User:
        """The signed-in account of a route that admits only signed-in callers."""
        return self.signed_in().user

    def signed_in(self) -> Principal:
        """The principal of a route that admits only signed-in callers (its dependency has checked)."""
        if self.principal is None:
            raise RuntimeError("this work has no principal: the route does not require one")
        return self.principal


def work_of(admit: Callable[..., Any]) -> Callable[..., Awaitable[Work]]:
    """The dependency that makes the request's work, acting as the principal the dependency ``admit``
    returns (it refuses everyone else)."""

    async def work(principal: Principal, s: Session) -> Work:
        return Work(s, principal.user, principal)

    # Written out, not annotated: annotations are text in this module (``from __future__ import annotations``),
    # and FastAPI could not find ``admit`` (a local name) when it reads them.
    keyword = inspect.Parameter.KEYWORD_ONLY
    work.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("principal", keyword, annotation=Annotated[Principal, Depends(admit)]),
            inspect.Parameter("s", keyword, annotation=DB),
        ],
        return_annotation=Work,
    )
    return work


def acting(*roles: str) -> Callable[..., Awaitable[Work]]:
    """The dependency of a route that admits only ``roles``: the request's work, acting as its principal."""
    return work_of(require(*roles))


async def _signed_in_work(principal: Annotated[Principal, Depends(signed_in)], s: DB) -> Work:
    return Work(s, principal.user, principal)


async def _anonymous_work(s: DB) -> Work:
    return Work(s, None)


def visible_patient(work: Work, patient_id: str, *, family_allowed: bool) -> t.Patient:
    """The patient if the work's principal may see it (``patient_for``); 404, audited, otherwise."""
    return patient_for(work.session, work.signed_in(), patient_id, family_allowed=family_allowed)


SignedInWork = Annotated[Work, Depends(_signed_in_work)]
"""The work of a route for any signed-in account, whatever its role."""
AnonymousWork = Annotated[Work, Depends(_anonymous_work)]
"""The work of a route that needs no sign-in (signing in, activating an account, joining by invitation)."""


def _commit(arguments: Iterable[object]) -> None:
    for argument in arguments:
        if isinstance(argument, UnitOfWork):
            argument.commit()
            return


def committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` that commits its unit of work when it returns or refuses with ``Refusal``, in the same
    worker-thread trip (a coroutine's work is committed in one trip of its own). FastAPI reads the
    parameters of ``endpoint`` itself (``functools.wraps``)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await endpoint(*args, **kwargs)
            except Refusal:
                await run_in_threadpool(_commit, kwargs.values())
                raise
            await run_in_threadpool(_commit, kwargs.values())
            return result

        return run_async

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = endpoint(*args, **kwargs)
        except Refusal:
            _commit(kwargs.values())
            raise
        _commit(kwargs.values())
        return result

    return run


class KernelRoute(APIRoute):
    """A route whose unit of work the kernel commits before the answer is sent (see the module docstring).
    Give it to every router: ``APIRouter(route_class=KernelRoute)``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, committing(endpoint), **kwargs)


__all__ = [
    "AnonymousWork",
    "KernelRoute",
    "Refusal",
    "SignedInWork",
    "Work",
    "acting",
    "committing",
    "visible_patient",
    "work_of",
]
