"""Words of the family report that were still English in Spanish, or wrong for a count of one (issue 14): how
long treatment lasts after its first parts ("1 more year"), when a first check-up is due (the knowledge base's
words, filled in by the survivorship engine), which survivorship explanations the report shows (by the plan's
flags, not by English words), and the trial section's unused texts gone from the knowledge base."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import yaml

from allpath.domain.results import Roadmap, SurvivorshipItem, SurvivorshipPlan
from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report.treatment import length_blocks, survivorship_blocks
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge
from allpath.knowledge.text_schema import TrialSection

_ROADMAP = cast(
    Roadmap,
    {"regimen": {"id": "r"}, "phases": [{"id": "induction", "weeks": 4}, {"id": "consolidation", "weeks": 4}]},
)


def _length(years: float, locale: str) -> str:
    """The "how long" paragraph for a regimen whose total duration counts ``years`` from its second phase."""
    kb = load_knowledge(locale=locale)
    rule = SimpleNamespace(phase="consolidation", years_from_phase_start=years)
    with_rule = cast(
        KnowledgeBase,
        SimpleNamespace(
            text=kb.text, document=kb.document, therapy=SimpleNamespace(regimens=SimpleNamespace(total_duration=rule))
        ),
    )
    with use_locale(locale):
        return str(length_blocks(_ROADMAP, with_rule)[1].text)


def test_one_more_year_of_treatment_is_said_in_the_singular() -> None:
    assert "treatment goes on for 1 more year, and most" in _length(1, "en")
    assert "treatment goes on for 2 more years, and most" in _length(2, "en")
    assert "el tratamiento sigue 1 año más." in _length(1, "es")
    assert "el tratamiento sigue 2 años más." in _length(2, "es")


def _item(item_id: str, explanation: str, *, not_covered: bool = False) -> SurvivorshipItem:
    return cast(
        SurvivorshipItem,
        {
            "id": item_id,
            "late_effect": "a late effect",
            "test": None,
            "strength": None,
            "interval_years": None,
            "start": None,
            "schedule_not_covered": True,
            "not_covered": not_covered,
            "explanation": explanation,
        },
    )


def test_the_report_picks_survivorship_explanations_by_the_plans_flags() -> None:
    plan = cast(
        SurvivorshipPlan,
        {
            "basis": "recorded",
            "end_of_therapy_date": None,
            "items": [
                # Covered, with "not covered" in its words: shown (the English words no longer decide).
                _item("covered", "Report bone pain promptly; the schedule is not covered."),
                # Not covered: said among the checks the clinic plans, its explanation left out.
                _item("uncovered", "Follow-up of this is out of scope.", not_covered=True),
                # A dose in the explanation: left out, as before.
                _item("dose", "After a dose of 250 mg/m2 or more."),
            ],
            "not_covered": [],
        },
    )
    with use_locale("en"):
        text = "\n".join(i for b in survivorship_blocks(plan) for i in b.items or ())
    assert "Report bone pain promptly; the schedule is not covered." in text
    assert "out of scope" not in text and "Follow-up for a late effect." in text
    assert "250 mg/m2" not in text


def test_when_a_check_up_starts_is_the_knowledge_bases_words() -> None:
    english, spanish = load_knowledge(), load_knowledge(locale="es")
    words = english.text.survivorship_start
    assert words.after_exposure.format(years="2") == (
        "first echocardiogram no later than 2 years after the last anthracycline or chest radiation"
    )
    assert words.between_ages.format(earliest="10", latest="12") == "start between age 10 and age 12"
    assert spanish.text.survivorship_start.between_ages.format(earliest="10", latest="12") == (
        "empezar entre los 10 y los 12 años de edad"
    )


def test_the_trial_sections_unused_texts_are_gone() -> None:
    unused = {"registry", "registry_undated", "more", "more_one", "outdated"}
    assert not unused & set(TrialSection.model_fields)
    data = Path(default_data_dir())
    text = yaml.safe_load((data / "text.yaml").read_text(encoding="utf-8"))
    assert not unused & set(text["trials_section"])
    spanish = yaml.safe_load((data / "translations" / "es.yaml").read_text(encoding="utf-8"))
    assert not [path for path in spanish["texts"] if path.rsplit("/", 1)[-1] in unused and "trials_section" in path]
    # Boundary: the texts still used are there ("outdated_no_date" beside the removed "outdated").
    assert "outdated_no_date" in text["trials_section"] and "updated" in text["trials_section"]
