"""FHIR R4 through the API: import a Bundle as a patient record, and the second-opinion package.

- ``POST /api/fhir/import`` (clinician): a FHIR Bundle in, the patient record it gives out with where each
  field came from, its date and why that value was chosen (``mapped``), what was not used and why
  (``ignored``: also the values of a field not chosen by time, with their date and the window they missed), the
  fields whose sources disagree (``conflicts``, left out of the record) and what the choice by time assumed
  (``assumptions``). Nothing is stored; to keep the record, ``POST /api/patients`` it.
- ``POST /api/fhir/second-opinion`` (clinician, researcher; stateless like ``/api/assess``): a patient record
  in, the second-opinion Bundle out.
- ``GET /api/patients/{id}/fhir/second-opinion`` (the team's clinician and the child's family): the Bundle of
  the latest record, assessed afresh under the running knowledge base (the rule of ``allpath.service``).

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

from allpath import service
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.fhir.importer import import_bundle
from allpath.interfaces.fhir.package import MEDIA_TYPE, package_bundle
from allpath.interfaces.http.deps import KB, AppSettings, storable_body
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting, visible_patient
from allpath.service.trial_search import TrialSearchOptions

router = APIRouter(
    prefix="/api",
    tags=["fhir"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Clinician = Annotated[Work, Depends(acting("clinician"))]
Stateless = Annotated[Work, Depends(acting("clinician", "researcher"))]
CareOrFamily = Annotated[Work, Depends(acting("clinician", "family"))]

HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class BundleIn(BaseModel):
    """A FHIR R4 Bundle (JSON). Resources allpath does not read are listed in ``ignored`` with the reason."""

    model_config = ConfigDict(extra="allow")
    resourceType: Literal["Bundle"]
    type: str | None = Field(default=None, description="The Bundle type, e.g. collection, searchset, document.")
    entry: list[dict[str, object]] | None = Field(default=None, description="The entries, each with its resource.")


class MappedField(BaseModel):
    field: str = Field(description="A path of the patient record, e.g. wbc_per_ul or response.day8_blood_mrd_pct.")
    from_: str = Field(alias="from", description="The resource and element the value came from.")
    date: str | None = Field(default=None, description="The day of the resource's clinical time, when it has one.")
    why: str | None = Field(
        default=None,
        description="Why this value was chosen, in words: e.g. nearest the diagnosis (2 days before) within the "
        "white count's window, the MRD time point by day of treatment, the latest body size, or no date.",
    )


class IgnoredPart(BaseModel):
    resource: str = Field(description="The resource (or element) that was not used.")
    reason: str
    field: str | None = Field(
        default=None,
        description="The record field it would have given: when the record contract refused its value, or when "
        "another value of the field was chosen by time or it lies outside the field's window (the reason says its "
        "date and the window).",
    )


class ConflictValue(BaseModel):
    value: Any = None
    from_: str = Field(alias="from")
    date: str | None = Field(default=None, description="The day of the resource's clinical time, when it has one.")


class Conflict(BaseModel):
    field: str
    values: list[ConflictValue]
    resolution: str


class Bound(BaseModel):
    field: str = Field(description="The record field the bound is of (dotted when nested); left out of the record.")
    comparator: str = Field(description="The FHIR Quantity comparator: <, <=, >=, > or ad.")
    value: float = Field(description="The bound, in the record field's unit.")
    from_: str = Field(alias="from")
    text: str = Field(description='In words: "white count: more than 500,000 per microliter (Observation/x)".')


class ImportOut(BaseModel):
    """What the Bundle gives: a valid patient record v1 and an account of every step. Nothing is stored."""

    record: dict[str, object]
    mapped: list[MappedField]
    ignored: list[IgnoredPart]
    conflicts: list[Conflict]
    bounds: list[Bound] = Field(
        default=[], description="Values given with a comparator: bounds, never values of the record (left out)."
    )
    assumptions: list[str] = Field(
        default=[],
        description="What the choice by time assumed, for the clinician to check: e.g. no diagnosis date in the "
        "data (the diagnostic values are those of the most recent data), the treatment start taken from the first "
        "drug given, a latest weight or height that is old.",
    )


BUNDLE_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
FHIR_OK: dict[int | str, dict[str, object]] = {
    200: {
        "content": {MEDIA_TYPE: {"schema": BUNDLE_SCHEMA}},
        "description": "the second-opinion package: a FHIR R4 collection Bundle",
    }
}
IMPORT_INVALID: dict[int | str, dict[str, object]] = {
    **error_responses(400),
    422: {"model": ValidationErrorOut, "description": "the body is not a FHIR Bundle (resourceType must be Bundle)"},
}


def _fhir_response(bundle: dict[str, object], headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    return Response(body, media_type=f"{MEDIA_TYPE}; charset=utf-8", headers={**HEADERS, **(headers or {})})


@router.post("/fhir/import", response_model=ImportOut, responses=IMPORT_INVALID)
def import_fhir_bundle(body: BundleIn, work: Clinician) -> JSONResponse:
    """Read a FHIR R4 Bundle (also sent as `application/fhir+json`) into a patient record v1, without storing
    anything: each field with its source, what was not used and why, and the fields whose sources disagree
    (left out: allpath never guesses)."""
    result = import_bundle(body.model_dump(mode="json", exclude_unset=True))
    response = JSONResponse(result.as_dict())
    detail = f"{len(result.mapped)} mapped, {len(result.ignored)} ignored, {len(result.conflicts)} conflicts"
    work.audit("import", "fhir_bundle", detail=detail)
    return response


@router.post("/fhir/second-opinion", response_class=Response, responses={**FHIR_OK, **RECORD_INVALID})
def second_opinion_of_record(record: dict[str, object], kb: KB, work: Stateless) -> Response:
    """The second-opinion package of one patient record without storing it: the record's resources, the risk
    assessment Observation (mCODE), the plan, the roadmap and the survivorship plan as CarePlans."""
    try:
        package = service.record_package(kb, record, work)
    except RecordError as error:
        return record_errors(error)
    return _fhir_response(package_bundle(package))


@router.get(
    "/patients/{patient_id}/fhir/second-opinion",
    # Response, not a FHIR response class: FastAPI would otherwise document the JSON errors as FHIR.
    response_class=Response,
    tags=["patients"],
    responses={**FHIR_OK, **error_responses(404), **RECORD_INVALID},
)
def patient_second_opinion(patient_id: str, kb: KB, settings: AppSettings, work: CareOrFamily) -> Response:
    """The child's second-opinion package from the latest record (the team's clinician or the linked family),
    to give to another hospital's system; with the trials to ask about (open studies that may fit, as
    ResearchStudy resources and a List) when the trial registry holds studies."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    trials = TrialSearchOptions(outdated_after_days=settings.trials_outdated_days)
    try:
        answer = service.patient_package(work, kb, patient, detail="fhir (api)", trials=trials)
    except RecordError as error:
        return record_errors(error)
    return _fhir_response(package_bundle(answer.result))
