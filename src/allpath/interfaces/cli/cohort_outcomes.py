"""``allpath cohort outcomes``: stratify a cohort, join its outcome table by ``row`` and give Kaplan-Meier
event-free and overall survival, log-rank tests and the cumulative incidence of relapse and of death in remission
by group, as text or JSON tables and as PNG or SVG plots.

The groups are made by ``service.cohort.outcome_groups``, the same way as on the researcher's outcomes page: a
risk group is the frontline group of the record as at diagnosis (its relapses and what followed removed), so a
child who later relapsed is counted in the group they were treated in.

The tables give each curve at a few times (``--at``, years from diagnosis) with its 95 % interval; the plots show
the whole curves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from allpath.interfaces.cli.console import fail_input, shown_name

if TYPE_CHECKING:
    import pyarrow as pa

    from allpath.service.cohort.outcome_groups import CohortGroups, GroupedOutcomes
    from allpath.service.cohort.outcomes import IncidenceCurve, LogRankTest, SurvivalCurve

DEFAULT_YEARS = (1.0, 3.0, 5.0)
TIME_LABEL = "Years from diagnosis"
OUTCOME_COLUMNS = ("row", "efs_years", "efs_event", "first_event", "os_years", "death")
"""The outcome table's columns the estimates read: each must hold a value in every row."""


class GroupBy(StrEnum):
    """``outcome_groups.GROUPINGS``: outcomes from diagnosis are not grouped by anything that happens later."""

    risk_group = "risk_group"
    cog_risk_group = "cog_risk_group"
    immunophenotype = "immunophenotype"
    sex = "sex"
    cns_status = "cns_status"


class TableFormat(StrEnum):
    text = "text"
    json = "json"


class PlotFormat(StrEnum):
    png = "png"
    svg = "svg"


def _value_at(curve: SurvivalCurve | IncidenceCurve, years: float, start: float) -> dict[str, float | None]:
    """The curve's estimate and 95 % interval at ``years`` (before any event: ``start``, no interval)."""
    found = None
    for step in curve.steps:
        if step.time > years:
            break
        found = step
    if found is None:
        return {"years": years, "estimate": start, "lower": None, "upper": None}
    return {"years": years, "estimate": found.estimate, "lower": _number(found.lower), "upper": _number(found.upper)}


def _number(value: float) -> float | None:
    """A figure, or None where the estimator gives none (NaN is not JSON, and says nothing to a reader)."""
    return None if math.isnan(value) else value


def _test(test: LogRankTest) -> dict[str, object]:
    return {
        "groups": list(test.groups),
        "chi_square": test.chi_square,
        "degrees_of_freedom": test.degrees_of_freedom,
        "p_value": None if math.isnan(test.p_value) else test.p_value,  # one group: nothing to compare
    }


def outcomes_document(
    grouped: GroupedOutcomes, groups: CohortGroups, group_by: str, years: Sequence[float], synthetic: bool
) -> dict[str, object]:
    """The outcomes as one JSON-ready document (the text tables show the same figures)."""
    o = grouped.outcomes

    def survival(curves: list[SurvivalCurve]) -> list[dict[str, object]]:
        return [
            {
                "group": c.group,
                "children": c.subjects,
                "events": c.events,
                "at": [_value_at(c, y, 1.0) for y in years],
            }
            for c in curves
        ]

    def incidence(curves: list[IncidenceCurve]) -> list[dict[str, object]]:
        return [{"group": c.group, "at": [_value_at(c, y, 0.0) for y in years]} for c in curves]

    return {
        "synthetic": synthetic,
        "group_by": group_by,
        "knowledge_version": groups.knowledge_version,
        "rows_read": groups.counts.rows_read,
        "refused": groups.counts.refused,
        "records_with_outcome": grouped.records,
        "records_without_outcome": grouped.without_outcome,
        "event_free_survival": survival(o.event_free),
        "event_free_log_rank": _test(o.event_free_test),
        "event_free_log_rank_pairs": [_test(t) for t in o.event_free_pairs],
        "overall_survival": survival(o.overall),
        "overall_log_rank": _test(o.overall_test),
        "relapse_incidence": incidence(o.relapse),
        "death_in_remission_incidence": incidence(o.death_in_remission),
    }


