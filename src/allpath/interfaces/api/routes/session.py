"""Signing in and out, the signed-in user, API tokens, and joining as a family with an invitation code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from allpath.interfaces.api.deps import DB, SESSION_COOKIE, AppSettings, Principal, signed_in, storable_body
from allpath.interfaces.api.schemas import (
    Credentials,
    InvitationAccept,
    SessionOut,
    TokenIn,
    TokenOut,
    UserOut,
    error_responses,
)
from allpath.storage import repository as repo
from allpath.storage.tables import User

router = APIRouter(prefix="/api", tags=["session"], dependencies=[Depends(storable_body)])


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        team_id=user.team_id,
        active=user.active,
    )


@router.post("/session", response_model=SessionOut, responses=error_responses(400, 401, 429))
def sign_in(body: Credentials, request: Request, response: Response, s: DB, settings: AppSettings) -> SessionOut:
    """Sign in with a user name and password; sets the session cookie."""
    client = request.client.host if request.client else "unknown"
    try:
        user = repo.authenticate(s, body.username, body.password, client, settings.sign_in_limits)
    except repo.TooManyAttempts:
        repo.audit(s, None, "sign_in", "session", outcome="rate_limited")
        s.commit()  # the audit entry stays although the request fails
        raise HTTPException(429, "too many failed sign-ins; wait a few minutes and try again") from None
    if user is None:
        repo.audit(s, None, "sign_in", "session", outcome="denied")
        s.commit()
        raise HTTPException(401, "user name or password is wrong")
    raw, csrf = repo.create_session(s, user, settings.session_hours)
    repo.audit(s, user, "sign_in", "session")
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
    )
    return SessionOut(username=user.username, role=user.role, csrf_token=csrf)


@router.delete("/session", status_code=204, responses=error_responses(401, 403))
def sign_out(request: Request, response: Response, s: DB, principal: Annotated[Principal, Depends(signed_in)]) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        repo.end_session(s, cookie)
    repo.audit(s, principal.user, "sign_out", "session")
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=UserOut, responses=error_responses(401))
def me(principal: Annotated[Principal, Depends(signed_in)]) -> UserOut:
    """The signed-in user."""
    return _user_out(principal.user)


@router.post("/tokens", response_model=TokenOut, status_code=201, responses=error_responses(400, 401, 403))
def new_token(body: TokenIn, s: DB, principal: Annotated[Principal, Depends(signed_in)]) -> TokenOut:
    """Create an API token for machine clients acting as the signed-in user (shown once)."""
    token = repo.create_api_token(s, principal.user, body.name)
    repo.audit(s, principal.user, "create", "api_token", detail=body.name)
    return TokenOut(token=token, name=body.name)


@router.post("/invitations/accept", response_model=UserOut, status_code=201, responses=error_responses(400))
def accept_invitation(body: InvitationAccept, s: DB) -> UserOut:
    """Create a family account linked to one child, with the invitation code the care team gave."""
    try:
        user = repo.accept_invitation(s, body.code, body.username, body.password, body.display_name)
    except repo.InvitationError as error:
        repo.audit(s, None, "accept", "invitation", outcome="denied")
        s.commit()
        raise HTTPException(400, str(error)) from None
    repo.audit(s, user, "accept", "invitation")
    return _user_out(user)
