"""Administration: users and the audit log (admins see no patient data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from allpath.interfaces.api.deps import DB, Principal, require, storable_body
from allpath.interfaces.api.routes.session import _user_out
from allpath.interfaces.api.schemas import AuditOut, ErrorOut, UserIn, UserOut, ValidationErrorOut, error_responses
from allpath.storage import repository as repo

router = APIRouter(
    prefix="/api", tags=["admin"], responses=error_responses(401, 403), dependencies=[Depends(storable_body)]
)
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/users", response_model=list[UserOut])
def list_users(s: DB, principal: Admin) -> list[UserOut]:
    """Every account."""
    repo.audit(s, principal.user, "list", "user")
    return [_user_out(u) for u in repo.list_users(s)]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    responses={
        **error_responses(400, 409),
        422: {"model": ErrorOut | ValidationErrorOut, "description": "a clinician needs a team, or a malformed body"},
    },
)
def create_user(body: UserIn, s: DB, principal: Admin) -> UserOut:
    """Create an account. Clinicians belong to a team (created when new)."""
    if repo.get_user(s, body.username) is not None:
        raise HTTPException(409, "this user name is taken")
    team_id = repo.ensure_team(s, body.team).id if body.team else None
    if body.role == "clinician" and team_id is None:
        raise HTTPException(422, "a clinician needs a team")
    user = repo.create_user(s, body.username, body.password, body.role, body.display_name, team_id)
    repo.audit(s, principal.user, "create", "user", str(user.id), detail=body.role)
    return _user_out(user)


@router.get("/audit", response_model=list[AuditOut])
def audit_log(s: DB, principal: Admin, limit: int = 200) -> list[AuditOut]:
    """The newest audit entries: who did what to which resource, and when."""
    repo.audit(s, principal.user, "read", "audit_log")
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            user_id=e.user_id,
            role=e.role,
            action=e.action,
            resource=e.resource,
            resource_id=e.resource_id,
            outcome=e.outcome,
            detail=e.detail,
        )
        for e in repo.audit_entries(s, max(1, min(limit, 1000)))
    ]
