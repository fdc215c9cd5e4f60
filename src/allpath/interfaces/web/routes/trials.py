"""The "Trials to ask about" section of the patient page on its own, for the section's search form (htmx).

Without htmx the form reloads the patient page with the same query (``near``, ``radius_km``, ``status``): this
address then sends the browser there. Access is the patient page's: the care team of the child (a family's page
is the family report, which has its own trial section); anyone else gets 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from allpath.errors import RecordError
from allpath.interfaces.http.deps import KB
from allpath.interfaces.http.unit_of_work import KernelRoute
from allpath.interfaces.web.pages import SECURITY_HEADERS, ClinicianPage, is_htmx, page
from allpath.interfaces.web.routes.patients import visible_patient
from allpath.interfaces.web.trial_section import TrialForm, page_trials
from allpath.service import latest

router = APIRouter(route_class=KernelRoute)


@router.get("/patients/{patient_id}/trials")
def trial_section_page(request: Request, patient_id: str, kb: KB, work: ClinicianPage) -> Response:
    """The section for the search the query asks for (audited by the trial search, counts only)."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    if not is_htmx(request):
        query = TrialForm.of(request.query_params).query
        target = f"/patients/{patient.id}{'?' + query if query else ''}#trials"
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    try:
        now = latest(work, kb, patient)
    except RecordError:
        work.audit("search", "trials", patient.id, outcome="invalid", detail="record")
        message = "The stored record can no longer be read, so no trial search can be made for it."
        return page(request, "error.html", {"title": "Record cannot be read", "message": message}, work, 409)
    context = {"patient": patient, "trials": page_trials(request, work, kb, now)}
    return page(request, "_trials.html", context, work, headers={"Vary": "HX-Request"})
