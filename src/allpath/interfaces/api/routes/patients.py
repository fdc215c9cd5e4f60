"""Patients: create, read, update (a new version each time), history, invitations and exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from allpath import service
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.api.schemas import (
    AssessmentOut,
    InvitationOut,
    PatientExportOut,
    PatientIn,
    PatientOut,
    PatientSummary,
    PatientUpdate,
    VersionOut,
)
from allpath.interfaces.http.deps import KB, storable_body
from allpath.interfaces.http.schemas import error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting, visible_patient
from allpath.service import stored_patients
from allpath.service.stored import StoredAssessment

router = APIRouter(
    prefix="/api/patients",
    tags=["patients"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Clinician = Annotated[Work, Depends(acting("clinician"))]
ClinicianOrFamily = Annotated[Work, Depends(acting("clinician", "family"))]
NOT_FOUND = error_responses(404)


def _assessment_out(row: StoredAssessment) -> AssessmentOut:
    return AssessmentOut(
        patient_version=row.patient_version,
        created_at=row.created_at,
        knowledge_version=row.knowledge_version,
        engine_version=row.engine_version,
        changes=row.changes,
        result=row.result,
    )


def _patient_out(now: stored_patients.Snapshot) -> PatientOut:
    patient = now.patient
    return PatientOut(
        id=patient.id,
        display_name=patient.display_name,
        current_version=patient.current_version,
        record=now.version.record,
        assessment=_assessment_out(now.assessment),
    )


@router.get("", response_model=list[PatientSummary])
def list_patients(
    work: Clinician, q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = ""
) -> list[PatientSummary]:
    """The patients of the signed-in clinician's team, optionally filtered by name or id."""
    return [
        PatientSummary(
            id=row.patient.id,
            display_name=row.patient.display_name,
            current_version=row.patient.current_version,
            disease_state=row.assessment.disease_state,
            risk_group=row.assessment.risk_group,
            cog_risk_group=row.assessment.cog_risk_group,
            provisional=row.assessment.provisional,
        )
        for row in stored_patients.patient_list(work, q)
    ]


@router.post("", response_model=PatientOut, status_code=201, responses=RECORD_INVALID)
def create_patient(body: PatientIn, kb: KB, work: Clinician) -> PatientOut | JSONResponse:
    """Add a patient: the record is validated, stored as version 1 and assessed."""
    try:
        stored = service.create_patient(work, kb, body.display_name, body.record)
    except RecordError as error:
        return record_errors(error)
    return _patient_out(stored_patients.snapshot(work, stored.patient))


@router.get("/{patient_id}", response_model=PatientOut, responses=NOT_FOUND)
def read_patient(patient_id: str, work: ClinicianOrFamily) -> PatientOut:
    """A patient's current record and its stored assessment (a family sees only their own child)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return _patient_out(stored_patients.read_patient(work, patient))


@router.put("/{patient_id}", response_model=PatientOut, responses={**NOT_FOUND, **RECORD_INVALID})
def update_patient(patient_id: str, body: PatientUpdate, kb: KB, work: Clinician) -> PatientOut | JSONResponse:
    """Store a new version of the record and re-assess; the response says what changed and why."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    try:
        service.store_version(work, kb, patient, body.record, body.display_name)
    except RecordError as error:
        return record_errors(error)
    return _patient_out(stored_patients.snapshot(work, patient))


@router.get("/{patient_id}/versions", response_model=list[VersionOut], responses=NOT_FOUND)
def list_versions(patient_id: str, work: Clinician) -> list[VersionOut]:
    """Every stored version of the record, oldest first."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    return [
        VersionOut(version=v.version, created_at=v.created_at, created_by=v.created_by, record=v.record)
        for v in stored_patients.record_versions(work, patient)
    ]


@router.get("/{patient_id}/assessments", response_model=list[AssessmentOut], responses=NOT_FOUND)
def list_assessments(patient_id: str, work: ClinicianOrFamily) -> list[AssessmentOut]:
    """The assessment history, oldest first, each with what changed since the one before."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    return [_assessment_out(a) for a in stored_patients.stored_assessments(work, patient)]


@router.post("/{patient_id}/invitations", response_model=InvitationOut, status_code=201, responses=NOT_FOUND)
def invite_family(patient_id: str, work: Clinician) -> InvitationOut:
    """An invitation code that lets one family account read this child's plan and report."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    invitation = stored_patients.invite_family(work, patient)
    return InvitationOut(code=invitation.code, expires_in_days=invitation.days)


@router.get("/{patient_id}/export", response_model=PatientExportOut, responses=NOT_FOUND)
def export_patient(patient_id: str, work: Clinician) -> JSONResponse:
    """Everything stored about one patient: every version and every assessment."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    stored = stored_patients.export_patient(work, patient)
    return JSONResponse(
        {
            "patient": {
                "id": patient.id,
                "display_name": patient.display_name,
                "current_version": patient.current_version,
            },
            "versions": [v.record | {"_version": v.version} for v in stored.versions],
            "assessments": [_assessment_out(a).model_dump(mode="json") for a in stored.assessments],
        }
    )