def _cell(value: dict[str, float | None]) -> str:
    estimate = f"{value['estimate']:.3f}"
    if value["lower"] is None or value["upper"] is None:
        return estimate
    return f"{estimate} ({value['lower']:.3f}-{value['upper']:.3f})"


def _table(title: str, rows: list[dict[str, object]], years: Sequence[float], counted: bool) -> list[str]:
    header = [
        "group",
        *(["children", "events"] if counted else []),
        *(f"at {y:g} year{'' if y == 1 else 's'}" for y in years),
    ]
    body = []
    for row in rows:
        at = row["at"]
        assert isinstance(at, list)
        counts = [f"{row['children']:,}", f"{row['events']:,}"] if counted else []
        body.append([str(row["group"]), *counts, *(_cell(value) for value in at)])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in body]
    return lines


def _test_line(label: str, test: object) -> str:
    assert isinstance(test, dict)
    groups = " vs ".join(test["groups"]) if label == "pair" else "all groups"
    p = test["p_value"]
    if p is None:
        return f"  Log-rank test, {groups}: not done (a single group)"
    # a p too small for a float (the chi-square of a large cohort) is 0.0: say it is below the smallest we can show
    shown = f"p = {p:.3g}" if p > 0 else "p < 1e-300"
    df = test["degrees_of_freedom"]
    return (
        f"  Log-rank test, {groups}: chi-square {test['chi_square']:.2f} on {df} degree{'' if df == 1 else 's'} "
        f"of freedom, {shown}"
    )


def outcomes_text(document: dict[str, object], years: Sequence[float]) -> str:
    """The outcomes document as plain-text tables (estimates with their 95 % intervals in brackets)."""
    d = document
    label = "Synthetic cohort" if d["synthetic"] else "Cohort"
    lines = [
        f"{label}: outcomes by {d['group_by']} (knowledge version {d['knowledge_version']}).",
        f"{d['records_with_outcome']:,} records with an outcome; {d['records_without_outcome']:,} without one "
        f"(left out); {d['refused']:,} rows refused.",
        "",
    ]

    def rows(key: str) -> list[dict[str, object]]:
        found = d[key]
        assert isinstance(found, list)
        return found

    lines += _table("Event-free survival (Kaplan-Meier, 95% interval)", rows("event_free_survival"), years, True)
    lines.append(_test_line("all", d["event_free_log_rank"]))
    lines += [_test_line("pair", test) for test in rows("event_free_log_rank_pairs")]
    lines.append("")
    lines += _table("Overall survival (Kaplan-Meier, 95% interval)", rows("overall_survival"), years, True)
    lines.append(_test_line("all", d["overall_log_rank"]))
    lines.append("")
    lines += _table(
        "Cumulative incidence of relapse (death in remission competing)", rows("relapse_incidence"), years, False
    )
    lines.append("")
    lines += _table(
        "Cumulative incidence of death in remission (relapse competing)",
        rows("death_in_remission_incidence"),
        years,
        False,
    )
    return "\n".join(lines)


def write_plots(grouped: GroupedOutcomes, group_by: str, folder: Path, suffix: str) -> list[Path]:
    """The four curves as plots in ``folder``: event-free and overall survival, relapse and death in remission."""
    from allpath.service.cohort.outcome_plots import plot_curves

    folder.mkdir(parents=True, exist_ok=True)
    o = grouped.outcomes
    by = group_by.replace("_", " ")
    drawn: list[tuple[list[SurvivalCurve] | list[IncidenceCurve], str, str]] = [
        (o.event_free, "event_free_survival", f"Event-free survival by {by}"),
        (o.overall, "overall_survival", f"Overall survival by {by}"),
        (o.relapse, "relapse_incidence", f"Cumulative incidence of relapse by {by}"),
        (o.death_in_remission, "death_in_remission_incidence", f"Cumulative incidence of death in remission by {by}"),
    ]
    return [plot_curves(curves, folder / f"{name}.{suffix}", title, TIME_LABEL) for curves, name, title in drawn]


