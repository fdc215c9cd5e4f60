"""The one way a cohort is grouped for outcomes (issue 15, item 4): each child in the frontline group of their
record as at diagnosis, used by ``allpath cohort outcomes`` and by the researcher's outcomes page alike.

Outcomes are counted from diagnosis, so a child must be compared within the group they were treated in from
the start. Stratifying the record as it is would move every child who later relapsed out of their frontline
group (a relapsed record has a relapse risk group, no frontline one), and each group's event-free survival would
be computed without the very children who had the event. So the record is first taken back to diagnosis and
its first treatment (``as_at_diagnosis``), and today's rules are applied to that.

What is removed as "after diagnosis" (``AFTER_DIAGNOSIS``), and why:

- ``relapses``: a relapse is the outcome itself.
- ``refractory``: the record's flag puts the leukemia in the "refractory" disease state, which has no frontline
  group (the same loss as a relapse), and it may record a relapse that did not respond to treatment. A child
  whose leukemia did not go into remission at the end of induction is still grouped by it: the frontline rules
  read that from ``response.end_of_induction_remission`` (false: high or very high risk), which is kept.
- ``end_of_therapy_date`` and ``exposures`` (courses and radiation given): the treatment received, not how the
  group was chosen (no grouping rule reads them today; removing them keeps it so).

What is kept: everything known at diagnosis, and the response measures of the first treatment that the
frontline rules themselves use to set the group (day-8 blood MRD, end-of-induction marrow MRD and remission,
end-of-consolidation MRD). End-of-consolidation MRD is kept because the frontline rules move a child with MRD at
that time to very high risk, and treatment follows that group. A reviewer should know its cost: it exists only
for a child still in first remission at the end of consolidation, so a child who relapsed or died before then is
grouped without it (their group is the one they were in at the time of the event).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from allpath.domain.cohort_table import ROW
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.assess import BatchLike, CohortCounts, Progress, stratifier_for

if TYPE_CHECKING:
    from allpath.service.cohort.outcomes import OutcomesByGroup

FRONTLINE_GROUPINGS = ("risk_group", "cog_risk_group")
"""Groups computed by today's rules from the record as at diagnosis."""
RECORD_GROUPINGS = ("immunophenotype", "sex", "cns_status")
"""Groups read from a record column as it is (all known at diagnosis)."""
GROUPINGS = FRONTLINE_GROUPINGS + RECORD_GROUPINGS
"""What a cohort's outcomes can be grouped by. Relapse groups are not among them: outcomes counted from
diagnosis cannot be grouped by something that happens later."""
NO_GROUP = "no group"
"""The group of a child the grouping gives no value (no frontline risk group, a column not recorded)."""

AFTER_DIAGNOSIS = ("relapses", "refractory", "end_of_therapy_date", "exposures")
"""The record columns emptied before grouping (see the module's description for why each)."""


def as_at_diagnosis(table: pa.Table) -> pa.Table:
    """The records of ``table`` (``TABLE_SCHEMA``) with the ``AFTER_DIAGNOSIS`` columns emptied."""
    for name in AFTER_DIAGNOSIS:
        at = table.schema.get_field_index(name)
        if at >= 0:
            table = table.set_column(at, table.schema.field(at), pa.nulls(table.num_rows, table.schema.field(at).type))
    return table


def group_table(table: pa.Table, kb: KnowledgeBase, group_by: str) -> pl.DataFrame:
    """Each record's group (``row``, ``group``) by ``group_by`` (one of ``GROUPINGS``)."""
    if group_by not in GROUPINGS:
        raise ValueError(f"a cohort's outcomes are grouped by one of {', '.join(GROUPINGS)}")
    if group_by in RECORD_GROUPINGS:
        found = pl.DataFrame(pl.from_arrow(table.select([ROW, group_by]))).rename({group_by: "group"})
    else:
        answers = stratifier_for(kb).stratify(as_at_diagnosis(table))
        found = answers.select(pl.col(ROW).cast(pl.Int64), pl.col(group_by).alias("group"))
    return found.with_columns(pl.col("group").cast(pl.String).fill_null(NO_GROUP))


@dataclass(frozen=True)
class CohortGroups:
    """Each valid record's group (``row``, ``group``) and the counts of the input."""

    groups: pl.DataFrame
    counts: CohortCounts
    knowledge_version: str


def cohort_groups(
    batches: Iterable[BatchLike], kb: KnowledgeBase, group_by: str, on_progress: Progress | None = None
) -> CohortGroups:
    """The group of every valid record by ``group_by`` (``group_table`` batch by batch); memory holds two
    columns of the whole cohort."""
    if group_by not in GROUPINGS:
        raise ValueError(f"a cohort's outcomes are grouped by one of {', '.join(GROUPINGS)}")
    counts = CohortCounts()
    parts: list[pl.DataFrame] = [pl.DataFrame(schema={ROW: pl.Int64(), "group": pl.String()})]
    for batch in batches:
        table = batch.table
        if table.num_rows:
            parts.append(group_table(table, kb, group_by))
        counts.add(table.num_rows, len({p.row for p in batch.problems}), 0, len(batch.problems))
        if on_progress is not None:
            on_progress(counts)
    return CohortGroups(pl.concat(parts), counts, kb.version)


@dataclass(frozen=True)
class GroupedOutcomes:
    """Outcomes by group of the records that have an outcome row, and how many records had none."""

    outcomes: OutcomesByGroup
    records: int
    without_outcome: int


def grouped_outcomes(groups: pl.DataFrame, outcomes: pa.Table) -> GroupedOutcomes:
    """Join each record's group to its outcome row (by ``row``) and compute outcomes by group."""
    from allpath.service.cohort.outcomes import outcomes_by_group

    joined = groups.join(pl.DataFrame(pl.from_arrow(outcomes)), on=ROW, how="inner")
    result = outcomes_by_group(
        joined["efs_years"].to_numpy(),
        joined["efs_event"].to_numpy(),
        joined["first_event"].to_numpy(),
        joined["os_years"].to_numpy(),
        joined["death"].to_numpy(),
        joined["group"].to_numpy(),
    )
    return GroupedOutcomes(result, joined.height, groups.height - joined.height)
