"""Request-scoped dependencies: the database session, the signed-in principal, role checks, CSRF.

A caller is signed in either with the session cookie (browsers) or with ``Authorization: Bearer <token>``
(machine clients). A cookie-authenticated request that changes anything must carry the session's CSRF
token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import Settings
from allpath.storage import repository as repo
from allpath.storage import tables as t

SESSION_COOKIE = "allpath_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on any error."""
    factory = request.app.state.sessions
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DB = Annotated[Session, Depends(db_session)]


def knowledge(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


KB = Annotated[KnowledgeBase, Depends(knowledge)]
AppSettings = Annotated[Settings, Depends(settings)]


@dataclass(frozen=True)
class Principal:
    user: t.User
    via: str  # "session" or "token"
    csrf: str | None = None


async def _form_csrf(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


async def optional_principal(request: Request, s: DB) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = repo.token_user(s, header[7:].strip())
        if user is None:
            raise HTTPException(401, "the API token is not valid", headers={"WWW-Authenticate": "Bearer"})
        return Principal(user, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = repo.session_user(s, cookie)
    if found is None:
        return None
    user, csrf = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token") or await _form_csrf(request)
        if not sent or not hmac.compare_digest(sent, csrf):
            raise HTTPException(403, "missing or wrong CSRF token")
    return Principal(user, "session", csrf)


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def signed_in(principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return principal


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles (least privilege: each endpoint names its roles)."""

    def check(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if principal.user.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
        return principal

    return check


def patient_for(s: Session, principal: Principal, patient_id: str, *, family_allowed: bool) -> t.Patient:
    """The patient if this principal may see it; 404 otherwise, so that other teams' ids stay unknown."""
    patient = repo.get_patient(s, patient_id)
    user = principal.user
    allowed = False
    if patient is not None:
        if user.role == "clinician":
            allowed = patient.team_id == user.team_id
        elif user.role == "family" and family_allowed:
            allowed = patient.id in repo.family_patient_ids(s, user)
    if patient is None or not allowed:
        repo.audit(s, user, "read", "patient", patient_id, outcome="denied")
        s.commit()
        raise HTTPException(404, "no such patient")
    return patient
