"""The researcher's de-identified export and the administrator's users and audit log (no patient data)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from allpath.interfaces.api.deps import DB
from allpath.interfaces.api.schemas import UserIn
from allpath.interfaces.web.pages import SECURITY_HEADERS, AdminPage, ResearcherPage, page
from allpath.storage import repository as repo
from allpath.storage import tables as t

router = APIRouter()
_SUMMARY_COLUMNS = (
    "pseudonym",
    "disease_state",
    "risk_group",
    "cog_risk_group",
    "provisional",
    "populations",
    "knowledge_version",
)


# ---- research export --------------------------------------------------------------------------------


@router.get("/export")
def export_page(request: Request, s: DB, principal: ResearcherPage) -> Response:
    """What the export holds, how many patients, and the groups it contains (counts only)."""
    rows = repo.deidentified_export(s)
    repo.audit(s, principal.user, "read", "deidentified", detail=f"summary of {len(rows)} rows (web)")
    groups = Counter((r["disease_state"], r["risk_group"], r["cog_risk_group"]) for r in rows)
    context = {"count": len(rows), "groups": sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0])))}
    return page(request, "export.html", context, principal)


def _attachment(body: str, media_type: str, filename: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/export/deidentified.json")
def export_json(s: DB, principal: ResearcherPage) -> Response:
    """Every patient's record and groups without names, ids or dates (the rows of the JSON API)."""
    rows = repo.deidentified_export(s)
    repo.audit(s, principal.user, "export", "deidentified", detail=f"{len(rows)} rows (web, json)")
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
def export_csv(s: DB, principal: ResearcherPage) -> Response:
    """The same rows as a table: one line per patient, the record's fields as columns."""
    rows = repo.deidentified_export(s)
    repo.audit(s, principal.user, "export", "deidentified", detail=f"{len(rows)} rows (web, csv)")
    record_keys = sorted({key for r in rows for key in r["record"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_SUMMARY_COLUMNS, *(f"record.{k}" for k in record_keys)])
    for r in rows:
        writer.writerow([_cell(r[c]) for c in _SUMMARY_COLUMNS] + [_cell(r["record"].get(k)) for k in record_keys])
    return _attachment(out.getvalue(), "text/csv; charset=utf-8", "allpath-deidentified.csv")


# ---- administration ---------------------------------------------------------------------------------


def _users_page(
    request: Request,
    s: DB,
    principal: AdminPage,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: str = "",
) -> Response:
    repo.audit(s, principal.user, "list", "user", detail="web")
    teams = {team.id: team.name for team in _teams(s)}
    context = {
        "users": repo.list_users(s),
        "teams": teams,
        "values": values or {},
        "errors": errors or {},
        "created": created,
    }
    return page(request, "admin_users.html", context, principal, status)


def _teams(s: Session) -> list[t.Team]:
    """Every care team (the repository has no function for this yet)."""
    return list(s.scalars(select(t.Team).order_by(t.Team.name)))


@router.get("/admin/users")
def users(request: Request, s: DB, principal: AdminPage, created: str = "") -> Response:
    """Every account, and a form to add one."""
    return _users_page(request, s, principal, created=created[:100])


@router.post("/admin/users")
def create_user(
    request: Request,
    s: DB,
    principal: AdminPage,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    team: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Create an account (the rules of ``POST /api/users``)."""
    values = {"username": username, "display_name": display_name, "role": role, "team": team}
    try:
        body = UserIn(
            username=username, display_name=display_name, password=password, role=role, team=team.strip() or None
        )
    except ValidationError as error:
        errors = {str(e["loc"][0]): f"{e['loc'][0]}: {e['msg']}" for e in error.errors()}
        return _users_page(request, s, principal, 422, values, errors)
    if repo.get_user(s, body.username) is not None:
        return _users_page(request, s, principal, 409, values, {"username": "username: this user name is taken"})
    if body.role == "clinician" and not body.team:
        return _users_page(request, s, principal, 422, values, {"team": "team: a clinician needs a team"})
    team_id = repo.ensure_team(s, body.team).id if body.team else None
    user = repo.create_user(s, body.username, body.password, body.role, body.display_name, team_id)
    repo.audit(s, principal.user, "create", "user", str(user.id), detail=f"{body.role} (web)")
    return RedirectResponse(f"/admin/users?created={user.username}", status_code=303, headers=SECURITY_HEADERS)


@router.get("/admin/audit")
def audit_log(request: Request, s: DB, principal: AdminPage, limit: int = 200) -> Response:
    """The newest audit entries: who did what to which resource, and when."""
    limit = max(1, min(limit, 1000))
    repo.audit(s, principal.user, "read", "audit_log", detail="web")
    names = {u.id: u.username for u in repo.list_users(s)}
    context = {"entries": repo.audit_entries(s, limit), "names": names, "limit": limit}
    return page(request, "admin_audit.html", context, principal)
