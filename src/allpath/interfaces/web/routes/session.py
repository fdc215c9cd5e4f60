"""Signing in and out, the start page of each role, activating an account with its one-time code, and
joining as a family with an invitation code.

Before sign-in there is no session and so no session CSRF token: the sign-in and join forms carry a
one-time token that must match a short-lived cookie (double submit), so that another site cannot sign a
browser in to an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from allpath.accounts.passwords import MIN_LENGTH, WeakPassword
from allpath.interfaces.http.deps import SESSION_COOKIE, AppSettings
from allpath.interfaces.http.schemas import ActivateIn, InvitationAccept
from allpath.interfaces.http.unit_of_work import AnonymousWork, KernelRoute
from allpath.interfaces.i18n import marked
from allpath.interfaces.web.account_words import refusal
from allpath.interfaces.web.pages import (
    SECURITY_HEADERS,
    AnyUserPage,
    MaybePageUser,
    page,
    plain_form_errors,
    safe_next,
)
from allpath.service import sessions, stored_patients
from allpath.service.access import DATA_ROLES

router = APIRouter(route_class=KernelRoute)
# A form sent with a token of an earlier visit (shown beside the form, in the page's language).
FORM_EXPIRED = marked("The form had expired. Please try again.")
FORM_COOKIE = "allpath_form"
TOO_MANY_ACTIVATIONS = marked(
    "Too many failed attempts with this user name from here; wait a few minutes and try again."
)
# The sign-in page's notices and refusals (shown through |translated, in the page's language).
JOINED = marked("Your family account is ready. Sign in with the user name and password you chose.")
ACTIVATED = marked("Your password is set. Sign in with your user name and the password you chose.")
SIGNIN_EXPIRED = marked("The sign-in form had expired. Please try again.")
SIGNIN_EMPTY = marked("Enter your user name and password.")
TOO_MANY_SIGNINS = marked(
    "Too many failed sign-ins; wait and try again later, or sign in from a computer you have signed in from before."
)
WRONG_CREDENTIALS = marked("The user name or password is wrong.")


def _anonymous_form(
    request: Request,
    template: str,
    context: Mapping[str, object],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A form page for a visitor who is not signed in, with a fresh one-time form token (and its cookie)."""
    token = secrets.token_urlsafe(32)
    response = page(request, template, {**context, "form_token": token}, None, status, headers)
    response.set_cookie(
        FORM_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        max_age=3600,
    )
    return response


def _form_token_ok(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(FORM_COOKIE, "")
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie, sent)


