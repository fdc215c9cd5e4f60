"""The trials of the family report in another language: each study is named by its title as ClinicalTrials.gov
registers it, in English (a translated title would name no registered study), and the first sentence of its
summary is quoted as the registry gives it. The Spanish report says so once, before the list, and its HTML marks
each title and each quoted sentence lang="en", so that a screen reader reads them as English. The English report
says nothing of the kind and marks nothing. (The quoted summaries: tests/cli/test_trials_english_words.py, as
the web app's registry holds no summary.)
"""

from __future__ import annotations

import html
import re

import pytest

from tests.web.conftest import User, WebApp

NOTE = {
    "es": "Los títulos de los estudios, y las frases citadas de sus resúmenes, están en inglés, tal como están "
    "registrados.",
    "en": "are in English, as they are registered.",
}


@pytest.fixture(scope="module")
def pages(web: WebApp, family: User) -> dict[str, str]:
    child = web.ids["family_child"]
    found = {lang: family.get(f"/patients/{child}/report?lang={lang}") for lang in ("es", "en")}
    assert all(page.status_code == 200 for page in found.values())
    return {lang: _trials(page.text) for lang, page in found.items()}


def _trials(page: str) -> str:
    section = re.search(r'<section id="trials".*?</section>', page, re.S)
    assert section is not None
    return section.group()


def test_the_spanish_report_marks_each_registered_title_english(pages: dict[str, str]) -> None:
    english_titles = re.findall(r"<p>Study \d+: \u201c(.*?)\u201d</p>", pages["en"])
    assert english_titles, "the example child has studies to ask about"
    spanish_titles = re.findall(r'<p>Estudio \d+: «<span lang="en">(.*?)</span>»</p>', pages["es"])
    assert spanish_titles == english_titles  # the same studies, each by its registered title
    assert len(re.findall(r"<p>Estudio \d+: ", pages["es"])) == len(spanish_titles)  # none left unmarked


def test_the_spanish_report_says_once_before_the_list_that_the_titles_are_english(pages: dict[str, str]) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", "", pages["es"]))
    assert text.count(NOTE["es"]) == 1
    assert text.index(NOTE["es"]) < text.index("Estudio 1:")


def test_the_english_report_marks_nothing_and_adds_no_note(pages: dict[str, str]) -> None:
    assert "lang=" not in pages["en"]
    assert NOTE["en"] not in html.unescape(pages["en"])
