"""Outcomes by group on a synthetic cohort whose hazards are known: the estimates must find them again.

The generator draws the first event after an exponential time with each group's hazard (``group_hazards``), so
event-free survival is exp(-hazard * t). After a relapse, death follows with hazard mu; with r the relapse share of
events, lambda the group hazard, overall survival is
    S_OS(t) = exp(-lambda t) + r lambda (exp(-mu t) - exp(-lambda t)) / (lambda - mu).
The tolerance is four Greenwood standard errors of the estimate (about 1 failure in 15,000 for a correct
generator), and never more than 0.05.

The identity checked for competing risks: with the same risk sets, the Aalen-Johansen cumulative incidences of
relapse and of death in remission add up to one minus the Kaplan-Meier event-free survival at every time,
CIF_relapse(t) + CIF_death(t) = 1 - EFS(t) (no ties: the times are continuous).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from allpath.service.cohort.outcomes import (
    cumulative_incidence,
    kaplan_meier,
    logrank_all,
    logrank_pairs,
    outcomes_by_group,
)
from allpath.service.cohort.synthetic import (
    EVENT_CENSORED,
    EVENT_DEATH_IN_REMISSION,
    EVENT_RELAPSE,
    group_hazards,
)
from allpath.service.cohort.synthetic_parameters import load_parameters

TIMES_YEARS = (1.0, 3.0, 5.0)
MOST_TOLERATED = 0.05


def _columns(outcomes: pa.Table, time: str, event: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        outcomes[time].to_numpy(),
        outcomes[event].to_numpy(zero_copy_only=False),
        outcomes["outcome_group"].to_numpy(zero_copy_only=False),
    )


def test_event_free_survival_finds_the_known_hazards(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    hazards = group_hazards()
    curves = kaplan_meier(*_columns(outcomes, "efs_years", "efs_event"))
    assert {curve.group for curve in curves} == set(hazards)
    for curve in curves:
        for t in TIMES_YEARS:
            truth = math.exp(-hazards[curve.group] * t)
            error = [step.std_error for step in curve.steps if step.time <= t][-1]
            assert abs(curve.at(t) - truth) < min(4 * error, MOST_TOLERATED), (curve.group, t)


def test_the_hazards_are_the_published_survival_figures() -> None:
    # The data file states, per group, a published EFS at a time; the hazard reproduces it exactly.
    for group in load_parameters().outcome_groups:
        assert math.exp(-group_hazards()[group.id] * group.efs.years) == pytest.approx(group.efs.survival)


def test_overall_survival_finds_the_two_step_model(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    figures = load_parameters()
    share = figures.relapse_share_of_events.value
    mu = figures.survival_after_relapse.hazard_per_year
    for curve in kaplan_meier(*_columns(outcomes, "os_years", "death")):
        lam = group_hazards()[curve.group]
        for t in TIMES_YEARS:
            truth = math.exp(-lam * t) + share * lam * (math.exp(-mu * t) - math.exp(-lam * t)) / (lam - mu)
            error = [step.std_error for step in curve.steps if step.time <= t][-1]
            assert abs(curve.at(t) - truth) < min(4 * error, MOST_TOLERATED), (curve.group, t)


def test_competing_incidences_add_up_to_one_minus_event_free_survival(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    chosen = outcomes.slice(0, 12_000)  # Aalen-Johansen's variance is the slow part; 12,000 rows suffice
    times = chosen["efs_years"].to_numpy()
    causes = chosen["first_event"].to_numpy(zero_copy_only=False)
    groups = chosen["outcome_group"].to_numpy(zero_copy_only=False)
    relapse = {c.group: c for c in cumulative_incidence(times, causes, groups, EVENT_RELAPSE, EVENT_CENSORED)}
    death = {c.group: c for c in cumulative_incidence(times, causes, groups, EVENT_DEATH_IN_REMISSION, EVENT_CENSORED)}
    efs = {c.group: c for c in kaplan_meier(*_columns(chosen, "efs_years", "efs_event"))}
    for group, curve in efs.items():
        event_times = [step.time for step in curve.steps]
        for t in [*event_times, *TIMES_YEARS]:
            assert relapse[group].at(t) + death[group].at(t) == pytest.approx(1 - curve.at(t), abs=1e-9)
        # The relapse incidence is a proper share: it rises, and stays below the share of events that relapse.
        estimates = [step.estimate for step in relapse[group].steps]
        assert estimates == sorted(estimates) and estimates[-1] < 1
        for step in relapse[group].steps:
            assert step.lower <= step.estimate <= step.upper


def test_log_rank_tells_the_groups_apart(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    columns = _columns(outcomes, "efs_years", "efs_event")
    overall = logrank_all(*columns)
    assert overall.degrees_of_freedom == len(group_hazards()) - 1
    assert overall.p_value < 1e-10
    pairs = logrank_pairs(*columns)
    assert len(pairs) == math.comb(len(group_hazards()), 2)
    assert all(pair.p_value < 1e-3 for pair in pairs)  # every pair of hazards differs (smallest: T vs B HR)


def test_log_rank_does_not_find_a_difference_between_halves_of_one_group(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    times, events, groups = _columns(outcomes, "efs_years", "efs_event")
    same = np.asarray(groups) == "b_nci_standard"
    halves = ["first" if i % 2 else "second" for i in range(int(same.sum()))]
    test = logrank_all(times[same], events[same], halves)
    assert test.p_value > 0.001  # the same hazard: no difference beyond chance


def test_outcomes_by_group_gathers_the_curves_and_tests(cohort: tuple[pa.Table, pa.Table]) -> None:
    _, outcomes = cohort
    small = outcomes.slice(0, 4000)

    def column(name: str) -> np.ndarray:
        return small[name].to_numpy(zero_copy_only=False)

    report = outcomes_by_group(
        column("efs_years"),
        column("efs_event"),
        column("first_event"),
        column("os_years"),
        column("death"),
        column("outcome_group"),
    )
    groups = sorted(set(column("outcome_group")))
    assert [c.group for c in report.event_free] == [c.group for c in report.overall] == groups
    assert [c.group for c in report.relapse] == [c.group for c in report.death_in_remission] == groups
    assert report.event_free_test.groups == tuple(groups)
    for efs, os_curve in zip(report.event_free, report.overall, strict=True):
        assert efs.at(5) <= os_curve.at(5)  # a death is an event, so survival without any event is lower
