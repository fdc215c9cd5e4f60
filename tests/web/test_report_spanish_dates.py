"""The family report writes its dates in the reader's language: in Spanish "2 de agosto de 2024", never the ISO
form a program reads (2024-08-02); in English as before (the closing's revision date stays ISO, the registry's
dates "2 December 2026"). Every date of the report in another language goes through one helper
(``allpath.interfaces.i18n.shown_date``), the one the web pages use (``local_date``).

The Spanish month names below are written here on purpose: the test checks Babel's answer, not itself.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report import build_blocks
from allpath.knowledge.loader import load_knowledge
from tests.conftest import EXAMPLES
from tests.web.conftest import User, WebApp

SPANISH_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
SPANISH_DATE = re.compile(r"\b(\d{1,2}) de ([a-z]+) de (\d{4})\b")


def _spanish(day: date) -> str:
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"


def _closing(locale: str) -> str:
    kb = load_knowledge(locale=locale)
    record = parse_record(json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8")))
    with use_locale(locale):
        return build_blocks(assess(record, kb), kb)[-1].text


def test_the_spanish_report_says_when_its_source_was_revised_in_spanish() -> None:
    revised = date.fromisoformat(load_knowledge().sources["pdq"].revised or "")
    closing = _closing("es")
    assert f"revisado el {_spanish(revised)}," in closing
    assert not ISO_DATE.search(closing)


def test_the_english_report_keeps_its_revision_date() -> None:
    revised = load_knowledge().sources["pdq"].revised
    assert f", revised {revised}, and the allpath clinical facts." in _closing("en")


def _visible(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_report_page_writes_its_dates_in_the_readers_language(web: WebApp, family: User, lang: str) -> None:
    page = family.get(f"/patients/{web.ids['family_child']}/report?lang={lang}")
    assert page.status_code == 200
    text = _visible(page.text)
    revised = date.fromisoformat(load_knowledge().sources["pdq"].revised or "")
    if lang == "es":
        assert not ISO_DATE.search(text), ISO_DATE.findall(text)
        # When it was prepared, when the registry was copied and when the summary was revised: Spanish words.
        dates = SPANISH_DATE.findall(text)
        assert len(dates) >= 3, dates
        assert all(month in SPANISH_MONTHS for _, month, _ in dates)
        assert _spanish(revised) in text
    else:
        assert f"revised {revised.isoformat()}" in text
        assert not SPANISH_DATE.search(text)
