"""Request and response bodies of the JSON API (they appear in the OpenAPI description)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from allpath.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from allpath.interfaces.http.schemas import StrictBody


class Credentials(StrictBody):
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


class ActivationOut(BaseModel):
    """The one-time activation code: shown once, to hand to the account's owner, who chooses the password."""

    user_id: int
    activation_code: str
    expires_at: datetime


class UserCreatedOut(BaseModel):
    user: UserOut
    activation: ActivationOut


class PasswordChange(StrictBody):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class TokenIn(StrictBody):
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


class PatientIn(StrictBody):
    display_name: str = Field(min_length=1, max_length=200)
    record: dict[str, Any]


class PatientUpdate(StrictBody):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    record: dict[str, Any]


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
