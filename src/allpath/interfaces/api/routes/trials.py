"""The trial search (issue 13): which studies of the local registry a child may join, best first.

Stateless, for a clinician or a researcher like ``POST /api/assess``: ``POST /api/trials/search`` takes the
record with the place, radius, statuses and day of the search, and stores nothing. Per patient, for a clinician
of the child's team or the linked family: ``GET /api/patients/{id}/trials`` searches with the latest record
version, assessed afresh (the rule of ``allpath.service``). A family account has no stateless search, as it has
no stateless assessment: the data it is given is its own child's, and that search is the per-patient one.

Both answer the ``TrialSearch`` of design.md ("Trial search"); the outdated threshold is the operator's
(``ALLPATH_TRIALS_OUTDATED_DAYS``). An empty registry is no error: the answer says ``registry.studies`` 0, no
snapshot date, and has no results. An invalid record is 422 with the body of ``/api/assess``; a place that is
not known or a radius that is not a distance is 422 naming ``near`` or ``radius_km``. The use cases audit the
search with counts only (``allpath.service.trial_search``): neither the record nor the place reaches a log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from allpath.domain.limits import EARLIEST_DATE, LATEST_DATE
from allpath.domain.results.trials import StatusFilter, TrialSearch
from allpath.errors import InputError, RecordError
from allpath.interfaces.api.answers import record_errors
from allpath.interfaces.api.schemas import (
    NEAR_DESCRIPTION,
    ON_DESCRIPTION,
    RADIUS_DESCRIPTION,
    STATUS_DESCRIPTION,
    PatientTrialSearchOut,
    RecordErrorOut,
    SearchErrorOut,
    TrialSearchIn,
)
from allpath.interfaces.http.deps import KB, AppSettings, storable_body
from allpath.interfaces.http.json_answer import JSONAnswer
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting, visible_patient
from allpath.service.trial_search import (
    TrialSearchOptions,
    search_patient_trials,
    search_record_trials,
)
from allpath.settings import Settings

router = APIRouter(
    prefix="/api",
    tags=["trials"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Stateless = Annotated[Work, Depends(acting("clinician", "researcher"))]
CareOrFamily = Annotated[Work, Depends(acting("clinician", "family"))]

INVALID: dict[int | str, dict[str, object]] = {
    **error_responses(400),
    422: {
        "model": RecordErrorOut | SearchErrorOut | ValidationErrorOut,
        "description": "the patient record is invalid (`errors` names each field), the place is not known "
        "(`near`) or the radius is not a distance (`radius_km`), or the request is malformed",
    },
}
PATIENT_ERRORS = {**error_responses(404), **INVALID}

NearQuery = Annotated[
    str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$", description=NEAR_DESCRIPTION)
]
RadiusQuery = Annotated[float | None, Query(description=RADIUS_DESCRIPTION)]
StatusQuery = Annotated[StatusFilter, Query(description=STATUS_DESCRIPTION)]
OnQuery = Annotated[date | None, Query(ge=EARLIEST_DATE, le=LATEST_DATE, description=ON_DESCRIPTION)]


def _options(settings: Settings, near: str | None, radius_km: float | None, status: StatusFilter) -> TrialSearchOptions:
    return TrialSearchOptions(
        near=near, radius_km=radius_km, status=status, outdated_after_days=settings.trials_outdated_days
    )


def _refused(error: InputError) -> JSONResponse:
    """422 naming the input that keeps the search from being made (the place or the radius)."""
    return JSONResponse(
        status_code=422,
        content={
            "detail": "the trial search cannot be made",
            "errors": [{"field": error.field, "message": error.message}],
        },
    )


def _answer(search: Callable[[], Mapping[str, object]]) -> Response:
    """The search's JSON answer, or the 422 that names the field or input that keeps it from being made."""
    try:
        return JSONAnswer(search())
    except RecordError as error:
        return record_errors(error)
    except InputError as error:
        return _refused(error)


@router.post("/trials/search", response_model=TrialSearch, responses=INVALID)
def search_trials_for_record(body: TrialSearchIn, kb: KB, settings: AppSettings, work: Stateless) -> Response:
    """The studies of the local registry for one record, best first, without storing it (the same answer as
    `allpath trials search`): each with its verdict, the criteria compared and why, the nearest site when a
    place is given, and whether the entry may be outdated. Only the care team can confirm eligibility."""
    options = _options(settings, body.near, body.radius_km, body.status)
    return _answer(lambda: search_record_trials(work, kb, body.record, options, body.on or date.today()))


@router.get("/patients/{patient_id}/trials", response_model=PatientTrialSearchOut, responses=PATIENT_ERRORS)
def patient_trials(
    patient_id: str,
    kb: KB,
    settings: AppSettings,
    work: CareOrFamily,
    near: NearQuery = None,
    radius_km: RadiusQuery = None,
    status: StatusQuery = "open",
    on: OnQuery = None,
) -> Response:
    """The studies of the local registry for the child, from the latest record (clinician of the team or the
    linked family), best first, as `POST /api/trials/search` answers for that record."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    options = _options(settings, near, radius_km, status)

    def search() -> dict[str, object]:
        answer = search_patient_trials(work, kb, patient, options, on or date.today())
        result: Mapping[str, object] = answer.result
        return {**answer.latest.about(), **result}

    return _answer(search)
