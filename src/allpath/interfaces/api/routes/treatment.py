"""Treatment views: the roadmap (JSON and iCalendar), the doses of one phase and the survivorship plan.

Stateless (nothing is stored), for a clinician or a researcher: ``POST /api/roadmap``, ``/api/doses`` and
``/api/survivorship`` take a patient record in the body. Per patient, for a clinician of the child's team or
the linked family: ``GET /api/patients/{id}/roadmap``, ``roadmap.ics``, ``doses`` and ``survivorship`` read
the patient's latest record version. Every call that answers is audited (ids and action names only).

An invalid record is 422 with the body of ``/api/assess`` (``errors`` names each field); a calculation or
export that cannot be done (a missing or implausible weight or height, an unknown phase, a roadmap without
a regimen or without dates) is 422 with ``errors`` naming the input.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from allpath import __version__
from allpath.domain.record import PatientRecord, parse_record
from allpath.engine.assess import assess
from allpath.engine.doses import DoseError, phase_doses
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.errors import RecordError
from allpath.interfaces.api.answers import record_errors
from allpath.interfaces.api.schemas import RecordErrorOut
from allpath.interfaces.http.deps import DB, KB, Principal, patient_for, require, storable_body
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import audit as audit_store
from allpath.storage import patients as patient_store
from allpath.storage import tables as t

router = APIRouter(
    prefix="/api", tags=["treatment"], responses=error_responses(401, 403), dependencies=[Depends(storable_body)]
)
Stateless = Annotated[Principal, Depends(require("clinician", "researcher"))]
CareOrFamily = Annotated[Principal, Depends(require("clinician", "family"))]

ICS_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# ---- bodies and error bodies -----------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoadmapIn(_In):
    record: dict[str, Any]
    start: date | None = Field(
        default=None, description="First day of treatment; replaces the record's treatment_start_date."
    )


class DosesIn(_In):
    record: dict[str, Any]
    phase: str = Field(min_length=1, max_length=100, description="A phase of the regimen, e.g. induction.")
    regimen: str | None = Field(default=None, min_length=1, max_length=100, description="Default: the child's regimen.")
    weight_kg: float | None = Field(default=None, description="Today's weight (default: the record's).")
    height_cm: float | None = Field(default=None, description="Today's height (default: the record's).")
    on: date | None = Field(default=None, description="The day of the doses (default: the phase's planned start).")


class SurvivorshipIn(_In):
    record: dict[str, Any]


class Problem(BaseModel):
    field: str
    message: str


class TreatmentErrorOut(BaseModel):
    """The calculation or the calendar cannot be made: ``errors`` names the input that is missing or wrong."""

    detail: str
    errors: list[Problem]


INVALID: dict[int | str, dict[str, Any]] = {
    **error_responses(400),
    422: {
        "model": RecordErrorOut | TreatmentErrorOut | ValidationErrorOut,
        "description": "the patient record is invalid (`errors` names each field), the calculation cannot be "
        "done (`errors` names the input: weight_kg, height_cm, phase, regimen, treatment_start_date), or the "
        "request is malformed",
    },
}
PATIENT_ERRORS = {**error_responses(404), **INVALID}
ICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "the roadmap as an iCalendar (RFC 5545) file"},
    **PATIENT_ERRORS,
}


def refused(field: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"detail": "this cannot be calculated", "errors": [{"field": field, "message": message}]},
    )


# ---- the views, shared by the stateless and the per-patient routes -----------------------------------


def _versioned(record: PatientRecord, result: dict[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    return {"record_id": record.id, **result, "knowledge_version": kb.version, "engine_version": __version__}


def _parsed(record: dict[str, Any], start: date | None = None) -> PatientRecord | JSONResponse:
    """The validated record (``start`` replaces its treatment start date first), or the 422 answer."""
    if start is not None:
        record = {**record, "treatment_start_date": start.isoformat()}
    try:
        return parse_record(record)
    except RecordError as error:
        return record_errors(error)


def _roadmap(record: PatientRecord, kb: KnowledgeBase) -> dict[str, Any]:
    return build_roadmap(record, assess(record, kb), kb)


def _doses(
    record: PatientRecord,
    kb: KnowledgeBase,
    phase: str,
    regimen: str | None,
    weight_kg: float | None,
    height_cm: float | None,
    on: date | None,
) -> dict[str, Any]:
    """The doses of one phase: of the child's regimen unless one is named; on the phase's planned start
    unless a day is given. Raises ``DoseError``."""
    planned = _roadmap(record, kb)
    if regimen is None:
        if planned["regimen"] is None:
            why = "; ".join(r for r in planned["not_covered"] if r) or (
                "the regimen is not known until these inputs are known: " + ", ".join(planned["missing"])
            )
            known = ", ".join(r.id for r in kb.therapy.regimens.regimens)
            raise DoseError("regimen", f"there is no regimen for this child ({why}); name one ({known})")
        regimen = str(planned["regimen"]["id"])
    if on is None and planned["regimen"] is not None and planned["regimen"]["id"] == regimen:
        start = next((p["start"] for p in planned["phases"] if p["id"] == phase), None)
        on = date.fromisoformat(start) if start else None
    return _versioned(
        record, phase_doses(record, kb, regimen, phase, weight_kg=weight_kg, height_cm=height_cm, on=on), kb
    )


def _survivorship(record: PatientRecord, kb: KnowledgeBase) -> dict[str, Any]:
    return _versioned(record, survivorship_plan(record, kb, _roadmap(record, kb)), kb)


# ---- stateless -------------------------------------------------------------------------------------------


def _stateless_answer(s: Session, principal: Principal, action: str, content: dict[str, Any]) -> JSONResponse:
    response = JSONResponse(content)
    # Audit last and commit here, as /api/assess does (routes/assess.py explains why).
    audit_store.record(s, principal.user, action, "record", detail="stateless")
    s.commit()
    return response


@router.post("/roadmap", responses=INVALID)
def roadmap_of_record(body: RoadmapIn, s: DB, kb: KB, principal: Stateless) -> Any:
    """The treatment roadmap of one record without storing it (the same answer as `allpath roadmap`):
    regimen, phases with dates, checkpoints, end of therapy. Dates assume no delays."""
    record = _parsed(body.record, body.start)
    if isinstance(record, JSONResponse):
        return record
    return _stateless_answer(s, principal, "roadmap", _versioned(record, _roadmap(record, kb), kb))


@router.post("/doses", responses=INVALID)
def doses_of_record(body: DosesIn, s: DB, kb: KB, principal: Stateless) -> Any:
    """The doses of one phase for one record without storing it (the same answer as `allpath doses`).
    A missing or implausible weight or height refuses the calculation (422 naming the field)."""
    record = _parsed(body.record)
    if isinstance(record, JSONResponse):
        return record
    try:
        result = _doses(record, kb, body.phase, body.regimen, body.weight_kg, body.height_cm, body.on)
    except DoseError as error:
        return refused(error.field, error.message)
    return _stateless_answer(s, principal, "doses", result)


@router.post("/survivorship", responses=INVALID)
def survivorship_of_record(body: SurvivorshipIn, s: DB, kb: KB, principal: Stateless) -> Any:
    """The survivorship plan of one record without storing it (the same answer as `allpath survivorship`)."""
    record = _parsed(body.record)
    if isinstance(record, JSONResponse):
        return record
    return _stateless_answer(s, principal, "survivorship", _survivorship(record, kb))


# ---- per patient -----------------------------------------------------------------------------------------

StartQuery = Annotated[
    date | None, Query(description="First day of treatment; replaces the record's treatment_start_date.")
]


def _latest(
    s: Session, principal: Principal, patient_id: str, start: date | None = None
) -> tuple[t.Patient, PatientRecord | JSONResponse]:
    patient = patient_for(s, principal, patient_id, family_allowed=True)
    return patient, _parsed(patient_store.current_version(s, patient).record, start)


def _patient_answer(
    s: Session, principal: Principal, patient: t.Patient, resource: str, detail: str, response: Response
) -> Response:
    audit_store.record(s, principal.user, "read", resource, patient.id, detail=detail)
    s.commit()
    return response


def _patient_refusal(
    s: Session, principal: Principal, patient: t.Patient, resource: str, response: JSONResponse, field: str = ""
) -> JSONResponse:
    audit_store.record(s, principal.user, "read", resource, patient.id, outcome="invalid", detail=field)
    s.commit()
    return response


def _with_patient(patient: t.Patient, result: dict[str, Any]) -> dict[str, Any]:
    return {"patient_id": patient.id, "patient_version": patient.current_version, **result}


@router.get("/patients/{patient_id}/roadmap", responses=PATIENT_ERRORS)
def patient_roadmap(patient_id: str, s: DB, kb: KB, principal: CareOrFamily, start: StartQuery = None) -> Any:
    """The child's treatment roadmap from the latest record (clinician of the team or the linked family)."""
    patient, record = _latest(s, principal, patient_id, start)
    if isinstance(record, JSONResponse):
        return _patient_refusal(s, principal, patient, "roadmap", record, "record")
    result = _with_patient(patient, _versioned(record, _roadmap(record, kb), kb))
    return _patient_answer(s, principal, patient, "roadmap", "json", JSONResponse(result))


