"""FHIR R4 through the API: import a Bundle as a patient record, and the second-opinion package.

- ``POST /api/fhir/import`` (clinician): a FHIR Bundle in, the patient record it gives out with where each
  field came from (``mapped``), what was not used and why (``ignored``) and the fields whose sources disagree
  (``conflicts``, left out of the record). Nothing is stored; to keep the record, ``POST /api/patients`` it.
- ``POST /api/fhir/second-opinion`` (clinician, researcher; stateless like ``/api/assess``): a patient record
  in, the second-opinion Bundle out.
- ``GET /api/patients/{id}/fhir/second-opinion`` (the team's clinician and the child's family): the Bundle of
  the latest record and its stored assessment.

The second-opinion Bundle (``application/fhir+json``) holds the record's resources, the risk assessment
Observation, the plan, the treatment roadmap (when the child has a regimen) and the survivorship plan (when
there is treatment to follow up); it carries no name. Every call that answers is audited (counts and ids only).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from allpath import service
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.fhir.importer import import_bundle
from allpath.interfaces.fhir.package import MEDIA_TYPE, package_bundle, second_opinion
from allpath.interfaces.http.deps import DB, KB, Principal, patient_for, require, storable_body
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.service import UnitOfWork
from allpath.storage import audit as audit_store

router = APIRouter(
    prefix="/api", tags=["fhir"], responses=error_responses(401, 403), dependencies=[Depends(storable_body)]
)
Clinician = Annotated[Principal, Depends(require("clinician"))]
Stateless = Annotated[Principal, Depends(require("clinician", "researcher"))]
CareOrFamily = Annotated[Principal, Depends(require("clinician", "family"))]

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class BundleIn(BaseModel):
    """A FHIR R4 Bundle (JSON). Resources allpath does not read are listed in ``ignored`` with the reason."""

    model_config = ConfigDict(extra="allow")
    resourceType: Literal["Bundle"]
    type: str | None = Field(default=None, description="The Bundle type, e.g. collection, searchset, document.")
    entry: list[dict[str, Any]] | None = Field(default=None, description="The entries, each with its resource.")


class MappedField(BaseModel):
    field: str = Field(description="A path of the patient record, e.g. wbc_per_ul or response.day8_blood_mrd_pct.")
    from_: str = Field(alias="from", description="The resource and element the value came from.")


class IgnoredPart(BaseModel):
    resource: str = Field(description="The resource (or element) that was not used.")
    reason: str
    field: str | None = Field(
        default=None, description="The record field it would have given, when the record contract refused its value."
    )


class ConflictValue(BaseModel):
    value: Any = None
    from_: str = Field(alias="from")


class Conflict(BaseModel):
    field: str
    values: list[ConflictValue]
    resolution: str


class ImportOut(BaseModel):
    """What the Bundle gives: a valid patient record v1 and an account of every step. Nothing is stored."""

    record: dict[str, Any]
    mapped: list[MappedField]
    ignored: list[IgnoredPart]
    conflicts: list[Conflict]


BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {MEDIA_TYPE: {"schema": BUNDLE_SCHEMA}},
        "description": "the second-opinion package: a FHIR R4 collection Bundle",
    }
}
IMPORT_INVALID: dict[int | str, dict[str, Any]] = {
    **error_responses(400),
    422: {"model": ValidationErrorOut, "description": "the body is not a FHIR Bundle (resourceType must be Bundle)"},
}


def _fhir_response(bundle: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type=f"{MEDIA_TYPE}; charset=utf-8", headers={**HEADERS, **(headers or {})})


def _commit_audit(s: Session, principal: Principal, action: str, resource: str, **kwargs: Any) -> None:
    # Audit last and commit here, as /api/assess does (routes/assess.py explains why).
    audit_store.record(s, principal.user, action, resource, **kwargs)
    s.commit()


@router.post("/fhir/import", response_model=ImportOut, responses=IMPORT_INVALID)
def import_fhir_bundle(body: BundleIn, s: DB, principal: Clinician) -> Any:
    """Read a FHIR R4 Bundle (also sent as `application/fhir+json`) into a patient record v1, without storing
    anything: each field with its source, what was not used and why, and the fields whose sources disagree
    (left out: allpath never guesses)."""
    result = import_bundle(body.model_dump(mode="json", exclude_unset=True))
    response = JSONResponse(result.as_dict())
    detail = f"{len(result.mapped)} mapped, {len(result.ignored)} ignored, {len(result.conflicts)} conflicts"
    _commit_audit(s, principal, "import", "fhir_bundle", detail=detail)
    return response


@router.post("/fhir/second-opinion", response_class=Response, responses={**FHIR_OK, **RECORD_INVALID})
def second_opinion_of_record(record: dict[str, Any], s: DB, kb: KB, principal: Stateless) -> Response:
    """The second-opinion package of one patient record without storing it: the record's resources, the risk
    assessment Observation (mCODE), the plan, the roadmap and the survivorship plan as CarePlans."""
    try:
        bundle = second_opinion(record, kb)
    except RecordError as error:
        return record_errors(error)
    response = _fhir_response(bundle)
    _commit_audit(s, principal, "second_opinion", "record", detail="stateless")
    return response


@router.get(
    "/patients/{patient_id}/fhir/second-opinion",
    # Response, not a FHIR response class: FastAPI would otherwise document the JSON errors as FHIR.
    response_class=Response,
    tags=["patients"],
    responses={**FHIR_OK, **error_responses(404), **RECORD_INVALID},
)
def patient_second_opinion(patient_id: str, s: DB, kb: KB, principal: CareOrFamily) -> Response:
    """The child's second-opinion package from the latest record and its assessment (the team's clinician or
    the linked family), to give to another hospital's system."""
    patient = patient_for(s, principal, patient_id, family_allowed=True)
    work = UnitOfWork(s, principal.user)
    try:
        package = service.patient_package(work, kb, patient, detail="fhir (api)", refusal_detail="")
    except RecordError as error:
        work.commit()
        return record_errors(error)
    response = _fhir_response(package_bundle(package.result))
    work.commit()  # as /api/assess does (routes/assess.py explains why)
    return response
