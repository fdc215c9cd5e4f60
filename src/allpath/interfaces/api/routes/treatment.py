"""Treatment views: the roadmap (JSON and iCalendar), the doses of one phase, the survivorship plan and the
care overview that gathers them.

Stateless (nothing is stored), for a clinician or a researcher: ``POST /api/roadmap``, ``/api/doses`` and
``/api/survivorship`` take a patient record in the body. Per patient, for a clinician of the child's team or
the linked family: ``GET /api/patients/{id}/roadmap``, ``roadmap.ics``, ``doses``, ``survivorship`` and
``care-overview`` assess the patient's latest record version afresh under the running knowledge base (the rule
of ``allpath.service``); ``stored_knowledge_version`` says when the stored assessment was made under another.
The routes only translate: ``allpath.service`` makes each view and audits it (ids and action names only).

An invalid record is 422 with the body of ``/api/assess`` (``errors`` names each field); a calculation or
export that cannot be done (a missing or implausible weight or height, an unknown phase, a roadmap without
a regimen or without dates) is 422 with ``errors`` naming the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from allpath import service
from allpath.domain.results import CareOverview
from allpath.errors import InputError, RecordError
from allpath.interfaces.api.answers import record_errors
from allpath.interfaces.api.schemas import (
    DosesIn,
    PatientCareOverviewOut,
    PatientDosesOut,
    PatientRoadmapOut,
    PatientSurvivorshipOut,
    RecordErrorOut,
    RoadmapIn,
    SurvivorshipIn,
    TreatmentErrorOut,
)
from allpath.interfaces.http.deps import KB, storable_body
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting, visible_patient
from allpath.interfaces.i18n import LANG_PARAM, choose_locale, use_locale
from allpath.interfaces.ics import MEDIA_TYPE as CALENDAR_MEDIA_TYPE
from allpath.interfaces.ics import roadmap_to_ics
from allpath.service.records import DosesView, RoadmapView, SurvivorshipView

router = APIRouter(
    prefix="/api",
    tags=["treatment"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Stateless = Annotated[Work, Depends(acting("clinician", "researcher"))]
CareOrFamily = Annotated[Work, Depends(acting("clinician", "family"))]

ICS_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
INVALID: dict[int | str, dict[str, object]] = {
    **error_responses(400),
    422: {
        "model": RecordErrorOut | TreatmentErrorOut | ValidationErrorOut,
        "description": "the patient record is invalid (`errors` names each field), the calculation cannot be "
        "done (`errors` names the input: weight_kg, height_cm, phase, regimen, treatment_start_date), or the "
        "request is malformed",
    },
}
PATIENT_ERRORS = {**error_responses(404), **INVALID}
ICS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {CALENDAR_MEDIA_TYPE: {"schema": {"type": "string"}}},
        "description": "the roadmap as an iCalendar (RFC 5545) file",
    },
    **PATIENT_ERRORS,
}
View = TypeVar("View", RoadmapView, DosesView, SurvivorshipView, CareOverview)


def refused(error: InputError) -> JSONResponse:
    """422 naming the input that keeps the calculation or the calendar from being made."""
    return JSONResponse(
        status_code=422,
        content={"detail": "this cannot be calculated", "errors": [{"field": error.field, "message": error.message}]},
    )


def _answer(make: Callable[[], Any]) -> Response:
    """The JSON answer of a view, or the 422 that says which field or input keeps it from being made."""
    try:
        return JSONResponse(make())
    except RecordError as error:
        return record_errors(error)
    except InputError as error:
        return refused(error)


def _about(answer: service.patients.PatientAnswer[View]) -> dict[str, object]:
    """The view of a stored patient, after what it is of (the patient, the version, the knowledge)."""
    result: Mapping[str, object] = answer.result
    return {**answer.latest.about(), **result}


# ---- stateless -------------------------------------------------------------------------------------------


@router.post("/roadmap", response_model=RoadmapView, responses=INVALID)
def roadmap_of_record(body: RoadmapIn, kb: KB, work: Stateless) -> Response:
    """The treatment roadmap of one record without storing it (the same answer as `allpath roadmap`):
    regimen, phases with dates, checkpoints, end of therapy. Dates assume no delays."""
    return _answer(lambda: service.record_roadmap(kb, body.record, start=body.start, uow=work))


@router.post("/doses", response_model=DosesView, responses=INVALID)
def doses_of_record(body: DosesIn, kb: KB, work: Stateless) -> Response:
    """The doses of one phase for one record without storing it (the same answer as `allpath doses`).
    A missing or implausible weight or height refuses the calculation (422 naming the field)."""
    return _answer(
        lambda: service.record_doses(
            kb,
            body.record,
            body.phase,
            regimen=body.regimen,
            weight_kg=body.weight_kg,
            height_cm=body.height_cm,
            on=body.on,
            uow=work,
        )
    )


@router.post("/survivorship", response_model=SurvivorshipView, responses=INVALID)
def survivorship_of_record(body: SurvivorshipIn, kb: KB, work: Stateless) -> Response:
    """The survivorship plan of one record without storing it (the same answer as `allpath survivorship`)."""
    return _answer(lambda: service.record_survivorship(kb, body.record, uow=work))


# ---- per patient -----------------------------------------------------------------------------------------

StartQuery = Annotated[
    date | None, Query(description="First day of treatment; replaces the record's treatment_start_date.")
]


@router.get("/patients/{patient_id}/roadmap", response_model=PatientRoadmapOut, responses=PATIENT_ERRORS)
def patient_roadmap(patient_id: str, kb: KB, work: CareOrFamily, start: StartQuery = None) -> Response:
    """The child's treatment roadmap from the latest record (clinician of the team or the linked family)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return _answer(lambda: _about(service.patient_roadmap(work, kb, patient, start=start)))


