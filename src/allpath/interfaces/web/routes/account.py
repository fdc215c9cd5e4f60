"""Your account (its state, your password, your API tokens) and the care team's page of who reads its data.

A secret (a new API token) is shown once, in the answer to the form that made it, never in an address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from allpath.accounts.passwords import MIN_LENGTH, WeakPassword
from allpath.interfaces.http.deps import SESSION_COOKIE, AppSettings, data_access
from allpath.interfaces.http.unit_of_work import KernelRoute, Work
from allpath.interfaces.web.pages import SECURITY_HEADERS, AnyUserPage, ClinicianPage, page
from allpath.storage import accounts, clock
from allpath.storage import signin as signin_store
from allpath.storage import tables as t
from allpath.storage import users as user_store

router = APIRouter(route_class=KernelRoute)
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _team_names(s: Session, team_ids: frozenset[int]) -> list[str]:
    return sorted(team.name for team in (s.get(t.Team, team_id) for team_id in team_ids) if team is not None)


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
    user = work.user
    teams = user_store.granted_teams(work.session, user.id)
    context = {
        "account": user,
        "team_name": _team_names(work.session, frozenset({user.team_id})) if user.team_id is not None else [],
        "data_role": user.role in user_store.DATA_ROLES,
        "has_access": data_access(work.session, user),
        "granted_teams": _team_names(work.session, teams),
        "tokens": signin_store.api_tokens(work.session, user),
        "now": clock.now(),
        "errors": errors or {},
        "notice": notice,
        "new_token": new_token,
        "min_length": MIN_LENGTH,
        "token_days": request.app.state.settings.token_days,
    }
    return page(request, "account.html", context, work, status)


@router.get("/account")
def account(request: Request, work: AnyUserPage, revoked: int = 0) -> Response:
    """Your account: whether it reads patient data yet, your password and your API tokens."""
    return _account_page(request, work, notice="The token is revoked." if revoked else "")


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
        return _account_page(request, work, 422, {"new_password_again": "The two new passwords differ."})
    keep = request.cookies.get(SESSION_COOKIE) if work.signed_in().via == "session" else None
    try:
        accounts.change_password(work.session, user, current_password, new_password, keep)
    except accounts.AccountError as error:
        work.audit("change_password", "user", str(user.id), outcome="denied", detail="web")
        return _account_page(request, work, 400, {"current_password": str(error)})
    except WeakPassword as error:
        work.audit("change_password", "user", str(user.id), outcome="invalid", detail="web")
        return _account_page(request, work, 422, {"new_password": f"new password: {error}"})
    return _account_page(request, work, notice="Your password is changed; your other sessions ended.")


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
        return _account_page(request, work, 422, {"token_name": "Give the token a name (up to 100 characters)."})
    lifetime = settings.token_days
    if days.strip():
        try:
            lifetime = float(days)
        except ValueError:
            lifetime = -1.0
        if not 0 < lifetime <= settings.token_days:
            message = f"The lifetime is a number of days above 0 and at most {settings.token_days:g}."
            return _account_page(request, work, 422, {"token_days": message})
    token, row = signin_store.issue_api_token(work.session, work.user, name, lifetime)
    work.audit("create", "api_token", str(row.id), detail=f"{lifetime:g} days (web)")
    shown: NewToken = {"token": token, "name": row.name, "expires_at": row.expires_at}
    return _account_page(request, work, 201, new_token=shown)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: Id, work: AnyUserPage) -> Response:
    if not signin_store.revoke_api_tokens(work.session, work.user, token_id):
        work.audit("revoke", "api_token", str(token_id), outcome="denied", detail="web")
        return _account_page(request, work, 404, {"tokens": "You have no such live token."})
    work.audit("revoke", "api_token", str(token_id), detail="web")
    return RedirectResponse("/account?revoked=1", status_code=303, headers=SECURITY_HEADERS)


# ---- the care team's page ---------------------------------------------------------------------------------


@router.get("/team")
def team(request: Request, work: ClinicianPage, confirmed: str = "") -> Response:
    """Who reads your team's data (and who granted it), and the accounts that wait for your confirmation."""
    user = work.user
    assert user.team_id is not None  # a clinician with access has a team
    members = accounts.with_access(work.session, user.team_id)
    waiting = accounts.waiting_for(work.session, user)
    work.audit("list", "team_member", detail=f"{len(waiting)} waiting (web)")
    names = {u.id: u.username for u, _ in members}
    context = {
        "team_name": _team_names(work.session, frozenset({user.team_id})),
        "members": members,
        "waiting": waiting,
        "names": names,
        "confirmed": confirmed[:100],
    }
    return page(request, "team.html", context, work)


@router.post("/team/{user_id}/confirm")
def confirm(request: Request, user_id: Id, work: ClinicianPage) -> Response:
    """Grant a waiting account your team's data."""
    try:
        confirmed = accounts.confirm(work.session, work.user, user_id, channel="web")
    except accounts.NotFound as error:
        return page(request, "error.html", {"title": "Not confirmed", "message": str(error)}, work, 404)
    return RedirectResponse(f"/team?confirmed={confirmed.username}", status_code=303, headers=SECURITY_HEADERS)
