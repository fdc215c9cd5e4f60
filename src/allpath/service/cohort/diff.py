"""Knowledge-change impact (issue 15, item 3): two knowledge versions run over one cohort, the groups compared.

Before a knowledge update goes live, a clinical reviewer sees how many records fall in each pair of groups (old x
new) for every group column, and for each record that moved, the change and the factor that moved it: the rule
that decides the group in each version, the fact and its value, and the threshold that changed. Populations
(Ph+, Down syndrome, infant, CNS disease ...) are compared too: how many records each version puts in each, which
records enter or leave one, and the population's rule (its condition) whose verdict changed.

Both versions stratify the cohort with the columnar stratifier, batch by batch, so memory stays within one batch
(plus the moved records' reports). Only the moved rows are re-assessed with the per-patient engine, under both
versions, to name the factor (``diff_factors``); ``engine.diff.explain_changes`` gives each move its one-line
summary, as it does when a patient's record is re-assessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import reduce

import polars as pl
import pyarrow as pa

from allpath.domain.cohort_table import ROW
from allpath.domain.labels import field_label
from allpath.engine.assess import assess
from allpath.engine.columnar import compile_stratifier
from allpath.engine.columnar.fallback import record_of
from allpath.engine.diff import explain_changes
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.diff_factors import (
    RULE_COLUMNS,
    DecidingRule,
    RuleChange,
    Version,
    deciding_rules,
    rule_changes,
    version_of,
)

GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("disease_state", "disease state"),
    ("risk_group", "NCI risk group"),
    ("cog_risk_group", "COG risk group"),
    ("relapse_timing", "relapse timing"),
    ("relapse_risk_group", "relapse risk group"),
    ("risk_group_provisional", "NCI risk group provisional"),
    ("cog_risk_group_provisional", "COG risk group provisional"),
)
"""The stratifier's group columns compared, with the words a reviewer reads."""

_LABELS = dict(GROUP_COLUMNS)
_MISSING_OF = {"risk_group_provisional": "risk_group_missing", "cog_risk_group_provisional": "cog_risk_group_missing"}


def group_word(value: object) -> str:
    """A group value as a reviewer reads it: 'none' for no group, 'yes'/'no' for provisional."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ")


GroupValue = str | bool | None
"""A group as the stratifier writes it: a code (``very_high``), yes/no for provisional, None for no group."""


@dataclass(frozen=True)
class Cell:
    """How many records are in group ``before`` under the old version and ``after`` under the new."""

    before: GroupValue
    after: GroupValue
    count: int


@dataclass(frozen=True)
class CrossTable:
    """One group column, old x new."""

    column: str
    label: str
    cells: tuple[Cell, ...]  # sorted by the groups' words (before, after)

    @property
    def moved(self) -> int:
        return sum(cell.count for cell in self.cells if cell.before != cell.after)


@dataclass(frozen=True)
class Move:
    """One group column of one record that differs between the versions, with what moved it."""

    column: str
    label: str
    before: GroupValue
    after: GroupValue
    rules: tuple[RuleChange, ...]  # the rules whose verdict differs (empty for a provisional column)
    deciding_before: tuple[DecidingRule, ...]
    deciding_after: tuple[DecidingRule, ...]
    missing_before: tuple[str, ...] = ()  # a provisional column: the record fields the group waits for
    missing_after: tuple[str, ...] = ()
    population: str | None = None  # column "populations": the population entered (after True) or left

    @property
    def reasons(self) -> tuple[str, ...]:
        """The causes in plain words."""
        if self.column in _MISSING_OF:
            waits = ", ".join(field_label(path) for path in self.missing_before) or "nothing"
            now = ", ".join(field_label(path) for path in self.missing_after) or "nothing"
            return (f"the group waited for {waits} before, for {now} now",)
        return tuple(rule.reason for rule in self.rules) or ("no rule's verdict differs (see the deciding rules)",)


ChangeKey = tuple[tuple[str, GroupValue, GroupValue, tuple[str, ...]], ...]
"""What the records of one change share: per moved column, the groups before and after and the causes."""


@dataclass(frozen=True)
class MovedRecord:
    """A record in a different group under the new version, with each move and the engine's summary of it."""

    row: int
    id: str | None
    moves: tuple[Move, ...]
    summary: tuple[str, ...]  # engine.diff's messages, e.g. "risk group: standard -> high, because ..."

    def change_key(self) -> ChangeKey:
        """What the records of one change share: the columns, the groups and the causes without the values."""
        return tuple(
            (
                move.column if move.population is None else f"populations:{move.population}",
                move.before,
                move.after,
                tuple(
                    rule.rule_id
                    + "".join(f" ({t.fact_label}: {t.before} -> {t.after})" for t in rule.thresholds)
                    + (" (new rule)" if rule.only_in == "new" else " (removed rule)" if rule.only_in == "old" else "")
                    for rule in move.rules
                ),
            )
            for move in self.moves
        )


