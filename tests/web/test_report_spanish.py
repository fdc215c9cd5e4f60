"""The family report in Spanish on the web (issue 14): the page, its PDF and the language a clinician prints it
in. The report's knowledge texts come from the Spanish knowledge base (``load_knowledge(locale="es")``), the
page's own words from the Spanish catalog, and the review notice of an unreviewed translation is in both the
page and the PDF. The PDF's text, read back with poppler's ``pdftotext``, has the Spanish letters and signs the
HTML has, and every font of the PDF is embedded.

The sentences the report's code writes (``interfaces/report``) are translated by their own change; these
tests read only what the knowledge base and the catalogs give, so they hold whether those are English or not.

This module has an app of its own: it changes the family account's preferred language, which the shared app's
other tests must not see.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service import UnitOfWork, create_patient
from allpath.storage import users as user_store
from tests.web.conftest import User, WebApp, _seed, _settings, sign_in

SPANISH_SIGNS = ("á", "é", "í", "ó", "ú", "ñ", "¿", "¡")
# The Spanish report's own texts have no '¡' (nothing in it is exclaimed), so the child's name carries one:
# the name is printed in the report's title, in the page and in the PDF alike.
CHILD_NAME = "Begoña (¡Bego!) Ibáñez"
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def spanish_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    data_dir = tmp_path_factory.mktemp("web-spanish")
    app = create_app(_settings(data_dir))
    ids = _seed(app.state.sessions, data_dir)
    with app.state.sessions() as s, s.begin():
        clinician = user_store.get_user(s, "dr.rivera")
        assert clinician is not None
        named = create_patient(UnitOfWork(s, clinician), load_knowledge(), CHILD_NAME, {"age_years": 4})
        ids["named_child"] = named.patient.id
    yield WebApp(app, ids)


@pytest.fixture(scope="module")
def es() -> KnowledgeBase:
    return load_knowledge(locale="es")


def _prefer(web: WebApp, username: str, language: str | None) -> None:
    with web.app.state.sessions() as s, s.begin():
        user = user_store.get_user(s, username)
        assert user is not None
        user.preferred_language = language


def _words(page: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", page)).split())


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    target = tmp_path / "report.pdf"
    target.write_bytes(pdf)
    done = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())


def _unembedded_fonts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The rows of ``pdffonts`` whose font is not embedded (its ``emb`` column is the fifth from the end)."""
    target = tmp_path / "fonts.pdf"
    target.write_bytes(pdf)
    rows = subprocess.run(["pdffonts", str(target)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = rows[2:]  # a header and a rule first
    assert fonts, "the PDF names its fonts"
    return [row for row in fonts if row.split()[-5] != "yes"]


needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler reads the PDF's text (scripts/test installs it)",
)


def test_the_page_in_spanish_reads_the_spanish_knowledge_and_the_review_notice(
    spanish_web: WebApp, es: KnowledgeBase
) -> None:
    family = sign_in(spanish_web.app, "family.demo")
    page = family.get(f"/patients/{spanish_web.ids['family_child']}/report?lang=es")
    assert page.status_code == 200
    words = _words(page.text)
    assert '<html lang="es"' in page.text
    assert es.text.family_disclaimer in words
    assert es.text.fever_during_treatment.title in words
    assert es.translation is not None and not es.translation.reviewed_by_clinician
    assert es.translation.review_notice in words
    assert "Descargar en PDF" in words  # the page's own words, from the catalog
    # The same page in English has none of these, and no notice.
    english = _words(family.get(f"/patients/{spanish_web.ids['family_child']}/report?lang=en").text)
    assert es.text.family_disclaimer not in english and es.translation.review_notice not in english
    assert load_knowledge().text.family_disclaimer in english


def test_a_family_that_prefers_spanish_gets_the_pdf_in_spanish_by_default(
    spanish_web: WebApp, es: KnowledgeBase, tmp_path: Path
) -> None:
    _prefer(spanish_web, "family.demo", "es")
    try:
        family = sign_in(spanish_web.app, "family.demo")
        pdf = family.get(f"/patients/{spanish_web.ids['family_child']}/report.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert pdf.headers["content-language"] == "es"
    finally:
        _prefer(spanish_web, "family.demo", None)


def test_a_clinician_keeps_english_pages_and_prints_in_the_familys_language(
    spanish_web: WebApp, es: KnowledgeBase
) -> None:
    child = spanish_web.ids["family_child"]
    clinician: User = sign_in(spanish_web.app, "dr.rivera")
    # No language chosen by the family: the PDF is in the page's language, offered in the other one too.
    page = clinician.get(f"/patients/{child}/report")
    assert f'href="/patients/{child}/report.pdf" download hreflang="en"' in page.text
    assert f'href="/patients/{child}/report.pdf?lang=es" download hreflang="es"' in page.text
    assert clinician.get(f"/patients/{child}/report.pdf").headers["content-language"] == "en"
    _prefer(spanish_web, "family.demo", "es")
    try:
        page = clinician.get(f"/patients/{child}/report")
        assert '<html lang="en"' in page.text and "Download as PDF" in page.text  # the clinician's own language
        assert load_knowledge().text.family_disclaimer in _words(page.text)
        assert f'href="/patients/{child}/report.pdf?lang=es" download hreflang="es"' in page.text
        assert f'href="/patients/{child}/report.pdf?lang=en" download hreflang="en"' in page.text
        # Without a ``lang``, the PDF is in the family's language; the link's ``lang`` wins.
        assert clinician.get(f"/patients/{child}/report.pdf").headers["content-language"] == "es"
        assert clinician.get(f"/patients/{child}/report.pdf?lang=en").headers["content-language"] == "en"
        # Printing in Spanish did not change the clinician's pages.
        assert '<html lang="en"' in clinician.get(f"/patients/{child}/report").text
    finally:
        _prefer(spanish_web, "family.demo", None)


@needs_poppler
def test_the_spanish_pdf_renders_the_spanish_letters_and_signs_with_embedded_fonts(
    spanish_web: WebApp, es: KnowledgeBase, tmp_path: Path
) -> None:
    child = spanish_web.ids["named_child"]
    clinician = sign_in(spanish_web.app, "dr.rivera")
    # The HTML document the PDF is made from (the API serves it): the same words, without the page's menus.
    page = _words(clinician.get(f"/api/patients/{child}/report.html?lang=es").text)
    pdf = clinician.get(f"/patients/{child}/report.pdf?lang=es")
    assert pdf.status_code == 200 and pdf.headers["content-language"] == "es"
    text = _pdf_text(pdf.content, tmp_path)
    for sign in SPANISH_SIGNS:
        assert sign in page, f"the Spanish page has {sign}"
        assert sign in text, f"the Spanish PDF's text has {sign}"
    # Words with these letters read the same in the PDF as in the page (no letter lost or replaced).
    spanish_words = {word.strip(".,:;()") for word in page.split() if any(sign in word for sign in SPANISH_SIGNS)}
    pdf_words = {word.strip(".,:;()") for word in text.split()}
    assert {"Begoña", "¡Bego!", "Ibáñez"} <= pdf_words
    missing = sorted(word for word in spanish_words if word and word not in pdf_words)
    assert missing == []
    assert es.translation is not None and es.translation.review_notice in text
    assert es.text.family_disclaimer.split(".")[0] in text
    assert _unembedded_fonts(pdf.content, tmp_path) == []
