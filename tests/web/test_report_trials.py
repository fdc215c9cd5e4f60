"""The "Trials to ask about" section of the family report (issue 13): on the web page (with its search form),
in the PDF and in the API's HTML document, with the registry's date and the reminder that only the care team
can confirm; it reads at grade 8 or below for every example patient, as the rest of the report does
(``tests/web/test_report_reading.py``), and the section on its own too."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import textstat  # type: ignore[import-untyped]  # the package ships no type information

from tests.web.conftest import User, WebApp
from tests.web.test_plain_words import leaks
from tests.web.test_report_reading import GRADE_AT_MOST, prose
from tests.web.test_trials_page import AALL1731, _patient, _section, _words

CONFIRM = "Only your child's care team and the study team can say if your child can join a study."
REGISTRY_DATE = re.compile(r"This list comes from a copy of the ClinicalTrials\.gov list made on \d{1,2} \w+ \d{4}")
OMAHA = "near=Omaha%2C+NE&status=any"


def test_the_family_report_has_the_section_with_the_registry_date_and_the_reminder(family: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    page = family.get(f"/patients/{child}/report")
    assert page.status_code == 200
    section = _section(page.text)
    words = _words(section)
    assert "<h2>Trials to ask about</h2>" in section
    assert CONFIRM in words and REGISTRY_DATE.search(words)
    assert "No place was given, so this list does not say how far away each study is." in words
    # Its search form: a place, how far, which studies; it reloads the report (no script needed).
    assert f'action="/patients/{child}/report#trials"' in section
    assert 'name="near"' in section and 'name="radius_km"' in section and 'name="status"' in section
    # The section comes after the plan and before the care team.
    text = _words(page.text)
    assert text.index("Trials to ask about") < text.index("Who is on the care team")


def test_a_place_gives_distances_in_the_page_and_its_pdf(clinician: User, tmp_path: Path) -> None:
    child = _patient(clinician, "Example standard risk")
    page = clinician.get(f"/patients/{child}/report?{OMAHA}")
    words = _words(_section(page.text))
    assert "Distances are from Omaha, Nebraska, United States." in words
    assert "the nearest site is Nebraska Medicine, Omaha, Nebraska, United States, about 0.5 km" in words
    assert f"Study number: {AALL1731}." in words
    assert 'value="Omaha, NE"' in page.text and 'value="any" selected' in page.text
    # The PDF of the page is made with the same search.
    pdf_link = f"/patients/{child}/report.pdf?near=Omaha%2C+NE&amp;status=any"
    assert f'href="{pdf_link}"' in page.text
    pdftotext = shutil.which("pdftotext")
    pdf = clinician.get(pdf_link.replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    if pdftotext is None:  # the PDF's text is checked where poppler is installed (scripts/test installs it)
        return
    target = tmp_path / "report.pdf"
    target.write_bytes(pdf.content)
    text = " ".join(subprocess.run([pdftotext, str(target), "-"], capture_output=True, text=True).stdout.split())
    assert "Trials to ask about" in text and "Distances are from Omaha, Nebraska, United States." in text
    assert CONFIRM in text and REGISTRY_DATE.search(text)


def test_the_api_document_has_the_open_studies_without_a_place(family: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    document = family.get(f"/api/patients/{child}/report.html?near=Omaha%2C+NE")
    assert document.status_code == 200
    words = _words(document.text)
    assert "Trials to ask about" in words and CONFIRM in words
    assert "No place was given" in words  # the API's document takes no search of its own
    assert "<form" not in document.text


def test_an_unknown_place_is_said_in_plain_words_and_the_report_still_shows(family: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    page = family.get(f"/patients/{child}/report?near=Nowhereville+Xq")
    assert page.status_code == 200
    section = _section(page.text)
    assert "<strong>Place:</strong>" in section
    assert 'No city called "Nowhereville Xq" was found' in section.replace("&#34;", '"').replace("&quot;", '"')
    assert re.search(r'id="report-trials-near"[^>]*aria-invalid="true"', section, re.S)
    assert "Fever during treatment" in page.text and CONFIRM in _words(section)
    assert leaks(_words(section)) == []


def test_the_trials_section_reads_at_grade_8_or_below_for_every_example(clinician: User) -> None:
    links = sorted(set(re.findall(r'href="(/patients/[0-9a-f-]{36})"', clinician.get("/patients").text)))
    assert len(links) >= 20
    grades: dict[str, tuple[float, float]] = {}
    for link in links:
        page = clinician.get(f"{link}/report?{OMAHA}")  # a place and every status: the most studies shown
        assert page.status_code == 200, link
        section = _section(page.text)
        assert "Trials to ask about" in section
        grades[link] = (
            textstat.flesch_kincaid_grade(prose(section)),
            textstat.flesch_kincaid_grade(prose(page.text)),
        )
        assert leaks(_words(section)) == [], link
    too_hard = {link: grade for link, grade in grades.items() if max(grade) > GRADE_AT_MOST}
    assert too_hard == {}
