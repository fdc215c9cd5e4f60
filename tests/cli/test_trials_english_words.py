"""The trial section in another language quotes the registry in English (its studies' titles and the first
sentence of their summaries), says so once before the list, and marks each quoted title and sentence lang="en"
in HTML; in English it says nothing of the kind and marks nothing. Built from ``allpath trials search``'s
answer with summaries added (the snapshot's studies have none)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from markupsafe import escape

from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report.blocks import Block, render_text
from allpath.interfaces.report.trials import trial_blocks
from allpath.interfaces.web.pages import templates
from allpath.knowledge.loader import load_knowledge
from tests.cli.test_trials_reading import _answer

NOTE = {
    "es": "Los títulos de los estudios, y las frases citadas de sus resúmenes, están en inglés, tal como están "
    "registrados.",
    "en": "The studies' titles, and the sentences quoted from their summaries, are in English, as they are registered.",
}
SENTENCES = ("This study tests a new medicine.", "It compares two ways to give the same medicines.")


def _blocks(registry: Path, locale: str) -> tuple[list[Block], list[str]]:
    answer = _answer(registry, "five-year-old near Omaha")
    results = copy.deepcopy(answer["results"][:2])
    for result, sentence in zip(results, SENTENCES, strict=True):
        result["brief_summary"] = f"{sentence} More of the registry's words."
    answer["results"] = results
    with use_locale(locale):
        return trial_blocks(answer, load_knowledge(locale=locale)), [str(r["title"]) for r in results]


def _html(blocks: list[Block], locale: str) -> str:
    with use_locale(locale):
        return templates.env.from_string('{% import "_blocks.html" as r %}{{ r.blocks(items) }}').render(items=blocks)


def test_the_spanish_section_marks_each_title_and_quoted_sentence_english(registry: Path) -> None:
    blocks, titles = _blocks(registry, "es")
    page = _html(blocks, "es")
    for number, title in enumerate(titles, start=1):
        assert f'<p>Estudio {number}: «<span lang="en">{escape(title)}</span>»</p>' in page
    for sentence in SENTENCES:
        assert f'Con las palabras del propio estudio: «<span lang="en">{sentence}</span>»' in page
    assert page.count('<span lang="en">') == len(titles) + len(SENTENCES)


@pytest.mark.parametrize("locale", ["es", "en"])
def test_only_another_language_says_once_before_the_list_that_the_registry_is_quoted_in_english(
    registry: Path, locale: str
) -> None:
    blocks, _ = _blocks(registry, locale)
    flat = " ".join(render_text(blocks).split())
    first_study = flat.index("Estudio 1:" if locale == "es" else "Study 1:")
    if locale == "es":
        assert flat.count(NOTE["es"]) == 1 and flat.index(NOTE["es"]) < first_study
    else:
        assert NOTE["en"] not in flat
        assert "lang=" not in _html(blocks, "en")
