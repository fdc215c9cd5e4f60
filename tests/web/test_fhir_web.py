"""FHIR in the web app: the second-opinion package download on the patient page and the family report, and the
"Import from FHIR" page that fills the new-patient form (saved through the ordinary create-patient flow)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from allpath.interfaces.fhir import import_bundle, record_to_bundle
from allpath.storage import patients as patient_store
from allpath.storage import tables as t
from tests.conftest import EXAMPLES
from tests.fhir.test_export import validate_every_entry
from tests.web.conftest import LiveServer, User, WebApp
from tests.web.test_browser import DESKTOP, PHONE, _no_sideways_scroll, _sign_in
from tests.web.test_treatment import STARTED, _create, _family_of, _text

FHIR_JSON = "application/fhir+json"
IMPORTED = {
    "id": "fhir-web-1",
    "sex": "female",
    "birth_date": "2019-04-02",
    "diagnosis_date": "2024-03-01",
    "weight_kg": 17.5,
    "height_cm": 104.0,
    "immunophenotype": "B",
    "wbc_per_ul": 8500,
    "genetics": ["ETV6::RUNX1"],
    "cns_status": "CNS1",
    "down_syndrome": False,
    "treatment_start_date": "2024-03-04",
    "response": {"day8_blood_mrd_pct": 0.004, "end_of_induction_remission": True},
    "pharmacogenomics": {"tpmt": "normal"},
    "relapses": [{"months_from_diagnosis": 40, "sites": ["bone_marrow"]}],
    "exposures": {"courses": [{"drug": "doxorubicin", "date": "2024-05-06", "dose_mg_per_m2": 25}]},
}


class FormValues(HTMLParser):
    """The values a browser would submit for the first form posting to ``action``: inputs (checked boxes only),
    the selected option of each select, and textareas."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.done = False
        self.values: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: tuple[str, str] | None = None
        self._chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("action") == self.action:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first_option, self._chosen = a.get("name"), None, False
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = (self._select, a.get("value", ""))
            if "selected" in a and not self._chosen:
                self.values.append((self._select, a.get("value", "")))
                self._chosen = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            if not self._chosen and self._first_option is not None:
                self.values.append(self._first_option)
            self._select = None
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def _form_values(html: str, action: str) -> dict[str, list[str]]:
    """The submitted values by name (a list each: tokens repeat their name)."""
    parser = FormValues(action)
    parser.feed(html)
    assert parser.done, f"no form posting to {action}"
    values: dict[str, list[str]] = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value)
    return values


def _import(user: User, bundle: Any, **kwargs: Any) -> Any:
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    return user.post("/patients/import", {"bundle_text": text}, **kwargs)


def _audit(web: WebApp, resource: str) -> list[t.AuditEntry]:
    with web.app.state.sessions() as s:
        return list(s.scalars(select(t.AuditEntry).where(t.AuditEntry.resource == resource)))


# ---- the second-opinion package -------------------------------------------------------------------------