@router.get(
    "/patients/{patient_id}/roadmap.ics",
    # Response, not a calendar response class: FastAPI would otherwise document the JSON errors as text/calendar.
    response_class=Response,
    responses=ICS_RESPONSES,
)
def patient_roadmap_ics(patient_id: str, s: DB, kb: KB, principal: CareOrFamily, start: StartQuery = None) -> Response:
    """The child's roadmap as a calendar file: one all-day event per dated phase, per checkpoint and for the
    end of treatment. No name in the file; dates assume no delays."""
    from allpath.interfaces.ics import MEDIA_TYPE, CalendarError, roadmap_to_ics

    patient, record = _latest(s, principal, patient_id, start)
    if isinstance(record, JSONResponse):
        return _patient_refusal(s, principal, patient, "roadmap", record, "record")
    try:
        calendar = roadmap_to_ics(_roadmap(record, kb), record_id=patient.id)
    except CalendarError as error:
        return _patient_refusal(s, principal, patient, "roadmap", refused(error.field, error.message), error.field)
    headers = {**ICS_HEADERS, "Content-Disposition": 'attachment; filename="treatment-roadmap.ics"'}
    response = Response(calendar, media_type=f"{MEDIA_TYPE}; charset=utf-8", headers=headers)
    return _patient_answer(s, principal, patient, "roadmap", "ics", response)


