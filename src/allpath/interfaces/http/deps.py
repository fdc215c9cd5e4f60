"""Request-scoped dependencies: the database session, the signed-in principal, role checks, CSRF.

A caller is signed in either with the session cookie (browsers) or with ``Authorization: Bearer <token>``
(machine clients). A cookie-authenticated request that changes anything must carry the session's CSRF
token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from allpath.interfaces.http import ending
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import access
from allpath.service.stored import Patient, User
from allpath.service.unit_of_work import UnitOfWork
from allpath.settings import Settings

SESSION_COOKIE = "allpath_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def db_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: its work committed when the handler returns, rolled back on any error (its
    audit entries kept), before the answer is sent (``scope="function"``, below), so that a client that
    receives a 2xx knows its write is stored, and a failed commit is a 500, not a lost write.

    A coroutine, not a plain ``def``: making a session costs no I/O, and ending one that holds no database
    work (a stateless assessment, a refusal) costs none either (``allpath.interfaces.http.ending``), so a
    request pays no worker-thread trips for its session (a ``def`` generator costs two).
    """
    session: Session = request.app.state.sessions()
    work = UnitOfWork(session, None)
    try:
        try:
            yield session
        except BaseException:
            with contextlib.suppress(Exception):  # the request's own error is the one to report
                await ending.fail(work)  # refusals and failed acts stay in the audit log
            raise
        await ending.finish(work)  # what a route outside the kernel left (the kernel's routes are done)
    finally:
        session.close()  # no I/O: the transaction has ended


DB = Annotated[Session, Depends(db_session, scope="function")]


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
# and each such hop costs the event loop more than the dependency itself.


