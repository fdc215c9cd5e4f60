"""A cause that never occurs has a flat zero incidence; the curves' 95% intervals are drawn as light bands, in the
plots (PNG/SVG) and in the web page's inline SVG, the same way each time."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from allpath.interfaces.web.outcome_charts import BOTTOM, HEIGHT, RIGHT, TOP, WIDTH, chart
from allpath.service.cohort.outcome_plots import plot_curves
from allpath.service.cohort.outcomes import SurvivalCurve, SurvivalStep, cumulative_incidence, kaplan_meier

TIMES = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 1.5, 2.5, 3.5, 4.5, 5.5])
GROUPS = np.array(["a"] * 5 + ["b"] * 5)


def test_a_cause_that_never_occurs_is_a_flat_zero_curve_in_every_group() -> None:
    causes = np.array(["relapse", "censored"] * 5)
    curves = cumulative_incidence(TIMES, causes, GROUPS, "death_in_remission", "censored")
    assert [(c.group, c.cause, c.steps) for c in curves] == [
        ("a", "death_in_remission", ()),
        ("b", "death_in_remission", ()),
    ]
    assert all(curve.at(10.0) == 0.0 for curve in curves)
    nothing = cumulative_incidence(TIMES, np.array(["censored"] * 10), GROUPS, "relapse", "censored")
    assert [c.steps for c in nothing] == [(), ()]


def test_a_cause_in_one_group_only_and_a_single_occurrence() -> None:
    causes = np.array(["censored"] * 5 + ["censored", "relapse", "censored", "censored", "censored"])
    a, b = cumulative_incidence(TIMES, causes, GROUPS, "relapse", "censored")
    assert a.steps == ()  # none in group a: flat at 0
    assert len(b.steps) == 1 and b.steps[0].time == 2.5 and b.steps[0].estimate == pytest.approx(0.25)
    alone = cumulative_incidence(TIMES[5:], causes[5:], GROUPS[5:], "relapse", "censored")
    assert alone[0] == b  # the same as fitting group b by itself


def _y(value: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value)


def _curves() -> list[SurvivalCurve]:
    events = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], dtype=bool)
    return kaplan_meier(TIMES, events, GROUPS)


def test_the_web_chart_draws_each_interval_as_a_closed_band_the_same_way_each_time() -> None:
    curves = _curves()
    drawn = chart(curves, 1.0)
    assert drawn == chart(curves, 1.0)
    for line, curve in zip(drawn.lines, curves, strict=True):
        assert line.band.startswith("M") and line.band.endswith("Z")
        points = [tuple(map(float, p.split(","))) for p in line.band[1:-1].split("L")]
        ys = {y for _, y in points}
        # The band passes through every step's upper and lower limit (rounded to a tenth, as drawn).
        for step in curve.steps:
            assert round(_y(step.upper), 1) in ys and round(_y(step.lower), 1) in ys
        assert points[0] == points[-1]  # it starts and ends at the start of the line


def test_where_the_estimator_gives_no_interval_the_band_narrows_to_the_line() -> None:
    nan = float("nan")
    curve = SurvivalCurve(
        "a", 2, 2, (SurvivalStep(1.0, 2, 1, 0.5, 0.35, 0.2, 0.8), SurvivalStep(2.0, 1, 1, 0.0, 0.0, nan, nan))
    )
    band = chart([curve], 1.0).lines[0].band
    assert "nan" not in band
    points = [tuple(map(float, p.split(","))) for p in band[1:-1].split("L")]
    at_zero = [y for x, y in points if x >= WIDTH - RIGHT - 0.05]  # year 2, the axis's end
    # The step down from the first step's limits (0.8 and 0.2), then both limits at the estimate, 0.
    assert sorted(at_zero) == sorted(round(y, 1) for y in [_y(0.8), _y(0.2), *[_y(0.0)] * 4])


def test_the_plots_draw_one_band_per_group(tmp_path: Path) -> None:
    curves = _curves()
    svg = plot_curves(curves, tmp_path / "efs.svg", "Event-free survival", "Years from diagnosis").read_text("utf-8")
    assert len(re.findall(r"fill-opacity: 0\.15", svg)) == len(curves)
    again = plot_curves(curves, tmp_path / "again.svg", "Event-free survival", "Years from diagnosis")
    assert again.read_text("utf-8") == svg
