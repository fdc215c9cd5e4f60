"""The files an assessed cohort is written to, one batch at a time: the answers (Parquet, CSV or JSON Lines) and
the bad rows' problems (CSV); and a synthetic cohort written block by block with its progress told.

Every answer row carries the knowledge version in its ``knowledge_version`` column; a Parquet file also carries it
in its key-value metadata (``allpath.knowledge_version``), so a reader can tell which rules answered without
reading a row. CSV has no lists: a list cell holds its items with ``;`` between them, as the cohort reader reads
``genetics``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import ROW, TABLE_SCHEMA
from allpath.service.cohort.synthetic import OUTCOME_SCHEMA, SyntheticBlock, generate
from allpath.service.cohort.synthetic_files import (
    FileFormat,
    WrittenCohort,
    _outcome_line,  # the synthetic files' own line format, shared rather than copied
    _record_line,
    synthetic_metadata,
)

if TYPE_CHECKING:
    from allpath.service.cohort.assess import OutputFormat, RowProblemLike

KNOWLEDGE_VERSION_KEY = b"allpath.knowledge_version"
PROBLEM_COLUMNS = ("row", "id", "field", "value", "allowed")
LIST_SEPARATOR = ";"


class AnswerWriter(Protocol):
    """Writes the answers of one batch after another to one file."""

    def write(self, frame: pl.DataFrame) -> None: ...
    def close(self) -> None: ...


class _ParquetAnswers:
    def __init__(self, path: Path, knowledge_version: str) -> None:
        self.path = path
        self.metadata = {KNOWLEDGE_VERSION_KEY: knowledge_version.encode("utf-8")}
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self.writer is None or self.schema is None:
            self.schema = table.schema.with_metadata(self.metadata)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table.cast(self.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class _TextAnswers:
    """CSV (a header once, lists joined with ``;``) or JSON Lines, appended batch by batch."""

    def __init__(self, path: Path, output_format: OutputFormat) -> None:
        self.stream: IO[bytes] = path.open("wb")
        self.csv = output_format == "csv"
        self.header = True

    def write(self, frame: pl.DataFrame) -> None:
        if self.csv:
            lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
            frame = frame.with_columns(pl.col(name).list.join(LIST_SEPARATOR) for name in lists)
            frame.write_csv(self.stream, include_header=self.header)
            self.header = False
        else:
            frame.write_ndjson(self.stream)

    def close(self) -> None:
        self.stream.close()


class _Answers:
    """An ``AnswerWriter`` used as a context manager (closed, with its footer, whatever happens)."""

    def __init__(self, writer: _ParquetAnswers | _TextAnswers) -> None:
        self.writer = writer

    def write(self, frame: pl.DataFrame) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> _Answers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_answers(path: Path, output_format: OutputFormat, knowledge_version: str) -> _Answers:
    """A writer of answer batches to ``path`` in ``output_format``."""
    if output_format == "parquet":
        return _Answers(_ParquetAnswers(path, knowledge_version))
    return _Answers(_TextAnswers(path, output_format))


def problem_value(value: object) -> str:
    """A problem's value as a cell: text as it is, nothing for a missing value, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


class ProblemsWriter:
    """The problems file: one CSV line per problem of a bad row (row, id, field, value, allowed)."""

    def __init__(self, path: Path) -> None:
        self.stream = path.open("w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.stream)
        self.csv.writerow(PROBLEM_COLUMNS)

    def write(self, problems: Iterable[RowProblemLike]) -> None:
        self.csv.writerows((p.row, p.patient or "", p.field, problem_value(p.value), p.allowed) for p in problems)

    def __enter__(self) -> ProblemsWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stream.close()


SYNTHETIC_RECORDS = "cohort"
SYNTHETIC_OUTCOMES = "outcomes"


def synthetic_paths(folder: Path, file_format: FileFormat) -> tuple[Path, Path]:
    """Where ``write_synthetic`` puts the records and the outcomes in ``folder``."""
    return folder / f"{SYNTHETIC_RECORDS}.{file_format}", folder / f"{SYNTHETIC_OUTCOMES}.{file_format}"


def write_synthetic(
    rows: int, seed: int, folder: Path, file_format: FileFormat, on_block: Callable[[int], None] | None = None
) -> WrittenCohort:
    """A synthetic cohort of ``rows`` records from ``seed`` written to ``folder`` (``cohort.<format>`` and
    ``outcomes.<format>``), labelled synthetic as ``synthetic_files.write_cohort`` labels it; ``on_block`` is
    told the rows written so far after each block (a progress bar)."""
    records_path, outcomes_path = synthetic_paths(folder, file_format)
    folder.mkdir(parents=True, exist_ok=True)
    done = 0
    with _synthetic_writers(rows, seed, records_path, outcomes_path, file_format) as write:
        for block in generate(rows, seed):
            write(block)
            done += block.records.num_rows
            if on_block is not None:
                on_block(done)
    return WrittenCohort(records_path=records_path, outcomes_path=outcomes_path, rows=rows)


@contextmanager
def _synthetic_writers(
    rows: int, seed: int, records_path: Path, outcomes_path: Path, file_format: FileFormat
) -> Iterator[Callable[[SyntheticBlock], None]]:
    if file_format == "parquet":
        metadata = synthetic_metadata(seed, rows)
        with (
            pq.ParquetWriter(records_path, TABLE_SCHEMA.with_metadata(metadata)) as records,
            pq.ParquetWriter(outcomes_path, OUTCOME_SCHEMA.with_metadata(metadata)) as outcomes,
        ):

            def write_parquet(block: SyntheticBlock) -> None:
                records.write_table(block.records)
                outcomes.write_table(block.outcomes)

            yield write_parquet
        return
    with (
        records_path.open("w", encoding="utf-8") as record_lines,
        outcomes_path.open("w", encoding="utf-8") as outcome_lines,
    ):

        def write_lines(block: SyntheticBlock) -> None:
            # The same lines as synthetic_files.write_cohort writes (a record is exactly a patient record).
            record_lines.writelines(_record_line(row) for row in block.records.drop_columns([ROW]).to_pylist())
            outcome_lines.writelines(_outcome_line(row) for row in block.outcomes.to_pylist())

        yield write_lines
