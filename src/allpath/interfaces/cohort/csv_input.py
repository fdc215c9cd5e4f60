"""Cohorts as CSV: the header names the record's fields, one record per row (row 1 = the first row under the
header), read row by row (memory holds one batch).

The cells are text and become the JSON values ``parse_record`` reads: an empty cell is a missing value;
numbers, ``true``/``false``, dates as written (YYYY-MM-DD); the token lists ``genetics`` and
``predisposition_syndromes`` with ``;`` between tokens; ``response`` and ``pharmacogenomics`` by dotted names
(``response.end_of_induction_marrow_mrd_pct``); ``relapses`` and ``exposures`` as JSON text in the cell. A cell
that does not read as its kind is handed on as the text it is, so that ``parse_record`` names the field and
what is allowed, as for any record.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from allpath.domain.cohort_table import RECORD_SCHEMA
from allpath.domain.record import parse_record
from allpath.errors import RecordError
from allpath.interfaces.cohort.reading import CohortBatch, CohortFileError, RowProblem, RowProblems, checked_batches
from allpath.interfaces.json_text import JSONTextError, loads_strict

TOKEN_SEPARATOR = ";"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_BOOLEANS = {"true": True, "false": False}
_JSON_CELLS = {
    "relapses": "expected JSON text in the cell: a list of relapse objects, oldest first",
    "exposures": "expected JSON text in the cell: an object with courses and radiation",
}
_CELL_MAX_CHARS = 4 << 20
_UNREADABLE_ROW = "expected a row of CSV cells; this row could not be read (a quote left open or a cell far too long)"


def _column_kinds() -> dict[str, str]:
    """Each column a header may name, with the kind of value its cells hold."""
    kinds: dict[str, str] = {}
    for schema_field in RECORD_SCHEMA:
        kind = schema_field.type
        if schema_field.name in _JSON_CELLS:
            kinds[schema_field.name] = "json"
        elif pa.types.is_struct(kind):
            for child in kind:
                kinds[f"{schema_field.name}.{child.name}"] = _scalar_kind(child.type)
        elif pa.types.is_list(kind):
            kinds[schema_field.name] = "tokens"
        else:
            kinds[schema_field.name] = _scalar_kind(kind)
    return kinds


def _scalar_kind(kind: pa.DataType) -> str:
    if pa.types.is_floating(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "boolean"
    return "text"


COLUMN_KINDS = _column_kinds()


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        first = next(csv.reader(stream), None)
    if not first:
        raise CohortFileError("The CSV file is empty: its first line must name the record fields.")
    unknown = [name for name in first if name not in COLUMN_KINDS]
    if unknown:
        raise CohortFileError(
            f"The CSV header names columns that are not record fields: {', '.join(unknown[:5])}. "
            f"The allowed columns are: {', '.join(COLUMN_KINDS)}."
        )
    repeated = sorted({name for name in first if first.count(name) > 1})
    if repeated:
        raise CohortFileError(f"The CSV header names a column more than once: {', '.join(repeated)}.")
    return first


def read_csv(path: Path, batch_rows: int) -> Iterator[CohortBatch]:
    """The records of a CSV file, validated row by row with ``parse_record``, in batches."""
    header = _header(path)
    return checked_batches(_records(path, header), batch_rows)


def _records(path: Path, header: list[str]) -> Iterator[tuple[int, object]]:
    """Each row under the header with its number. Python's csv reader, streaming line by line: unlike pyarrow's
    streaming CSV reader, it says which row has too few or too many cells, so that row is reported, not skipped
    or fatal. (Reading the cells costs little beside ``parse_record``.)"""
    # The csv module refuses cells over 128 KiB by default; a valid record's exposures cell (up to 5,000 courses)
    # can be longer. The limit is the module's, for the whole process: it is only ever raised here.
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_MAX_CHARS))
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        reader = csv.reader(stream)
        next(reader, None)
        row = 0
        while True:
            row += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield row, RowProblems((RowProblem(row, "record", None, _UNREADABLE_ROW),))
                continue
            if len(cells) != len(header):
                allowed = f"expected {len(header)} cells, one per column of the header; this row has {len(cells)}"
                yield row, RowProblems((RowProblem(row, "record", ",".join(cells), allowed),))
                continue
            yield row, record_from_cells(row, header, tuple(cells))


def record_from_cells(row: int, header: list[str], cells: tuple[str, ...]) -> object:
    """One CSV row as the record ``parse_record`` reads, or the row's problems when a JSON cell is not JSON."""
    record: dict[str, object] = {}
    problems: list[RowProblem] = []
    for name, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        kind = COLUMN_KINDS[name]
        if kind == "json":
            try:
                value = loads_strict(cell)
            except JSONTextError as error:
                problems.append(RowProblem(row, name, cell, f"{_JSON_CELLS[name]}; the cell is {error}"))
                continue
        else:
            value = _cell_value(kind, cell)
        parent, _, child = name.partition(".")
        if child:
            nested = record.setdefault(parent, {})
            assert isinstance(nested, dict)
            nested[child] = value
        else:
            record[name] = value
    if not problems:
        return record
    try:
        parse_record(record)
    except RecordError as error:
        problems += [RowProblem(row, p.field, p.value, p.allowed) for p in error.problems]
    return RowProblems(tuple(problems))


def _cell_value(kind: str, cell: str) -> object:
    text = cell.strip()
    if kind == "number" and _NUMBER.match(text):
        return int(text) if _INTEGER.match(text) else float(text)
    if kind == "boolean" and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    if kind == "tokens":
        return [token.strip() for token in cell.split(TOKEN_SEPARATOR)]
    return cell
