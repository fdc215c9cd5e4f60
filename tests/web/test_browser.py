"""Browser tests: Debian's chromium (headless, through Playwright) against the app served by uvicorn.

The main scenario is a clinician's: sign in, enter a patient with an impossible white count, read the
inline error, correct it, see the risk group, add an end-of-induction MRD and read what changed, then open
the family report and its PDF. Then the access rules from a family's and a researcher's browser, and
screenshots of the main pages at desktop and phone width (in artifacts/screenshots/).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORDS, LiveServer, require_tool

# The form names the white count by its label (domain/labels.yaml), never by its record path.
WBC_REFUSED = "white blood cell count at diagnosis (per microliter): -5 is not allowed"

pytestmark = pytest.mark.slow

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
UUID_PATH = re.compile(r".*/patients/([0-9a-f-]{36})$")
CHANGE = "risk group: standard -> very high, because end-of-induction bone marrow MRD 1.2 %"


def pdf_text(path: Path) -> str:
    """The text of a PDF: ``pdftotext`` (poppler-utils) or else the ``pypdf`` package."""
    tool = shutil.which("pdftotext")
    if tool:
        return subprocess.run([tool, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    if importlib.util.find_spec("pypdf") is not None:
        import pypdf

        return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)
    require_tool(None, "pdftotext (apt-get install poppler-utils) or pypdf")
    return ""


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _sign_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(f"{server.url}/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORDS.get(username, ""))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    _expect()(page.get_by_role("button", name="Sign out")).to_be_visible()


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is wider than the screen: {width} px"


@pytest.fixture(scope="module")
def scenario(browser: Any, live_server: LiveServer, screenshots: Path) -> dict[str, str]:
    """The clinician's scenario (run once; the tests below check what it left behind)."""
    expect = _expect()
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    found: dict[str, str] = {}
    try:
        # The sign-in page; the first Tab reaches the skip link, and it shows.
        page.goto(f"{live_server.url}/signin")
        page.screenshot(path=screenshots / "signin-desktop.png", full_page=True)
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.className") == "skip-link"
        expect(page.locator(".skip-link")).to_be_in_viewport()
        for _ in range(5):  # then the site name, the two languages of the switch, then the first input
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == "username":
                break
        assert page.evaluate("() => document.activeElement.id") == "username"
        page.screenshot(path=screenshots / "signin-focus-desktop.png")
        _sign_in(page, live_server, "dr.rivera")
        expect(page).to_have_url(f"{live_server.url}/patients")
        page.screenshot(path=screenshots / "patients-desktop.png", full_page=True)

        # Searching as one types (htmx swaps the rows).
        page.get_by_label("Search by name or record id").fill("infant")
        expect(page.locator("#patient-rows")).to_contain_text("Example infant")
        expect(page.locator("#patient-rows")).not_to_contain_text("Example standard risk")
        expect(page.locator("#search-status")).to_have_text("1 patient matching \u201cinfant\u201d")

        # A new patient with a white count of -5: the inline error names the field, while typing and on saving.
        page.get_by_role("link", name="New patient").first.click()
        page.get_by_label("Name shown in allpath").fill("Browser test child")
        page.get_by_label("Sex").select_option("female")
        page.get_by_label("Age at diagnosis (years)").fill("4")
        page.get_by_label("Lineage (immunophenotype)").select_option("B")
        wbc = page.get_by_label("White blood cell count at diagnosis (cells per microliter)")
        wbc.fill("-5")
        wbc.press("Tab")
        expect(page.locator("#e-wbc_per_ul")).to_contain_text(WBC_REFUSED)
        page.get_by_role("button", name="Save and assess").click()
        expect(page.locator("#e-wbc_per_ul")).to_contain_text(WBC_REFUSED)
        expect(page.locator(".error-summary")).to_contain_text("nothing was stored")
        described = wbc.get_attribute("aria-describedby") or ""
        assert "e-wbc_per_ul" in described.split()
        assert wbc.get_attribute("aria-invalid") == "true"
        expect(wbc).to_have_accessible_description(re.compile(re.escape(WBC_REFUSED)))
        page.screenshot(path=screenshots / "patient-form-error-desktop.png", full_page=True)

        # Corrected, with the first day of treatment: the expected risk group and a dated roadmap.
        wbc.fill("12000")
        page.get_by_label("Treatment start date", exact=True).fill("2026-01-05")
        page.get_by_role("button", name="Save and assess").click()
        expect(page).to_have_url(UUID_PATH)
        found["patient"] = UUID_PATH.match(page.url).group(1)  # type: ignore[union-attr]
        expect(page.locator("#risk .card").first.locator(".badge")).to_have_text("standard risk")
        expect(page.locator(".notice--warning").first).to_contain_text("Provisional.")
        expect(page.locator("#phases .step__dates").first).to_contain_text("2026-01-05 to 2026-02-01")
        expect(page.locator("#phases .checkpoint").first).to_contain_text("2026-01-12")
        expect(page.locator("#phases .timeline__phase--end")).to_contain_text("2028-03-01")
        page.locator("#phases").screenshot(path=screenshots / "roadmap-desktop.png")
        with page.expect_download() as calendar:
            page.get_by_role("link", name="Download the calendar (.ics)").click()
        ics = screenshots.parent / "roadmap.ics"
        calendar.value.save_as(ics)
        assert ics.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")

        # End-of-induction MRD 1.2 %: the change and its reason.
        page.get_by_role("link", name="Edit record").click()
        page.get_by_label("End-of-induction bone marrow MRD (%)").fill("1.2")
        page.get_by_role("button", name="Save a new version").click()
        expect(page.locator("#changes")).to_contain_text(CHANGE)
        expect(page.locator("#risk .card").first.locator(".badge")).to_have_text("very high risk")
        expect(page.locator("#history")).to_contain_text(CHANGE)
        expect(page.locator("#phases .roadmap-not-covered")).to_contain_text("very-high-risk ALL")
        page.screenshot(path=screenshots / "patient-desktop.png", full_page=True)

        # A citation leads to its section of the source.
        page.locator("#risk .cite a").first.click()
        expect(page).to_have_url(re.compile(r"/sources/pdq#[a-z0-9-]+$"))
        anchor = page.url.split("#", 1)[1]
        expect(page.locator(f"li#{anchor}")).to_be_visible()
        page.screenshot(path=screenshots / "source-desktop.png")
        page.go_back()

        # The family report, and its PDF.
        page.get_by_role("link", name="Family report", exact=True).click()
        expect(page.locator("h1")).to_contain_text("Family report for")
        expect(page.locator(".report")).to_contain_text("very high risk")
        # The fever box comes first: during treatment any fever is an emergency (clinical-facts.md 10d).
        fever = page.get_by_role("heading", name="Fever during treatment: call the care team at once")
        expect(fever).to_be_visible()
        expect(page.locator(".report")).to_contain_text("38 °C (100.4 °F) or higher")
        expect(page.locator(".report")).to_contain_text("Do not give medicine for fever unless the care team")
        page.screenshot(path=screenshots / "report-desktop.png", full_page=True)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download as PDF").click()
        pdf = screenshots.parent / "family-report.pdf"
        download.value.save_as(pdf)
        found["pdf"] = str(pdf)
    finally:
        context.close()
    return found


