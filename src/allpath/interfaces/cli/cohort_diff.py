"""``allpath cohort diff COHORT --knowledge OLD --against NEW``: the impact of a knowledge change on one cohort
(issue 15, item 3), the report a clinical reviewer reads before approving the change.

The cohort is read here (``interfaces.cohort.read_cohort``) and its batches handed to the use case
(``service.cohort.diff``). Text is for the reviewer: the cross-tables (old x new) of every group column, then the
moved records grouped by their change, each with the rules and thresholds that moved it; the populations (records
in each under either version, entered, left) come after the group columns' tables. The text is in the language of
``--lang`` (``cohort_diff_text``). JSON is for software;
CSV has one line per moved record and group column. Either knowledge side defaults to the bundled knowledge base.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from allpath.interfaces.cli.assess import DEFAULT_LANGUAGE, LanguageOption
from allpath.interfaces.cli.console import emit, fail_input, shown_name

if TYPE_CHECKING:
    import pyarrow as pa

    from allpath.interfaces.cohort import CohortBatch
    from allpath.service.cohort.diff import CohortDiff, Move
    from allpath.service.cohort.diff_factors import DecidingRule, RuleChange


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


class _Counted:
    """The cohort's tables, counting the rows the reader refused (their problems are ``cohort assess``'s)."""

    def __init__(self, batches: Iterator[CohortBatch], advance: Callable[[int], None]) -> None:
        self.batches = batches
        self.advance = advance
        self.refused = 0
        self.read = 0

    def __iter__(self) -> Iterator[pa.Table]:
        for batch in self.batches:
            self.refused += batch.rows_read - batch.table.num_rows
            self.read += batch.rows_read
            yield batch.table
            self.advance(self.read)


def cohort_diff(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="COHORT",
            help="The cohort: .json, .jsonl, .csv, .parquet, or a folder of FHIR Bulk Data .ndjson files.",
        ),
    ],
    knowledge: Annotated[
        Path | None,
        typer.Option("--knowledge", metavar="OLD_DIR", help="The knowledge base in use (default: the bundled one)."),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", metavar="NEW_DIR", help="The changed knowledge base (default: the bundled one)."),
    ] = None,
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="text for a reviewer, json, or csv of the moved records.")
    ] = DiffFormat.text,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")] = None,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Input rows per batch: memory holds about one batch.")
    ] = 65_536,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    lang: LanguageOption = DEFAULT_LANGUAGE,
) -> None:
    """Which records a knowledge change moves to another group, and the rule and threshold that move each."""
    from allpath.interfaces.cli.cohort import known_rows, load_kb, progress_bar, show_progress
    from allpath.interfaces.cli.cohort_diff_text import render_text
    from allpath.interfaces.cohort import CohortFileError, read_cohort
    from allpath.interfaces.i18n import use_locale
    from allpath.service.cohort.diff import diff_cohort

    locale = lang if output_format is DiffFormat.text else DEFAULT_LANGUAGE  # JSON and CSV stay as they are
    old_kb = load_kb(knowledge, locale=locale)
    new_kb = load_kb(against, option="--against", locale=locale)
    if not source.exists():
        raise fail_input(f"COHORT: {shown_name(source)} does not exist; expected a cohort file or folder")
    with progress_bar(show_progress(quiet), "Comparing", known_rows(source)) as advance:
        try:
            tables = _Counted(read_cohort(source, batch_rows=batch_rows), advance)
            result = diff_cohort(tables, old_kb, new_kb)
        except CohortFileError as problem:
            raise fail_input(f"COHORT: {problem}") from None
    sides = (str(knowledge) if knowledge else "bundled", str(against) if against else "bundled")
    renderers = {DiffFormat.text: render_text, DiffFormat.json: render_json, DiffFormat.csv: render_csv}
    with use_locale(locale):
        written = renderers[output_format](result, sides, tables.refused)
    try:
        emit(written, out)
    except OSError as error:
        raise fail_input(f"--out: the file cannot be written ({error.strerror or 'error'})") from None


# --- JSON and CSV, for software ---


def _rule_json(rule: RuleChange) -> dict[str, object]:
    return {
        "rule": rule.rule_id,
        "held_before": rule.held_before,
        "holds_after": rule.holds_after,
        "only_in": rule.only_in,
        "citation": rule.citation,
        "thresholds": [
            {
                "fact": t.fact,
                "value": t.value,
                "before": t.before,
                "after": t.after,
                "before_threshold": t.before_threshold,
                "after_threshold": t.after_threshold,
            }
            for t in rule.thresholds
        ],
        "follows_from": list(rule.follows_from),
        "reason": rule.reason,
    }


def _deciding_json(rules: tuple[DecidingRule, ...]) -> list[dict[str, object]]:
    return [
        {
            "rule": r.rule_id,
            "explanation": r.explanation,
            "citation": r.citation,
            "confidence": r.confidence,
            "inputs": dict(r.inputs),
        }
        for r in rules
    ]


def _move_json(move: Move) -> dict[str, object]:
    return {
        "column": move.column,
        "population": move.population,
        "before": move.before,
        "after": move.after,
        "rules": [_rule_json(rule) for rule in move.rules],
        "deciding_before": _deciding_json(move.deciding_before),
        "deciding_after": _deciding_json(move.deciding_after),
        "missing_before": list(move.missing_before),
        "missing_after": list(move.missing_after),
        "reasons": list(move.reasons),
    }


def render_json(result: CohortDiff, sides: tuple[str, str], refused: int) -> str:
    document = {
        "old": {"knowledge_version": result.old_version, "knowledge": sides[0]},
        "new": {"knowledge_version": result.new_version, "knowledge": sides[1]},
        "records": result.records,
        "refused_rows": refused,
        "cross_tables": [
            {
                "column": table.column,
                "moved": table.moved,
                "cells": [{"before": c.before, "after": c.after, "count": c.count} for c in table.cells],
            }
            for table in result.tables
        ],
        "populations": [
            {
                "population": p.population,
                "label": p.label,
                "before": p.before,
                "after": p.after,
                "entered": p.entered,
                "left": p.left,
            }
            for p in result.populations
        ],
        "moved": [
            {
                "row": record.row,
                "id": record.id,
                "moves": [_move_json(move) for move in record.moves],
                "summary": list(record.summary),
            }
            for record in result.moved
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "row",
    "id",
    "column",
    "before",
    "after",
    "because",
    "changed_rules",
    "deciding_before",
    "deciding_after",
    "old_knowledge_version",
    "new_knowledge_version",
)


def _csv_groups(move: Move) -> tuple[str, str]:
    """A population's move as the population's id after (entered) or before (left), else the groups' codes."""
    if move.population is not None:
        return (move.population if move.before else "", move.population if move.after else "")
    return _code(move.before), _code(move.after)


def _code(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value or ""


def render_csv(result: CohortDiff, sides: tuple[str, str], refused: int) -> str:
    """One line per moved record and group column (and population entered or left: column ``populations``, the
    population's id in ``after`` when the record enters it, in ``before`` when it leaves)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in result.moved:
        for move in record.moves:
            writer.writerow(
                (
                    record.row,
                    record.id or "",
                    move.column,
                    *_csv_groups(move),
                    " | ".join(move.reasons),
                    " ".join(rule.rule_id for rule in move.rules),
                    " ".join(r.rule_id for r in move.deciding_before),
                    " ".join(r.rule_id for r in move.deciding_after),
                    result.old_version,
                    result.new_version,
                )
            )
    return buffer.getvalue()
