"""Kaplan-Meier and log-rank against a published worked example: the Freireich et al. 6-MP vs placebo remission
data (Blood 1963;21:699; Gehan 1965), the textbook example of Kleinbaum & Klein's *Survival Analysis* and Klein &
Moeschberger's ``drug6mp``.

Published figures checked here, to the precision they are printed:
- 6-MP Kaplan-Meier estimates 0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448 at weeks 6, 7, 10, 13, 16, 22, 23,
  with Greenwood standard errors 0.0764, 0.0869, 0.0963, 0.1068, 0.1141, 0.1282, 0.1346 (Klein & Moeschberger,
  Table 4.1A; the same figures in R's ``summary(survfit(...))`` of the ``gehan`` / ``drug6mp`` data);
- placebo estimates 0.9048, 0.8095, 0.7619, 0.6667, 0.5714 at weeks 1 to 5, then 0.381, 0.286, 0.190, 0.143, 0.095,
  0.048, 0 at weeks 8, 11, 12, 15, 17, 22, 23 (the same sources; every placebo child relapsed);
- log-rank chi-square 16.79 on 1 degree of freedom (Kleinbaum & Klein, chapter 2: "Log-rank = 16.79"; R's
  ``survdiff`` prints 16.8, p = 4e-05).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from allpath.service.cohort.outcomes import SurvivalCurve, kaplan_meier, logrank_all, logrank_pairs

DATA = Path(__file__).with_name("data") / "freireich_6mp.csv"

SIX_MP = [
    (6, 21, 3, 0.857, 0.0764),
    (7, 17, 1, 0.807, 0.0869),
    (10, 15, 1, 0.753, 0.0963),
    (13, 12, 1, 0.690, 0.1068),
    (16, 11, 1, 0.627, 0.1141),
    (22, 7, 1, 0.538, 0.1282),
    (23, 6, 1, 0.448, 0.1346),
]
PLACEBO = [
    (1, 0.9048),
    (2, 0.8095),
    (3, 0.7619),
    (4, 0.6667),
    (5, 0.5714),
    (8, 0.381),
    (11, 0.286),
    (12, 0.190),
    (15, 0.143),
    (17, 0.095),
    (22, 0.048),
    (23, 0.0),
]


def _remission_data() -> tuple[list[float], list[bool], list[str]]:
    lines = [line for line in DATA.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines))
    return [float(r["weeks"]) for r in rows], [r["relapse"] == "1" for r in rows], [r["group"] for r in rows]


def _printed(value: float, like: float) -> float:
    """``value`` rounded to as many decimals as the published figure ``like`` has."""
    decimals = len(repr(like).split(".")[1]) if "." in repr(like) else 0
    return round(value, max(decimals, 3) if like != 0 else 4)


@pytest.fixture(scope="module")
def curves() -> dict[str, SurvivalCurve]:
    return {curve.group: curve for curve in kaplan_meier(*_remission_data())}


def test_the_fixture_is_the_published_42_rows() -> None:
    times, events, groups = _remission_data()
    assert len(times) == 42
    assert groups.count("6-MP") == groups.count("placebo") == 21
    assert sum(e for e, g in zip(events, groups, strict=True) if g == "6-MP") == 9  # 12 still in remission
    assert sum(e for e, g in zip(events, groups, strict=True) if g == "placebo") == 21


def test_six_mp_kaplan_meier_and_greenwood_errors_equal_the_published_table(curves: dict[str, SurvivalCurve]) -> None:
    steps = curves["6-MP"].steps
    assert [(s.time, s.at_risk, s.events) for s in steps] == [(t, n, d) for t, n, d, _, _ in SIX_MP]
    assert [round(s.estimate, 3) for s in steps] == [estimate for _, _, _, estimate, _ in SIX_MP]
    assert [round(s.std_error, 4) for s in steps] == [error for _, _, _, _, error in SIX_MP]


def test_placebo_kaplan_meier_equals_the_published_table(curves: dict[str, SurvivalCurve]) -> None:
    steps = curves["placebo"].steps
    assert [s.time for s in steps] == [t for t, _ in PLACEBO]
    assert [_printed(s.estimate, published) for s, (_, published) in zip(steps, PLACEBO, strict=True)] == [
        published for _, published in PLACEBO
    ]


def test_the_curve_is_a_step_function_between_event_times(curves: dict[str, SurvivalCurve]) -> None:
    six_mp = curves["6-MP"]
    assert six_mp.at(5.999) == 1.0  # before the first relapse
    assert round(six_mp.at(6), 3) == 0.857  # at an event time the step has happened
    assert round(six_mp.at(21.9), 3) == 0.627  # censored times between 16 and 22 do not move it
    assert round(six_mp.at(35), 3) == 0.448  # after the last relapse it stays at the last step


def test_the_confidence_band_holds_the_estimate(curves: dict[str, SurvivalCurve]) -> None:
    for curve in curves.values():
        for step in curve.steps:
            assert step.lower <= step.estimate <= step.upper


def test_log_rank_chi_square_equals_the_published_16_79() -> None:
    test = logrank_all(*_remission_data())
    assert round(test.chi_square, 2) == 16.79
    assert test.degrees_of_freedom == 1
    assert test.p_value == pytest.approx(4.17e-05, rel=0.01)
    (pair,) = logrank_pairs(*_remission_data())
    assert pair.groups == ("6-MP", "placebo")
    assert round(pair.chi_square, 2) == 16.79
