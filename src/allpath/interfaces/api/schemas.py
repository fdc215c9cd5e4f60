"""Request and response bodies of the JSON API (they appear in the OpenAPI description)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, Field, with_config
from typing_extensions import TypedDict

from allpath.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from allpath.domain.limits import EARLIEST_DATE, LATEST_DATE
from allpath.domain.results import CareOverview
from allpath.domain.results.common import CLOSED
from allpath.domain.results.trials import StatusFilter, TrialSearch
from allpath.interfaces.http.schemas import StrictBody
from allpath.service.records import DosesView, RoadmapView, SurvivorshipView


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


class WithdrawalOut(BaseModel):
    """A team that withdrew its grant from this account and has not granted it again (never who withdrew it)."""

    team: str
    withdrawn_at: datetime
    by: Literal["team", "operator"] = Field(description="a clinician of the team, or the server's operator")
    message: str = Field(description="in plain words, in the language of ?lang=, the account's or Accept-Language")


class MeOut(UserOut):
    access_withdrawn: list[WithdrawalOut] = Field(
        description="the teams that withdrew this account's access to their patient data, newest first"
    )


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
    record: dict[str, object]


class PatientUpdate(StrictBody):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    record: dict[str, object]


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
    changes: list[dict[str, object]]
    result: dict[str, object]


class PatientOut(BaseModel):
    id: str
    display_name: str
    current_version: int
    record: dict[str, object]
    assessment: AssessmentOut


class VersionOut(BaseModel):
    version: int
    created_at: datetime
    created_by: int
    record: dict[str, object]


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
    record: dict[str, object]
    disease_state: str
    risk_group: str | None
    cog_risk_group: str | None
    provisional: bool
    populations: list[str]
    knowledge_version: str


# ---- treatment views: bodies, answers and refusals ------------------------------------------------------


class RoadmapIn(StrictBody):
    record: dict[str, object]
    start: date | None = Field(
        default=None, description="First day of treatment; replaces the record's treatment_start_date."
    )


class DosesIn(StrictBody):
    record: dict[str, object]
    phase: str = Field(min_length=1, max_length=100, description="A phase of the regimen, e.g. induction.")
    regimen: str | None = Field(default=None, min_length=1, max_length=100, description="Default: the child's regimen.")
    weight_kg: float | None = Field(default=None, description="Today's weight (default: the record's).")
    height_cm: float | None = Field(default=None, description="Today's height (default: the record's).")
    on: date | None = Field(default=None, description="The day of the doses (default: the phase's planned start).")


class SurvivorshipIn(StrictBody):
    record: dict[str, object]


class Problem(BaseModel):
    field: str
    message: str


class TreatmentErrorOut(BaseModel):
    """The calculation or the calendar cannot be made: ``errors`` names the input that is missing or wrong."""

    detail: str
    errors: list[Problem]


class _AboutPatient(TypedDict):
    patient_id: str
    patient_version: int
    stored_knowledge_version: NotRequired[str]
    """Present when the stored assessment of this record version was made under another knowledge version:
    this answer was made afresh under the running one (see ``allpath.service``)."""


@with_config(CLOSED)
class PatientRoadmapOut(_AboutPatient, RoadmapView):
    """The roadmap of a stored patient's latest record version."""


@with_config(CLOSED)
class PatientDosesOut(_AboutPatient, DosesView):
    """The doses of one phase from a stored patient's latest record version."""


@with_config(CLOSED)
class PatientSurvivorshipOut(_AboutPatient, SurvivorshipView):
    """The survivorship plan from a stored patient's latest record version."""


@with_config(CLOSED)
class PatientCareOverviewOut(_AboutPatient, CareOverview):
    """The care overview (roadmap, doses of every phase, survivorship plan) of a stored patient's latest
    record version."""


class ExportedPatient(BaseModel):
    id: str
    display_name: str
    current_version: int


class PatientExportOut(BaseModel):
    """Everything stored about one patient: every record version (``_version`` its number) and every
    stored assessment, oldest first."""

    patient: ExportedPatient
    versions: list[dict[str, object]]
    assessments: list[AssessmentOut]


# ---- the trial search (issue 13) ------------------------------------------------------------------------

NEAR_DESCRIPTION = (
    'Where to measure from: a US ZIP code ("68102", "68102-1234") or a city, alone or with its US state or '
    'country ("Omaha, NE", "Madrid, Spain"). Without it no distance is measured.'
)
RADIUS_DESCRIPTION = (
    "Keep only the studies with a site at most this many kilometres from the place (from 0 to half the "
    "Earth's girth); studies whose sites have no coordinates are kept. "
    "Needs a place (`near`): a radius alone is refused."
)
STATUS_DESCRIPTION = (
    "recruiting; open (also not yet recruiting and enrolling by invitation); any. A study of another status is "
    "kept in the answer with its status criterion not met."
)
ON_DESCRIPTION = (
    "The day of the search, from 1900-01-01 to 2199-12-31 as the record's dates: the child's age and the "
    "entries' freshness are taken on it (default: today)."
)


class TrialSearchIn(StrictBody):
    record: dict[str, object]
    near: str | None = Field(default=None, min_length=1, max_length=100, description=NEAR_DESCRIPTION)
    radius_km: float | None = Field(default=None, description=RADIUS_DESCRIPTION)
    status: StatusFilter = Field(default="open", description=STATUS_DESCRIPTION)
    on: date | None = Field(default=None, ge=EARLIEST_DATE, le=LATEST_DATE, description=ON_DESCRIPTION)


class SearchErrorOut(BaseModel):
    """The search cannot be made: ``errors`` names the input (``near``: the place is not known; ``radius_km``:
    not a distance from 0 to half the Earth's girth)."""

    detail: str
    errors: list[Problem]


@with_config(CLOSED)
class PatientTrialSearchOut(_AboutPatient, TrialSearch):
    """The trial search for a stored patient's latest record version."""
