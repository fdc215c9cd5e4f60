"""The files an assessed cohort is written to, one batch at a time: the answers (Parquet, CSV or JSON Lines) and
the bad rows' problems (CSV).

Every answer row carries the knowledge version in its ``knowledge_version`` column; a Parquet file also carries it
in its key-value metadata (``allpath.knowledge_version``), so a reader can tell which rules answered without
reading a row. CSV has no lists: a list cell holds its items with ``;`` between them, as the cohort reader reads
``genetics``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Protocol

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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
