"""FHIR in the web app: import a Bundle into the new-patient form, and download the second-opinion package.

- ``/patients/import`` (clinicians): upload or paste a FHIR R4 Bundle; the page shows which record fields it
  gave and from where, what was not used and why, and which sources disagree (left out), above the
  new-patient form filled with the imported record. Saving that form is the ordinary create-patient flow
  (``POST /patients/new``, with its inline validation): nothing is stored before.
- ``/patients/{id}/second-opinion.json`` (the team's clinician and the child's family): the FHIR Bundle of
  the latest record and its assessment, plan, roadmap and survivorship plan, as a download. No name in it.

Both are audited (counts and ids only). These routes are included before the patient pages, so that
``/patients/import`` is not read as a patient id.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from allpath import service
from allpath.errors import RecordError
from allpath.interfaces import strict_json
from allpath.interfaces.fhir.importer import import_bundle
from allpath.interfaces.fhir.package import MEDIA_TYPE, package_bundle
from allpath.interfaces.http.deps import KB, unstorable_text
from allpath.interfaces.http.unit_of_work import KernelRoute
from allpath.interfaces.i18n import gettext, marked
from allpath.interfaces.web.pages import SECURITY_HEADERS, CareOrFamilyPage, ClinicianPage, page
from allpath.interfaces.web.routes.patients import visible_patient
from allpath.interfaces.web.routes.record_form import ImportedView, form_page, in_page_language
from allpath.service.trial_search import TrialSearchOptions

router = APIRouter(route_class=KernelRoute)

PASTE_KEPT_CHARS = 200_000  # pasted text shown again after a refusal, up to this length
BUNDLE_FILE = "bundle_file"
BUNDLE_TEXT = "bundle_text"


class BundleRefused(Exception):
    """The upload or the pasted text is not a Bundle that can be imported; the message says why (a marked
    sentence and its values, written in the page's language where it is shown)."""

    def __init__(self, sentence: str, **values: object) -> None:
        super().__init__(sentence % values)
        self.sentence = sentence
        self.values = values

    def local(self) -> str:
        return gettext(self.sentence) % self.values


async def _bundle_text(form: Any, most: int) -> str:
    """The Bundle's text from the uploaded file (at most ``most`` bytes) or the pasted text."""
    upload = form.get(BUNDLE_FILE)
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(most + 1)
        if len(data) > most:
            raise BundleRefused(marked("The file is larger than %(most)s MB."), most=f"{most / (1024 * 1024):.0f}")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BundleRefused(marked("The file is not text in UTF-8: a FHIR JSON file is.")) from None
    text = form.get(BUNDLE_TEXT)
    if isinstance(text, str) and text.strip():
        return text
    raise BundleRefused(marked("Choose a file or paste a FHIR Bundle first."))


def _bundle(text: str) -> dict[str, object]:
    """The Bundle in ``text``, or ``BundleRefused`` naming what is wrong."""
    try:
        data = strict_json.loads(text)
    except strict_json.NotFiniteNumber as error:
        where = strict_json.path_text(error.path)
        if where:
            raise BundleRefused(
                marked(
                    "This Bundle holds %(token)s (at %(where)s), which is not a number: NaN, Infinity and numbers "
                    "beyond about 1.8e308 cannot be read. Check the exporting system."
                ),
                token=error.token,
                where=where,
            ) from None
        raise BundleRefused(
            marked(
                "This Bundle holds %(token)s, which is not a number: NaN, Infinity and numbers beyond about 1.8e308 "
                "cannot be read. Check the exporting system."
            ),
            token=error.token,
        ) from None
    except RecursionError:
        raise BundleRefused(marked("This JSON is nested too deeply to be a FHIR Bundle.")) from None
    except json.JSONDecodeError as error:
        raise BundleRefused(
            marked("This is not valid JSON (line %(line)s, column %(column)s: %(why)s)."),
            line=error.lineno,
            column=error.colno,
            why=error.msg,
        ) from None
    if not isinstance(data, dict):
        raise BundleRefused(marked("This is not a FHIR Bundle: a Bundle is a JSON object with resourceType Bundle."))
    if data.get("resourceType") != "Bundle":
        found = data.get("resourceType")
        if found is None:
            raise BundleRefused(
                marked(
                    "This is not a FHIR Bundle (it has no resourceType). Export a Bundle from the other system, "
                    "or put the resources in a collection Bundle."
                )
            )
        raise BundleRefused(
            marked(
                "This is not a FHIR Bundle (its resourceType is %(found)s). Export a Bundle from the other system, "
                "or put the resources in a collection Bundle."
            ),
            found=repr(found),
        )
    if data.get("entry") is not None and not isinstance(data["entry"], list):
        raise BundleRefused(marked("The Bundle's entry is not a list of entries."))
    if unstorable_text(data) is not None:
        raise BundleRefused(
            marked("The Bundle holds text with NUL characters or broken Unicode, which cannot be stored.")
        )
    return data


@router.get("/patients/import")
def import_form(request: Request, work: ClinicianPage) -> Response:
    """Upload or paste a FHIR Bundle."""
    return page(request, "fhir_import.html", {"error": None, "pasted": ""}, work)


@router.post("/patients/import")
async def import_page(request: Request, kb: KB, work: ClinicianPage) -> Response:
    """Read the Bundle: what it gave, what was not used and why, conflicts; then the new-patient form with the
    imported record, to check, name and save (or a page saying why the Bundle cannot be read)."""
    form = await request.form()
    pasted = form.get(BUNDLE_TEXT)
    try:
        # The same limit as the whole request's (``ALLPATH_MAX_FHIR_BODY_BYTES``), which the guard enforced.
        bundle = _bundle(await _bundle_text(form, request.app.state.settings.body_limits.fhir))
    except BundleRefused as refusal:
        work.audit("import", "fhir_bundle", outcome="invalid", detail="web")
        kept = pasted if isinstance(pasted, str) and len(pasted) <= PASTE_KEPT_CHARS else ""
        if unstorable_text(kept) is not None:
            kept = ""
        with in_page_language(request, work):
            error = refusal.local()
        return page(request, "fhir_import.html", {"error": error, "pasted": kept}, work, 422)
    result = import_bundle(bundle)
    work.audit(
        "import",
        "fhir_bundle",
        detail=f"web: {len(result.mapped)} mapped, {len(result.ignored)} ignored, {len(result.conflicts)} conflicts",
    )
    imported: ImportedView = {
        "fields": list(dict.fromkeys(m["field"] for m in result.mapped)),
        "mapped": result.mapped,
        "ignored": result.ignored,
        "conflicts": result.conflicts,
        "bounds": result.bounds,
        "assumptions": result.assumptions,
    }
    return form_page(request, kb, work, record=result.record, display_name="", patient=None, imported=imported)


@router.get("/patients/{patient_id}/second-opinion.json")
def second_opinion_download(request: Request, patient_id: str, kb: KB, work: CareOrFamilyPage) -> Response:
    """The second-opinion package (FHIR R4 Bundle) of the latest record and its assessment, as a file."""
    patient = visible_patient(work, patient_id, family_allowed=True)
    try:
        # The trials to ask about: open studies, marked possibly outdated after the operator's threshold.
        trials = TrialSearchOptions(outdated_after_days=request.app.state.settings.trials_outdated_days)
        package = service.patient_package(work, kb, patient, detail="web", refusal_detail="web", trials=trials)
    except RecordError:
        # A page, not a raised error: the audit entry commits with the response.
        message = marked("The stored record can no longer be read, so there is no package for it.")
        title = marked("No second-opinion package")
        return page(request, "error.html", {"title": title, "message": message}, work, 409)
    bundle = package_bundle(package.result)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="allpath-second-opinion-v{patient.current_version}.json"',
    }
    body = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    return Response(body, media_type=f"{MEDIA_TYPE}; charset=utf-8", headers=headers)
