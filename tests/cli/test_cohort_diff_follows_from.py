"""``allpath cohort diff --lang es``: a rule that "follows from the risk group, which changed" reads as Spanish
("se deriva del grupo de riesgo, que cambió"), the article and the verb agreeing with each fact (feminine, plural),
one fact or several; English keeps its sentence."""

from __future__ import annotations

import pytest

from allpath.interfaces.cli.cohort_diff_text import DERIVED, _rule_lines
from allpath.interfaces.i18n import pgettext, use_locale
from allpath.interfaces.i18n.derived_facts import FOLLOWS_FROM, FORMS, follows_from
from allpath.service.cohort.diff_factors import RuleChange


@pytest.mark.parametrize(
    ("fact", "spanish"),
    [
        ("risk group", "se deriva del grupo de riesgo, que cambió"),
        ("disease state", "se deriva de la etapa de la enfermedad, que cambió"),
        ("populations", "se deriva de las poblaciones, que cambiaron"),
        ("plan therapies", "se deriva de las terapias del plan, que cambiaron"),
        ("relapse number", "se deriva del número de recaídas, que cambió"),
    ],
)
def test_one_fact_takes_its_article_and_its_verb(fact: str, spanish: str) -> None:
    with use_locale("es"):
        assert follows_from([fact]) == spanish
    assert follows_from([fact]) == f"follows from the {fact}, which changed"  # English as before


def test_several_facts_are_listed_each_with_its_article_and_the_verb_in_the_plural() -> None:
    facts = ["disease state", "risk group"]
    with use_locale("es"):
        assert follows_from(facts) == "se deriva de la etapa de la enfermedad y del grupo de riesgo, que cambiaron"
        assert follows_from([*facts, "populations"]) == (
            "se deriva de la etapa de la enfermedad, del grupo de riesgo y de las poblaciones, que cambiaron"
        )
    assert follows_from(facts) == "follows from the disease state and the risk group, which changed"


def test_a_fact_the_catalog_does_not_know_is_named_as_the_use_case_names_it() -> None:
    with use_locale("es"):
        assert follows_from(["blast count"]) == "se deriva del dato «blast count», que cambió"
        assert follows_from(["blast count", "risk group"]) == (
            "se deriva del dato «blast count» y del grupo de riesgo, que cambiaron"
        )


def test_every_derived_fact_has_both_forms_in_spanish() -> None:
    assert set(FORMS) == set(DERIVED.values())  # DERIVED is kept in step with the knowledge base
    with use_locale("es"):
        for alone, listed in FORMS.values():
            assert pgettext(FOLLOWS_FROM, alone) != alone and pgettext(FOLLOWS_FROM, listed) != listed
            assert pgettext(FOLLOWS_FROM, alone).startswith(pgettext(FOLLOWS_FROM, listed) + ", que ")


def test_the_reviewers_report_says_it_so() -> None:
    rule = RuleChange("cog-high", False, True, (), ("risk group",), None, "COG AALL08B1")
    with use_locale("es"):
        assert _rule_lines(rule)[1] == "  se deriva del grupo de riesgo, que cambió"
    assert _rule_lines(rule)[1] == "  follows from the risk group, which changed"