def test_the_patient_page_offers_the_package_and_it_downloads(clinician: User, web: WebApp) -> None:
    pid = _create(clinician, STARTED | {"display_name": "Package child"})
    page = clinician.get(f"/patients/{pid}").text
    assert f'href="/patients/{pid}/second-opinion.json" download>Second-opinion package (FHIR)</a>' in page
    response = clinician.get(f"/patients/{pid}/second-opinion.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{FHIR_JSON}; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="allpath-second-opinion-v1.json"'
    assert response.headers["cache-control"] == "no-store"
    bundle = response.json()
    validate_every_entry(bundle)
    with web.app.state.sessions() as s:
        patient = patient_store.get_patient(s, pid)
        assert patient is not None
        stored = patient_store.current_version(s, patient).record
        risk_group = patient_store.latest_assessment(s, patient).risk_group
    assert import_bundle(bundle).record == stored
    risk = next(e["resource"] for e in bundle["entry"] if "meta" in e["resource"])
    assert risk["valueCodeableConcept"]["coding"][-1]["code"] == f"risk_group.{risk_group}"
    categories = {
        e["resource"]["category"][0]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "CarePlan" and "category" in e["resource"]
    }
    assert categories == {"treatment-roadmap", "survivorship-care-plan"}
    assert "Package child" not in response.text  # no name in the file
    assert (pid, "ok", "web") in {(e.resource_id, e.outcome, e.detail) for e in _audit(web, "second_opinion")}


def test_the_family_report_offers_the_package_in_plain_words(clinician: User, web: WebApp) -> None:
    pid = _create(clinician, STARTED | {"display_name": "Family package child"})
    family = _family_of(web, clinician, pid, "package.family")
    html = family.get(f"/patients/{pid}/report").text
    assert f'href="/patients/{pid}/second-opinion.json" download' in html
    assert "a file with your child's results and plan that another hospital's system can read" in _text(html).replace(
        "&#39;", "'"
    )
    response = family.get(f"/patients/{pid}/second-opinion.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith(FHIR_JSON)
    validate_every_entry(response.json())
    # not for another child
    other = family.get(f"/patients/{web.ids['not_family']}/second-opinion.json")
    assert other.status_code == 404 and "application/fhir+json" not in other.headers["content-type"]


def test_nobody_else_gets_the_package(clinician: User, researcher: User, anonymous: TestClient, web: WebApp) -> None:
    other = clinician.get(f"/patients/{web.ids['other_team']}/second-opinion.json")
    assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
    assert researcher.get(f"/patients/{web.ids['family_child']}/second-opinion.json").status_code == 403
    redirect = anonymous.get(f"/patients/{web.ids['family_child']}/second-opinion.json")
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/signin?next=")


# ---- import --------------------------------------------------------------------------------------------


def test_the_import_page_is_for_clinicians(clinician: User, family: User, researcher: User) -> None:
    page = clinician.get("/patients/import")
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html and 'name="bundle_file"' in html and 'name="bundle_text"' in html
    assert f'name="csrf_token" value="{clinician.csrf}"' in html
    assert 'href="/patients/import"' in clinician.get("/patients").text
    assert family.get("/patients/import").status_code == 403
    assert researcher.get("/patients/import").status_code == 403


def test_an_imported_bundle_fills_the_new_patient_form_and_saves_as_a_patient(clinician: User, web: WebApp) -> None:
    bundle = record_to_bundle(IMPORTED)
    response = _import(clinician, bundle)
    assert response.status_code == 200, response.text[:2000]
    html = response.text
    assert "<h1>New patient from FHIR</h1>" in html
    summary = html[html.index('id="import-summary"') : html.index("</section>", html.index('id="import-summary"'))]
    for field in ("sex", "birth_date", "wbc_per_ul", "genetics", "relapses", "exposures.courses"):
        assert f'data-field="{field}"' in summary, field  # the page itself shows the field's label
    assert "import-conflicts" not in summary
    # the ordinary new-patient form, with its inline validation, filled with the record
    assert 'action="/patients/new"' in html and 'hx-post="/patients/check"' in html
    assert re.search(r'name="wbc_per_ul" value="8500"', html)
    assert re.search(r'name="exposures\.courses\[0\]\.drug"', html)
    values = _form_values(html, "/patients/new")
    assert values["csrf_token"] == [clinician.csrf]
    check = clinician.client.post("/patients/check", data=values)
    assert check.status_code == 200 and "field-error__item" not in check.text
    values["display_name"] = ["Imported child"]
    saved = clinician.client.post("/patients/new", data=values, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:3000]
    pid = saved.headers["location"].rsplit("/", 1)[1]
    with web.app.state.sessions() as s:
        patient = patient_store.get_patient(s, pid)
        assert patient is not None and patient.display_name == "Imported child"
        assert patient_store.current_version(s, patient).record == IMPORTED
    details = [e.detail for e in _audit(web, "fhir_bundle") if e.outcome == "ok"]
    assert f"web: {len(import_bundle(bundle).mapped)} mapped, 0 ignored, 0 conflicts" in details


def test_an_uploaded_file_is_read_too(clinician: User) -> None:
    record = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
    data = json.dumps(record_to_bundle(record)).encode()
    response = clinician.post("/patients/import", files={"bundle_file": ("package.json", data, FHIR_JSON)})
    assert response.status_code == 200, response.text[:2000]
    assert "<h1>New patient from FHIR</h1>" in response.text
    assert re.search(r'name="id" value="standard_risk"', response.text)


def test_conflicts_and_ignored_resources_are_shown_and_left_out(clinician: User) -> None:
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle({"age_years": 4, "wbc_per_ul": 10_000})))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    other = json.loads(json.dumps(wbc))
    other["fullUrl"] = "urn:uuid:00000000-0000-5000-8000-000000000003"
    other["resource"]["valueQuantity"]["value"] = 60
    bundle["entry"] += [other, {"resource": {"resourceType": "Encounter", "status": "finished"}}]
    html = _import(clinician, bundle).text
    conflicts = _text(
        html[html.index('id="import-conflicts"') : html.index("</div>", html.index('id="import-conflicts"'))]
    )
    assert "white blood cell count at diagnosis (per microliter): 10000 (from Observation" in conflicts
    assert "60000 (from Observation" in conflicts and "wbc_per_ul" not in conflicts
    assert "Left out: the sources disagree" in conflicts
    assert re.search(r'name="wbc_per_ul" value=""', html)  # left for the clinician to enter
    assert "Encounter (entry 4): allpath reads no Encounter resources" in _text(html)


