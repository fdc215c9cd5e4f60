"""The family report on the web reads at grade 8 or below for every example patient (issue 10, item 4).

The command line's report is measured in ``tests/cli/test_family_report_reading.py``; the web page holds more
(the road ahead, the check-ups after treatment), so it is measured too, as a parent sees it: the visible text,
each heading, paragraph, list item and table cell one sentence, without the source notes and the closing
"Based on" line (titles and versions of documents, not advice).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import textstat  # type: ignore[import-untyped]  # the package ships no type information

from tests.web.conftest import User

GRADE_AT_MOST = 8.0
_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "h4", "div", "td", "th", "dt", "dd", "summary", "caption"})
_HIDDEN = frozenset({"script", "style", "template", "nav", "header", "footer"})
_SOURCE_NOTE = re.compile(r"\(Source: \u201c[^\u201d]*\u201d\)")


class _Sentences(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.units: list[str] = []
        self._current = ""
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        if tag in _BLOCKS or tag == "br":
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        if tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._current += data

    def flush(self) -> None:
        unit = " ".join(_SOURCE_NOTE.sub("", self._current).split())
        if unit and not unit.startswith("Based on"):
            self.units.append(unit if unit[-1] in ".?!:" else unit + ".")
        self._current = ""


def prose(page: str) -> str:
    parser = _Sentences()
    parser.feed(page)
    parser.flush()
    return " ".join(parser.units)


def test_every_web_family_report_reads_at_grade_8_or_below(clinician: User) -> None:
    links = sorted(set(re.findall(r'href="(/patients/[0-9a-f-]{36})"', clinician.get("/patients").text)))
    assert len(links) >= 20  # the example patients
    grades = {}
    for link in links:
        page = clinician.get(f"{link}/report")
        assert page.status_code == 200, link
        assert "Fever during treatment" in page.text
        grades[link] = textstat.flesch_kincaid_grade(prose(page.text))
    too_hard = {link: round(grade, 2) for link, grade in grades.items() if grade > GRADE_AT_MOST}
    assert too_hard == {}


def test_the_measure_tells_plain_words_from_hard_ones() -> None:
    plain = "<h2>Fever</h2><p>Call the care team at once. Do not wait.</p>"
    hard = "<p>Consolidation intensification necessitates multidisciplinary pharmacological administration.</p>"
    assert textstat.flesch_kincaid_grade(prose(plain)) <= GRADE_AT_MOST < textstat.flesch_kincaid_grade(prose(hard))
