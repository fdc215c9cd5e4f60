"""Signing in and out, API tokens, your own password, activating an account and joining as a family.

Each use case audits itself in the unit of work, refusals included (who, what, the outcome; never a
password, a code or a token), and raises for the interface to answer in its own words: ``TooManyAttempts``
and ``WrongCredentials`` at sign-in, ``AccountError`` and ``WeakPassword`` for a password,
``InvitationError`` and ``WeakPassword`` when joining, ``TokenTooLong`` and ``NoSuchToken`` for tokens.
``detail`` names the channel (``web``) in the audit entry of a success, as the interfaces always have.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from allpath.accounts.passwords import WeakPassword
from allpath.service.unit_of_work import UnitOfWork
from allpath.settings import SignInLimits
from allpath.storage import accounts, attempts, clock, invitations, signin
from allpath.storage.accounts import AccountError
from allpath.storage.attempts import TooManyAttempts
from allpath.storage.invitations import InvitationError
from allpath.storage.tables import ApiToken, User


class WrongCredentials(Exception):
    """The user name or the password is wrong (or the account cannot sign in); which one is not said."""


class TokenTooLong(ValueError):
    """An API token may not live longer than the configured lifetime."""


class NoSuchToken(LookupError):
    """The account has no such live API token."""


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the account, the session id for the cookie and the session's CSRF token."""

    user: User
    session_id: str
    csrf_token: str


def now() -> datetime:
    """The time the stored times are compared with (UTC): a token whose expiry is not after it has expired."""
    return clock.now()


def _acting(uow: UnitOfWork) -> User:
    if uow.actor is None:
        raise PermissionError("this needs a signed-in account")
    return uow.actor


def sign_in(
    uow: UnitOfWork,
    username: str,
    password: str,
    client: str,
    limits: SignInLimits,
    session_hours: float,
    *,
    detail: str = "",
) -> SignedIn:
    """Check the password (failures limited per user name and client, and per client) and start a session.
    The failed attempt is kept even though the answer is a refusal: the interface commits the work."""
    try:
        user = signin.authenticate(uow.session, username, password, client, limits)
    except TooManyAttempts:
        uow.audit("sign_in", "session", outcome="rate_limited")
        raise
    if user is None:
        uow.audit("sign_in", "session", outcome="denied")
        raise WrongCredentials
    session_id, csrf = signin.create_session(uow.session, user, session_hours)
    replace(uow, actor=user).audit("sign_in", "session", detail=detail)
    return SignedIn(user, session_id, csrf)


def sign_out(uow: UnitOfWork, session_id: str | None, *, detail: str = "") -> None:
    """End the browser session ``session_id`` on the server (when there is one) and audit the sign-out."""
    if session_id:
        signin.end_session(uow.session, session_id)
    uow.audit("sign_out", "session", detail=detail)


def change_password(uow: UnitOfWork, current: str, new: str, keep_session: str | None, *, detail: str = "") -> None:
    """The actor's own change: the current password is required; every other session of the account ends
    (all but ``keep_session``). A wrong current password is ``denied``, a weak new one ``invalid``."""
    user = _acting(uow)
    try:
        accounts.change_password(uow.session, user, current, new, keep_session)
    except AccountError:
        uow.audit("change_password", "user", str(user.id), outcome="denied", detail=detail)
        raise
    except WeakPassword:
        uow.audit("change_password", "user", str(user.id), outcome="invalid", detail=detail)
        raise


def activate(
    uow: UnitOfWork, username: str, code: str, password: str, client: str, limits: SignInLimits, *, detail: str = ""
) -> User:
    """Choose the password of a new (or reset) account with its one-time activation code (used up). Failed
    attempts are limited with sign-in's (``TooManyAttempts``, audited as ``rate_limited``); the attempt is
    kept even though the answer is a refusal: the interface commits the work."""
    try:
        attempt_id = attempts.limited_attempt(uow.session, username, client, limits, whole_account=False)
    except TooManyAttempts:
        uow.audit("activate", "user", outcome="rate_limited", detail=detail)
        raise
    try:
        user = accounts.activate(uow.session, username, code, password)
    except AccountError:
        uow.audit("activate", "user", outcome="denied", detail=detail)
        raise
    except WeakPassword:  # the code was right: no failed attempt, whatever the password
        attempts.succeeded(uow.session, attempt_id)
        uow.audit("activate", "user", outcome="invalid", detail=detail)
        raise
    attempts.succeeded(uow.session, attempt_id)
    return user


def accept_invitation(
    uow: UnitOfWork, code: str, username: str, password: str, display_name: str, *, detail: str = ""
) -> User:
    """A family account linked to the invitation's child (and granted the child's team by the clinician who
    invited); audited as the new account."""
    try:
        user = invitations.accept_invitation(uow.session, code, username, password, display_name)
    except InvitationError:
        uow.audit("accept", "invitation", outcome="denied")
        raise
    except WeakPassword:
        uow.audit("accept", "invitation", outcome="invalid")
        raise
    replace(uow, actor=user).audit("accept", "invitation", detail=detail)
    return user


# ---- API tokens ---------------------------------------------------------------------------------------------


def issue_token(
    uow: UnitOfWork, name: str, days: float, longest_days: float, *, channel: str = ""
) -> tuple[str, ApiToken]:
    """A new API token of the actor (the token is shown once; only its digest is stored) that expires after
    ``days``, at most ``longest_days`` (``TokenTooLong``, audited as ``invalid``, otherwise)."""
    if days > longest_days:
        uow.audit("create", "api_token", outcome="invalid")
        raise TokenTooLong(f"a token may live at most {longest_days:g} days")
    token, row = signin.issue_api_token(uow.session, _acting(uow), name, days)
    uow.audit("create", "api_token", str(row.id), detail=f"{days:g} days" + (f" ({channel})" if channel else ""))
    return token, row


def api_tokens(uow: UnitOfWork) -> list[ApiToken]:
    """The actor's API tokens, newest first, revoked and expired ones too (not audited: their own account)."""
    return signin.api_tokens(uow.session, _acting(uow))


def revoke_token(uow: UnitOfWork, token_id: int, *, detail: str = "") -> None:
    """Revoke one of the actor's live API tokens (``NoSuchToken``, audited as ``denied``, otherwise)."""
    if not signin.revoke_api_tokens(uow.session, _acting(uow), token_id):
        uow.audit("revoke", "api_token", str(token_id), outcome="denied", detail=detail)
        raise NoSuchToken("you have no such live token")
    uow.audit("revoke", "api_token", str(token_id), detail=detail)


__all__ = [
    "AccountError",
    "InvitationError",
    "NoSuchToken",
    "SignedIn",
    "TokenTooLong",
    "TooManyAttempts",
    "WeakPassword",
    "WrongCredentials",
    "accept_invitation",
    "activate",
    "api_tokens",
    "change_password",
    "issue_token",
    "now",
    "revoke_token",
    "sign_in",
    "sign_out",
]
