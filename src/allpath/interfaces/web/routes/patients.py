"""Patient pages: the list with search, the record form (new and edit), the assessment and its history.

Access is the API's: a clinician sees the patients of their own team, a family only their own child
(whose page is the family report), and a patient someone may not see does not exist for them (404).
Every read and change is audited with the repository's audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.requests import ClientDisconnect
from typing_extensions import TypedDict

from allpath import service
from allpath.errors import FieldProblem, RecordError
from allpath.interfaces import ics
from allpath.interfaces.http.deps import KB
from allpath.interfaces.http.unit_of_work import KernelRoute, Work
from allpath.interfaces.http.unit_of_work import visible_patient as kernel_visible_patient
from allpath.interfaces.i18n import marked
from allpath.interfaces.web import forms
from allpath.interfaces.web.language import page_locale, use_locale
from allpath.interfaces.web.pages import (
    SECURITY_HEADERS,
    CareOrFamilyPage,
    ClinicianPage,
    PageError,
    Viewer,
    is_htmx,
    page,
)
from allpath.interfaces.web.routes.record_form import form_page, in_page_language
from allpath.interfaces.web.trial_section import page_trials
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import stored_patients
from allpath.service.records import RoadmapView
from allpath.service.stored import Patient

router = APIRouter(route_class=KernelRoute)


def visible_patient(work: Work, patient_id: str, *, family_allowed: bool) -> Patient:
    """The patient, if this user may see it (the API's rule); otherwise a 404 page (denial audited)."""
    try:
        return kernel_visible_patient(work, patient_id, family_allowed=family_allowed)
    except HTTPException:
        raise PageError(
            404,
            marked("No such patient"),
            marked("There is no patient with this address that your account can see."),
        ) from None


class ListedPatient(TypedDict):
    """One line of the patient list: the patient and the groups of its latest stored assessment."""

    id: str
    display_name: str
    version: int
    disease_state: str
    risk_group: str | None
    risk_group_label: str | None
    cog_risk_group: str | None
    cog_risk_group_label: str | None
    provisional: bool
    relapse_risk_group_label: str | None
    assessed_at: datetime


class HistoryRow(TypedDict):
    """One stored assessment in the history, with who stored the record version it assessed."""

    version: int
    at: datetime
    by: str
    risk_group_label: str | None
    cog_risk_group_label: str | None
    disease_state: str
    provisional: bool
    changes: list[dict[str, object]]
    knowledge_version: str


def _label(found: object, key: str) -> str | None:
    """A label of a stored assessment (JSON): the text under ``key`` of an object, else None."""
    value = found.get(key) if isinstance(found, Mapping) else None
    return value if isinstance(value, str) else None


def _group_label(kb: KnowledgeBase | None, scheme: str, code: object, stored: str | None) -> str | None:
    """A stored assessment's group label in the page's language (``kb``: that language's knowledge base, None for
    English): the knowledge base's name of the group's code, else the label as stored."""
    if kb is None or not isinstance(code, str):
        return stored
    labels: Mapping[str, str] = getattr(kb, scheme).spec.labels
    return labels.get(code, stored)


def _page_kb(request: Request, work: Work) -> KnowledgeBase | None:
    """The knowledge base in the page's language, or None when the page is English (stored labels as they are)."""
    locale = page_locale(request, Viewer.of(work.signed_in()))
    kb: KnowledgeBase = request.app.state.kb
    return None if locale == kb.locale else request.app.state.kb_for(locale)


def _summary_row(row: stored_patients.PatientRow, kb: KnowledgeBase | None) -> ListedPatient:
    patient, a = row.patient, row.assessment
    result, relapse = a.result, a.result.get("relapse")
    relapse_group = relapse.get("risk_group") if isinstance(relapse, Mapping) else None
    return {
        "id": patient.id,
        "display_name": patient.display_name,
        "version": patient.current_version,
        "disease_state": a.disease_state,
        "risk_group": a.risk_group,
        "risk_group_label": _group_label(kb, "risk_group", a.risk_group, _label(result, "risk_group_label")),
        "cog_risk_group": a.cog_risk_group,
        "cog_risk_group_label": _group_label(
            kb, "cog_risk_group", a.cog_risk_group, _label(result, "cog_risk_group_label")
        ),
        "provisional": a.provisional,
        "relapse_risk_group_label": _group_label(
            kb, "relapse_risk_group", relapse_group, _label(relapse, "risk_group_label")
        ),
        "assessed_at": a.created_at,
    }


@router.get("/patients")
def patient_list(request: Request, work: CareOrFamilyPage, q: str = "") -> Response:
    """A clinician's team's patients (searchable by name or id); a family's own children."""
    q = q.strip()[:100]
    kb = _page_kb(request, work)
    rows = [_summary_row(row, kb) for row in stored_patients.patient_list(work, q, channel="web")]
    context = {"rows": rows, "q": q, "htmx": is_htmx(request)}
    if is_htmx(request):
        return page(request, "_patient_rows.html", context, work, headers={"Vary": "HX-Request"})
    return page(request, "patients.html", context, work, headers={"Vary": "HX-Request"})


# ---- the record form -----------------------------------------------------------------------------------


def _problems(record: Mapping[str, object], display_name: str | None) -> list[FieldProblem]:
    """Every problem of the submitted form: the display name's, then ``parse_record``'s own."""
    problems: list[FieldProblem] = []
    if display_name is not None and (problem := forms.display_name_problem(display_name)) is not None:
        problems.append(problem)
    unstorable = forms.text_problems(record)
    if unstorable:
        return problems + unstorable
    return problems + forms.record_problems(record)


@router.get("/patients/new")
def new_patient_form(request: Request, kb: KB, work: ClinicianPage) -> Response:
    return form_page(request, kb, work, record={}, display_name="", patient=None)


@router.post("/patients/new")
async def create_patient(request: Request, kb: KB, work: ClinicianPage) -> Response:
    """Validate the form as a patient record v1, store it as version 1 and assess it."""
    form = await request.form()
    display_name = forms.display_name_from(form)
    record = forms.record_from_form(kb, form)
    problems = _problems(record, display_name)
    if problems:
        work.audit("create", "patient", outcome="invalid", detail="web")
        return form_page(
            request,
            kb,
            work,
            record=record,
            display_name=display_name,
            patient=None,
            problems=problems,
            status=422,
        )
    stored = service.create_patient(work, kb, display_name, record, detail="web")
    return RedirectResponse(f"/patients/{stored.patient.id}", status_code=303, headers=SECURITY_HEADERS)


@router.post("/patients/check")
async def check_record(request: Request, kb: KB, work: ClinicianPage) -> Response:
    """Inline validation while typing (htmx): every field's message, swapped in beside its input."""
    try:
        form = await request.form()
    except ClientDisconnect:
        # The page was left (e.g. the form submitted) while this check was on its way: nobody is waiting.
        return Response(status_code=204, headers=SECURITY_HEADERS)
    record = forms.record_from_form(kb, form)
    # The messages go to the rows as they are on the screen, empty rows included.
    problems = _problems(record, None)
    counts: dict[str, int] = {}
    for rows in forms.ROW_LISTS.values():
        used = forms.rows_used(form, rows)
        problems = forms.in_form_rows(problems, used, rows.path)
        counts[rows.kind] = max([0, *forms.rows_on_screen(form, rows)]) + 1
    names = forms.field_names(kb, counts.pop("relapse"), counts)
    with in_page_language(request, work):
        by_field, summary = forms.place_problems(problems, names)
    context = {"names": sorted(names - {forms.DISPLAY_NAME}), "errors": by_field, "summary": summary, "live": True}
    return page(request, "_field_errors.html", context, work)


@router.get("/patients/relapse-row")
def relapse_row(request: Request, work: ClinicianPage, index: int = 0) -> Response:
    """One more empty relapse row for the form (htmx)."""
    index = max(0, min(index, 20))
    with in_page_language(request, work):
        fields = forms.local_fields(forms.relapse_fields(index))
    context = {"fields": fields, "index": index, "values": {}, "errors": {}, "oob_button": True}
    return page(request, "_relapse_row.html", context, work)


@router.get("/patients/exposure-row")
def exposure_row(request: Request, work: ClinicianPage, kind: str = "course", index: int = 0) -> Response:
    """One more empty row of a list of the treatment given: ``kind`` is ``course`` or ``radiation`` (htmx)."""
    rows = forms.ROW_LISTS.get(kind)
    if rows is None or rows not in forms.EXPOSURE_LISTS:
        raise PageError(404, marked("No such list"), marked("The form has lists of courses and of radiation only."))
    index = max(0, min(index, 200))
    with in_page_language(request, work):
        shown, fields = forms.local_rows(rows), forms.local_fields(rows.fields(index))
    context = {
        "rows": shown,
        "fields": fields,
        "index": index,
        "values": {},
        "errors": {},
        "oob_button": True,
    }
    return page(request, "_list_row.html", context, work)


@router.get("/patients/{patient_id}/edit")
def edit_patient_form(request: Request, patient_id: str, kb: KB, work: ClinicianPage) -> Response:
    patient = visible_patient(work, patient_id, family_allowed=False)
    record = stored_patients.read_patient(work, patient, detail="web edit form").version.record
    return form_page(request, kb, work, record=dict(record), display_name=patient.display_name, patient=patient)


@router.post("/patients/{patient_id}/edit")
async def update_patient(request: Request, patient_id: str, kb: KB, work: ClinicianPage) -> Response:
    """Store a new version of the record (when anything changed) and re-assess it."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    form = await request.form()
    previous = dict(stored_patients.snapshot(work, patient).version.record)
    display_name = forms.display_name_from(form)
    record = forms.record_from_form(kb, form, previous)
    problems = _problems(record, display_name)
    if problems:
        work.audit("update", "patient", patient.id, outcome="invalid", detail="web")
        return form_page(
            request,
            kb,
            work,
            record=record,
            display_name=display_name,
            patient=patient,
            problems=problems,
            status=422,
        )
    if stored_patients.store_if_changed(work, kb, patient, record, display_name, detail="web"):
        target = f"/patients/{patient.id}#changes"
    else:
        target = f"/patients/{patient.id}?unchanged=1"
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


# ---- the assessment ----------------------------------------------------------------------------------


def _history(work: Work, patient: Patient, kb: KnowledgeBase | None) -> list[HistoryRow]:
    """Every assessment, newest first, with who stored the version it assessed (``kb``: see ``_group_label``)."""
    rows: list[HistoryRow] = []
    for entry in stored_patients.history(work, patient):
        a = entry.assessment
        rows.append(
            {
                "version": a.patient_version,
                "at": a.created_at,
                "by": entry.stored_by,
                "risk_group_label": _group_label(kb, "risk_group", a.risk_group, _label(a.result, "risk_group_label")),
                "cog_risk_group_label": _group_label(
                    kb, "cog_risk_group", a.cog_risk_group, _label(a.result, "cog_risk_group_label")
                ),
                "disease_state": a.disease_state,
                "provisional": a.provisional,
                "changes": a.changes,
                "knowledge_version": a.knowledge_version,
            }
        )
    return rows


def _record_rows(record: Mapping[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """The stored record as (path, value) rows, in record order: objects and lists of objects opened up
    (``response.day8_blood_mrd_pct``, ``relapses[0].sites``, ``exposures.courses[1].date``)."""
    rows: list[tuple[str, object]] = []
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            rows.extend(_record_rows(value, path))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                rows.extend(_record_rows(item, f"{path}[{i}]"))
        else:
            rows.append((path, value))
    return rows


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: str, kb: KB, work: CareOrFamilyPage, unchanged: int = 0) -> Response:
    """The current assessment with its reasons and citations, the work-up, the plan, the trials to ask about and
    the history."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    if work.user.role == "family":
        # A family's page about their child is the plain-language report.
        return RedirectResponse(f"/patients/{patient.id}/report", status_code=303, headers=SECURITY_HEADERS)
    # The page shows a fresh assessment of the latest record version (the rule of allpath.service); the
    # stored assessments are the history below it. Its knowledge texts are in the page's language (English: the
    # running knowledge base).
    locale = page_locale(request, Viewer.of(work.signed_in()))
    kb = kb if locale == kb.locale else request.app.state.kb_for(locale)
    try:
        answer = service.patient_care_overview(work, kb, patient, resource="patient", detail="web")
    except RecordError:
        message = marked("The stored record can no longer be read, so it cannot be assessed.")
        return page(request, "error.html", {"title": marked("Record cannot be read"), "message": message}, work, 409)
    now = answer.latest
    result = now.assessment
    record = dict(now.version.record)
    context = {
        "patient": patient,
        "a": result,
        "latest": now.stored,
        "stored_knowledge_version": now.stored.knowledge_version if now.knowledge_changed else None,
        "treatment": answer.result,
        "record_rows": _record_rows(record),
        "history": _history(work, patient, None if locale == request.app.state.kb.locale else kb),
        "elements": {e["id"]: e for e in result["plan"].get("elements", [])},
        "population_labels": {p.spec.id: p.spec.label for p in kb.populations},
        "unchanged": bool(unchanged),
        "trials": page_trials(request, work, kb, now),  # the search the address asks for (near, radius_km, status)
    }
    return page(request, "patient.html", context, work)


def _calendar(roadmap: RoadmapView, patient_id: str) -> bytes:
    return ics.roadmap_to_ics(roadmap, record_id=patient_id)


@router.get("/patients/{patient_id}/roadmap.ics")
def roadmap_calendar(request: Request, patient_id: str, kb: KB, work: CareOrFamilyPage) -> Response:
    """The dated roadmap as an iCalendar file (no doses) in the page's language, for the care team and family."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    locale = page_locale(request, Viewer.of(work.signed_in()))  # the page's language, and its knowledge texts
    kb_in = kb if locale == kb.locale else request.app.state.kb_for(locale)  # English: the running base
    try:
        with use_locale(locale):
            data = service.patient_calendar(
                work, kb_in, patient, _calendar, resource="roadmap_calendar", detail="web", refusal_detail="web"
            ).result
    except (ics.CalendarError, RecordError) as error:
        # A page, not a raised error: the audit entry (written by the use case) commits with the response.
        why = error.message if isinstance(error, ics.CalendarError) else "the stored record cannot be read"
        message = f"There is no calendar for this roadmap: {why}."
        return page(request, "error.html", {"title": "No calendar", "message": message}, work, 409)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="allpath-roadmap-v{patient.current_version}.ics"',
    }
    return Response(data, media_type=f"{ics.MEDIA_TYPE}; charset=utf-8", headers=headers)


@router.post("/patients/{patient_id}/invitations")
def invite_family(request: Request, patient_id: str, work: ClinicianPage) -> Response:
    """An invitation code for one family account (shown once; 14 days)."""
    patient = visible_patient(work, patient_id, family_allowed=False)
    invitation = stored_patients.invite_family(work, patient, detail="web")
    context = {"patient": patient, "code": invitation.code, "days": invitation.days}
    return page(request, "invitation.html", context, work, 201)
