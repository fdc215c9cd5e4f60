"""The record form page (new, edit, or filled from a FHIR import), built in the language the page speaks: its
labels, hints and choices and the record's problems are written in that language before the page renders
(forms.local); the record's values stay as they were typed."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager

from fastapi import Request
from fastapi.responses import HTMLResponse
from typing_extensions import TypedDict

from allpath.errors import FieldProblem
from allpath.interfaces.http.unit_of_work import Work
from allpath.interfaces.web import forms
from allpath.interfaces.web.language import page_locale, use_locale
from allpath.interfaces.web.pages import Viewer, page
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.stored import Patient


class ImportedView(TypedDict):
    """What a FHIR import gave, shown above the record form: the fields it filled, each step and conflict."""

    fields: list[str]
    mapped: list[dict[str, str]]
    ignored: list[dict[str, str]]
    conflicts: list[dict[str, object]]
    bounds: list[dict[str, object]]  # values given only as bounds ("> 500"): left out, each with its words
    assumptions: list[str]  # what the choice by time assumed (no diagnosis date, an old weight): to check


def in_page_language(request: Request, work: Work) -> AbstractContextManager[None]:
    """The words of a form page (its inputs, its problems) written in the language the page will speak."""
    return use_locale(page_locale(request, Viewer.of(work.signed_in())))


def form_page(
    request: Request,
    kb: KnowledgeBase,
    work: Work,
    *,
    record: Mapping[str, object],
    display_name: str,
    patient: Patient | None,
    problems: list[FieldProblem] | None = None,
    status: int = 200,
    imported: ImportedView | None = None,
) -> HTMLResponse:
    """The record form: new (``patient`` None) or edit; ``imported`` is what a FHIR import gave (shown above)."""
    relapse_count = len(forms.relapse_rows(record))
    # Each list shows its elements and one empty row (the page adds more).
    counts = {rows.kind: len(forms.list_rows(record, rows)) + 1 for rows in forms.EXPOSURE_LISTS}
    names = forms.field_names(kb, relapse_count + 1, counts)
    with in_page_language(request, work):
        by_field, summary = forms.place_problems(problems or [], names)
        context = {
            "patient": patient,
            "sections": forms.local_sections(forms.record_sections(kb)),
            "relapse_rows": [forms.local_fields(forms.relapse_fields(i)) for i in range(relapse_count + 1)],
            "exposure_lists": [
                {
                    "rows": forms.local_rows(rows),
                    "fields": [forms.local_fields(rows.fields(i)) for i in range(counts[rows.kind])],
                }
                for rows in forms.EXPOSURE_LISTS
            ],
            "values": forms.form_values(kb, record, display_name),
            "errors": by_field,
            "summary": summary,
            "action": f"/patients/{patient.id}/edit" if patient else "/patients/new",
            "imported": imported,
        }
    return page(request, "patient_form.html", context, work, status)
