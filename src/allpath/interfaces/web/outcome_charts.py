"""The researcher's outcome curves drawn as inline SVG (no script, no style attribute: the pages' Content Security
Policy allows neither inline styles nor inline scripts, so each line is drawn with presentation attributes).

Each group has a colour of the Okabe-Ito palette (told apart with colour blindness) and a dash pattern of its
own, so that the lines differ without colour too; the page names them in a legend and gives the same numbers
in a table (``Chart.rows``: each group's value at each whole year). Each line's 95% interval is drawn behind it
as a light band of the same colour (``ChartLine.band``); where the estimator gives no interval (before the first
event, or once an estimate is 0 or 1) the band narrows to the line. Coordinates are rounded to a tenth, so the
same curves always give the same SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from allpath.service.cohort.outcomes import IncidenceCurve, SurvivalCurve

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
MOST_YEARS = 10  # the axis and the yearly table stop here: the 5-year figures are the page's subject
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_DASHES = ("", "8 4", "2 3", "10 3 2 3", "4 4", "1 2", "12 2")


@dataclass(frozen=True)
class ChartLine:
    group: str
    path: str  # the SVG path's d attribute
    colour: str
    dash: str
    band: str = ""  # the 95% interval's closed outline (a path's d attribute)


@dataclass(frozen=True)
class Chart:
    """One figure: the lines, the axes' ticks (position and value) and the yearly values for the table."""

    lines: tuple[ChartLine, ...]
    x_ticks: tuple[tuple[float, int], ...]
    y_ticks: tuple[tuple[float, int], ...]
    years: tuple[int, ...]
    rows: tuple[tuple[str, tuple[float, ...]], ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM


def _x(years: float, span: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * min(years, span) / span


def _y(value: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value)


def _path(times: Sequence[float], values: Sequence[float], start: float, span: float) -> str:
    """A step line: flat from each event time to the next, then straight down (or up) to the new value."""
    parts = [f"M{_x(0, span):.1f},{_y(start):.1f}"]
    for time, value in zip(times, values, strict=True):
        if time > span:
            break
        parts.append(f"H{_x(time, span):.1f}V{_y(value):.1f}")
    parts.append(f"H{_x(span, span):.1f}")
    return "".join(parts)


def _corners(times: Sequence[float], values: Sequence[float], start: float, span: float) -> list[str]:
    """The corners of a step line, left to right, as ``x,y`` points."""
    points = [(0.0, start)]
    for time, value in zip(times, values, strict=True):
        if time > span:
            break
        points += [(time, points[-1][1]), (time, value)]
    points.append((span, points[-1][1]))
    return [f"{_x(time, span):.1f},{_y(value):.1f}" for time, value in points]


def _band(curve: SurvivalCurve | IncidenceCurve, start: float, span: float) -> str:
    """The 95% interval as one closed outline: the upper limit left to right, then the lower one back."""
    times = [step.time for step in curve.steps]
    upper = [step.upper if math.isfinite(step.upper) else step.estimate for step in curve.steps]
    lower = [step.lower if math.isfinite(step.lower) else step.estimate for step in curve.steps]
    outline = _corners(times, upper, start, span) + _corners(times, lower, start, span)[::-1]
    return "M" + "L".join(outline) + "Z"


def chart(curves: Sequence[SurvivalCurve | IncidenceCurve], start: float) -> Chart:
    """The figure of ``curves`` (survival starts at 1, incidence at 0), over whole years up to ``MOST_YEARS``."""
    last = max((step.time for curve in curves for step in curve.steps), default=1.0)
    span = float(min(MOST_YEARS, max(1, math.ceil(last))))
    years = tuple(range(0, int(span) + 1))
    lines = []
    rows = []
    for index, curve in enumerate(curves):
        times = [step.time for step in curve.steps]
        values = [step.estimate for step in curve.steps]
        colour, dash = _COLOURS[index % len(_COLOURS)], _DASHES[index % len(_DASHES)]
        band = _band(curve, start, span)
        lines.append(ChartLine(curve.group, _path(times, values, start, span), colour, dash, band))
        rows.append((curve.group, tuple(curve.at(year) if year else start for year in years)))
    x_ticks = tuple((_x(year, span), year) for year in years)
    y_ticks = tuple((_y(percent / 100), percent) for percent in range(0, 101, 20))
    return Chart(tuple(lines), x_ticks, y_ticks, years, tuple(rows))
