"""Administration: accounts and the audit log. Admins see no patient data, and nothing they do gives them any.

An administrator creates accounts without a password (the owner chooses it with a one-time activation
code), deactivates and re-activates them, forces a password reset (a new activation code), revokes their
API tokens and changes their role or team. Every such act is audited (``allpath.service.accounts``), and
every act that could hand an account to someone else withdraws its access to patient data until a
clinician of its team grants it again.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException, Path

from allpath.interfaces.api.answers import user_out
from allpath.interfaces.api.schemas import ActivationOut, AuditOut, RevokedOut, UserCreatedOut, UserOut
from allpath.interfaces.http.deps import AppSettings, storable_body
from allpath.interfaces.http.schemas import ErrorOut, UserIn, UserUpdate, ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting
from allpath.service import accounts
from allpath.service.stored import User

router = APIRouter(
    prefix="/api",
    tags=["admin"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Admin = Annotated[Work, Depends(acting("admin"))]
UserId = Annotated[int, Path(ge=1, le=2_147_483_647, description="the account's id")]  # a 32-bit column
NO_USER: dict[int | str, dict[str, object]] = {404: {"model": ErrorOut, "description": "no such account"}}
REFUSED: dict[int | str, dict[str, object]] = {
    **error_responses(400),
    409: {"model": ErrorOut, "description": "the user name is taken, or the act is not possible on your own account"},
    422: {
        "model": ErrorOut | ValidationErrorOut,
        "description": "a clinician needs a team (and only clinicians have "
        "one), family accounts come only by invitation, or a malformed body",
    },
}


def _account(work: Work, user_id: int, action: str) -> User:
    try:
        return accounts.account_to_act_on(work, user_id, action)
    except accounts.NotFound as error:
        raise HTTPException(404, str(error)) from None


def _refused(error: accounts.AccountError) -> NoReturn:
    """The answer to a refused act (the use case has audited it): 409 when it is not allowed, else 422."""
    status = 409 if accounts.refusal_outcome(error) == "denied" else 422
    raise HTTPException(status, str(error)) from None


def _activation_out(user: User, activation: accounts.Activation) -> ActivationOut:
    return ActivationOut(user_id=user.id, activation_code=activation.code, expires_at=activation.expires_at)


@router.get("/users", response_model=list[UserOut])
def list_users(work: Admin) -> list[UserOut]:
    """Every account."""
    return [user_out(work.session, u) for u in accounts.list_accounts(work)]


@router.post("/users", response_model=UserCreatedOut, status_code=201, responses=REFUSED)
def create_user(body: UserIn, settings: AppSettings, work: Admin) -> UserCreatedOut:
    """Create an account without a password. The answer holds its one-time activation code (shown once, valid
    for ``ALLPATH_ACTIVATION_HOURS``): hand it to the owner, who chooses the password at ``/activate``.
    Clinicians belong to a team (created when new); the account reads patient data only once a clinician of
    the team confirms it (the first clinician of an empty team at once)."""
    try:
        user, activation = accounts.create_account(
            work, body.username, body.display_name, body.role, body.team, settings.activation_hours
        )
    except accounts.AccountError as error:
        _refused(error)
    return UserCreatedOut(user=user_out(work.session, user), activation=_activation_out(user, activation))


@router.patch("/users/{user_id}", response_model=UserOut, responses={**NO_USER, **REFUSED})
def update_user(user_id: UserId, body: UserUpdate, work: Admin) -> UserOut:
    """Change an account's role or team; its access to patient data must then be granted again."""
    user = _account(work, user_id, "change_role")
    try:
        accounts.change_role_or_team(work, user, body.role, body.team)
    except accounts.AccountError as error:
        _refused(error)
    return user_out(work.session, user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, responses={**NO_USER, **REFUSED})
def deactivate_user(user_id: UserId, work: Admin) -> UserOut:
    """The account can no longer sign in: its sessions end and its API tokens are revoked."""
    user = _account(work, user_id, "deactivate")
    try:
        accounts.deactivate(work, user)
    except accounts.AccountError as error:
        _refused(error)
    return user_out(work.session, user)


@router.post("/users/{user_id}/reactivate", response_model=UserOut, responses=NO_USER)
def reactivate_user(user_id: UserId, work: Admin) -> UserOut:
    """The account may sign in again; its access to patient data must be granted again."""
    user = _account(work, user_id, "reactivate")
    accounts.reactivate(work, user)
    return user_out(work.session, user)


@router.post("/users/{user_id}/reset-password", response_model=ActivationOut, responses={**NO_USER, **REFUSED})
def reset_password(user_id: UserId, settings: AppSettings, work: Admin) -> ActivationOut:
    """Force a password reset: the old password, every session and API token stop working, access to patient
    data is withdrawn, and the answer holds a new activation code (shown once) for the owner."""
    user = _account(work, user_id, "reset_password")
    try:
        activation = accounts.reset_password(work, user, settings.activation_hours)
    except accounts.AccountError as error:
        _refused(error)
    return _activation_out(user, activation)


@router.delete("/users/{user_id}/tokens", response_model=RevokedOut, responses=NO_USER)
def revoke_user_tokens(user_id: UserId, work: Admin) -> RevokedOut:
    """Revoke every API token of an account (they stop working at once)."""
    user = _account(work, user_id, "revoke_tokens")
    return RevokedOut(revoked=accounts.revoke_tokens(work, user))


@router.get("/audit", response_model=list[AuditOut])
def audit_log(work: Admin, limit: int = 200) -> list[AuditOut]:
    """The newest audit entries: who did what to which resource, and when."""
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
        for e in accounts.audit_log(work, limit)
    ]
