"""One Arrow batch of the Spark path (issue 15), as a Python worker handles it: the valid records assessed by the
compiled stratifier, each bad row an output row with its row number and problem in plain words (never
stratified, never dropped).

A batch of the table (Parquet) is checked exactly as the local reader checks it (``interfaces/cohort/
parquet_input``): the column checks of ``domain.cohort_checks`` settle most rows at once, and the rows they
cannot settle go through ``parse_record``. A batch of JSON lines goes through ``parse_record`` line by line.
"""

from __future__ import annotations

import io
import json
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json

from allpath.domain.cohort_checks import rows_as_values, settled, with_ages
from allpath.domain.cohort_table import RECORD_SCHEMA, ROW, TABLE_SCHEMA, records_table
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.engine.columnar import Stratifier
from allpath.errors import FieldProblem, RecordError
from allpath.service.cohort.spark_input import type_refusal

LINE = "line"
"""The column of a JSON line's text, beside its ``row``."""

AS_JSON = ("exposures",)
"""Record columns Spark hands over as JSON text (``to_json``; null stays null), decoded here into their Arrow
types: Spark's own conversion of these nested lists of structs to Arrow is slow (200,000 rows: 11,400 records/s
with ``exposures`` as it is, 186,000 with it as JSON text; the other columns cost little)."""

_LIST = pa.list_(pa.string())
_OUTPUT_FIELDS: list[tuple[str, pa.DataType]] = [
    (ROW, pa.int64()),
    ("id", pa.string()),
    ("disease_state", pa.string()),
    ("risk_group", pa.string()),
    ("risk_group_provisional", pa.bool_()),
    ("risk_group_missing", _LIST),
    ("risk_group_upcoming", _LIST),
    ("cog_risk_group", pa.string()),
    ("cog_risk_group_provisional", pa.bool_()),
    ("cog_risk_group_missing", _LIST),
    ("cog_risk_group_upcoming", _LIST),
    ("populations", _LIST),
    ("relapse_timing", pa.string()),
    ("relapse_risk_group", pa.string()),
    ("fallback", pa.bool_()),
    ("knowledge_version", pa.string()),
    ("problem", pa.string()),
]
OUTPUT_ARROW_SCHEMA = pa.schema(_OUTPUT_FIELDS)
"""What the Spark path writes: the local stratifier's columns (plain Arrow types, as Spark declares them) and
``problem``."""


def answers(stratifier: Stratifier, table: pa.Table) -> pa.Table:
    """The stratifier's answers of a table of valid records, in the written schema."""
    frame = stratifier.stratify(table).to_arrow()
    columns = [
        frame.column(field.name).cast(field.type)
        if field.name in frame.column_names
        else pa.nulls(frame.num_rows, field.type)
        for field in OUTPUT_ARROW_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=OUTPUT_ARROW_SCHEMA)


def _refused(rows: list[int | None], problems: list[str], version: str) -> pa.Table:
    """Rows that are not valid records: their row number and problem, no answer."""
    size = len(rows)
    given: dict[str, pa.Array[Any]] = {
        ROW: pa.array(rows, pa.int64()),
        "problem": pa.array(problems, pa.string()),
        "knowledge_version": pa.array([version] * size, pa.string()),
    }
    arrays: list[pa.Array[Any]] = [given.get(f.name, pa.nulls(size, f.type)) for f in OUTPUT_ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=OUTPUT_ARROW_SCHEMA)


def _problems(problems: tuple[FieldProblem, ...] | list[FieldProblem]) -> str:
    """A row's problems as a person reads them (the field by its label and its key, the value, what is allowed)."""
    return "; ".join(problem.message(with_key=True) for problem in problems)


def _record_or_problem(data: object) -> PatientRecord | str:
    """A decoded row's record, or why it is not one (plain words, as the cohort readers say it)."""
    try:
        return parse_record(data)
    except RecordError as error:
        return _problems(error.problems)