async def knowledge(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


async def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


KB = Annotated[KnowledgeBase, Depends(knowledge)]
AppSettings = Annotated[Settings, Depends(settings)]


def storable(text: str) -> bool:
    """Text that the databases can store and a JSON response can carry: no NUL character (PostgreSQL refuses
    it) and no unpaired surrogate (not Unicode; it cannot be encoded as UTF-8)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_text(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The path to the first string or key of a JSON value that is not ``storable``; None when all are."""
    if isinstance(value, str):
        return None if storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not storable(key):
                return (*path, "(key)")
            found = unstorable_text(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_text(item, (*path, index))
            if found is not None:
                return found
    return None


async def storable_body(request: Request) -> None:
    """Refuse (422, naming the field) a JSON body with text that could not be stored or shown."""
    if request.method in SAFE_METHODS:
        return
    body = await request.body()
    if b"\\u" not in body:
        # JSON text can hold a NUL or a lone surrogate only as a \u escape (a raw control character is not
        # JSON, and UTF-8 cannot carry a surrogate): without one there is nothing to look for.
        return
    try:
        data = await request.json()  # already parsed (and cached) by FastAPI for JSON bodies
    except ValueError:
        return  # not JSON: the operation's own body check answers
    where = unstorable_text(data)
    if where is not None:
        raise RequestValidationError(
            [
                {
                    "type": "string_unstorable",
                    "loc": ("body", *where),
                    "msg": "text must not contain NUL characters or unpaired surrogates",
                    "input": None,
                }
            ]
        )


class Refusal(HTTPException):
    """Refuse the request after work that must be kept (a failed attempt counted, the refusal's audit entry):
    the kernel commits the route's work, then answers with this status and message
    (``allpath.interfaces.http.unit_of_work``)."""


@dataclass(frozen=True)
class Principal:
    user: User
    via: str  # "session" or "token"
    csrf: str | None = None
    granted: bool = False  # the data's owners have granted this account patient data (``data_access``)


async def _form_csrf(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def route_of(request: Request) -> str:
    """The method and route template of a request (``GET /api/patients/{patient_id}``), for the audit log:
    the template, never the path, so that nothing a caller typed into the address is stored."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "(no route)"
    return f"{request.method} {template}"[:200]


def audit_refusal(s: Session, user: User | None, request: Request, outcome: str) -> None:
    """Audit a refused request (``unauthenticated``, ``forbidden``, ``csrf``, ``invalid_token``): the entry
    survives the error response (``db_session`` writes it again after the rollback)."""
    access.audit_refused_request(s, user, outcome, route_of(request))


async def audit_refusal_async(s: Session, user: User | None, request: Request, outcome: str) -> None:
    """``audit_refusal`` from a coroutine, on the event loop: noting an entry costs no I/O (it is stored when
    the request's unit of work ends)."""
    audit_refusal(s, user, request, outcome)


# The sign-in look-ups' own threads. Handing a call to asyncio's executor costs about a third of the CPU of
# Starlette's ``run_in_threadpool`` (anyio's, with its cancel scope and capacity limiter): 25 against 75 us
# per trip with 8 trips under way, measured in process (benchmarks/README.md); every request pays one.
LOOKUP_THREADS = 16
Looked = TypeVar("Looked")
_LOOKUPS = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="allpath-sign-in")


async def _looked_up_in_thread(look_up: Callable[..., Looked], *args: object) -> Looked:
    """``look_up(*args)`` in a sign-in thread. Like ``run_in_threadpool``, the request waits for the thread
    even when it is cancelled meanwhile, so that its session is never closed under a running look-up."""
    running = asyncio.get_running_loop().run_in_executor(_LOOKUPS, look_up, *args)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await running
        raise


async def optional_principal(request: Request, s: DB) -> Principal | None:
    # An API token this process has checked, while nothing that decides sign-in has changed in any process,
    # is answered from the token cache on the event loop (no SQL, no I/O: ``allpath.storage.token_cache``).
    # Other look-ups run in a thread: on the event loop they would stall every other request of this worker
    # while they wait for the database. The account and whether it was granted patient data are read in one
    # trip, which also ends the look-up's transaction (``_looked_up``).
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        raw = header[7:].strip()
        cached = access.cached_token_account(s, raw)  # exact, no I/O: no thread trip (storage.token_cache)
        if cached is not None:
            return Principal(cached[0], "token", granted=cached[1])
        principal = await _looked_up_in_thread(_token_principal, s, raw)
        if principal is None:
            await audit_refusal_async(s, None, request, "invalid_token")
            raise HTTPException(401, "the API token is not valid", headers={"WWW-Authenticate": "Bearer"})
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    idle_minutes = request.app.state.settings.session_idle_minutes
    principal = await _looked_up_in_thread(_session_principal, s, cookie, idle_minutes)
    if principal is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token") or await _form_csrf(request)
        if not sent or not principal.csrf or not hmac.compare_digest(sent, principal.csrf):
            await audit_refusal_async(s, principal.user, request, "csrf")
            raise HTTPException(403, "missing or wrong CSRF token")
    return principal


def _token_principal(s: Session, raw: str) -> Principal | None:
    found = access.token_account(s, raw)
    _looked_up(s)
    return None if found is None else Principal(found[0], "token", granted=found[1])


def _session_principal(s: Session, cookie: str, idle_minutes: float) -> Principal | None:
    found = access.session_user(s, cookie, idle_minutes)
    principal = None if found is None else Principal(found[0], "session", found[1], granted=data_access(s, found[0]))
    _looked_up(s)
    return principal


def _looked_up(s: Session) -> None:
    """End the sign-in look-up's transaction in its own worker-thread trip (storing a session's last use, if
    it was due): the request then holds no database connection while it computes, and a request that writes
    nothing else ends without another trip (``allpath.interfaces.http.ending``). Nothing is noted for the
    audit before the look-up, so this commits no audit entry early."""
    if s.in_transaction():
        s.commit()


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def signed_in(principal: MaybePrincipal, request: Request, s: DB) -> Principal:
    if principal is None:
        await audit_refusal_async(s, None, request, "unauthenticated")
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return principal


async def admitted(request: Request, s: Session, roles: tuple[str, ...] | None) -> Principal:
    """The signed-in principal of the request if it has one of ``roles`` (any role: ``None``) and, for a role
    that reads patient data, the data's owners granted it; refused (401, 403) and audited otherwise.

    ``optional_principal``, ``signed_in`` and ``require`` in one call rather than a chain of dependencies:
    FastAPI's work to resolve each dependency cost more than the checks themselves (``acting``)."""
    principal = await signed_in(await optional_principal(request, s), request, s)
    if roles is not None:
        await _check_role(principal, request, s, roles)
    return principal


async def kept_admission(request: Request, roles: tuple[str, ...]) -> Principal | None:
    """The principal ``admitted`` would admit with ``roles``, when the request signs in with an API token whose
    entry in the token cache is exact: without a session, a merge or a transaction (``POST /api/assess``).
    Its account is the cache's detached copy, shared by every request: read it only. None in every other case
    (no token, a token to look up, a role or grant that would be refused): ``admitted`` then decides, refuses
    and audits, exactly as without this."""
    header = request.headers.get("authorization", "")
    engine = getattr(request.app.state, "engine", None)
    if engine is None or not header.lower().startswith("bearer "):
        return None
    raw = header[7:].strip()
    if access.kept_in_memory(engine):
        found = access.kept_token_account(engine, raw)  # no I/O: the event loop asks
    else:
        found = await access.kept_token_account_on_loop(engine, raw)  # reads the generation on the loop
    if found is None:
        return None
    user, granted = found
    if user.role not in roles or (user.role in access.DATA_ROLES and not granted):
        return None  # refused: by ``admitted``, which audits the refusal
    return Principal(user, "token", granted=granted)


def require(*roles: str) -> Callable[[Principal, Request, Session], Awaitable[Principal]]:
    """A dependency that admits only the given roles (least privilege: each endpoint names its roles)."""

    async def check(principal: Annotated[Principal, Depends(signed_in)], request: Request, s: DB) -> Principal:
        await _check_role(principal, request, s, roles)
        return principal

    return check


async def _check_role(principal: Principal, request: Request, s: Session, roles: tuple[str, ...]) -> None:
    if principal.user.role not in roles:
        await audit_refusal_async(s, principal.user, request, "forbidden")
        raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
    if principal.user.role in access.DATA_ROLES and not principal.granted:
        await audit_refusal_async(s, principal.user, request, "unconfirmed")
        raise HTTPException(403, WAITING)


WAITING = "this account waits for a clinician of the team to confirm it; until then it reads no patient data"


def data_access(s: Session, user: User) -> bool:
    """Whether the data's owners have granted this account patient data (never for an administrator)."""
    return access.data_access(s, user)


def patient_for(s: Session, principal: Principal, patient_id: str, *, family_allowed: bool) -> Patient:
    """The patient if this principal may see it (``allpath.service.access``: the denial is audited); 404
    otherwise, so that other teams' ids stay unknown."""
    plausible = len(patient_id) <= 64 and storable(patient_id)  # ids are UUIDs; anything else is unknown
    patient = access.visible_patient(
        s, principal.user, patient_id if plausible else None, family_allowed=family_allowed
    )
    if patient is None:
        raise Refusal(404, "no such patient")
    return patient
