"""The family report in another language than its sources' (issue 14; the sources are English documents).

A statement's source note cites the heading of the source as the source writes it: there is no translated
heading to cite. So the Spanish note says that the source is in English and which document it is ("(Fuente en
inglés: resumen del NCI, sección «…»)"), and the report's HTML (the web page and the PDF's document) marks each
cited heading and the summary's title lang="en", so that a screen reader reads them as English. The English
report is unchanged: the same notes, and the same HTML as the blocks escaped as they are.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from markupsafe import escape

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.roadmap import build_roadmap
from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report import Block, build_blocks
from allpath.interfaces.report.blocks import section
from allpath.interfaces.web.pages import templates
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.conftest import EXAMPLES

STEMS = ("standard_risk", "relapse_marrow_early", "very_high_kmt2a")
# The report's blocks as the page showed them before any word was marked: each text escaped as it is.
_PLAIN_BLOCKS = """{% for b in items %}
{% if b.kind == "title" %}<h1>{{ b.text }}</h1>
{% elif b.kind == "heading" %}<h2>{{ b.text }}</h2>
{% elif b.kind == "paragraph" %}<p>{{ b.text }}</p>
{% elif b.kind == "bullets" %}<ul>{% for i in b.items %}<li>{{ i }}</li>{% endfor %}</ul>
{% elif b.kind == "numbered" %}<ol>{% for i in b.items %}<li>{{ i }}</li>{% endfor %}</ol>
{% else %}<hr>
{% endif %}
{% endfor %}"""


@cache
def _kb(locale: str) -> KnowledgeBase:
    return load_knowledge(locale=locale)


def _blocks(stem: str, locale: str) -> list[Block]:
    kb = _kb(locale)
    record = parse_record(json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8")))
    assessment = assess(record, kb)
    with use_locale(locale):
        return build_blocks(assessment, kb, roadmap=build_roadmap(record, assessment, kb, None))


def _html(blocks: list[Block], locale: str) -> str:
    with use_locale(locale):
        return templates.env.from_string('{% import "_blocks.html" as r %}{{ r.blocks(items) }}').render(items=blocks)


def _registered_headings() -> set[str]:
    return {heading for source in _kb("en").sources.values() for heading in source.sections}


@pytest.mark.parametrize(
    ("document", "spanish"),
    [
        ("childhood-all-treatment-pdq", "(Fuente en inglés: resumen del NCI, sección «Clinical trials»)"),
        ("allpath-clinical-facts", "(Fuente en inglés: datos clínicos de allpath, sección «Clinical trials»)"),
        ("a-document-not-named", "(Fuente en inglés: sección «Clinical trials»)"),
    ],
)
def test_a_note_says_in_spanish_that_its_source_is_in_english(document: str, spanish: str) -> None:
    source = {"document": document, "section": "Clinical trials"}
    with use_locale("es"):
        assert section(source) == spanish
    with use_locale("en"):
        assert section(source) == "(Source: \u201cClinical trials\u201d)"


@pytest.mark.parametrize("stem", STEMS)
def test_the_spanish_report_cites_real_headings_each_marked_english(stem: str) -> None:
    blocks = _blocks(stem, "es")
    flat = " ".join([b.text for b in blocks] + [i for b in blocks for i in b.items])
    cited = set(re.findall(r"\(Fuente en inglés: [^()«]*«(.+?)»\)", flat))
    assert cited, "the report cites its sources"
    assert cited <= _registered_headings()  # the sources' own headings, none invented
    assert "(Fuente:" not in flat and "(Source:" not in flat  # every note says its source is in English
    html = _html(blocks, "es")
    for heading in cited:
        assert f'<span lang="en">{escape(heading)}</span>' in html, heading
    # The closing names the summary by its English title, marked too.
    assert f'<span lang="en">{escape(_kb("es").sources["pdq"].title)}</span>' in html
    # Nothing else is marked: the marks hold exactly the cited headings and the title.
    marked = set(re.findall(r'<span lang="en">(.*?)</span>', html))
    assert marked == {str(escape(h)) for h in cited} | {str(escape(_kb("es").sources["pdq"].title))}


@pytest.mark.parametrize("stem", STEMS)
def test_the_english_report_is_unchanged(stem: str) -> None:
    blocks = _blocks(stem, "en")
    assert all(block.english == () for block in blocks)
    html = _html(blocks, "en")
    assert "lang=" not in html
    with use_locale("en"):
        plain = templates.env.from_string(_PLAIN_BLOCKS).render(items=blocks[1:])
    assert html.split("</h1>", 1)[1].strip() == plain.split("</h1>", 1)[-1].strip()
