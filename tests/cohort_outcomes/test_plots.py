"""Plots of outcomes as PNG and SVG files, without a screen."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from allpath.service.cohort.outcome_plots import plot_curves
from allpath.service.cohort.outcomes import cumulative_incidence, kaplan_meier


def test_survival_and_incidence_plots_are_written_as_png_and_svg(
    cohort: tuple[pa.Table, pa.Table], tmp_path: Path
) -> None:
    _, outcomes = cohort
    small = outcomes.slice(0, 3000)
    times = small["efs_years"].to_numpy()
    groups = small["outcome_group"].to_numpy(zero_copy_only=False)
    survival = kaplan_meier(times, small["efs_event"].to_numpy(zero_copy_only=False), groups)
    causes = small["first_event"].to_numpy(zero_copy_only=False)
    incidence = cumulative_incidence(times, causes, groups, "relapse", "censored")
    png = plot_curves(survival, tmp_path / "efs.png", "Event-free survival", "Years from diagnosis")
    svg = plot_curves(incidence, tmp_path / "relapse.svg", "Relapse", "Years from diagnosis")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "b_nci_standard" in text  # the legend names the groups
    again = plot_curves(incidence, tmp_path / "again.svg", "Relapse", "Years from diagnosis")
    assert again.read_text(encoding="utf-8") == text  # no date inside: the same plot gives the same file


def test_another_file_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="png"):
        plot_curves([], tmp_path / "plot.pdf", "t", "x")
