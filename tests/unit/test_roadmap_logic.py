"""How the roadmap (``allpath.engine.roadmap``) dates a regimen, on a fixture regimens.yaml.

The fixture regimen (``base``) is for the standard risk group: induction of 3 weeks, consolidation of 5 weeks,
then maintenance until the end of treatment, in cycles of 6 weeks; treatment lasts 1 year from the first day
of consolidation; a check on day 10 of induction and one at the end of consolidation. Lengths, the anchor
phase and the checkpoint days differ from the shipped regimens (the goldens of tests/golden/roadmaps hold
those), so these tests prove how phases, checkpoints and the end of treatment are dated from the data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from allpath.domain.results import Roadmap
from allpath.engine.assess import assess
from allpath.engine.roadmap import add_years, build_roadmap
from allpath.knowledge.loader import KnowledgeBase
from tests.builders import knowledge, patient, present, shipped

START = date(2025, 1, 6)


def fixture_regimens() -> dict[str, Any]:
    regimens = shipped("regimens")
    template = regimens["regimens"][0]
    evidence = template["phases"][0]["evidence"]
    checkpoint = regimens["checkpoints"][0]

    def phase(phase_id: str, source_phase: str, **length: object) -> dict[str, Any]:
        return {"id": phase_id, "label": f"Fixture {phase_id}", "source_phase": source_phase, "evidence": evidence,
                "drugs": [], **length}  # fmt: skip

    regimens["phase_at_diagnosis"] = "induction"
    regimens["total_duration"].update(phase="consolidation", years_from_phase_start=1)
    regimens["checkpoints"] = [
        {**checkpoint, "id": "fixture.day10", "phase": "induction", "day": 10},
        {**checkpoint, "id": "fixture.end_of_consolidation", "phase": "consolidation", "day": "end",
         "input": "end_of_consolidation_mrd_pct"},
    ]  # fmt: skip
    regimens["regimens"] = [
        {
            **{key: template[key] for key in ("setting", "cite", "evidence")},
            "id": "fixture_regimen",
            "label": "Fixture regimen",
            "risk_groups": ["standard"],
            "phases": [
                phase("induction", "remission_induction", weeks=3),
                phase("consolidation", "consolidation_intensification", weeks=5),
                phase("maintenance", "maintenance", until="total_duration", cycle_weeks=6),
            ],
        }
    ]
    return regimens


@pytest.fixture(scope="module")
def base() -> KnowledgeBase:
    return knowledge(regimens=fixture_regimens())


def roadmap(kb: KnowledgeBase, start: date | None = START, **changes: object) -> Roadmap:
    child = patient(**changes)
    return build_roadmap(child, assess(child, kb), kb, start)


def test_phases_follow_each_other_for_their_weeks(base: KnowledgeBase) -> None:
    phases = {p["id"]: (p["start"], p["end"]) for p in roadmap(base)["phases"]}
    assert phases["induction"] == ("2025-01-06", "2025-01-26")  # 21 days
    assert phases["consolidation"] == ("2025-01-27", "2025-03-02")  # 35 days
    assert present(phases["maintenance"][0]) == "2025-03-03"


def test_treatment_ends_the_day_before_the_anniversary_of_the_anchor_phase(base: KnowledgeBase) -> None:
    result = roadmap(base)
    assert present(result["end_of_therapy"])["date"] == "2026-01-26"  # 1 year from 2025-01-27, less a day
    maintenance = result["phases"][-1]
    assert maintenance["end"] == "2026-01-26"
    assert maintenance["cycles"] == 8  # 330 days in cycles of 42 days: 7.86 -> 8


def test_checkpoints_fall_on_their_day_or_after_the_end_of_their_phase(base: KnowledgeBase) -> None:
    checkpoints = {c["id"]: c for c in roadmap(base)["checkpoints"]}
    assert checkpoints["fixture.day10"]["date"] == "2025-01-15"  # day 1 is the first day of the phase
    assert checkpoints["fixture.end_of_consolidation"]["date"] == "2025-03-03"
    assert checkpoints["fixture.day10"]["result_known"] is True  # the builder's record has the day-8 MRD
    assert checkpoints["fixture.end_of_consolidation"]["result_known"] is False


def test_without_a_start_date_the_roadmap_is_undated_and_says_what_is_missing(base: KnowledgeBase) -> None:
    result = roadmap(base, start=None)
    assert result["regimen"] is not None and result["regimen"]["id"] == "fixture_regimen"
    assert all(p["start"] is None and p["end"] is None for p in result["phases"])
    assert present(result["end_of_therapy"])["date"] is None
    assert "treatment_start_date" in result["missing"]


def test_a_group_without_a_regimen_gets_no_roadmap(base: KnowledgeBase) -> None:
    # Age 12 is high risk in the shipped groups: the fixture has no regimen for it.
    result = roadmap(base, age_years=12.0)
    assert result["regimen"] is None and result["phases"] == [] and result["end_of_therapy"] is None


def test_an_excluded_population_gets_no_roadmap(base: KnowledgeBase) -> None:
    result = roadmap(base, age_years=0.5)  # an infant
    assert result["regimen"] is None
    assert result["not_covered"] == [shipped("regimens")["selection"]["not_covered"]["infant"]]


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2025, 1, 27), 1, date(2026, 1, 27)),
        (date(2025, 1, 1), 0.5, date(2025, 7, 3)),
    ],
)
def test_add_years_keeps_the_calendar_day(day: date, years: float, expected: date) -> None:
    assert add_years(day, years) == expected
