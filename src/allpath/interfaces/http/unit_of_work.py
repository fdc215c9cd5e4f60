"""The unit of work of a request: made by the kernel, committed by the kernel, never by a route.

Every route that reads or writes takes a ``Work`` (``Annotated[Work, Depends(acting("clinician"))]``): the
request's database session, the account acting and how it signed in. The use cases of ``allpath.service``
audit themselves in it; a route only translates the request into a use case and its result into an answer.

**When the work is committed.** Routes are ``KernelRoute``s: the kernel commits a route's work as soon as the
route returns (a plain ``def`` route: in the same worker-thread trip as the route itself, so that on SQLite
a write holds the writer lock no longer than needed) and answers only once it is durable: a client that
receives a 2xx knows its write and its audit entry are stored. A unit whose only write is its audit entries
(a stateless assessment, any read) needs no transaction of its own: its entries go to the group writer, and
the request awaits their commit on the event loop (``allpath.interfaces.http.ending``).

A route that refuses with ``Refusal`` has its work committed too, before the refusal is answered (a failed
sign-in counts towards the limit although the answer is 401). Any other error rolls the work back; its audit
entries are stored all the same (``db_session``), so that no refusal and no attempted act is lost.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from allpath.interfaces.http import ending
from allpath.interfaces.http.deps import (
    DB,
    Principal,
    Refusal,
    admitted,
    kept_admission,
    patient_for,
    route_of,
    storable_body,
)
from allpath.service import access
from allpath.service.stored import Patient, User
from allpath.service.unit_of_work import UnitOfWork, unit_of_work

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work(UnitOfWork):
    """The unit of work of one request: its session, the account acting (``None`` before sign-in) and the
    principal it signed in as."""

    principal: Principal | None = None
    # Made by ``admitting``: where its session came from. The kernel route then ends the work and gives its
    # session back (``KeptSessions``); None for every other work, ended by its dependency.
    sessions: sessionmaker[Session] | None = None

    def as_actor(self, user: User) -> Work:
        """This work, acting as ``user`` from now on (the account that has just signed in or joined)."""
        return replace(self, actor=user)

    @property
    def user(self) -> User:
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
    """The dependency of a route that admits only ``roles``: the request's work, acting as its principal.

    One dependency that checks the principal itself (``admitted``), not a chain of four: FastAPI's work to
    resolve each dependency of a request cost more than the checks."""

    async def work(request: Request, s: DB) -> Work:
        principal = await admitted(request, s, roles)
        return Work(s, principal.user, principal)

    return work


def admitting(*roles: str) -> Callable[[Request], Awaitable[Work]]:
    """The dependency of a hot route that admits only ``roles`` and takes a JSON body (``POST /api/assess``):
    ``storable_body``, ``db_session`` and ``acting`` in one, and a plain coroutine, not a generator (FastAPI's
    machinery for a generator dependency cost more than the rest of the dependency)::

        Annotated[Work, Depends(admitting("clinician"))]

    The same checks in the same order (text that cannot be stored refused before anything else, then the
    principal, refusals audited and durable before their answer), for the cost of one dependency
    (benchmarks/README.md, issue 11). The work it makes is ended by the route (``KernelRoute``: committed,
    or failed with its audit entries kept, durable before the answer, its session closed); a request refused
    after it, before the route (a body that is no record), leaves a session that holds no transaction.
    A caller whose API token is kept in the token cache and would be admitted is admitted from the cache
    alone (``kept_admission``): its account is the cache's shared, detached copy, read only (for the
    audit), and the session begins no transaction."""

    async def work(request: Request) -> Work:
        await storable_body(request)
        session = _kept_sessions.take(request.app.state.sessions)
        try:
            # A kept token admitted from the token cache alone: no merge, no transaction to end.
            principal = await kept_admission(request, roles) or await admitted(request, session, roles)
        except BaseException:
            try:
                with contextlib.suppress(Exception):  # the request's own error is the one to report
                    await ending.fail(UnitOfWork(session, None))  # the refusal stays in the audit log
            finally:
                _kept_sessions.give_back(request.app.state.sessions, session)  # no I/O: the transaction has ended
            raise
        return Work(session, principal.user, principal, sessions=request.app.state.sessions)

    _ADMITTING.add(work)
    return work


_ADMITTING: set[Callable[..., Any]] = set()  # the dependencies made by ``admitting`` (``lean_route``)


class KeptSessions:
    """Sessions of the hot route kept for its next requests, when a request leaves its session as it found it.

    Most assessments are admitted from the token cache and write only their audit entry through the group
    writer: their session never begins a transaction, loads nothing and ends with nothing noted. Making a
    ``Session`` and closing it cost about 12 us of such a request's CPU (benchmarks/README.md, issue 11);
    handing the same untouched session to the next request costs nothing and changes nothing it could see.
    A session that began a transaction, holds an object or keeps a note is closed, as before."""

    MOST = 64  # kept per session factory: more than the requests a worker has in flight

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[sessionmaker[Session], list[Session]] = weakref.WeakKeyDictionary()

    def take(self, sessions: sessionmaker[Session]) -> Session:
        kept = self._kept.get(sessions)
        return kept.pop() if kept else sessions()

    def give_back(self, sessions: sessionmaker[Session], session: Session) -> None:
        if session.in_transaction() or session.info or len(session.identity_map) or session.new or session.deleted:
            session.close()
            return
        kept = self._kept.setdefault(sessions, [])
        if len(kept) < self.MOST:
            kept.append(session)


_kept_sessions = KeptSessions()


async def _signed_in_work(request: Request, s: DB) -> Work:
    principal = await admitted(request, s, None)
    return Work(s, principal.user, principal)


async def _anonymous_work(s: DB) -> Work:
    return Work(s, None)


def visible_patient(work: Work, patient_id: str, *, family_allowed: bool) -> Patient:
    """The patient if the work's principal may see it (``patient_for``); 404, audited, otherwise."""
    return patient_for(work.session, work.signed_in(), patient_id, family_allowed=family_allowed)


