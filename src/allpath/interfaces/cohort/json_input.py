"""Cohorts as JSON: an array of records (read record by record with ijson, never whole) and JSON Lines (one
record per line; the row is the line number, so a person finds it in an editor).

Each record is validated with ``parse_record``, exactly as one record sent alone; a line is read by
``interfaces.strict_json`` as the HTTP API and the record commands read JSON (NaN, Infinity and numbers beyond a
float refused with the same words, naming the field).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ijson

from allpath.interfaces.cohort.reading import CohortBatch, CohortFileError, RowProblem, RowProblems, checked_batches
from allpath.interfaces.strict_json import NotFiniteNumber, loads

_NOT_JSON = "expected one patient record as a JSON object on this line; this line is "


def read_json_array(path: Path, batch_rows: int) -> Iterator[CohortBatch]:
    """A JSON array of records, read incrementally: memory holds one batch, not the file."""
    return checked_batches(_array_items(path), batch_rows)


def _array_items(path: Path) -> Iterator[tuple[int, object]]:
    row = 0
    with path.open("rb") as stream:
        try:
            # use_float: numbers as Python floats and ints, as the json module reads them (not Decimal).
            for row, item in enumerate(ijson.items(stream, "item", use_float=True), start=1):
                yield row, item
        except ijson.JSONError:
            raise CohortFileError(
                f"The file is not a valid JSON array of patient records: it breaks off or is malformed "
                f"after record {row:,}."
            ) from None
    if row == 0 and not _is_array(path):
        raise CohortFileError("The file is not a JSON array of patient records ([{...}, {...}]).")


def _is_array(path: Path) -> bool:
    with path.open("rb") as stream:
        head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def read_json_lines(path: Path, batch_rows: int) -> Iterator[CohortBatch]:
    """JSON Lines: one record per line, read line by line; blank lines are skipped but counted."""
    return checked_batches(_lines(path), batch_rows)


def _not_json(row: int, line: str, error: Exception) -> RowProblems:
    if isinstance(error, NotFiniteNumber):
        why = str(error)
    elif isinstance(error, json.JSONDecodeError):
        why = f"it breaks off or is malformed at column {error.colno}"
    else:
        why = "it is nested too deeply"
    return RowProblems((RowProblem(row, "record", line.strip(), f"{_NOT_JSON}not valid JSON ({why})"),))


def _lines(path: Path) -> Iterator[tuple[int, object]]:
    with path.open("r", encoding="utf-8", errors="surrogateescape") as stream:
        for row, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield row, loads(line)
            except (ValueError, RecursionError) as error:
                yield row, _not_json(row, line, error)
