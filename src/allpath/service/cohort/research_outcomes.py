"""Outcomes by group for the researcher's web view (issue 15, item 4): a de-identified cohort with its follow-up,
grouped as ``allpath cohort outcomes`` groups it (``outcome_groups``: each child in the frontline group of their
record as at diagnosis, by today's rules), summarised as Kaplan-Meier survival, log-rank tests and cumulative
incidence.

The researcher's upload (one CSV or Parquet file of record and outcome columns) is checked and taken apart by
``research_upload.split_upload``; the records, read in batches by the interfaces' cohort reader, and the
outcomes meet again in ``research_outcomes`` by their row number. ``synthetic_outcomes`` runs the same on a
generated synthetic cohort.

Nothing here stores or logs the upload. Groups smaller than ``min_group_size`` are left out of every figure
and test (small-cell suppression): the result says how many groups and children that left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from allpath.domain.cohort_table import ROW
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.outcome_groups import group_table
from allpath.service.cohort.outcomes import (
    IncidenceCurve,
    LogRankTest,
    SurvivalCurve,
    cumulative_incidence,
    kaplan_meier,
    logrank_all,
    logrank_pairs,
)
from allpath.service.cohort.synthetic import (
    EVENT_CENSORED,
    EVENT_DEATH_IN_REMISSION,
    EVENT_RELAPSE,
    OUTCOME_SCHEMA,
    generate,
)

Grouping = Literal["risk_group", "cog_risk_group", "immunophenotype"]
GROUPINGS: tuple[Grouping, ...] = ("risk_group", "cog_risk_group", "immunophenotype")
"""What a researcher may group by: the NCI risk group and the COG risk group (today's rules applied to the
record as at diagnosis, ``outcome_groups``), or the lineage as recorded."""

_FIRST_EVENTS = (EVENT_RELAPSE, EVENT_DEATH_IN_REMISSION, EVENT_CENSORED)
_BOOLEAN_TEXT = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}

LANDMARK_YEARS = 5.0
"""The time at which the page reports each group's survival and incidence (the customary 5-year figures)."""


@dataclass(frozen=True)
class Landmark:
    """A curve's value at ``LANDMARK_YEARS`` with its 95% interval (no interval before the group's first event)."""

    estimate: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class GroupOutcomes:
    """One shown group: its size, events and the 5-year figures."""

    group: str
    children: int
    efs_events: int
    deaths: int
    efs: Landmark
    os: Landmark
    relapse: Landmark
    death_in_remission: Landmark


@dataclass(frozen=True)
class Analysis:
    """The figures of the shown groups: curves, tests and each group's 5-year summary."""

    groups: tuple[GroupOutcomes, ...]
    event_free: tuple[SurvivalCurve, ...]
    overall: tuple[SurvivalCurve, ...]
    event_free_test: LogRankTest | None  # None with fewer than two groups shown
    event_free_pairs: tuple[LogRankTest, ...]
    overall_test: LogRankTest | None
    overall_pairs: tuple[LogRankTest, ...]
    relapse: tuple[IncidenceCurve, ...]
    death_in_remission: tuple[IncidenceCurve, ...]


@dataclass(frozen=True)
class ResearchOutcomes:
    """What the researcher's page shows for one cohort and one grouping."""

    grouping: Grouping
    synthetic: bool
    rows_read: int
    rows_refused: int  # records the reader refused (their problems are the reader's)
    rows_without_outcomes: int  # valid records whose outcome cells are missing or not readable
    analysed: int
    min_group_size: int
    suppressed_groups: int
    suppressed_children: int
    knowledge_version: str
    analysis: Analysis


# ---- the outcome values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeValues:
    """Readable outcome values by input row (row i at index i - 1) and which rows have them all."""

    efs_years: np.ndarray
    efs_event: np.ndarray
    first_event: np.ndarray
    os_years: np.ndarray
    death: np.ndarray
    usable: np.ndarray


def _numbers(column: pa.ChunkedArray[Any]) -> np.ndarray:
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        return np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    values = []
    for cell in column.to_pylist():
        try:
            values.append(float(cell) if cell not in (None, "") else np.nan)
        except (TypeError, ValueError):
            values.append(np.nan)
    return np.asarray(values, dtype=float)


def _flags(column: pa.ChunkedArray[Any]) -> np.ndarray:
    """1 for true, 0 for false, -1 for missing or unreadable."""
    if pa.types.is_boolean(column.type) or pa.types.is_integer(column.type):
        cells: list[object] = column.to_pylist()
        return np.array([-1 if c is None or c not in (0, 1) else int(bool(c)) for c in cells], dtype=np.int8)
    words = [_BOOLEAN_TEXT.get(str(c).strip().lower()) if c is not None else None for c in column.to_pylist()]
    return np.array([-1 if w is None else int(w) for w in words], dtype=np.int8)


def read_outcome_values(table: pa.Table) -> OutcomeValues:
    """The outcome columns as values; a row is usable when every value reads and they agree with each other
    (times not negative, death not before the event, an event exactly when the first event is not censoring)."""
    efs, os_years = _numbers(table["efs_years"]), _numbers(table["os_years"])
    event, death = _flags(table["efs_event"]), _flags(table["death"])
    first = np.array([str(c).strip() if c is not None else "" for c in table["first_event"].to_pylist()], dtype=object)
    known = np.isin(first, _FIRST_EVENTS)
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(efs)
            & np.isfinite(os_years)
            & (efs >= 0)
            & (os_years >= efs)
            & (event >= 0)
            & (death >= 0)
            & known
            & ((event == 1) == (first != EVENT_CENSORED))
        )
    return OutcomeValues(efs, event == 1, first, os_years, death == 1, usable)