SignedInWork = Annotated[Work, Depends(_signed_in_work)]
"""The work of a route for any signed-in account, whatever its role."""
AnonymousWork = Annotated[Work, Depends(_anonymous_work)]
"""The work of a route that needs no sign-in (signing in, activating an account, joining by invitation)."""


def audit_refusal_apart(request: Request, outcome: str) -> None:
    """The audit entry of a refused call (the route template and the outcome, as for every refused route),
    stored in a unit of work of its own and waited for in this thread: for a refusal that must be answered
    whatever became of the request's own work (a store it needed has failed), where a failed audit write left in
    that work would turn the refusal into a 500. When the audit store fails too: a warning (the route template,
    the outcome and the error's type; nothing of the request) and nothing else."""
    try:
        with unit_of_work(request.app.state.sessions, None) as apart:
            apart.audit("access", "route", outcome=outcome, detail=route_of(request))
    except Exception as error:  # noqa: BLE001 - the answer must not depend on the audit store
        _log.warning("a refusal (%s) of %s could not be audited (%s)", outcome, route_of(request), type(error).__name__)


def _work_among(arguments: Iterable[object]) -> UnitOfWork | None:
    for argument in arguments:
        if isinstance(argument, UnitOfWork):
            return argument
    return None


def committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` that commits its unit of work when it returns or refuses with ``Refusal``, and answers only
    once the work and its audit entries are durable (``allpath.interfaces.http.ending``). A plain ``def``
    route runs in a worker thread and its work is committed in that same trip; a coroutine route runs on the
    event loop. Either way the wrapper is a coroutine, which awaits the group writer without a thread.
    FastAPI reads the parameters of ``endpoint`` itself (``functools.wraps``)."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            work = _work_among(kwargs.values())
            if isinstance(work, Work) and work.sessions is not None:
                return await _run_and_end(endpoint, work, args, kwargs)
            try:
                result = await endpoint(*args, **kwargs)
            except Refusal:
                if work is not None:
                    await ending.finish(work)
                raise
            if work is not None:
                await ending.finish(work)
            return result

        return run_async

    def run_and_finish(*args: Any, **kwargs: Any) -> tuple[Any, Future[None] | None, Refusal | None]:
        work = _work_among(kwargs.values())
        try:
            result = endpoint(*args, **kwargs)
        except Refusal as refusal:
            return None, work.finish() if work is not None else None, refusal
        return result, work.finish() if work is not None else None, None

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        result, durable, refusal = await run_in_threadpool(run_and_finish, *args, **kwargs)
        await ending.wait_durable(durable)
        if refusal is not None:
            raise refusal
        return result

    return run


async def _run_and_end(endpoint: Callable[..., Any], work: Work, args: Any, kwargs: Any) -> Any:
    """Run a coroutine route whose work its dependency left to it (``admitting``), then end the work as
    ``db_session`` would: committed when the route returns or refuses with ``Refusal``, rolled back with its
    audit entries kept on any other error, durable before the answer; the session closed either way. Until
    it is answered, the group writer expects its audit entries (``allpath.storage.audit_writer``)."""
    answered = access.expecting_audit(work.session)
    try:
        try:
            result = await endpoint(*args, **kwargs)
        except Refusal:
            await ending.finish(work)
            raise
        except BaseException:
            with contextlib.suppress(Exception):  # the route's own error is the one to report
                await ending.fail(work)  # refusals and failed acts stay in the audit log
            raise
        await ending.finish(work)
        return result
    finally:
        answered()
        if work.sessions is not None:  # always, for a work made by ``admitting``
            _kept_sessions.give_back(work.sessions, work.session)  # no I/O: the transaction has ended


class KernelRoute(APIRoute):
    """A route whose unit of work the kernel commits before the answer is sent (see the module docstring).
    Give it to every router: ``APIRouter(route_class=KernelRoute)``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, committing(endpoint), **kwargs)


class LeanRoute(KernelRoute):
    """A ``KernelRoute`` for a hot route shaped ``(record: dict[str, object], request: Request, work:
    Annotated[Work, Depends(admitting(...))])`` (``POST /api/assess``): a request whose body is a JSON object
    sent as ``application/json`` is dispatched by ``allpath.interfaces.http.lean_route`` without FastAPI's
    dependency machinery (the same dependency, the same order, the same answers); every other request, and
    every route of another shape, is FastAPI's own. The route is declared and documented as any other."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        from allpath.interfaces.http.lean_route import lean_handler

        general = super().get_route_handler()
        return lean_handler(self, general, _ADMITTING) or general


__all__ = [
    "AnonymousWork",
    "KernelRoute",
    "LeanRoute",
    "Refusal",
    "SignedInWork",
    "Work",
    "acting",
    "admitting",
    "audit_refusal_apart",
    "committing",
    "visible_patient",
    "work_of",
]