def _signin_page(
    request: Request,
    status: int = 200,
    error: str = "",
    username: str = "",
    next_path: str = "/",
    notice: str = "",
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    context = {"error": error, "username": username, "next": next_path, "notice": notice}
    return _anonymous_form(request, "signin.html", context, status, headers)


def _retry_after(error: sessions.TooManyAttempts) -> dict[str, str]:
    return {"Retry-After": str(error.retry_after)}


@router.get("/")
def home(request: Request, principal: MaybePageUser, work: AnonymousWork) -> Response:
    """Each role's start page."""
    if principal is None:
        return RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
    role = principal.user.role
    if role in DATA_ROLES and not principal.granted:
        target = "/account"  # it waits for its team's confirmation, and says so there
    elif role == "family":
        children = stored_patients.family_children(work.as_actor(principal.user))
        target = f"/patients/{children[0]}/report" if len(children) == 1 else "/patients"
    else:
        target = {"clinician": "/patients", "researcher": "/export", "admin": "/admin/users"}.get(role, "/sources")
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


@router.get("/signin")
def signin_form(
    request: Request, principal: MaybePageUser, next: str = "/", joined: int = 0, activated: int = 0
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303, headers=SECURITY_HEADERS)
    notice = ACTIVATED if activated else (JOINED if joined else "")
    return _signin_page(request, next_path=safe_next(next), notice=notice)


@router.post("/signin")
def signin(
    request: Request,
    work: AnonymousWork,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (the same rules and rate limit as ``POST /api/session``) and set the session cookie."""
    target = safe_next(next)
    if not _form_token_ok(request, csrf_token):
        return _signin_page(request, 400, SIGNIN_EXPIRED, username, target)
    if not username or not password:
        return _signin_page(request, 422, SIGNIN_EMPTY, username, target)
    client = request.client.host if request.client else "unknown"
    try:
        signed_in = sessions.sign_in(
            work, username, password, client, settings.sign_in_limits, settings.session_hours, detail="web"
        )
    except sessions.TooManyAttempts as error:
        return _signin_page(request, 429, TOO_MANY_SIGNINS, username, target, headers=_retry_after(error))
    except sessions.WrongCredentials:
        return _signin_page(request, 401, WRONG_CREDENTIALS, username, target)
    response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
    )
    response.delete_cookie(FORM_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, work: AnyUserPage) -> Response:
    """End the session on the server and clear the cookie (the form carries the CSRF token)."""
    sessions.sign_out(work, request.cookies.get(SESSION_COOKIE), detail="web")
    response = RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---- joining with an invitation code ---------------------------------------------------------------


def _join_page(
    request: Request, status: int = 200, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> HTMLResponse:
    return _anonymous_form(request, "join.html", {"values": values or {}, "errors": errors or {}}, status)


@router.get("/join")
def join_form(request: Request) -> Response:
    return _join_page(request)


@router.post("/join")
def join(
    request: Request,
    work: AnonymousWork,
    code: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Create a family account linked to one child (the rules of ``POST /api/invitations/accept``)."""
    values = {"code": code, "username": username, "display_name": display_name}
    if not _form_token_ok(request, csrf_token):
        return _join_page(request, 400, values, {"form": FORM_EXPIRED})
    try:
        body = InvitationAccept(code=code.strip(), username=username, display_name=display_name, password=password)
    except ValidationError as error:
        errors = plain_form_errors(error)
        return _join_page(request, 422, values, errors)
    try:
        sessions.accept_invitation(work, body.code, body.username, body.password, body.display_name, detail="web")
    except sessions.InvitationError as error:
        field = "username" if "user name" in str(error) else "code"
        return _join_page(request, 400, values, {field: refusal(error)})
    except WeakPassword as error:
        return _join_page(request, 422, values, {"password": refusal(error)})
    return RedirectResponse("/signin?joined=1", status_code=303, headers=SECURITY_HEADERS)


# ---- activating an account with its one-time code ----------------------------------------------------------


def _activate_page(
    request: Request,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    context = {"values": values or {}, "errors": errors or {}, "min_length": MIN_LENGTH}
    return _anonymous_form(request, "activate.html", context, status, headers)


@router.get("/activate")
def activate_form(request: Request) -> Response:
    return _activate_page(request)


@router.post("/activate")
def activate(
    request: Request,
    work: AnonymousWork,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    password_again: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Choose the password of a new (or reset) account (the rules of ``POST /api/activate``)."""
    values = {"username": username, "code": code}
    if not _form_token_ok(request, csrf_token):
        return _activate_page(request, 400, values, {"form": FORM_EXPIRED})
    try:
        body = ActivateIn(username=username.strip(), code=code.strip(), password=password)
    except ValidationError as error:
        errors = plain_form_errors(error)
        work.audit("activate", "user", outcome="invalid", detail="web")
        return _activate_page(request, 422, values, errors)
    if password != password_again:
        work.audit("activate", "user", outcome="invalid", detail="web")
        return _activate_page(request, 422, values, {"password_again": marked("The two passwords differ.")})
    client = request.client.host if request.client else "unknown"
    try:
        sessions.activate(work, body.username, body.code, body.password, client, settings.sign_in_limits, detail="web")
    except sessions.TooManyAttempts as error:
        return _activate_page(request, 429, values, {"form": TOO_MANY_ACTIVATIONS}, _retry_after(error))
    except sessions.AccountError as error:
        return _activate_page(request, 400, values, {"code": refusal(error)})
    except WeakPassword as error:
        return _activate_page(request, 422, values, {"password": refusal(error)})
    return RedirectResponse("/signin?activated=1", status_code=303, headers=SECURITY_HEADERS)
