"""Your account (its state, your password, your API tokens) and the care team's page of who reads its data
(confirming the accounts that wait, and withdrawing a grant).

A secret (a new API token) is shown once, in the answer to the form that made it, never in an address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from typing_extensions import TypedDict

from allpath.accounts.passwords import MIN_LENGTH, WeakPassword
from allpath.interfaces.http.deps import SESSION_COOKIE, AppSettings
from allpath.interfaces.http.unit_of_work import KernelRoute, Work
from allpath.interfaces.i18n import LANG_COOKIE, language_name, marked, supported_locales
from allpath.interfaces.i18n.account_notices import withdrawal_notice
from allpath.interfaces.web.account_words import ROLE_NAMES, refusal
from allpath.interfaces.web.pages import SECURITY_HEADERS, AnyUserPage, ClinicianPage, page
from allpath.service import accounts, sessions

router = APIRouter(route_class=KernelRoute)
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


class NewToken(TypedDict):
    """A token just made, shown once: the secret, its name and when it expires."""

    token: str
    name: str
    expires_at: datetime


def _account_page(
    request: Request,
    work: Work,
    status: int = 200,
    errors: dict[str, str] | None = None,
    notice: str = "",
    new_token: NewToken | None = None,
) -> Response:
    state = accounts.account_state(work)
    context = {
        "account": work.user,
        "team_name": state.team_names,
        "data_role": state.data_role,
        "has_access": state.has_access,
        "granted_teams": state.granted_team_names,
        "withdrawn": state.withdrawn,
        "withdrawal_notice": withdrawal_notice,  # called as the page is drawn, in its language
        "tokens": state.tokens,
        "now": state.now,
        "errors": errors or {},
        "notice": notice,
        "new_token": new_token,
        "min_length": MIN_LENGTH,
        "token_days": request.app.state.settings.token_days,
        "language_choices": [(locale, language_name(locale)) for locale in supported_locales()],
        "preferred_language": work.user.preferred_language or "",
    }
    return page(request, "account.html", context, work, status)


@router.get("/account")
def account(request: Request, work: AnyUserPage, revoked: int = 0, language: int = 0) -> Response:
    """Your account: whether it reads patient data yet, your language, your password and your API tokens."""
    notice = marked("The token is revoked.") if revoked else (marked("Your language is saved.") if language else "")
    return _account_page(request, work, notice=notice)


@router.post("/account/password")
def change_password(
    request: Request,
    work: AnyUserPage,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    new_password_again: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change your password (the rules of ``PUT /api/me/password``); your other sessions end."""
    user = work.user
    if new_password != new_password_again:
        work.audit("change_password", "user", str(user.id), outcome="invalid", detail="web")
        return _account_page(request, work, 422, {"new_password_again": marked("The two new passwords differ.")})
    keep = request.cookies.get(SESSION_COOKIE) if work.signed_in().via == "session" else None
    try:
        sessions.change_password(work, current_password, new_password, keep, detail="web")
    except sessions.AccountError as error:
        return _account_page(request, work, 400, {"current_password": refusal(error)})
    except WeakPassword as error:
        return _account_page(request, work, 422, {"new_password": refusal(error)})
    return _account_page(request, work, notice=marked("Your password is changed; your other sessions ended."))


@router.post("/account/language")
def set_language(request: Request, work: AnyUserPage, language: Annotated[str, Form(max_length=20)] = "") -> Response:
    """The language of your pages from now on (empty: your browser's); it replaces this session's choice."""
    if language and language not in supported_locales():
        return _account_page(request, work, 422, {"language": marked("Choose one of the languages offered.")})
    accounts.set_preferred_language(work, language or None, channel="web")
    response = RedirectResponse("/account?language=1", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(LANG_COOKIE)
    return response


@router.post("/account/tokens")
def new_token(
    request: Request,
    work: AnyUserPage,
    settings: AppSettings,
    name: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Create an API token (shown once, on this answer only)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        message = marked("Give the token a name (up to 100 characters).")
        return _account_page(request, work, 422, {"token_name": message})
    lifetime = settings.token_days
    if days.strip():
        try:
            lifetime = float(days)
        except ValueError:
            lifetime = -1.0
        if not 0 < lifetime <= settings.token_days:
            # The longest lifetime is said just above the form (the page's words about API tokens).
            message = marked("The lifetime is a number of days above 0 and no longer than the longest allowed.")
            return _account_page(request, work, 422, {"token_days": message})
    token, row = sessions.issue_token(work, name, lifetime, settings.token_days, channel="web")
    shown: NewToken = {"token": token, "name": row.name, "expires_at": row.expires_at}
    return _account_page(request, work, 201, new_token=shown)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: Id, work: AnyUserPage) -> Response:
    try:
        sessions.revoke_token(work, token_id, detail="web")
    except sessions.NoSuchToken:
        return _account_page(request, work, 404, {"tokens": marked("You have no such live token.")})
    return RedirectResponse("/account?revoked=1", status_code=303, headers=SECURITY_HEADERS)


# ---- the care team's page ---------------------------------------------------------------------------------


@router.get("/team")
def team(request: Request, work: ClinicianPage, confirmed: str = "", withdrawn: str = "") -> Response:
    """Who reads your team's data (and who granted it), and the accounts that wait for your confirmation."""
    user = work.user
    assert user.team_id is not None  # a clinician with access has a team
    team = accounts.team_members(work, channel="web")
    names = {u.id: u.username for u, _ in team.granted}
    context = {
        "team_name": accounts.team_name(work, user.team_id),
        "members": team.granted,
        "waiting": team.waiting,
        "names": names,
        "confirmed": confirmed[:100],
        "withdrawn": withdrawn[:100],
        "me": user.id,
        "role_names": ROLE_NAMES,
    }
    return page(request, "team.html", context, work)


@router.post("/team/{user_id}/confirm")
def confirm(request: Request, user_id: Id, work: ClinicianPage) -> Response:
    """Grant a waiting account your team's data."""
    try:
        confirmed, _grant = accounts.confirm(work, user_id, channel="web")
    except accounts.NotFound as error:
        context = {"title": marked("Not confirmed"), "message": refusal(error)}
        return page(request, "error.html", context, work, 404)
    return RedirectResponse(f"/team?confirmed={confirmed.username}", status_code=303, headers=SECURITY_HEADERS)


@router.post("/team/{user_id}/withdraw")
def withdraw(request: Request, user_id: Id, work: ClinicianPage) -> Response:
    """Withdraw your team's data from another account (it waits for a confirmation again)."""
    try:
        withdrawn = accounts.withdraw(work, user_id, channel="web")
    except accounts.AccountError as error:
        status = 409 if isinstance(error, accounts.NotAllowed) else 404
        context = {"title": marked("Not withdrawn"), "message": refusal(error)}
        return page(request, "error.html", context, work, status)
    return RedirectResponse(f"/team?withdrawn={withdrawn.username}", status_code=303, headers=SECURITY_HEADERS)
