"""Outcomes by group (issue 15, item 4): Kaplan-Meier survival with confidence intervals, log-rank tests and the
cumulative incidence of relapse with death as a competing risk (Aalen-Johansen), computed with lifelines.

Each function takes plain columns (times, events, groups) and hands back typed tables, so callers never meet a
pandas object. lifelines (and pandas under it) is imported on first use, as the cohort commands need it only.

Confidence intervals are lifelines' defaults: for Kaplan-Meier the exponential Greenwood interval (log(-log)
scale), for Aalen-Johansen its delta-method interval. ``std_error`` is Greenwood's standard error of the
Kaplan-Meier estimate on the probability scale, the figure textbooks print beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

CONFIDENCE_LEVEL = 0.95


@dataclass(frozen=True)
class SurvivalStep:
    """The estimate just after ``time`` (an event time of the group)."""

    time: float
    at_risk: int
    events: int
    estimate: float
    std_error: float
    lower: float
    upper: float


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier curve of one group, one step per event time."""

    group: str
    subjects: int
    events: int
    steps: tuple[SurvivalStep, ...]

    def at(self, time: float) -> float:
        """The curve's value at ``time`` (a step function, right-continuous); 1 for survival before any event."""
        value = 1.0
        for step in self.steps:
            if step.time > time:
                break
            value = step.estimate
        return value


@dataclass(frozen=True)
class LogRankTest:
    """A log-rank test between ``groups``: chi-square with ``degrees_of_freedom`` and its p value."""

    groups: tuple[str, ...]
    chi_square: float
    degrees_of_freedom: int
    p_value: float


@dataclass(frozen=True)
class IncidenceStep:
    """The cumulative incidence just after ``time``, its standard error and 95% interval."""

    time: float
    estimate: float
    std_error: float
    lower: float
    upper: float


@dataclass(frozen=True)
class IncidenceCurve:
    """The cumulative incidence of one cause in one group, with death (or another cause) competing."""

    group: str
    cause: str
    steps: tuple[IncidenceStep, ...]

    def at(self, time: float) -> float:
        """The cumulative incidence at ``time`` (0 before the first event of the cause)."""
        value = 0.0
        for step in self.steps:
            if step.time > time:
                break
            value = step.estimate
        return value


def _groups_in(groups: ArrayLike) -> list[str]:
    return sorted({str(group) for group in np.asarray(groups)})


def kaplan_meier(times: ArrayLike, events: ArrayLike, groups: ArrayLike) -> list[SurvivalCurve]:
    """Kaplan-Meier survival of each group (sorted by name), with Greenwood errors and 95% intervals."""
    from lifelines import KaplanMeierFitter

    durations = np.asarray(times, dtype=float)
    observed = np.asarray(events, dtype=bool)
    labels = np.asarray(groups).astype(str)
    curves: list[SurvivalCurve] = []
    for group in _groups_in(groups):
        chosen = labels == group
        fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL).fit(durations[chosen], observed[chosen])
        table = fitter.event_table
        times_seen = table.index
        at_risk = table["at_risk"].to_numpy(dtype=float)
        died = table["observed"].to_numpy(dtype=float)
        estimate = fitter.survival_function_.iloc[:, 0].reindex(times_seen).to_numpy()
        bounds = fitter.confidence_interval_survival_function_.reindex(times_seen).to_numpy()
        # Greenwood: var S(t) = S(t)^2 * sum over event times up to t of d / (n (n - d)); 0 once S reaches 0.
        alive = at_risk > died
        terms = np.divide(died, at_risk * (at_risk - died), out=np.zeros_like(died), where=alive)
        error = np.where(estimate > 0, estimate * np.sqrt(np.cumsum(terms)), 0.0)
        steps = tuple(
            SurvivalStep(
                float(times_seen[i]),
                int(at_risk[i]),
                int(died[i]),
                float(estimate[i]),
                float(error[i]),
                float(bounds[i, 0]),
                float(bounds[i, 1]),
            )
            for i in np.flatnonzero(died > 0)
        )
        curves.append(SurvivalCurve(str(group), int(chosen.sum()), int(observed[chosen].sum()), steps))
    return curves


def logrank_all(times: ArrayLike, events: ArrayLike, groups: ArrayLike) -> LogRankTest:
    """The log-rank test that all groups share one survival curve (k - 1 degrees of freedom)."""
    from lifelines.statistics import multivariate_logrank_test

    result = multivariate_logrank_test(np.asarray(times, float), np.asarray(groups), np.asarray(events, bool))
    return LogRankTest(
        groups=tuple(_groups_in(groups)),
        chi_square=float(result.test_statistic),
        degrees_of_freedom=int(result.degrees_of_freedom),
        p_value=float(result.p_value),
    )