@dataclass(frozen=True)
class ChangeGroup:
    """Records that moved in the same way for the same causes, sorted by row."""

    key: ChangeKey
    records: tuple[MovedRecord, ...]


@dataclass(frozen=True)
class PopulationCount:
    """One population: its records under each version, and how many entered or left it."""

    population: str
    label: str
    before: int
    after: int
    entered: int
    left: int


@dataclass(frozen=True)
class CohortDiff:
    """The impact of a knowledge change on one cohort."""

    old_version: str
    new_version: str
    records: int
    tables: tuple[CrossTable, ...]
    moved: tuple[MovedRecord, ...]  # sorted by row
    populations: tuple[PopulationCount, ...] = ()  # every population of either version, in knowledge order

    def groups(self) -> tuple[ChangeGroup, ...]:
        """The moved records grouped by their change, the groups in the order of their first row."""
        by_key: dict[ChangeKey, list[MovedRecord]] = {}
        for record in self.moved:
            by_key.setdefault(record.change_key(), []).append(record)
        return tuple(ChangeGroup(key, tuple(records)) for key, records in by_key.items())


def _counts(before: pl.Series, after: pl.Series) -> Counter[tuple[GroupValue, GroupValue]]:
    pairs = pl.DataFrame({"before": before, "after": after}).group_by("before", "after").len()
    return Counter({(b, a): int(n) for b, a, n in pairs.iter_rows()})  # a few pairs per batch


def _members(frame: pl.DataFrame, population: str) -> pl.Series:
    return frame["populations"].list.contains(population).fill_null(False)


class _PopulationCounter:
    """The populations of both versions, counted batch by batch."""

    def __init__(self, old_kb: KnowledgeBase, new_kb: KnowledgeBase) -> None:
        labels = {p.spec.id: p.spec.label for p in (*old_kb.populations, *new_kb.populations)}
        self.labels = labels  # the new version's label where both have the population
        self.counts: dict[str, list[int]] = {population: [0, 0, 0, 0] for population in labels}

    def update(self, old: pl.DataFrame, new: pl.DataFrame) -> pl.Series:
        """Count one batch; the rows whose populations differ."""
        differs = pl.Series([False] * old.height)
        for population, count in self.counts.items():
            before, after = _members(old, population), _members(new, population)
            for index, series in enumerate((before, after, after & ~before, before & ~after)):
                count[index] += int(series.sum())
            differs = differs | (before != after)
        return differs

    def result(self) -> tuple[PopulationCount, ...]:
        return tuple(PopulationCount(p, self.labels[p], *count) for p, count in self.counts.items())


def _moved_rows(old: pl.DataFrame, new: pl.DataFrame, populations_differ: pl.Series) -> pl.Series:
    differs = [old[column].ne_missing(new[column]) for column, _ in GROUP_COLUMNS]
    return reduce(lambda a, b: a | b, differs, populations_differ).arg_true()


def _population_moves(
    old: Version, new: Version, old_row: Mapping[str, object], new_row: Mapping[str, object], labels: dict[str, str]
) -> list[Move]:
    before, after = set(_paths(old_row["populations"])), set(_paths(new_row["populations"]))
    if before == after:
        return []
    rules = rule_changes(old, new, "populations")
    return [
        Move(
            "populations",
            label,
            population in before,
            population in after,
            tuple(rule for rule in rules if rule.rule_id == population),
            (),
            (),
            population=population,
        )
        for population, label in labels.items()
        if (population in before) != (population in after)
    ]