@router.get("/patients/{patient_id}/doses", responses=PATIENT_ERRORS)
def patient_doses(
    patient_id: str,
    s: DB,
    kb: KB,
    principal: CareOrFamily,
    phase: Annotated[str, Query(min_length=1, max_length=100, description="A phase of the regimen.")],
    regimen: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Default: the child's regimen.")
    ] = None,
    weight_kg: Annotated[float | None, Query(description="Today's weight (default: the record's).")] = None,
    height_cm: Annotated[float | None, Query(description="Today's height (default: the record's).")] = None,
    on: Annotated[date | None, Query(description="The day of the doses (default: the phase's start).")] = None,
) -> Any:
    """The doses of one phase for the child, from the latest record (clinician of the team or the family)."""
    patient, record = _latest(s, principal, patient_id)
    if isinstance(record, JSONResponse):
        return _patient_refusal(s, principal, patient, "doses", record, "record")
    try:
        result = _doses(record, kb, phase, regimen, weight_kg, height_cm, on)
    except DoseError as error:
        return _patient_refusal(s, principal, patient, "doses", refused(error.field, error.message), error.field)
    detail = f"{result['regimen']}/{result['phase']}"  # ids of the knowledge base, not record values
    return _patient_answer(s, principal, patient, "doses", detail, JSONResponse(_with_patient(patient, result)))


@router.get("/patients/{patient_id}/survivorship", responses=PATIENT_ERRORS)
def patient_survivorship(patient_id: str, s: DB, kb: KB, principal: CareOrFamily) -> Any:
    """The child's survivorship plan from the latest record (clinician of the team or the linked family)."""
    patient, record = _latest(s, principal, patient_id)
    if isinstance(record, JSONResponse):
        return _patient_refusal(s, principal, patient, "survivorship", record, "record")
    result = _with_patient(patient, _survivorship(record, kb))
    return _patient_answer(s, principal, patient, "survivorship", "json", JSONResponse(result))
