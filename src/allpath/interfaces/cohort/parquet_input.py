"""Cohorts as Parquet in the table's own shape (``RECORD_SCHEMA`` columns): the registry's fast path.

Read batch by batch (``ParquetFile.iter_batches``). A column the record does not have refuses the file by name;
a record column the file lacks is missing in every row. Rows are checked column by column
(``domain.cohort_checks``); the rows those checks cannot settle go through ``parse_record``, so that a bad row is
reported exactly as ``parse_record`` reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_checks import Mask, rows_as_values, settled, with_ages
from allpath.domain.cohort_table import RECORD_SCHEMA, ROW, TABLE_SCHEMA
from allpath.errors import FieldProblem
from allpath.interfaces.cohort.reading import BatchBuilder, CohortBatch, CohortFileError, RowProblem


def _columns(parquet: pq.ParquetFile) -> list[str]:
    # A ``row`` column (the table's own numbering, as the synthetic cohort writes it) is left unread: rows are
    # numbered by their position in the file, which is what such a column holds.
    names = [name for name in parquet.schema_arrow.names if name != ROW]
    extra = [name for name in names if name not in RECORD_SCHEMA.names]
    if extra:
        raise CohortFileError(
            f"The Parquet file has columns that are not record fields: {', '.join(extra[:5])}. "
            f"The allowed columns are: {', '.join(RECORD_SCHEMA.names)}."
        )
    return names


def _in_record_shape(batch: pa.RecordBatch) -> pa.Table:
    """The batch with every record column, in order and of the record's type (absent columns all missing)."""
    columns = []
    for schema_field in RECORD_SCHEMA:
        if schema_field.name not in batch.schema.names:
            columns.append(pa.nulls(batch.num_rows, schema_field.type))
            continue
        column = batch.column(schema_field.name)
        try:
            columns.append(column.cast(schema_field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise CohortFileError(
                f"The Parquet column {schema_field.name} holds values of type {column.type}, which cannot be read "
                f"as the record's {schema_field.type}."
            ) from None
    return pa.Table.from_arrays(columns, schema=RECORD_SCHEMA)


def read_parquet(path: Path, batch_rows: int) -> Iterator[CohortBatch]:
    """The records of a Parquet file, in batches of ``batch_rows``."""
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowException:
        raise CohortFileError(
            "The file is not a Parquet file that can be read (its format marks are missing)."
        ) from None
    columns = _columns(parquet)
    first_row = 1
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        table = _in_record_shape(batch)
        yield checked_table(table, first_row)
        first_row += table.num_rows


def checked_table(table: pa.Table, first_row: int) -> CohortBatch:
    """A table of ``RECORD_SCHEMA`` checked: the settled rows as they are (age filled from the dates), the others
    through ``parse_record``."""
    ok, ages, dated = settled(table)
    rows = pa.array(np.arange(first_row, first_row + table.num_rows, dtype=np.int64))
    numbered = with_ages(table, ages, dated).add_column(0, TABLE_SCHEMA.field(ROW), rows)
    valid = _kept(numbered, ok)
    if ok.all():
        return CohortBatch(valid)
    checked = _through_parse_record(table, ~ok, first_row)
    if not checked.table.num_rows:  # the usual case: the unsettled rows were bad ones, now reported
        return CohortBatch(valid, checked.problems)
    merged = pa.concat_tables([valid, checked.table]).sort_by(ROW)
    return CohortBatch(merged, checked.problems)


def _kept(table: pa.Table, ok: Mask) -> pa.Table:
    """The rows where ``ok`` holds, as slices of the table between the rows that do not (no copy: bad rows are few,
    and copying the record's nested columns costs more than checking them)."""
    if ok.all():
        return table
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.astype(np.int8), [0]))))
    runs = [table.slice(start, stop - start) for start, stop in zip(edges[::2], edges[1::2], strict=True)]
    return pa.concat_tables(runs) if runs else table.slice(0, 0)


def _through_parse_record(table: pa.Table, unsettled: Mask, first_row: int) -> CohortBatch:
    indices = np.flatnonzero(unsettled)
    builder = BatchBuilder(len(indices) or 1)
    subset = table.take(indices)
    for index, data in zip(indices, rows_as_values(subset), strict=True):
        row = first_row + int(index)
        if isinstance(data, FieldProblem):
            builder.refuse([RowProblem(row, data.field, data.value, data.allowed)])
        else:
            builder.check(row, data)
    return builder.take()