def _record_moves(
    row: Mapping[str, object],
    old_row: Mapping[str, object],
    new_row: Mapping[str, object],
    old_kb: KnowledgeBase,
    new_kb: KnowledgeBase,
    labels: dict[str, str],
) -> MovedRecord:
    record = record_of(row)
    before_assessment, after_assessment = assess(record, old_kb), assess(record, new_kb)
    old, new = version_of(old_kb, record, before_assessment), version_of(new_kb, record, after_assessment)
    moves: list[Move] = []
    for column, label in GROUP_COLUMNS:
        if old_row[column] == new_row[column]:
            continue
        before, after = _group(old_row[column]), _group(new_row[column])
        if column in RULE_COLUMNS:
            rules = rule_changes(old, new, column)
            moves.append(
                Move(column, label, before, after, rules, deciding_rules(old, column), deciding_rules(new, column))
            )
        else:
            missing = _MISSING_OF[column]
            moves.append(
                Move(column, label, before, after, (), (), (), _paths(old_row[missing]), _paths(new_row[missing]))
            )
    moves.extend(_population_moves(old, new, old_row, new_row, labels))
    data = record.model_dump(mode="json")
    summary = explain_changes(new_kb, data, before_assessment, data, after_assessment)
    return MovedRecord(_row_number(row), record.id, tuple(moves), tuple(change["message"] for change in summary))


def _group(value: object) -> GroupValue:
    if value is None or isinstance(value, str | bool):
        return value
    raise TypeError("a group column holds a word, yes/no or nothing")


def _paths(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _row_number(row: Mapping[str, object]) -> int:
    number = row.get(ROW)
    if not isinstance(number, int):
        raise ValueError("a cohort table row carries its row number")
    return number


def _by_words(item: tuple[tuple[GroupValue, GroupValue], int]) -> tuple[str, str]:
    (before, after), _ = item
    return group_word(before), group_word(after)


def diff_cohort(tables: Iterable[pa.Table], old_kb: KnowledgeBase, new_kb: KnowledgeBase) -> CohortDiff:
    """Run ``old_kb`` and ``new_kb`` over the cohort's tables (``domain.cohort_table.TABLE_SCHEMA``, streamed):
    the cross-tables of every group column and the moved records with their factors."""
    old_stratifier, new_stratifier = compile_stratifier(old_kb), compile_stratifier(new_kb)
    counts: dict[str, Counter[tuple[GroupValue, GroupValue]]] = {column: Counter() for column, _ in GROUP_COLUMNS}
    moved: list[MovedRecord] = []
    populations = _PopulationCounter(old_kb, new_kb)
    records = 0
    for table in tables:
        if table.num_rows == 0:
            continue
        records += table.num_rows
        old, new = old_stratifier.stratify(table), new_stratifier.stratify(table)
        for column, _ in GROUP_COLUMNS:
            counts[column].update(_counts(old[column], new[column]))
        indices = _moved_rows(old, new, populations.update(old, new))
        if indices.len() == 0:
            continue
        rows = table.take(pa.array(indices.to_list(), type=pa.int64())).to_pylist()
        chosen = indices.to_list()
        old_rows, new_rows = old[chosen].to_dicts(), new[chosen].to_dicts()
        for row, old_row, new_row in zip(rows, old_rows, new_rows, strict=True):
            moved.append(_record_moves(row, old_row, new_row, old_kb, new_kb, populations.labels))
    tables_out = tuple(
        CrossTable(column, label, tuple(Cell(b, a, n) for (b, a), n in sorted(counts[column].items(), key=_by_words)))
        for column, label in GROUP_COLUMNS
    )
    ordered = tuple(sorted(moved, key=lambda m: m.row))
    return CohortDiff(old_kb.version, new_kb.version, records, tables_out, ordered, populations.result())
