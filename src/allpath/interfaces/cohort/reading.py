"""What every cohort reader hands on: batches of valid records as Arrow tables, and the problems of bad rows.

A reader never stops at a bad row and never drops one silently: the row's problems (each with the row number,
the record field as ``parse_record`` names it, the value and what is allowed) travel in the batch beside the
table of the rows that were valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from allpath.domain.cohort_table import TABLE_SCHEMA, records_table
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.errors import FieldProblem, RecordError

DEFAULT_BATCH_ROWS = 65_536
"""Rows of the input per batch: memory stays bounded by one batch, whatever the size of the file."""


class CohortFileError(ValueError):
    """The file as a whole cannot be read as a cohort (unknown format, a column the record does not have, JSON
    that breaks off). The message is plain words for the person who gave the file."""


@dataclass(frozen=True)
class RowProblem:
    """One problem of one input row: the row (1 = the first record), the record field, the value, what is allowed.

    ``patient`` is the FHIR Patient id of a Bulk Data row (its row is the Patient's position in Patient.ndjson).
    """

    row: int
    field: str
    value: object
    allowed: str
    patient: str | None = None

    def message(self) -> str:
        """What a person reads: the row, the field by its label and its key, the value and what is allowed."""
        where = f"Row {self.row:,}" + (f" (Patient {self.patient})" if self.patient else "")
        return f"{where}: {FieldProblem(self.field, self.value, self.allowed).message(with_key=True)}"


@dataclass(frozen=True)
class CohortBatch:
    """A stretch of the input: its valid records as a table of ``TABLE_SCHEMA``, and the problems of its bad rows."""

    table: pa.Table
    problems: tuple[RowProblem, ...] = ()

    @property
    def rows_read(self) -> int:
        """The input rows this batch accounts for: the valid ones and the refused ones."""
        return self.table.num_rows + len({problem.row for problem in self.problems})


@dataclass
class BatchBuilder:
    """Collects checked rows and hands them on as a ``CohortBatch`` every ``batch_rows`` input rows."""

    batch_rows: int
    records: list[PatientRecord] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    seen: int = 0

    def accept(self, row: int, record: PatientRecord) -> None:
        self.records.append(record)
        self.rows.append(row)
        self.seen += 1

    def refuse(self, problems: Iterable[RowProblem]) -> None:
        self.problems.extend(problems)
        self.seen += 1

    def check(self, row: int, data: object, patient: str | None = None) -> None:
        """Validate one decoded record with ``parse_record``: accepted, or refused with its problems."""
        try:
            record = parse_record(data)
        except RecordError as error:
            self.refuse(RowProblem(row, p.field, p.value, p.allowed, patient) for p in error.problems)
        else:
            self.accept(row, record)

    @property
    def full(self) -> bool:
        return self.seen >= self.batch_rows

    def take(self) -> CohortBatch:
        """The batch collected so far (possibly empty), and a fresh start."""
        table = numbered_table(self.records, self.rows)
        batch = CohortBatch(table, tuple(self.problems))
        self.records, self.rows, self.problems, self.seen = [], [], [], 0
        return batch


def numbered_table(records: list[PatientRecord], rows: list[int]) -> pa.Table:
    """Validated records as a table of ``TABLE_SCHEMA``, each with its own input row number."""
    table = records_table(records)
    return table.set_column(0, TABLE_SCHEMA.field(0), pa.array(rows, type=pa.int64()))


def checked_batches(rows: Iterable[tuple[int, object]], batch_rows: int) -> Iterator[CohortBatch]:
    """Decoded records (row number, value) validated one by one with ``parse_record``, in batches."""
    builder = BatchBuilder(batch_preferred(batch_rows))
    for row, data in rows:
        if isinstance(data, RowProblems):
            builder.refuse(data.problems)
        else:
            builder.check(row, data)
        if builder.full:
            yield builder.take()
    if builder.seen:
        yield builder.take()


@dataclass(frozen=True)
class RowProblems:
    """A row that could not even be decoded into a record (not JSON, a cell that is not JSON text)."""

    problems: tuple[RowProblem, ...]


def batch_preferred(batch_rows: int) -> int:
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    return batch_rows
