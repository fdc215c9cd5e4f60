"""The language of the API's family report documents (issue 14): ``?lang=`` first, then the client's
``Accept-Language`` (negotiated as the pages do, a region falling back to its language), else English; the
document says its language in ``Content-Language`` and in its ``<html lang>``. A Spanish document reads the
Spanish knowledge base's texts and carries the notice that the translation is not yet reviewed.

The sentences the report's code writes are translated by their own change: these tests read what the
knowledge base gives, so they hold whether those sentences are English or not yet.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

import pytest

from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.api.conftest import Service


@pytest.fixture(scope="module")
def es() -> KnowledgeBase:
    return load_knowledge(locale="es")


def _document(service: Service, query: str = "", accept: str | None = None) -> tuple[str, str]:
    headers = {**service.bearer("family"), **({"Accept-Language": accept} if accept is not None else {})}
    response = service.client().get(f"/api/patients/{service.patient_id}/report.html{query}", headers=headers)
    assert response.status_code == 200, response.text[:300]
    return response.headers["content-language"], response.text


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", None, "en"),  # nothing asked: English, as before
        ("?lang=es", None, "es"),
        ("", "es", "es"),
        ("", "es-MX,es;q=0.9,en;q=0.5", "es"),  # a region falls back to its language
        ("", "fr-FR, en;q=0.5", "en"),  # French is not offered; English is the next wanted
        ("", "fr-FR", "en"),  # nothing offered is wanted: English
        ("", "es;q=0, en;q=0.1", "en"),  # q=0 means not wanted
        ("?lang=en", "es", "en"),  # the address's choice wins over the header
        ("?lang=xx", "es", "es"),  # an unsupported ``lang`` is ignored
        ("?lang=ES-mx", None, "es"),
    ],
)
def test_the_document_language_comes_from_lang_then_accept_language(
    module_service: Service, query: str, accept: str | None, expected: str
) -> None:
    language, text = _document(module_service, query, accept)
    assert language == expected
    assert f'<html lang="{expected}">' in text


def test_the_spanish_document_has_the_spanish_knowledge_and_the_review_notice(
    module_service: Service, es: KnowledgeBase
) -> None:
    spanish = html.unescape(_document(module_service, "?lang=es")[1])
    english_document = _document(module_service)[1]
    english = html.unescape(english_document)
    assert es.text.family_disclaimer in spanish and es.text.disclaimer in spanish
    assert es.text.fever_during_treatment.title in spanish
    assert es.translation is not None and not es.translation.reviewed_by_clinician
    assert es.translation.review_notice in spanish
    # English: its own texts, no notice; asking for English gives the very same document as asking nothing.
    assert module_service.kb.text.family_disclaimer in english and es.translation.review_notice not in english
    assert es.text.family_disclaimer not in english
    assert _document(module_service, "?lang=en")[1] == english_document


def test_the_pdf_says_its_language_and_the_spanish_one_reads_spanish(
    module_service: Service, es: KnowledgeBase, tmp_path: Path
) -> None:
    url = f"/api/patients/{module_service.patient_id}/report.pdf"
    client = module_service.client()
    english = client.get(url, headers=module_service.bearer("clinician"))
    spanish = client.get(url, headers={**module_service.bearer("clinician"), "Accept-Language": "es-US"})
    assert english.status_code == spanish.status_code == 200
    assert english.headers["content-language"] == "en" and spanish.headers["content-language"] == "es"
    assert spanish.content.startswith(b"%PDF-")
    if shutil.which("pdftotext") is None:  # the PDF's text is checked where poppler is installed (scripts/test)
        return
    target = tmp_path / "report.pdf"
    target.write_bytes(spanish.content)
    text = " ".join(subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True).stdout.split())
    assert es.translation is not None and es.translation.review_notice in text
    assert es.text.fever_during_treatment.title in text