@router.get(
    "/patients/{patient_id}/roadmap.ics",
    # Response, not a calendar response class: FastAPI would otherwise document the JSON errors as text/calendar.
    response_class=Response,
    responses=ICS_RESPONSES,
)
def patient_roadmap_ics(
    request: Request, patient_id: str, kb: KB, work: CareOrFamily, start: StartQuery = None
) -> Response:
    """The child's roadmap as a calendar file: one all-day event per dated phase, per checkpoint and for the
    end of treatment. No name in the file; dates assume no delays. Its words are in the language of ``?lang=``,
    else of ``Accept-Language``, else English (``Content-Language`` says which); its dates stay ISO values."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    locale = choose_locale(request.query_params.get(LANG_PARAM), None, None, request.headers.get("accept-language"))

    def to_calendar(roadmap: RoadmapView, record_id: str) -> bytes:
        return roadmap_to_ics(roadmap, record_id=record_id)

    try:
        with use_locale(locale):
            kb_in = kb if locale == kb.locale else request.app.state.kb_for(locale)  # English: the running base
            answer = service.patient_calendar(work, kb_in, patient, to_calendar, start=start)
    except RecordError as error:
        return record_errors(error)
    except InputError as error:
        return refused(error)
    headers = {
        **ICS_HEADERS,
        "Content-Language": locale,
        "Content-Disposition": 'attachment; filename="treatment-roadmap.ics"',
    }
    return Response(answer.result, media_type=f"{CALENDAR_MEDIA_TYPE}; charset=utf-8", headers=headers)


@router.get("/patients/{patient_id}/doses", response_model=PatientDosesOut, responses=PATIENT_ERRORS)
def patient_doses(
    patient_id: str,
    kb: KB,
    work: CareOrFamily,
    phase: Annotated[str, Query(min_length=1, max_length=100, description="A phase of the regimen.")],
    regimen: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Default: the child's regimen.")
    ] = None,
    weight_kg: Annotated[float | None, Query(description="Today's weight (default: the record's).")] = None,
    height_cm: Annotated[float | None, Query(description="Today's height (default: the record's).")] = None,
    on: Annotated[date | None, Query(description="The day of the doses (default: the phase's start).")] = None,
) -> Response:
    """The doses of one phase for the child, from the latest record (clinician of the team or the family)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return _answer(
        lambda: _about(
            service.patient_doses(
                work, kb, patient, phase, regimen=regimen, weight_kg=weight_kg, height_cm=height_cm, on=on
            )
        )
    )


@router.get("/patients/{patient_id}/survivorship", response_model=PatientSurvivorshipOut, responses=PATIENT_ERRORS)
def patient_survivorship(patient_id: str, kb: KB, work: CareOrFamily) -> Response:
    """The child's survivorship plan from the latest record (clinician of the team or the linked family)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return _answer(lambda: _about(service.patient_survivorship(work, kb, patient)))


@router.get("/patients/{patient_id}/care-overview", response_model=PatientCareOverviewOut, responses=PATIENT_ERRORS)
def patient_care_overview(
    patient_id: str,
    kb: KB,
    work: CareOrFamily,
    weight_kg: Annotated[float | None, Query(description="Today's weight (default: the record's).")] = None,
    height_cm: Annotated[float | None, Query(description="Today's height (default: the record's).")] = None,
) -> Response:
    """The child's care overview from the latest record: the roadmap, the doses of every phase of the regimen
    (or why each cannot be calculated) and the survivorship plan (clinician of the team or the family)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return _answer(
        lambda: _about(
            service.patient_care_overview(work, kb, patient, detail="json", weight_kg=weight_kg, height_cm=height_cm)
        )
    )