def _read_outcome_table(path: Path) -> tuple[pa.Table, bool]:
    from allpath.service.cohort.synthetic_files import is_synthetic, read_outcomes

    if not path.is_file():
        raise fail_input(
            f"--outcomes: {shown_name(path)} is not a file; expected the outcome table (.parquet or .jsonl)"
        )
    try:
        table = read_outcomes(path)
        synthetic = path.suffix == ".parquet" and is_synthetic(path)
        complete = all(table.column(name).null_count == 0 for name in OUTCOME_COLUMNS)
    except (OSError, ValueError, KeyError, TypeError):
        complete = False
    if not complete:
        raise fail_input(
            f"--outcomes: {shown_name(path)} is not an outcome table (row, efs_years, efs_event, first_event, "
            "os_years, death, each filled in every row) in Parquet or JSON Lines"
        )
    return table, synthetic


def cohort_outcomes(
    source: Annotated[Path, typer.Argument(metavar="COHORT", help="The cohort's records (as for cohort assess).")],
    outcomes: Annotated[
        Path, typer.Option("--outcomes", help="The outcome table, keyed by row (Parquet or JSON Lines).")
    ],
    group_by: Annotated[
        GroupBy, typer.Option("--group-by", help="The groups: a risk group is the one at diagnosis.")
    ] = GroupBy.risk_group,
    plots: Annotated[
        Path | None, typer.Option("--plots", metavar="DIR", help="Also draw the curves into this folder.")
    ] = None,
    plot_format: Annotated[PlotFormat, typer.Option("--plot-format", help="png or svg.")] = PlotFormat.png,
    table_format: Annotated[TableFormat, typer.Option("--format", "-f", help="text or json.")] = TableFormat.text,
    at: Annotated[
        list[float] | None, typer.Option("--at", min=0, help="Years at which the tables give each curve (repeat).")
    ] = None,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Input rows per batch.")] = 65_536,
    knowledge: Annotated[
        Path | None, typer.Option("--knowledge", metavar="DIR", help="A knowledge base folder.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Survival and relapse by group: Kaplan-Meier, log-rank, cumulative incidence (tables and plots)."""
    from allpath.interfaces.cli.cohort import cohort_batches, known_rows, load_kb, progress_bar, show_progress, working
    from allpath.service.cohort.assess import CohortCounts
    from allpath.service.cohort.outcome_groups import cohort_groups, grouped_outcomes

    years = tuple(at) if at else DEFAULT_YEARS
    table, synthetic = _read_outcome_table(outcomes)
    kb = load_kb(knowledge)
    with progress_bar(show_progress(quiet), "Stratifying", known_rows(source)) as advance:

        def on_progress(counts: CohortCounts) -> None:
            advance(counts.rows_read)

        groups = cohort_batches(source, batch_rows, lambda b: cohort_groups(b, kb, group_by.value, on_progress))
    with working(show_progress(quiet), "Estimating survival and relapse by group"):
        grouped = grouped_outcomes(groups.groups, table)
        if grouped.records == 0:
            raise fail_input("--outcomes: no record of the cohort has an outcome row (they are joined by row)")
        document = outcomes_document(grouped, groups, group_by.value, years, synthetic)
        drawn = [] if plots is None else write_plots(grouped, group_by.value, plots, plot_format.value)
    document["plots"] = [str(path) for path in drawn]
    if table_format is TableFormat.json:
        typer.echo(json.dumps(document, indent=2))
        return
    typer.echo(outcomes_text(document, years))
    for path in drawn:
        typer.echo(f"Plot: {path}")