def test_clinician_scenario_and_pdf(scenario: dict[str, str]) -> None:
    text = re.sub(r"\s+", " ", pdf_text(Path(scenario["pdf"])))
    assert "Family report for" in text
    assert "Your child's risk group is: very high risk" in text
    assert "allpath is decision support for the care team, not a prescription" in text
    # The fever box, read from the PDF the family downloads.
    assert "Fever during treatment: call the care team at once" in text
    assert "38 °C (100.4 °F) or higher" in text and "Call day or night." in text
    assert text.index("Fever during treatment") < text.index("Where things stand")
    assert "Questions you may want to ask" in text


def test_family_cannot_open_another_child(browser: Any, live_server: LiveServer, scenario: dict[str, str]) -> None:
    expect = _expect()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "family.demo")
        expect(page).to_have_url(f"{live_server.url}/patients/{live_server.ids['family_child']}/report")
        expect(page.locator("h1")).to_contain_text("Family report for")
        for path in [f"/patients/{scenario['patient']}", f"/patients/{live_server.ids['not_family']}/report"]:
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 404, path
            expect(page.locator("h1")).to_have_text("No such patient")
    finally:
        context.close()


def test_researcher_export_has_no_names_or_birth_dates(
    browser: Any, live_server: LiveServer, scenario: dict[str, str], tmp_path: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    try:
        _sign_in(page, live_server, "researcher")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download JSON").click()
        target = tmp_path / "export.json"
        download.value.save_as(target)
    finally:
        context.close()
    text = target.read_text(encoding="utf-8")
    rows = json.loads(text)
    assert len(rows) >= 28
    assert "Browser test child" not in text and "Example " not in text and "Other team child" not in text
    assert scenario["patient"] not in text
    assert "birth_date" not in text and "diagnosis_date" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)


def test_phone_width_screenshots(
    browser: Any, live_server: LiveServer, scenario: dict[str, str], screenshots: Path
) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/signin")
        _no_sideways_scroll(page)
        page.screenshot(path=screenshots / "signin-375.png", full_page=True)
        _sign_in(page, live_server, "dr.rivera")
        for name, path in [
            ("patients", "/patients"),
            ("patient", f"/patients/{scenario['patient']}"),
            ("report", f"/patients/{scenario['patient']}/report"),
            ("patient-form", f"/patients/{scenario['patient']}/edit"),
        ]:
            page.goto(live_server.url + path)
            _no_sideways_scroll(page)
            page.screenshot(path=screenshots / f"{name}-375.png", full_page=True)
        # The dose tables and the survivorship plan of an example with weight and height, stacked on a phone.
        page.goto(f"{live_server.url}/patients?q=Example standard risk")
        page.get_by_role("link", name="Example standard risk").click()
        _expect()(page.locator("#doses")).to_contain_text("Body surface area")
        _no_sideways_scroll(page)
        page.screenshot(path=screenshots / "patient-doses-375.png", full_page=True)
    finally:
        context.close()
