"""Signing in and out, the signed-in user, activating an account and changing its password, API tokens
(expiring, listed and revoked by their owner), and joining as a family with an invitation code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from allpath.accounts.passwords import WeakPassword
from allpath.interfaces.api.answers import user_out
from allpath.interfaces.api.schemas import (
    Credentials,
    MeOut,
    PasswordChange,
    SessionOut,
    TokenIn,
    TokenInfo,
    TokenOut,
    UserOut,
    WithdrawalOut,
)
from allpath.interfaces.http.deps import SESSION_COOKIE, AppSettings, Refusal, storable_body
from allpath.interfaces.http.schemas import ActivateIn, ErrorOut, InvitationAccept, ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import AnonymousWork, KernelRoute, SignedInWork
from allpath.interfaces.i18n import LANG_PARAM, choose_locale, use_locale
from allpath.interfaces.i18n.account_notices import withdrawal_notice
from allpath.service import accounts, sessions

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
    try:
        signed_in = sessions.sign_in(
            work, body.username, body.password, client, settings.sign_in_limits, settings.session_hours
        )
    except sessions.TooManyAttempts as error:
        raise _too_many(error) from None
    except sessions.WrongCredentials:
        raise Refusal(401, "user name or password is wrong") from None  # kept: the failed attempt counts
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
    )
    user = signed_in.user
    return SessionOut(username=user.username, role=user.role, csrf_token=signed_in.csrf_token)


@router.delete("/session", status_code=204, responses=error_responses(401, 403))
def sign_out(request: Request, response: Response, work: SignedInWork) -> None:
    """Sign out: the session ends on the server and the cookie is cleared."""
    sessions.sign_out(work, request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=MeOut, responses=error_responses(401))
def me(request: Request, work: SignedInWork) -> MeOut:
    """The signed-in user (``data_access`` is false while the account waits for its team's confirmation), and
    the teams that withdrew its access (``access_withdrawn``: which team, when, and who can grant it again, in
    the language of ``?lang=``, the account's or ``Accept-Language``). Not audited: it is the account's own."""
    user = work.signed_in().user
    locale = choose_locale(
        request.query_params.get(LANG_PARAM), None, user.preferred_language, request.headers.get("accept-language")
    )
    with use_locale(locale):
        withdrawn = [
            WithdrawalOut(
                team=w.team_name,
                withdrawn_at=w.withdrawn_at,
                by="operator" if w.how == "operator" else "team",
                message=withdrawal_notice(w.team_name, w.withdrawn_at, w.how),
            )
            for w in accounts.withdrawals(work, user)
        ]
    return MeOut(**user_out(work.session, user).model_dump(), access_withdrawn=withdrawn)


@router.put("/me/password", status_code=204, responses={**error_responses(400, 401, 403), **WEAK_PASSWORD})
def change_password(body: PasswordChange, request: Request, work: SignedInWork) -> None:
    """Change your password (the current one is required); your other sessions end."""
    keep = request.cookies.get(SESSION_COOKIE) if work.signed_in().via == "session" else None
    try:
        sessions.change_password(work, body.current_password, body.new_password, keep)
    except sessions.AccountError as error:
        raise HTTPException(400, str(error)) from None
    except WeakPassword as error:
        raise HTTPException(422, str(error)) from None


def _too_many(error: sessions.TooManyAttempts) -> Refusal:
    """429 with ``Retry-After``: the attempt, counted as a failure, and the refusal's audit entry are kept."""
    return Refusal(429, "too many failed attempts; wait and try again", headers={"Retry-After": str(error.retry_after)})


@router.post("/activate", response_model=UserOut, responses={**error_responses(400, 429), **WEAK_PASSWORD})
def activate(body: ActivateIn, request: Request, work: AnonymousWork, settings: AppSettings) -> UserOut:
    """Choose the password of a new (or reset) account with the one-time activation code an administrator
    handed over; then sign in. The account reads patient data once a clinician of its team confirms it.
    Failed attempts are limited with sign-in's (per user name and client, and per client): 429 with
    ``Retry-After``."""
    client = request.client.host if request.client else "unknown"
    try:
        user = sessions.activate(work, body.username, body.code, body.password, client, settings.sign_in_limits)
    except sessions.TooManyAttempts as error:
        raise _too_many(error) from None
    except sessions.AccountError as error:
        raise Refusal(400, str(error)) from None  # kept: the failed attempt counts
    except WeakPassword as error:
        raise Refusal(422, str(error)) from None  # kept: the right code is no failed attempt
    return user_out(work.session, user)


@router.post("/tokens", response_model=TokenOut, status_code=201, responses=error_responses(400, 401, 403))
def new_token(body: TokenIn, work: SignedInWork, settings: AppSettings) -> TokenOut:
    """Create an API token for machine clients acting as the signed-in user (shown once). It expires after
    the configured lifetime (``ALLPATH_TOKEN_DAYS``), or after ``days`` when that is shorter."""
    days = settings.token_days if body.days is None else body.days
    try:
        token, row = sessions.issue_token(work, body.name, days, settings.token_days)
    except sessions.TokenTooLong as error:
        raise HTTPException(400, str(error)) from None
    return TokenOut(id=row.id, token=token, name=row.name, expires_at=row.expires_at)


@router.get("/tokens", response_model=list[TokenInfo], responses=error_responses(401))
def my_tokens(work: SignedInWork) -> list[TokenInfo]:
    """Your API tokens, newest first, with their expiry (the tokens themselves are never shown again)."""
    moment = sessions.now()
    return [
        TokenInfo(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked=row.revoked,
            expired=row.expires_at <= moment,
        )
        for row in sessions.api_tokens(work)
    ]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses={**error_responses(401, 403), 404: {"model": ErrorOut, "description": "you have no such live token"}},
)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2_147_483_647)], work: SignedInWork) -> None:
    """Revoke one of your API tokens: it stops working at once."""
    try:
        sessions.revoke_token(work, token_id)
    except sessions.NoSuchToken as error:
        raise HTTPException(404, str(error)) from None


@router.post(
    "/invitations/accept", response_model=UserOut, status_code=201, responses={**error_responses(400), **WEAK_PASSWORD}
)
def accept_invitation(body: InvitationAccept, work: AnonymousWork) -> UserOut:
    """Create a family account linked to one child, with the invitation code the care team gave."""
    try:
        user = sessions.accept_invitation(work, body.code, body.username, body.password, body.display_name)
    except sessions.InvitationError as error:
        raise Refusal(400, str(error)) from None
    except WeakPassword as error:
        raise Refusal(422, str(error)) from None
    return user_out(work.session, user)
