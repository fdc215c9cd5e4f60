"""The researcher's de-identified export and the administrator's accounts and audit log (no patient data).

The export holds the patients of the teams that granted the researcher their data. An administrator
creates accounts without passwords (each gets a one-time activation code, shown once), deactivates and
re-activates them, forces password resets, revokes API tokens and changes roles and teams; nothing of it
gives them patient data (``allpath.service.accounts``)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from allpath.interfaces.http.deps import AppSettings
from allpath.interfaces.http.schemas import UserIn, UserUpdate
from allpath.interfaces.http.unit_of_work import KernelRoute, Work
from allpath.interfaces.i18n import marked
from allpath.interfaces.web.account_words import (
    AUDIT_ACTIONS,
    AUDIT_OUTCOMES,
    AUDIT_RESOURCES,
    ROLE_NAMES,
    audit_word,
    refusal,
)
from allpath.interfaces.web.pages import (
    SECURITY_HEADERS,
    AdminPage,
    PageError,
    ResearcherPage,
    page,
    plain_form_errors,
)
from allpath.service import accounts, export
from allpath.service.stored import User

router = APIRouter(route_class=KernelRoute)
SummaryColumn = Literal[
    "pseudonym", "disease_state", "risk_group", "cog_risk_group", "provisional", "populations", "knowledge_version"
]
_SUMMARY_COLUMNS: tuple[SummaryColumn, ...] = get_args(SummaryColumn)  # the CSV's first columns, in this order


# ---- research export --------------------------------------------------------------------------------


@router.get("/export")
def export_page(request: Request, work: ResearcherPage) -> Response:
    """What the export holds, how many patients, and the groups it contains (counts only)."""
    rows = export.deidentified_summary(work, detail="web")
    groups = Counter((r["disease_state"], r["risk_group"], r["cog_risk_group"]) for r in rows)
    context = {"count": len(rows), "groups": sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0])))}
    return page(request, "export.html", context, work)


def _attachment(body: str, media_type: str, filename: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/export/deidentified.json")
def export_json(work: ResearcherPage) -> Response:
    """Every patient's record and groups without names, ids or dates (the rows of the JSON API)."""
    rows = export.deidentified_rows(work, detail="web, json")
    return _attachment(json.dumps(rows, indent=2, ensure_ascii=False), "application/json", "allpath-deidentified.json")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ";".join(value)
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@router.get("/export/deidentified.csv")
def export_csv(work: ResearcherPage) -> Response:
    """The same rows as a table: one line per patient, the record's fields as columns."""
    rows = export.deidentified_rows(work, detail="web, csv")
    record_keys = sorted({key for r in rows for key in r["record"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_SUMMARY_COLUMNS, *(f"record.{k}" for k in record_keys)])
    for r in rows:
        writer.writerow([_cell(r[c]) for c in _SUMMARY_COLUMNS] + [_cell(r["record"].get(k)) for k in record_keys])
    return _attachment(out.getvalue(), "text/csv; charset=utf-8", "allpath-deidentified.csv")


# ---- administration ---------------------------------------------------------------------------------

# What an administrator's act did, for the notice after it (the act itself is in the audit log); the page
# translates it and puts in the account's user name.
_DONE = {
    "deactivate": marked("Account %(user)s deactivated: its sessions ended and its API tokens were revoked."),
    "reactivate": marked(
        "Account %(user)s re-activated: it may sign in again; its team must confirm it again before it reads "
        "patient data."
    ),
    "revoke_tokens": marked("Account %(user)s has no live API token any more."),
    "change_role": marked(
        "Account %(user)s has a new role or team; its team must confirm it again before it reads patient data."
    ),
}
_UNCHANGED = marked("Account %(user)s already had that role and team.")


def _users_page(
    request: Request,
    work: Work,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    notice_user: str = "",
) -> Response:
    users = accounts.list_accounts(work, detail="web")
    teams = {team.id: team.name for team in accounts.teams(work)}
    context = {
        "users": users,
        "teams": teams,
        "access": {u.id: accounts.has_data_access(work, u) for u in users},
        "pending": {u.id: accounts.pending_activation(work, u) for u in users},
        "values": values or {},
        "errors": errors or {},
        "notice": notice,
        "notice_user": notice_user,
        "self_id": work.user.id,
        "role_names": ROLE_NAMES,
    }
    return page(request, "admin_users.html", context, work, status)


def _code_page(request: Request, work: Work, user: User, activation: accounts.Activation, what: str) -> Response:
    """The one-time activation code, shown once (never in an address, never in the audit log)."""
    context = {"account": user, "activation": activation, "what": what}
    return page(request, "admin_code.html", context, work, 201 if what == "created" else 200)


@router.get("/admin/users")
def users(request: Request, work: AdminPage, done: str = "", user: str = "") -> Response:
    """Every account, what can be done to it, and a form to add one."""
    if done in _DONE and user:
        return _users_page(request, work, notice=_DONE[done], notice_user=user[:100])
    return _users_page(request, work)


@router.post("/admin/users")
def create_user(
    request: Request,
    work: AdminPage,
    settings: AppSettings,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Create an account without a password (the rules of ``POST /api/users``) and show its activation code."""
    values = {"username": username, "display_name": display_name, "role": role, "team": team}
    try:
        body = UserIn(username=username, display_name=display_name, role=role, team=team.strip() or None)
    except ValidationError as error:
        errors = plain_form_errors(error)
        work.audit("create", "user", outcome="invalid", detail="web")
        return _users_page(request, work, 422, values, errors)
    try:
        user, activation = accounts.create_account(
            work,
            body.username,
            body.display_name,
            body.role,
            body.team,
            settings.activation_hours,
            refusal_detail="web",
        )
    except accounts.NameTaken as error:
        return _users_page(request, work, 409, values, {"username": refusal(error)})
    except accounts.AccountError as error:
        return _users_page(request, work, 422, values, {"team": refusal(error)})
    return _code_page(request, work, user, activation, "created")


def _target(work: Work, user_id: int, action: str) -> User:
    try:
        return accounts.account_to_act_on(work, user_id, action, detail="web: no such account")
    except accounts.NotFound:
        raise PageError(404, marked("No such account")) from None


def _refused(request: Request, work: Work, user_id: int, error: accounts.AccountError) -> Response:
    """The page after a refused act (the use case has audited it): 409 when it is not allowed, else 422."""
    status = 409 if accounts.refusal_outcome(error) == "denied" else 422
    return _users_page(request, work, status, errors={f"account-{user_id}": refusal(error)})


def _done(action: str, user: User) -> Response:
    location = f"/admin/users?done={action}&user={quote(user.username, safe='')}"
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


UserId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(request: Request, user_id: UserId, work: AdminPage) -> Response:
    user = _target(work, user_id, "deactivate")
    try:
        accounts.deactivate(work, user, channel="(web)")
    except accounts.AccountError as error:
        return _refused(request, work, user_id, error)
    return _done("deactivate", user)


@router.post("/admin/users/{user_id}/reactivate")
def reactivate(user_id: UserId, work: AdminPage) -> Response:
    user = _target(work, user_id, "reactivate")
    accounts.reactivate(work, user, channel="(web)")
    return _done("reactivate", user)


@router.post("/admin/users/{user_id}/reset-password")
def reset_password(request: Request, user_id: UserId, work: AdminPage, settings: AppSettings) -> Response:
    user = _target(work, user_id, "reset_password")
    try:
        activation = accounts.reset_password(work, user, settings.activation_hours, channel="(web)")
    except accounts.AccountError as error:
        return _refused(request, work, user_id, error)
    return _code_page(request, work, user, activation, "reset")


@router.post("/admin/users/{user_id}/revoke-tokens")
def revoke_tokens(user_id: UserId, work: AdminPage) -> Response:
    user = _target(work, user_id, "revoke_tokens")
    accounts.revoke_tokens(work, user, channel="(web)")
    return _done("revoke_tokens", user)


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request,
    user_id: UserId,
    work: AdminPage,
    role: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """A new role or team (the rules of ``PATCH /api/users/{user_id}``)."""
    user = _target(work, user_id, "change_role")
    try:
        body = UserUpdate(role=role or None, team=team.strip() or None)
    except ValidationError:
        work.audit("change_role", "user", str(user_id), outcome="invalid")
        return _refused(request, work, user_id, accounts.AccountError(marked("choose a role and a team name")))
    try:
        changed = accounts.change_role_or_team(work, user, body.role, body.team, channel="(web)")
    except accounts.AccountError as error:
        return _refused(request, work, user_id, error)
    if not changed:
        return _users_page(request, work, notice=_UNCHANGED, notice_user=user.username)
    return _done("change_role", user)


@router.get("/admin/audit")
def audit_log(request: Request, work: AdminPage, limit: int = 200) -> Response:
    """The newest audit entries: who did what to which resource, and when."""
    limit = max(1, min(limit, 1000))
    entries = accounts.audit_log(work, limit, detail="web")
    context = {
        "entries": entries,
        "names": accounts.account_names(work),
        "limit": limit,
        "role_names": ROLE_NAMES,
        "actions": AUDIT_ACTIONS,
        "resources": AUDIT_RESOURCES,
        "outcomes": AUDIT_OUTCOMES,
        "audit_word": audit_word,
    }
    return page(request, "admin_audit.html", context, work)
