"""Plots of outcomes by group as PNG or SVG files, drawn with matplotlib's Agg renderer (no screen, no pyplot
state shared between calls). matplotlib is imported on first use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from allpath.service.cohort.outcomes import IncidenceCurve, SurvivalCurve

PLOT_SUFFIXES = (".png", ".svg")


def _steps(times: list[float], values: list[float], start: float) -> tuple[list[float], list[float]]:
    return [0.0, *times], [start, *values]


def plot_curves(
    curves: Sequence[SurvivalCurve] | Sequence[IncidenceCurve], path: Path, title: str, time_label: str
) -> Path:
    """Draw each group's step curve with its 95% band and write it to ``path`` (.png or .svg)."""
    if path.suffix not in PLOT_SUFFIXES:
        raise ValueError("a plot is written as a .png or an .svg file")
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    incidence = bool(curves) and isinstance(curves[0], IncidenceCurve)
    start = 0.0 if incidence else 1.0
    for curve in curves:
        times = [step.time for step in curve.steps]
        x, y = _steps(times, [step.estimate for step in curve.steps], start)
        # No interval (NaN) before an estimate leaves 0 or 1: the band narrows to the line there, with no gap.
        _, low = _steps(times, [_or(step.lower, step.estimate) for step in curve.steps], start)
        _, high = _steps(times, [_or(step.upper, step.estimate) for step in curve.steps], start)
        line = axes.step(x, y, where="post", label=curve.group)[0]
        axes.fill_between(x, low, high, step="post", alpha=0.15, color=line.get_color(), linewidth=0)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel(time_label)
    axes.set_ylabel("Cumulative incidence" if incidence else "Probability without event")
    axes.set_title(title)
    axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    # A fixed salt names the SVG's clip paths the same way each time.
    with rc_context({"svg.hashsalt": "allpath"}):
        figure.savefig(path, format=path.suffix.lstrip("."), metadata=_metadata(path))
    return path


def _or(limit: float, estimate: float) -> float:
    return limit if math.isfinite(limit) else estimate


def _metadata(path: Path) -> dict[str, str | None]:
    # A PNG records its software; an SVG would otherwise record the date, and an unchanged plot would differ.
    return {"Software": "allpath"} if path.suffix == ".png" else {"Date": None, "Creator": "allpath"}
