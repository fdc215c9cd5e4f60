"""Request and response bodies of the JSON API (they appear in the OpenAPI description)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from allpath.accounts.passwords import MAX_LENGTH as PASSWORD_MAX


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_In):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    active: bool
    activated: bool = Field(description="the owner has chosen a password (with the activation code)")
    data_access: bool = Field(description="the data's owners have granted this account patient data")


class UserIn(_In):
    """A new account. There is no password: the owner chooses it with the activation code."""

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(
        pattern=r"^(clinician|family|researcher|admin)$",
        description="clinician, researcher or admin: family accounts come only by the care team's invitation",
    )
    team: str | None = Field(default=None, max_length=200, description="a clinician's team (created when new)")


class UserUpdate(_In):
    """A new role or team. Either withdraws the account's access to patient data until it is granted again."""

    role: str | None = Field(default=None, pattern=r"^(clinician|researcher|admin)$")
    team: str | None = Field(default=None, min_length=1, max_length=200)


class ActivationOut(BaseModel):
    """The one-time activation code: shown once, to hand to the account's owner, who chooses the password."""

    user_id: int
    activation_code: str
    expires_at: datetime


class UserCreatedOut(BaseModel):
    user: UserOut
    activation: ActivationOut


class ActivateIn(_In):
    username: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=4, max_length=60)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class PasswordChange(_In):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=100)
    days: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="a shorter lifetime than the configured one"
    )


class TokenOut(BaseModel):
    id: int
    token: str
    name: str
    expires_at: datetime


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked: bool
    expired: bool


class RevokedOut(BaseModel):
    revoked: int


class TeamMemberOut(BaseModel):
    """An account with access to the team's data, or one waiting for a clinician of the team to confirm it."""

    id: int
    username: str
    display_name: str
    role: str
    waiting: bool
    granted: str | None = Field(description="how access was granted: colleague, empty_team, invitation, operator")


class PatientIn(_In):
    display_name: str = Field(min_length=1, max_length=200)
    record: dict[str, Any]


class PatientUpdate(_In):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    record: dict[str, Any]


class ErrorOut(BaseModel):
    """What went wrong, in words."""

    detail: str


class ValidationProblem(BaseModel):
    model_config = ConfigDict(extra="allow")  # FastAPI adds ``input`` and ``ctx``
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """The request does not fit the operation's parameters or body (checked before the handler runs)."""

    detail: list[ValidationProblem]


_ERROR_MEANINGS = {
    400: "the request body could not be read, or the invitation code is not valid (unknown, used or expired)",
    401: "not signed in, or the API token is not valid",
    403: "this role may not do this, or a cookie-authenticated change came without its CSRF token",
    404: "no such patient, or not one that this caller may see",
    409: "this user name is taken, or the act is not possible on this account",
    429: "too many failed sign-ins from this client; wait and try again",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error statuses an operation can answer with."""
    return {code: {"model": ErrorOut, "description": _ERROR_MEANINGS[code]} for code in codes}


class FieldError(BaseModel):
    field: str
    value: Any = None
    allowed: str
    message: str


class RecordErrorOut(BaseModel):
    detail: str
    errors: list[FieldError]


class PatientSummary(BaseModel):
    id: str
    display_name: str
    current_version: int
    disease_state: str
    risk_group: str | None
    cog_risk_group: str | None
    provisional: bool


class AssessmentOut(BaseModel):
    patient_version: int
    created_at: datetime
    knowledge_version: str
    engine_version: str
    changes: list[dict[str, Any]]
    result: dict[str, Any]


class PatientOut(BaseModel):
    id: str
    display_name: str
    current_version: int
    record: dict[str, Any]
    assessment: AssessmentOut


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: int
    record: dict[str, Any]


class InvitationOut(BaseModel):
    code: str
    expires_in_days: int


class InvitationAccept(_In):
    code: str = Field(min_length=4, max_length=40)
    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    role: str | None
    action: str
    resource: str
    resource_id: str | None
    outcome: str
    detail: str


class DeidentifiedRow(BaseModel):
    pseudonym: str
    record: dict[str, Any]
    disease_state: str
    risk_group: str | None
    cog_risk_group: str | None
    provisional: bool
    populations: list[str]
    knowledge_version: str
