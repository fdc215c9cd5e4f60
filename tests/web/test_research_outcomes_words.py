"""The researcher's outcomes page says its log-rank test in correct grammar in every language: "1 degree of
freedom" and "2 degrees of freedom", "1 grado de libertad" and "2 grados de libertad" (a plural message of the
catalogs, each language with its own plural forms).

The synthetic demo gives both counts: grouped by lineage it has two groups (B and T, 1 degree of freedom),
grouped by NCI risk group three (2 degrees of freedom). The count expected is the one of the tests that
``synthetic_outcomes`` makes on the same generated cohort with the app's own settings, not a number written here.
"""

from __future__ import annotations

import re

import pytest

from allpath.interfaces.web.routes import research
from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.research_outcomes import Grouping, synthetic_outcomes
from tests.web.conftest import User, WebApp

SAID = {
    "en": ("with {df} degree of freedom", "with {df} degrees of freedom"),
    "es": ("con {df} grado de libertad", "con {df} grados de libertad"),
}
GROUPINGS: tuple[Grouping, ...] = ("immunophenotype", "risk_group")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)).split())


def _degrees(web: WebApp, grouping: Grouping) -> int:
    """The degrees of freedom of the demo's overall log-rank tests (event-free and overall survival agree)."""
    min_group_size = web.app.state.settings.research.min_group_size
    result = synthetic_outcomes(research.DEMO_ROWS, research.DEMO_SEED, grouping, load_knowledge(), min_group_size)
    tests = [result.analysis.event_free_test, result.analysis.overall_test]
    found = {test.degrees_of_freedom for test in tests if test is not None}
    assert len(found) == 1, found
    return found.pop()


def test_the_demo_gives_both_counts(web: WebApp) -> None:
    """The test below needs one grouping with 1 degree of freedom and one with 2."""
    assert [_degrees(web, grouping) for grouping in GROUPINGS] == [1, 2]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("grouping", GROUPINGS)
def test_the_log_rank_sentence_agrees_with_its_degrees_of_freedom(
    web: WebApp, researcher: User, lang: str, grouping: Grouping
) -> None:
    df = _degrees(web, grouping)
    answer = researcher.post(f"/research/outcomes?lang={lang}", {"action": "demo", "grouping": grouping})
    assert answer.status_code == 200
    text = _text(answer.text)
    singular, plural = (form.format(df=df) for form in SAID[lang])
    right, wrong = (singular, plural) if df == 1 else (plural, singular)
    assert text.count(right) == 2, text  # the event-free and the overall survival
    assert wrong not in text
