"""Patients: create, read, update (a new version each time), history, invitations and exports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from allpath import service
from allpath.domain.record import parse_record
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.api.schemas import (
    AssessmentOut,
    InvitationOut,
    PatientIn,
    PatientOut,
    PatientSummary,
    PatientUpdate,
    VersionOut,
)
from allpath.interfaces.http.deps import DB, KB, Principal, patient_for, require, storable_body
from allpath.interfaces.http.schemas import error_responses
from allpath.service import UnitOfWork
from allpath.storage import audit as audit_store
from allpath.storage import invitations as invitation_store
from allpath.storage import patients as patient_store
from allpath.storage import tables as t

router = APIRouter(
    prefix="/api/patients",
    tags=["patients"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
)
Clinician = Annotated[Principal, Depends(require("clinician"))]
ClinicianOrFamily = Annotated[Principal, Depends(require("clinician", "family"))]
NOT_FOUND = error_responses(404)


def _assessment_out(row: t.Assessment) -> AssessmentOut:
    return AssessmentOut(
        patient_version=row.patient_version,
        created_at=row.created_at,
        knowledge_version=row.knowledge_version,
        engine_version=row.engine_version,
        changes=row.changes,
        result=row.result,
    )


def _patient_out(s: DB, patient: t.Patient) -> PatientOut:
    return PatientOut(
        id=patient.id,
        display_name=patient.display_name,
        current_version=patient.current_version,
        record=patient_store.current_version(s, patient).record,
        assessment=_assessment_out(patient_store.latest_assessment(s, patient)),
    )


def _validated(record: dict[str, Any]) -> RecordError | None:
    try:
        parse_record(record)
    except RecordError as error:
        return error
    return None


@router.get("", response_model=list[PatientSummary])
def list_patients(
    s: DB, principal: Clinician, q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = ""
) -> list[PatientSummary]:
    """The patients of the signed-in clinician's team, optionally filtered by name or id."""
    assert principal.user.team_id is not None
    rows = []
    for patient in patient_store.list_patients(s, principal.user.team_id, q):
        a = patient_store.latest_assessment(s, patient)
        rows.append(
            PatientSummary(
                id=patient.id,
                display_name=patient.display_name,
                current_version=patient.current_version,
                disease_state=a.disease_state,
                risk_group=a.risk_group,
                cog_risk_group=a.cog_risk_group,
                provisional=a.provisional,
            )
        )
    audit_store.record(s, principal.user, "list", "patient", detail=f"{len(rows)} rows")
    return rows


@router.post("", response_model=PatientOut, status_code=201, responses=RECORD_INVALID)
def create_patient(body: PatientIn, s: DB, kb: KB, principal: Clinician) -> PatientOut | JSONResponse:
    """Add a patient: the record is validated, stored as version 1 and assessed."""
    error = _validated(body.record)
    if error is not None:
        audit_store.record(s, principal.user, "create", "patient", outcome="invalid")
        return record_errors(error)
    stored = service.create_patient(UnitOfWork(s, principal.user), kb, body.display_name, body.record)
    return _patient_out(s, stored.patient)


@router.get("/{patient_id}", response_model=PatientOut, responses=NOT_FOUND)
def read_patient(patient_id: str, s: DB, principal: ClinicianOrFamily) -> PatientOut:
    """A patient's current record and assessment (a family sees only their own child)."""
    patient = patient_for(s, principal, patient_id, family_allowed=True)
    audit_store.record(s, principal.user, "read", "patient", patient.id)
    return _patient_out(s, patient)


@router.put("/{patient_id}", response_model=PatientOut, responses={**NOT_FOUND, **RECORD_INVALID})
def update_patient(
    patient_id: str, body: PatientUpdate, s: DB, kb: KB, principal: Clinician
) -> PatientOut | JSONResponse:
    """Store a new version of the record and re-assess; the response says what changed and why."""
    patient = patient_for(s, principal, patient_id, family_allowed=False)
    error = _validated(body.record)
    if error is not None:
        audit_store.record(s, principal.user, "update", "patient", patient.id, outcome="invalid")
        return record_errors(error)
    service.store_version(UnitOfWork(s, principal.user), kb, patient, body.record, body.display_name)
    return _patient_out(s, patient)


@router.get("/{patient_id}/versions", response_model=list[VersionOut], responses=NOT_FOUND)
def list_versions(patient_id: str, s: DB, principal: Clinician) -> list[VersionOut]:
    """Every stored version of the record, oldest first."""
    patient = patient_for(s, principal, patient_id, family_allowed=False)
    audit_store.record(s, principal.user, "read", "patient_versions", patient.id)
    return [
        VersionOut(version=v.version, created_at=v.created_at, created_by=v.created_by, record=v.record)
        for v in patient_store.versions(s, patient)
    ]


@router.get("/{patient_id}/assessments", response_model=list[AssessmentOut], responses=NOT_FOUND)
def list_assessments(patient_id: str, s: DB, principal: ClinicianOrFamily) -> list[AssessmentOut]:
    """The assessment history, oldest first, each with what changed since the one before."""
    patient = patient_for(s, principal, patient_id, family_allowed=True)
    audit_store.record(s, principal.user, "read", "assessments", patient.id)
    return [_assessment_out(a) for a in patient_store.assessments(s, patient)]


@router.post("/{patient_id}/invitations", response_model=InvitationOut, status_code=201, responses=NOT_FOUND)
def invite_family(patient_id: str, s: DB, principal: Clinician) -> InvitationOut:
    """An invitation code that lets one family account read this child's plan and report."""
    patient = patient_for(s, principal, patient_id, family_allowed=False)
    code = invitation_store.create_invitation(s, principal.user, patient)
    audit_store.record(s, principal.user, "create", "invitation", patient.id)
    return InvitationOut(code=code, expires_in_days=14)


@router.get("/{patient_id}/export", responses=NOT_FOUND)
def export_patient(patient_id: str, s: DB, principal: Clinician) -> dict[str, Any]:
    """Everything stored about one patient: every version and every assessment."""
    patient = patient_for(s, principal, patient_id, family_allowed=False)
    audit_store.record(s, principal.user, "export", "patient", patient.id)
    return {
        "patient": {"id": patient.id, "display_name": patient.display_name, "current_version": patient.current_version},
        "versions": [v.record | {"_version": v.version} for v in patient_store.versions(s, patient)],
        "assessments": [_assessment_out(a).model_dump(mode="json") for a in patient_store.assessments(s, patient)],
    }
