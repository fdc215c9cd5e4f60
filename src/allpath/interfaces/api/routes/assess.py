"""Stateless assessment (nothing is stored) and the researcher's de-identified export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from allpath import service
from allpath.domain.results import Assessment
from allpath.errors import RecordError
from allpath.interfaces.api.answers import RECORD_INVALID, record_errors
from allpath.interfaces.api.schemas import DeidentifiedRow
from allpath.interfaces.http.json_answer import JSONAnswer
from allpath.interfaces.http.schemas import error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, LeanRoute, Work, acting, admitting
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import export

router = APIRouter(prefix="/api", tags=["assess"], responses=error_responses(401, 403), route_class=KernelRoute)
# The assessment's one dependency checks the body's text, opens the session and admits the caller
# (``admitting``): a chain of four cost more of FastAPI's work than the checks; the route ends the work
# (``KernelRoute``). A JSON object sent as application/json skips FastAPI's dependency machinery for the
# same dependency and endpoint (``LeanRoute``); the export is an ordinary KernelRoute of ``router``.
Stateless = Annotated[Work, Depends(admitting("clinician", "researcher"))]
Researcher = Annotated[Work, Depends(acting("researcher"))]


def add_assessment(app: FastAPI) -> None:
    """Add ``POST /api/assess`` to the application's own routes, before any router is included.

    Not through ``include_router``: FastAPI tries the routes of an included router through its inclusion
    machinery (each request matched twice, the route's effective context built and set), which cost the
    assessment about 0.1 ms of CPU of its 0.75 ms in process (benchmarks/README.md, issue 11). A route of the
    application itself is matched as the bare endpoint's is, and documented the same (its path, tag, answers)."""
    app.router.add_api_route(
        "/api/assess",
        assess_record,
        methods=["POST"],
        response_model=Assessment,
        responses={**error_responses(401, 403), **RECORD_INVALID},
        tags=["assess"],
        route_class_override=LeanRoute,
    )


# A coroutine: the assessment is a fraction of a millisecond of pure computation, cheaper on the event loop
# than a trip to a worker thread and back; its only write, the audit entry, is stored by the group writer.
# The answer is a JSONAnswer: the bytes of a JSONResponse, encoded in a quarter of the time.
async def assess_record(record: dict[str, object], request: Request, work: Stateless) -> JSONResponse:
    """Assess one patient record without storing it (the same answer as `allpath assess`)."""
    kb: KnowledgeBase = request.app.state.kb
    try:
        return JSONAnswer(service.assess_record(kb, record, work))
    except RecordError as error:
        return record_errors(error)


@router.get("/export/deidentified", response_model=list[DeidentifiedRow])
def deidentified(work: Researcher) -> list[DeidentifiedRow]:
    """The records and groups of the patients of the teams that granted this researcher their data, with
    names, ids and dates removed."""
    return [DeidentifiedRow(**row) for row in export.deidentified_rows(work)]
