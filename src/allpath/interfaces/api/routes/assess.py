"""Stateless assessment (nothing is stored) and the researcher's de-identified export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.api.schemas import DeidentifiedRow
from allpath.interfaces.http.deps import DB, KB, Principal, require, storable_body
from allpath.interfaces.http.schemas import error_responses
from allpath.storage import audit as audit_store
from allpath.storage import export as export_store
from allpath.storage import users as user_store

router = APIRouter(
    prefix="/api", tags=["assess"], responses=error_responses(401, 403), dependencies=[Depends(storable_body)]
)


@router.post("/assess", responses=RECORD_INVALID)
def assess_record(
    record: dict[str, Any], s: DB, kb: KB, principal: Annotated[Principal, Depends(require("clinician", "researcher"))]
) -> Any:
    """Assess one patient record without storing it (the same answer as `allpath assess`)."""
    try:
        parsed = parse_record(record)
    except RecordError as error:
        return record_errors(error)
    response = JSONResponse(assess(parsed, kb))
    # Audit last and commit here: on SQLite the audit insert takes the writer lock, which the commit gives
    # back. Left to the request's session dependency, the commit would wait for another hop through the
    # event loop, and every other writer with it.
    audit_store.record(s, principal.user, "assess", "record", detail="stateless")
    s.commit()
    return response


@router.get("/export/deidentified", response_model=list[DeidentifiedRow])
def deidentified(s: DB, principal: Annotated[Principal, Depends(require("researcher"))]) -> list[DeidentifiedRow]:
    """The records and groups of the patients of the teams that granted this researcher their data, with
    names, ids and dates removed."""
    rows = export_store.deidentified_export(s, user_store.granted_teams(s, principal.user.id))
    audit_store.record(s, principal.user, "export", "deidentified", detail=f"{len(rows)} rows")
    return [DeidentifiedRow(**row) for row in rows]
