"""Signing in and out, the signed-in user, activating an account and changing its password, API tokens
(expiring, listed and revoked by their owner), and joining as a family with an invitation code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from allpath.accounts.passwords import WeakPassword
from allpath.interfaces.api.answers import user_out
from allpath.interfaces.api.schemas import (
    Credentials,
    PasswordChange,
    SessionOut,
    TokenIn,
    TokenInfo,
    TokenOut,
    UserOut,
)
from allpath.interfaces.http.deps import SESSION_COOKIE, AppSettings, Refusal, storable_body
from allpath.interfaces.http.schemas import ActivateIn, ErrorOut, InvitationAccept, ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import AnonymousWork, KernelRoute, SignedInWork
from allpath.storage import accounts, clock
from allpath.storage import invitations as invitation_store
from allpath.storage import signin as signin_store

router = APIRouter(prefix="/api", tags=["session"], dependencies=[Depends(storable_body)], route_class=KernelRoute)
WEAK_PASSWORD: dict[int | str, dict[str, object]] = {
    422: {
        "model": ErrorOut | ValidationErrorOut,
        "description": "the new password does not meet the password policy (the message says why), or the "
        "request is malformed",
    }
}


@router.post("/session", response_model=SessionOut, responses=error_responses(400, 401, 429))
def sign_in(
    body: Credentials, request: Request, response: Response, work: AnonymousWork, settings: AppSettings
) -> SessionOut:
    """Sign in with a user name and password; sets the session cookie."""
    client = request.client.host if request.client else "unknown"
    s = work.session
    try:
        user = signin_store.authenticate(s, body.username, body.password, client, settings.sign_in_limits)
    except signin_store.TooManyAttempts:
        work.audit("sign_in", "session", outcome="rate_limited")
        raise Refusal(429, "too many failed sign-ins; wait a few minutes and try again") from None
    if user is None:
        work.audit("sign_in", "session", outcome="denied")
        raise Refusal(401, "user name or password is wrong")  # kept: the failed attempt counts towards the limit
    raw, csrf = signin_store.create_session(s, user, settings.session_hours)
    work.as_actor(user).audit("sign_in", "session")
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
def sign_out(request: Request, response: Response, work: SignedInWork) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        signin_store.end_session(work.session, cookie)
    work.audit("sign_out", "session")
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=UserOut, responses=error_responses(401))
def me(work: SignedInWork) -> UserOut:
    """The signed-in user (``data_access`` is false while the account waits for its team's confirmation)."""
    return user_out(work.session, work.signed_in().user)


@router.put("/me/password", status_code=204, responses={**error_responses(400, 401, 403), **WEAK_PASSWORD})
def change_password(body: PasswordChange, request: Request, work: SignedInWork) -> None:
    """Change your password (the current one is required); your other sessions end."""
    principal = work.signed_in()
    keep = request.cookies.get(SESSION_COOKIE) if principal.via == "session" else None
    user_id = str(principal.user.id)
    try:
        accounts.change_password(work.session, principal.user, body.current_password, body.new_password, keep)
    except accounts.AccountError as error:
        work.audit("change_password", "user", user_id, outcome="denied")
        raise HTTPException(400, str(error)) from None
    except WeakPassword as error:
        work.audit("change_password", "user", user_id, outcome="invalid")
        raise HTTPException(422, str(error)) from None


@router.post("/activate", response_model=UserOut, responses={**error_responses(400), **WEAK_PASSWORD})
def activate(body: ActivateIn, work: AnonymousWork) -> UserOut:
    """Choose the password of a new (or reset) account with the one-time activation code an administrator
    handed over; then sign in. The account reads patient data once a clinician of its team confirms it."""
    try:
        user = accounts.activate(work.session, body.username, body.code, body.password)
    except accounts.AccountError as error:
        work.audit("activate", "user", outcome="denied")
        raise HTTPException(400, str(error)) from None
    except WeakPassword as error:
        work.audit("activate", "user", outcome="invalid")
        raise HTTPException(422, str(error)) from None
    return user_out(work.session, user)


@router.post("/tokens", response_model=TokenOut, status_code=201, responses=error_responses(400, 401, 403))
def new_token(body: TokenIn, work: SignedInWork, settings: AppSettings) -> TokenOut:
    """Create an API token for machine clients acting as the signed-in user (shown once). It expires after
    the configured lifetime (``ALLPATH_TOKEN_DAYS``), or after ``days`` when that is shorter."""
    days = settings.token_days if body.days is None else body.days
    if days > settings.token_days:
        work.audit("create", "api_token", outcome="invalid")
        raise HTTPException(400, f"a token may live at most {settings.token_days:g} days")
    token, row = signin_store.issue_api_token(work.session, work.signed_in().user, body.name, days)
    work.audit("create", "api_token", str(row.id), detail=f"{days:g} days")
    return TokenOut(id=row.id, token=token, name=row.name, expires_at=row.expires_at)


@router.get("/tokens", response_model=list[TokenInfo], responses=error_responses(401))
def my_tokens(work: SignedInWork) -> list[TokenInfo]:
    """Your API tokens, newest first, with their expiry (the tokens themselves are never shown again)."""
    moment = clock.now()
    return [
        TokenInfo(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked=row.revoked,
            expired=row.expires_at <= moment,
        )
        for row in signin_store.api_tokens(work.session, work.signed_in().user)
    ]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses={**error_responses(401, 403), 404: {"model": ErrorOut, "description": "you have no such live token"}},
)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2_147_483_647)], work: SignedInWork) -> None:
    """Revoke one of your API tokens: it stops working at once."""
    if not signin_store.revoke_api_tokens(work.session, work.signed_in().user, token_id):
        work.audit("revoke", "api_token", str(token_id), outcome="denied")
        raise HTTPException(404, "you have no such live token")
    work.audit("revoke", "api_token", str(token_id))


@router.post(
    "/invitations/accept", response_model=UserOut, status_code=201, responses={**error_responses(400), **WEAK_PASSWORD}
)
def accept_invitation(body: InvitationAccept, work: AnonymousWork) -> UserOut:
    """Create a family account linked to one child, with the invitation code the care team gave."""
    s = work.session
    try:
        user = invitation_store.accept_invitation(s, body.code, body.username, body.password, body.display_name)
    except invitation_store.InvitationError as error:
        work.audit("accept", "invitation", outcome="denied")
        raise Refusal(400, str(error)) from None
    except WeakPassword as error:
        work.audit("accept", "invitation", outcome="invalid")
        raise Refusal(422, str(error)) from None
    work.as_actor(user).audit("accept", "invitation")
    return user_out(s, user)