# ---- the analysis ------------------------------------------------------------------------------------------


def research_outcomes(
    batches: Iterable[tuple[pa.Table, int]],
    outcome_table: pa.Table,
    grouping: Grouping,
    kb: KnowledgeBase,
    min_group_size: int,
    *,
    synthetic: bool = False,
) -> ResearchOutcomes:
    """The outcomes by group of valid records (``batches``: each a table of ``TABLE_SCHEMA`` and the number of
    rows the reader refused in it) and the outcome table whose row i belongs to input row i."""
    values = read_outcome_values(outcome_table)
    rows: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    refused = 0
    for table, refused_rows in batches:
        refused += refused_rows
        if table.num_rows:
            grouped = group_table(table, kb, grouping)
            rows.append(grouped[ROW].to_numpy().astype(np.int64) - 1)
            groups.append(grouped["group"].to_numpy().astype(object))
    index = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    labels = np.concatenate(groups) if groups else np.zeros(0, dtype=object)
    inside = index < len(values.usable)
    usable = np.zeros(len(index), dtype=bool)
    usable[inside] = values.usable[index[inside]]
    index, labels = index[usable], labels[usable]
    names, sizes = np.unique(labels.astype(str), return_counts=True) if len(labels) else (np.array([]), np.array([]))
    shown = {str(n) for n, size in zip(names, sizes, strict=True) if size >= min_group_size}
    keep = np.isin(labels.astype(str), sorted(shown)) if shown else np.zeros(len(labels), dtype=bool)
    chosen, group_of = index[keep], labels[keep].astype(str)
    return ResearchOutcomes(
        grouping=grouping,
        synthetic=synthetic,
        rows_read=len(outcome_table),
        rows_refused=refused,
        rows_without_outcomes=int((~usable).sum()),
        analysed=len(chosen),
        min_group_size=min_group_size,
        suppressed_groups=len(names) - len(shown),
        suppressed_children=int(len(labels) - keep.sum()),
        knowledge_version=kb.version,
        analysis=_analysis(values, chosen, group_of),
    )


def _analysis(values: OutcomeValues, rows: np.ndarray, groups: np.ndarray) -> Analysis:
    efs, event, first = values.efs_years[rows], values.efs_event[rows], values.first_event[rows]
    os_years, death = values.os_years[rows], values.death[rows]
    several = len(set(groups)) >= 2
    event_free = kaplan_meier(efs, event, groups) if len(rows) else []
    overall = kaplan_meier(os_years, death, groups) if len(rows) else []
    relapse = cumulative_incidence(efs, first, groups, EVENT_RELAPSE, EVENT_CENSORED)
    remission = cumulative_incidence(efs, first, groups, EVENT_DEATH_IN_REMISSION, EVENT_CENSORED)
    return Analysis(
        groups=tuple(_summary(*curves) for curves in zip(event_free, overall, relapse, remission, strict=True)),
        event_free=tuple(event_free),
        overall=tuple(overall),
        event_free_test=logrank_all(efs, event, groups) if several else None,
        event_free_pairs=tuple(logrank_pairs(efs, event, groups)) if several else (),
        overall_test=logrank_all(os_years, death, groups) if several else None,
        overall_pairs=tuple(logrank_pairs(os_years, death, groups)) if several else (),
        relapse=tuple(relapse),
        death_in_remission=tuple(remission),
    )


def _landmark(curve: SurvivalCurve | IncidenceCurve, start: float) -> Landmark:
    reached = [step for step in curve.steps if step.time <= LANDMARK_YEARS]
    if not reached:
        return Landmark(start, None, None)
    last = reached[-1]
    if not (math.isfinite(last.lower) and math.isfinite(last.upper)):
        return Landmark(last.estimate, None, None)  # no interval (lifelines gives none once an estimate is 0 or 1)
    return Landmark(last.estimate, last.lower, last.upper)


def _summary(efs: SurvivalCurve, os: SurvivalCurve, relapse: IncidenceCurve, death: IncidenceCurve) -> GroupOutcomes:
    return GroupOutcomes(
        group=efs.group,
        children=efs.subjects,
        efs_events=efs.events,
        deaths=os.events,
        efs=_landmark(efs, 1.0),
        os=_landmark(os, 1.0),
        relapse=_landmark(relapse, 0.0),
        death_in_remission=_landmark(death, 0.0),
    )


def synthetic_outcomes(
    rows: int, seed: int, grouping: Grouping, kb: KnowledgeBase, min_group_size: int
) -> ResearchOutcomes:
    """The same view over a generated synthetic cohort of ``rows`` records (labelled synthetic)."""
    blocks = list(generate(rows, seed))
    outcomes = pa.concat_tables([block.outcomes for block in blocks]) if blocks else OUTCOME_SCHEMA.empty_table()
    batches = ((block.records, 0) for block in blocks)
    return research_outcomes(batches, outcomes, grouping, kb, min_group_size, synthetic=True)
