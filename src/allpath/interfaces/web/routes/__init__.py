"""The web pages, one module per area; handlers stay thin and call the repository, like the API's."""

from __future__ import annotations

from fastapi import APIRouter

from allpath.interfaces.web.routes import account, admin, fhir, patients, report, research, session, sources, trials

router = APIRouter()
# fhir before patients: /patients/import is not a patient id.
for _module in (session, account, fhir, patients, report, trials, admin, research, sources):
    router.include_router(_module.router, include_in_schema=False)
router.include_router(report.api_router)