def _line_record_or_problem(line: str) -> PatientRecord | str:
    """A JSON line's record, or why it is not one."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        return "The line is not valid JSON."
    try:
        return _record_or_problem(data)
    except RecursionError:
        return "The line is not valid JSON."


class _Checked:
    """Rows checked one by one: the accepted records with their row numbers, the refused rows with their problem."""

    def __init__(self) -> None:
        self.records: list[PatientRecord] = []
        self.rows: list[int | None] = []
        self.refused_rows: list[int | None] = []
        self.problems: list[str] = []

    def add(self, row: int | None, found: PatientRecord | str) -> None:
        if isinstance(found, str):
            self.refused_rows.append(row)
            self.problems.append(found)
        else:
            self.records.append(found)
            self.rows.append(row)

    def written(self, stratifier: Stratifier, valid: pa.Table | None = None) -> pa.Table:
        """The answers of ``valid`` (a table of ``TABLE_SCHEMA``) and of the accepted records, then the refused rows."""
        tables = [valid] if valid is not None and valid.num_rows else []
        if self.records:
            tables.append(
                records_table(self.records).set_column(0, TABLE_SCHEMA.field(ROW), pa.array(self.rows, pa.int64()))
            )
        parts = [answers(stratifier, pa.concat_tables(tables))] if tables else []
        if self.refused_rows:
            parts.append(_refused(self.refused_rows, self.problems, stratifier.knowledge_version))
        return pa.concat_tables(parts) if parts else OUTPUT_ARROW_SCHEMA.empty_table()


def lines_table(stratifier: Stratifier, batch: pa.RecordBatch) -> pa.Table:
    """A batch of numbered JSON lines: the valid records assessed, the others refused with their problem."""
    checked = _Checked()
    lines = cast(list[str], batch.column(LINE).to_pylist())
    for line, row in zip(lines, batch.column(ROW).to_pylist(), strict=True):
        checked.add(row, _line_record_or_problem(line))
    return checked.written(stratifier)


def _textual(kind: pa.DataType) -> pa.DataType:
    """``kind`` with its dates as text (a JSON date is text; the cast to ``kind`` reads it as a date)."""
    if pa.types.is_date32(kind):
        return pa.string()
    if pa.types.is_list(kind):
        return pa.list_(_textual(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([(field.name, _textual(field.type)) for field in kind])
    return kind


def json_column(texts: pa.Array[Any], kind: pa.DataType) -> pa.Array[Any]:
    """A column Spark handed over as JSON text, in its Arrow type ``kind`` (a null text is a null value)."""
    values = cast(list[str | None], texts.to_pylist())
    document = "\n".join('{"v":' + (text if text is not None else "null") + "}" for text in values)
    try:
        options = pa_json.ParseOptions(explicit_schema=pa.schema([("v", _textual(kind))]))
        read = pa_json.read_json(io.BytesIO(document.encode("utf-8")), parse_options=options)
        column = read.column("v").combine_chunks()
    except pa.ArrowInvalid:  # what Arrow's JSON reader refuses (NaN, Infinity): Python's reader takes it
        column = pa.array([None if text is None else json.loads(text) for text in values], _textual(kind))
    return column.cast(kind)


class ColumnTypeError(ValueError):
    """A column's values cannot be read as the record's type (the local reader's words; the driver reports it)."""


def _record_shape(batch: pa.RecordBatch) -> pa.Table:
    """A batch of the table as Spark hands it over, in the record's columns and types (a column the file lacks is
    missing in every row, as the local reader reads it; a column of ``AS_JSON`` comes as text and is decoded)."""
    names = batch.schema.names
    columns = []
    for field in RECORD_SCHEMA:
        if field.name not in names:
            columns.append(pa.nulls(batch.num_rows, field.type))
        elif field.name in AS_JSON and pa.types.is_string(batch.schema.field(field.name).type):
            columns.append(json_column(batch.column(field.name), field.type))
        else:
            column = batch.column(field.name)
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ColumnTypeError(type_refusal(field.name, column.type, field.type)) from None
    return pa.Table.from_arrays(columns, schema=RECORD_SCHEMA)


def parquet_table(stratifier: Stratifier, batch: pa.RecordBatch) -> pa.Table:
    """A batch of the table: the rows the column checks settle assessed as they are (age from the dates), the
    others through ``parse_record``; a bad row refused with its problem, as the local Parquet reader refuses it."""
    table = _record_shape(batch)
    if ROW in batch.schema.names:
        rows: pa.Array[Any] = batch.column(ROW).cast(pa.int64())
    else:
        rows = pa.nulls(batch.num_rows, pa.int64())
    ok, ages, dated = settled(table)
    numbered = with_ages(table, ages, dated).add_column(0, TABLE_SCHEMA.field(ROW), rows)
    if ok.all():
        return answers(stratifier, numbered)
    unsettled = np.flatnonzero(~ok)
    row_numbers = cast(list[int | None], rows.take(unsettled).to_pylist())
    checked = _Checked()
    for row, data in zip(row_numbers, rows_as_values(table.take(unsettled)), strict=True):
        checked.add(row, _problems([data]) if isinstance(data, FieldProblem) else _record_or_problem(data))
    return checked.written(stratifier, numbered.filter(pa.array(ok)))
