"""The family report of one child: a page, a PDF, and the same two for API clients.

Who may read it: a clinician of the child's team or a family account linked to the child; anyone else
gets 404. Every read is audited (``read family_report``, with the format).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from allpath.interfaces.http.schemas import error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting
from allpath.interfaces.http.unit_of_work import visible_patient as kernel_visible_patient
from allpath.interfaces.i18n import LANG_PARAM, choose_locale, supported, use_locale
from allpath.interfaces.web.family_report import FamilyReport, family_report, report_html_document, report_pdf
from allpath.interfaces.web.language import page_locale
from allpath.interfaces.web.pages import SECURITY_HEADERS, CareOrFamilyPage, Viewer, page
from allpath.interfaces.web.routes.patients import visible_patient
from allpath.interfaces.web.trial_section import TrialForm
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.stored import Patient
from allpath.service.stored_patients import family_language

router = APIRouter(route_class=KernelRoute)  # pages
api_router = APIRouter(route_class=KernelRoute)  # beside the JSON API, in its OpenAPI description
ApiReader = Annotated[Work, Depends(acting("clinician", "family"))]
API_ERRORS = error_responses(401, 403, 404)


def _pdf_response(pdf: bytes, filename: str, locale: str) -> Response:
    headers = {**_language_headers(locale), "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _knowledge(request: Request, locale: str) -> KnowledgeBase:
    """The knowledge base with its family texts in ``locale`` (``app.state.kb_for``, one per locale)."""
    kb: KnowledgeBase = request.app.state.kb_for(locale)
    return kb


def _report(request: Request, work: Work, patient: Patient, locale: str, *, asked: bool = True) -> FamilyReport:
    """The report in ``locale`` (the knowledge texts of that language, the code's words from its catalog) with
    the trial search the page's address asks for (``near``, ``radius_km``, ``status``; the API's documents, and
    a page by default, search the open studies without a place), and the settings' threshold for possibly
    outdated entries."""
    with use_locale(locale):
        return family_report(
            work,
            _knowledge(request, locale),
            patient,
            TrialForm.of(request.query_params) if asked else None,
            outdated_after_days=request.app.state.settings.trials_outdated_days,
        )


def _printed_locale(request: Request, work: Work, patient: Patient) -> str:
    """The language of the PDF: its link's ``lang``; else, for a clinician, the preferred language of the
    child's family account (a clinician keeps their own pages' language and prints in the family's), and the
    language of the page it was asked from."""
    chosen = supported(request.query_params.get(LANG_PARAM))
    if chosen:
        return chosen
    viewer = Viewer.of(work.signed_in())
    family = supported(family_language(work, patient)) if viewer.role != "family" else None
    return family or page_locale(request, viewer)


def _document_locale(request: Request) -> str:
    """The language of an API document: ``?lang=``, then ``Accept-Language``, else English."""
    return choose_locale(request.query_params.get(LANG_PARAM), None, None, request.headers.get("accept-language"))


def _language_headers(locale: str) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Content-Language": locale}


@router.get("/patients/{patient_id}/report")
def report_page(request: Request, patient_id: str, work: CareOrFamilyPage) -> Response:
    """The plain-language family report as a page (its trial section with a form to search near a place)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    viewer = Viewer.of(work.signed_in())
    locale = page_locale(request, viewer)
    report = _report(request, work, patient, locale)
    work.audit("read", "family_report", patient.id, detail="html")
    # The PDF is offered in every language, the family's first for a clinician (``_printed_locale``).
    printed = _printed_locale(request, work, patient) if viewer.role != "family" else locale
    return page(request, "report.html", {"report": report, "patient": patient, "printed_lang": printed}, work)


@router.get("/patients/{patient_id}/report.pdf")
def report_pdf_download(request: Request, patient_id: str, work: CareOrFamilyPage) -> Response:
    """The family report as a PDF to print or keep (with the page's trial search, from the same query)."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    locale = _printed_locale(request, work, patient)
    report = _report(request, work, patient, locale)
    work.audit("read", "family_report", patient.id, detail="pdf")
    disclaimer = _knowledge(request, locale).text.disclaimer
    return _pdf_response(report_pdf(report, disclaimer, locale), report.filename, locale)


@api_router.get(
    "/api/patients/{patient_id}/report.html",
    tags=["patients"],
    # Response, not HTMLResponse: with an HTML response class, FastAPI would document the JSON errors as HTML.
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **API_ERRORS},
)
def api_report_html(request: Request, patient_id: str, work: ApiReader) -> HTMLResponse:
    """The family report as a self-contained HTML document (clinician of the team or the linked family); its
    trials to ask about are the open studies of the local registry, without a place."""
    patient = kernel_visible_patient(work, patient_id, family_allowed=True)
    locale = _document_locale(request)
    report = _report(request, work, patient, locale, asked=False)
    work.audit("read", "family_report", patient.id, detail="html (api)")
    disclaimer = _knowledge(request, locale).text.disclaimer
    return HTMLResponse(report_html_document(report, disclaimer, locale), headers=_language_headers(locale))


@api_router.get(
    "/api/patients/{patient_id}/report.pdf",
    tags=["patients"],
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}, **API_ERRORS},
    response_class=Response,
)
def api_report_pdf(request: Request, patient_id: str, work: ApiReader) -> Response:
    """The family report as a PDF (clinician of the team or the linked family), with the trials of the HTML
    document."""
    patient = kernel_visible_patient(work, patient_id, family_allowed=True)
    locale = _document_locale(request)
    report = _report(request, work, patient, locale, asked=False)
    work.audit("read", "family_report", patient.id, detail="pdf (api)")
    disclaimer = _knowledge(request, locale).text.disclaimer
    return _pdf_response(report_pdf(report, disclaimer, locale), report.filename, locale)
