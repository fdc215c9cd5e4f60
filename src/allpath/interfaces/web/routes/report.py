"""The family report of one child: a page, a PDF, and the same two for API clients.

Who may read it: a clinician of the child's team or a family account linked to the child; anyone else
gets 404. Every read is audited (``read family_report``, with the format).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from allpath.interfaces.http.deps import KB
from allpath.interfaces.http.schemas import error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting
from allpath.interfaces.http.unit_of_work import visible_patient as kernel_visible_patient
from allpath.interfaces.web.family_report import FamilyReport, family_report, report_html_document, report_pdf
from allpath.interfaces.web.language import page_locale
from allpath.interfaces.web.pages import SECURITY_HEADERS, CareOrFamilyPage, Viewer, page
from allpath.interfaces.web.routes.patients import visible_patient
from allpath.interfaces.web.trial_section import TrialForm
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.stored import Patient

router = APIRouter(route_class=KernelRoute)  # pages
api_router = APIRouter(route_class=KernelRoute)  # beside the JSON API, in its OpenAPI description
ApiReader = Annotated[Work, Depends(acting("clinician", "family"))]
API_ERRORS = error_responses(401, 403, 404)


def _pdf_response(pdf: bytes, filename: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _report(request: Request, work: Work, kb: KnowledgeBase, patient: Patient, *, asked: bool = True) -> FamilyReport:
    """The report with the trial search the page's address asks for (``near``, ``radius_km``, ``status``; the
    API's documents, and a page by default, search the open studies without a place), and the settings'
    threshold for possibly outdated entries."""
    return family_report(
        work,
        kb,
        patient,
        TrialForm.of(request.query_params) if asked else None,
        outdated_after_days=request.app.state.settings.trials_outdated_days,
    )


@router.get("/patients/{patient_id}/report")
def report_page(request: Request, patient_id: str, kb: KB, work: CareOrFamilyPage) -> Response:
    """The plain-language family report as a page (its trial section with a form to search near a place)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    report = _report(request, work, kb, patient)
    work.audit("read", "family_report", patient.id, detail="html")
    return page(request, "report.html", {"report": report, "patient": patient}, work)


@router.get("/patients/{patient_id}/report.pdf")
def report_pdf_download(request: Request, patient_id: str, kb: KB, work: CareOrFamilyPage) -> Response:
    """The family report as a PDF to print or keep (with the page's trial search, from the same query)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    report = _report(request, work, kb, patient)
    work.audit("read", "family_report", patient.id, detail="pdf")
    locale = page_locale(request, Viewer.of(work.signed_in()))  # the language of the page it was asked from
    return _pdf_response(report_pdf(report, kb.text.disclaimer, locale), report.filename)


@api_router.get(
    "/api/patients/{patient_id}/report.html",
    tags=["patients"],
    # Response, not HTMLResponse: with an HTML response class, FastAPI would document the JSON errors as HTML.
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **API_ERRORS},
)
def api_report_html(request: Request, patient_id: str, kb: KB, work: ApiReader) -> HTMLResponse:
    """The family report as a self-contained HTML document (clinician of the team or the linked family); its
    trials to ask about are the open studies of the local registry, without a place."""
    patient = kernel_visible_patient(work, patient_id, family_allowed=True)
    report = _report(request, work, kb, patient, asked=False)
    work.audit("read", "family_report", patient.id, detail="html (api)")
    return HTMLResponse(report_html_document(report, kb.text.disclaimer), headers=SECURITY_HEADERS)


@api_router.get(
    "/api/patients/{patient_id}/report.pdf",
    tags=["patients"],
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}, **API_ERRORS},
    response_class=Response,
)
def api_report_pdf(request: Request, patient_id: str, kb: KB, work: ApiReader) -> Response:
    """The family report as a PDF (clinician of the team or the linked family), with the trials of the HTML
    document."""
    patient = kernel_visible_patient(work, patient_id, family_allowed=True)
    report = _report(request, work, kb, patient, asked=False)
    work.audit("read", "family_report", patient.id, detail="pdf (api)")
    return _pdf_response(report_pdf(report, kb.text.disclaimer), report.filename)
