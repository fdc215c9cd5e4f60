"""Every page a researcher or a family reaches, in the pseudo-locale, leaves no word unwrapped -- not a short word,
not a group's word, not a code hidden from translation with ``translate="no"`` (the check of
``test_pseudo_locale`` looks for the catalog's longer pieces on the text a translator sees; this one takes every
run of text a reader sees). What is left is data: the signed-in person's name, the disclaimer, the names of the
languages in the switch, and what a researcher types or calls as it is (the outcome columns, a command, an API
path)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import WebApp, sign_in
from tests.web.test_pseudo_locale import NAMES, VisibleText, pseudo, pseudo_pages

# What a page may show as it is, in every language: names of people and languages, and what is typed.
DATA = {
    "Registry Researcher",  # who is signed in
    "A demo family",
    "Example adolescent",  # the family's child
    "English",
    "Español",
    "researcher",  # the user names on the account page
    "family.demo",
    "Demo oncology team",  # the care team that shared its patients
    "efs_years, efs_event, first_event, os_years, death",  # the columns an outcomes file must have
    "allpath cohort outcomes",
    "GET /api/export/deidentified",
}
GROUPINGS = ("risk_group", "cog_risk_group", "immunophenotype")


class EveryText(VisibleText):
    """The text a reader sees, including what is marked translate="no" (a reader sees that too), each element's
    text a run of its own."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append("\n")
        super().handle_starttag(tag, [attr for attr in attrs if attr != ("translate", "no")])

    def handle_endtag(self, tag: str) -> None:
        self.parts.append("\n")
        super().handle_endtag(tag)


_WRAPPED = re.compile(r"⟦[^⟦⟧]*⟧")


def left_as_is(web: WebApp, html: str) -> set[str]:
    """The runs of visible text no translation wrapped (wrapped words taken out from the innermost), less the data
    of the page (see ``DATA``) and the knowledge base's disclaimer. Letters alone (the lineages B and T, a p value's
    p) are symbols, not words."""
    reader = EveryText()
    reader.feed(re.sub(r"<svg.*?</svg>|<div class=\"disclaimer\".*?</div>", " ", html, flags=re.S))
    left, shorter = "", "".join(reader.parts)
    while shorter != left:
        left, shorter = shorter, _WRAPPED.sub(" ", shorter)
    runs = {" ".join(run.split()) for run in re.split(r"\s{2,}|\n", left)}
    return {run for run in runs if re.search(r"[A-Za-z]{2,}", run)} - NAMES - DATA


def test_the_researchers_pages_leave_nothing_unwrapped(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    researcher = sign_in(web.app, "researcher")
    with pseudo_pages(monkeypatch):
        rendered = {
            path: researcher.get(f"{path}?lang=es").text for path in ("/export", "/research/outcomes", "/account")
        }
        for grouping in GROUPINGS:
            answer = researcher.post("/research/outcomes?lang=es", {"action": "demo", "grouping": grouping})
            rendered[f"demo by {grouping}"] = answer.text
        rendered["refused"] = researcher.post("/research/outcomes?lang=es", {"action": "upload"}).text
    assert pseudo("very high") in rendered["demo by risk_group"]  # a group is said through the catalog
    assert pseudo("not given") in rendered["demo by cog_risk_group"]
    for path, html in rendered.items():
        assert "⟦" in html, path
        assert left_as_is(web, html) == set(), path


def test_the_familys_pages_leave_nothing_unwrapped(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The family's list and account pages (the family report's body is the report builder's, checked apart)."""
    family = sign_in(web.app, "family.demo")
    with pseudo_pages(monkeypatch):
        rendered = {path: family.get(f"{path}?lang=es").text for path in ("/patients", "/account")}
    assert pseudo("newly diagnosed") in rendered["/patients"]
    for path, html in rendered.items():
        # The stored groups' names come from the knowledge base in the reader's language (data, not the catalog).
        left = left_as_is(web, html) - {"riesgo alto", "riesgo muy alto del COG"}
        assert left == set(), path


def test_the_check_sees_a_code_hidden_from_translation(web: WebApp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a group shown as its code in a translate="no" span, as the outcomes page once did."""
    researcher = sign_in(web.app, "researcher")
    with pseudo_pages(monkeypatch):
        html = researcher.post("/research/outcomes?lang=es", {"action": "demo", "grouping": "risk_group"}).text
    hidden = html.replace(
        f'<th scope="row">{pseudo("very high")}</th>', '<th scope="row"><span translate="no">very high</span></th>'
    )
    assert hidden != html
    assert left_as_is(web, hidden) == {"very high"}