def test_a_value_given_as_a_bound_is_shown_and_left_out(clinician: User) -> None:
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle({"age_years": 4, "wbc_per_ul": 10_000})))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    wbc["resource"]["valueQuantity"] |= {"value": 500, "comparator": ">"}
    html = _import(clinician, bundle).text
    bounds = _text(html[html.index('id="import-bounds"') : html.index("</div>", html.index('id="import-bounds"'))])
    assert "White count: more than 500,000 per microliter (Observation" in bounds
    assert "Given only as a bound" in bounds and "Not an exact value" in bounds
    assert re.search(r'name="wbc_per_ul" value=""', html)  # left for the clinician to enter


def test_the_choice_by_time_is_shown_with_its_assumption(clinician: User) -> None:
    """A Synthea bundle (no diagnosis date, two white counts years apart): the page says what it assumed, gives
    the date of the count it took and why, and lists the other count as not used with the window it missed."""
    from tests.conftest import require_shared

    path = require_shared() / "fhir-samples" / "synthea" / "Alberto_Armstrong_dc9335d0-bbdd-4120-8ae9-baa6604343b6.json"
    html = _import(clinician, path.read_text(encoding="utf-8")).text
    notice = html[html.index('id="import-assumptions"') : html.index("</div>", html.index('id="import-assumptions"'))]
    assert "No diagnosis date in the data: the diagnostic values are those of the most recent data" in _text(notice)
    start = html.index('data-field="wbc_per_ul"')
    row = _text(html[start : html.index("</tr>", start)])
    assert "2018-12-31" in row and "nearest the assumed diagnosis date, 2018-12-31 (on the same day)" in row
    assert "dated 2013-12-02: outside the window" in _text(html[html.index('id="import-ignored"') :])


def test_what_is_not_a_bundle_is_refused_with_the_reason(clinician: User, web: WebApp) -> None:
    before = sum(1 for e in _audit(web, "fhir_bundle") if e.outcome == "invalid")
    cases = [
        ("{not json", "This is not valid JSON (line 1, column 2"),
        (json.dumps({"resourceType": "Patient"}), "This is not a FHIR Bundle (its resourceType is &#39;Patient&#39;)"),
        (json.dumps([1, 2]), "This is not a FHIR Bundle: a Bundle is a JSON object"),
        (json.dumps({"resourceType": "Bundle", "entry": 3}), "The Bundle&#39;s entry is not a list"),
        (json.dumps({"resourceType": "Bundle", "id": "\ud800"}), "broken Unicode"),
        ("   ", "Choose a file or paste a FHIR Bundle first."),
    ]
    for text, message in cases:
        response = _import(clinician, text)
        assert response.status_code == 422, text
        assert message in response.text, (text, response.text[:3000])
        assert "The Bundle could not be read" in response.text
    kept = _import(clinician, "{not json").text
    assert "{not json</textarea>" in kept  # what was pasted stays in the box
    after = sum(1 for e in _audit(web, "fhir_bundle") if e.outcome == "invalid")
    assert after - before == len(cases) + 1


def test_import_needs_the_csrf_token(clinician: User) -> None:
    response = clinician.post("/patients/import", {"bundle_text": "{}"}, csrf=False)
    assert response.status_code == 403 and "security token" in response.text


# ---- in a browser ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_import_and_save_in_a_browser(browser: Any, live_server: LiveServer, screenshots: Path) -> None:
    """Paste a Bundle, read what it gave, name the child and save: the patient page, with the package link.
    At phone width the import page and the filled form do not scroll sideways."""
    from playwright.sync_api import expect

    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        try:
            _sign_in(page, live_server, "dr.rivera")
            page.get_by_role("link", name="Import from FHIR").click()
            expect(page.locator("h1")).to_have_text("Import a patient from FHIR")
            suffix = "375" if viewport is PHONE else "desktop"
            if viewport is PHONE:
                _no_sideways_scroll(page)
            page.screenshot(path=screenshots / f"fhir-import-{suffix}.png", full_page=True)
            page.get_by_label("Or paste the Bundle").fill(json.dumps(record_to_bundle(IMPORTED)))
            page.get_by_role("button", name="Read the Bundle").click()
            expect(page.locator("h1")).to_have_text("New patient from FHIR")
            expect(page.locator("#import-summary")).to_contain_text("white blood cell count at diagnosis")
            expect(page.get_by_label("White blood cell count at diagnosis (cells per microliter)")).to_have_value(
                "8500"
            )
            if viewport is PHONE:
                _no_sideways_scroll(page)
            page.screenshot(path=screenshots / f"fhir-import-form-{suffix}.png", full_page=True)
            page.get_by_label("Name shown in allpath").fill(f"Browser import {suffix}")
            page.get_by_role("button", name="Save and assess").click()
            expect(page.locator("h1")).to_have_text(f"Browser import {suffix}")
            with page.expect_download() as download:
                page.get_by_role("link", name="Second-opinion package (FHIR)").click()
            saved = screenshots.parent / f"second-opinion-{suffix}.json"
            download.value.save_as(saved)
            assert import_bundle(json.loads(saved.read_text(encoding="utf-8"))).record == IMPORTED
        finally:
            context.close()
