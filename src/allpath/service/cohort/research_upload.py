"""A researcher's upload for the outcomes view (issue 15, item 4): one CSV or Parquet file holding the cohort
table's record columns (``domain.cohort_table``) and the outcome columns (``OUTCOME_COLUMNS``, named as in the
synthetic cohort's outcome table, ``synthetic.OUTCOME_SCHEMA``), one row per child.

``split_upload`` checks the size and then the number of rows against the limits before anything is parsed, and
separates the outcome columns from the record columns; the record columns come back as a file of the same
format, for the interfaces' cohort reader. Nothing here stores or logs the upload.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import RECORD_SCHEMA, ROW

UploadKind = Literal["csv", "parquet"]

OUTCOME_COLUMNS = ("efs_years", "efs_event", "first_event", "os_years", "death")
"""The outcome columns an upload carries, named as in the synthetic cohort's outcome table."""
_CELL_MAX_CHARS = 4 << 20


class UploadRefused(ValueError):
    """The upload cannot be used; ``reason`` names why (the interfaces say it in words), ``values`` fill it in."""

    def __init__(self, reason: str, **values: int | str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class OutcomeLimits:
    """What an upload may be (checked before parsing) and the smallest group shown."""

    max_bytes: int
    max_rows: int
    min_group_size: int


@dataclass(frozen=True)
class SplitUpload:
    """An upload taken apart: the record columns as a file of the same format, and the outcome columns."""

    records: bytes
    outcomes: pa.Table  # columns OUTCOME_COLUMNS as text or values, one row per input row
    rows: int


# ---- the upload ------------------------------------------------------------------------------------------


def split_upload(data: bytes, kind: UploadKind, limits: OutcomeLimits) -> SplitUpload:
    """Check the upload's size, then its number of rows (Parquet's footer, or the CSV's lines), before parsing
    it; then separate the outcome columns from the record columns."""
    if len(data) > limits.max_bytes:
        raise UploadRefused("too_large", most=limits.max_bytes)
    if kind == "parquet":
        return _split_parquet(data, limits.max_rows)
    return _split_csv(data, limits.max_rows)


def _split_parquet(data: bytes, max_rows: int) -> SplitUpload:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
    except pa.ArrowException:
        raise UploadRefused("not_parquet") from None
    rows = parquet.metadata.num_rows
    if rows > max_rows:
        raise UploadRefused("too_many_rows", most=max_rows)
    names = list(parquet.schema_arrow.names)
    _check_outcome_columns(names)
    try:
        table = parquet.read()
    except pa.ArrowException:
        raise UploadRefused("not_parquet") from None
    kept = [name for name in names if name not in OUTCOME_COLUMNS and name != ROW]
    sink = pa.BufferOutputStream()
    pq.write_table(table.select(kept), sink)
    return SplitUpload(sink.getvalue().to_pybytes(), table.select(list(OUTCOME_COLUMNS)), rows)


def _split_csv(data: bytes, max_rows: int) -> SplitUpload:
    # A line count is an upper bound of the rows (a quoted cell may hold a line break): cheap, before parsing.
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if lines - 1 > max_rows:
        raise UploadRefused("too_many_rows", most=max_rows)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused("not_utf8") from None
    # The cohort reader allows a cell this long (a record's exposures); the csv module's limit is process-wide.
    csv.field_size_limit(max(csv.field_size_limit(), _CELL_MAX_CHARS))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise UploadRefused("no_header")
    _check_outcome_columns(header)
    at = {name: index for index, name in enumerate(header)}
    kept = [index for index, name in enumerate(header) if name not in OUTCOME_COLUMNS and name != ROW]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header[i] for i in kept])
    outcome_cells: dict[str, list[str | None]] = {name: [] for name in OUTCOME_COLUMNS}
    for cells in _rows(reader):
        if len(cells) != len(header):
            # Kept one cell short, so that the cohort reader reports the row as it reports any such row.
            writer.writerow(cells[: max(len(kept) - 1, 0)])
            cells = []
        else:
            writer.writerow([cells[i] for i in kept])
        for name in OUTCOME_COLUMNS:
            index = at[name]
            outcome_cells[name].append(cells[index].strip() if index < len(cells) else None)
    outcomes = pa.table({name: pa.array(values, pa.string()) for name, values in outcome_cells.items()})
    return SplitUpload(out.getvalue().encode("utf-8"), outcomes, outcomes.num_rows)


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The CSV's rows; a row the csv module cannot read stands as an empty row (reported by the reader)."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield []


def _check_outcome_columns(names: list[str]) -> None:
    missing = [name for name in OUTCOME_COLUMNS if name not in names]
    if missing:
        raise UploadRefused("outcome_columns", missing=", ".join(missing), expected=", ".join(OUTCOME_COLUMNS))
    if not any(name in RECORD_SCHEMA.names or "." in name for name in names):
        raise UploadRefused("record_columns")