def logrank_pairs(times: ArrayLike, events: ArrayLike, groups: ArrayLike) -> list[LogRankTest]:
    """The log-rank test of every pair of groups (not adjusted for the number of pairs)."""
    from lifelines.statistics import logrank_test

    durations = np.asarray(times, dtype=float)
    observed = np.asarray(events, dtype=bool)
    labels = np.asarray(groups).astype(str)
    names = _groups_in(groups)
    tests: list[LogRankTest] = []
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            a, b = labels == first, labels == second
            result = logrank_test(durations[a], durations[b], observed[a], observed[b])
            tests.append(LogRankTest((first, second), float(result.test_statistic), 1, float(result.p_value)))
    return tests


def cumulative_incidence(
    times: ArrayLike, causes: ArrayLike, groups: ArrayLike, cause: str, censored: str
) -> list[IncidenceCurve]:
    """Aalen-Johansen cumulative incidence of ``cause`` in each group; every other cause but ``censored``
    competes (a child who died in remission can no longer relapse). A group in which ``cause`` never occurs has
    an incidence of 0 throughout: a curve without steps (lifelines cannot fit a cause it never sees)."""
    from lifelines import AalenJohansenFitter

    durations = np.asarray(times, dtype=float)
    labels = np.asarray(groups).astype(str)
    kinds = np.asarray(causes).astype(str)
    names = sorted({str(kind) for kind in kinds if kind != censored} | {cause})
    codes = np.array([0 if kind == censored else 1 + names.index(str(kind)) for kind in kinds], dtype=int)
    curves: list[IncidenceCurve] = []
    for group in _groups_in(groups):
        chosen = labels == group
        if not (kinds[chosen] == cause).any():
            curves.append(IncidenceCurve(str(group), cause, ()))
            continue
        # lifelines breaks tied times apart by a tiny jitter; the seed keeps that repeatable.
        fitter = AalenJohansenFitter(alpha=1 - CONFIDENCE_LEVEL, seed=0).fit(
            durations[chosen], codes[chosen], event_of_interest=1 + names.index(cause)
        )
        density = fitter.cumulative_density_.iloc[:, 0].to_numpy()
        bounds = fitter.confidence_interval_.to_numpy()
        variance = np.asarray(fitter.variance_, dtype=float)
        times_seen = fitter.cumulative_density_.index.to_numpy(dtype=float)
        # One step where the incidence rises (lifelines also lists the censoring times, where it stays flat).
        rises = np.flatnonzero(np.diff(density, prepend=0.0) > 0)
        steps = tuple(
            IncidenceStep(
                float(times_seen[i]),
                float(density[i]),
                float(np.sqrt(max(variance[i], 0.0))),
                float(bounds[i, 0]),
                float(bounds[i, 1]),
            )
            for i in rises
        )
        curves.append(IncidenceCurve(str(group), cause, tuple(steps)))
    return curves


@dataclass(frozen=True)
class OutcomesByGroup:
    """Everything the outcomes view shows for one grouping of a cohort."""

    event_free: list[SurvivalCurve]
    overall: list[SurvivalCurve]
    event_free_test: LogRankTest
    event_free_pairs: list[LogRankTest]
    overall_test: LogRankTest
    relapse: list[IncidenceCurve]
    death_in_remission: list[IncidenceCurve]


def outcomes_by_group(
    efs_years: ArrayLike,
    efs_event: ArrayLike,
    first_event: ArrayLike,
    os_years: ArrayLike,
    death: ArrayLike,
    groups: ArrayLike,
) -> OutcomesByGroup:
    """Event-free and overall survival by group with their log-rank tests, and the incidence of relapse and of
    death in remission (each competing with the other). ``first_event`` names each child's first event:
    "relapse", "death_in_remission" or "censored" (the outcome table's column)."""
    return OutcomesByGroup(
        event_free=kaplan_meier(efs_years, efs_event, groups),
        overall=kaplan_meier(os_years, death, groups),
        event_free_test=logrank_all(efs_years, efs_event, groups),
        event_free_pairs=logrank_pairs(efs_years, efs_event, groups),
        overall_test=logrank_all(os_years, death, groups),
        relapse=cumulative_incidence(efs_years, first_event, groups, "relapse", "censored"),
        death_in_remission=cumulative_incidence(efs_years, first_event, groups, "death_in_remission", "censored"),
    )
