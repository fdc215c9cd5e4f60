"""Assess a cohort (issue 15): stream the caller's batches through the columnar stratifier and write the answers
as they come, with the bad rows' problems in a file of their own.

The caller reads the cohort (the CLI with ``interfaces.cohort.read_cohort``) and hands the batches down: this use
case never opens the input itself, so any reader (or Spark) can feed it. Each batch is stratified by the
knowledge base's compiled stratifier (compiled once per knowledge version) and written at once, so memory holds
one batch whatever the size of the cohort. A bad row is counted and its problems written to the problems file:
never dropped, never stopping the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Literal, Protocol

import polars as pl
import pyarrow as pa

from allpath.engine.columnar import Refusal, Stratifier, compile_stratifier
from allpath.engine.columnar.fallback import OUTPUT_SCHEMA
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.files import AnswerWriter, ProblemsWriter, open_answers

OutputFormat = Literal["parquet", "csv", "jsonl"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("parquet", "csv", "jsonl")

ANSWER_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "id": pl.String(),
    **OUTPUT_SCHEMA,
    "fallback": pl.Boolean(),
    "knowledge_version": pl.String(),
}
"""The columns of an assessed cohort, in the order they are written."""
ANSWER_COLUMNS = tuple(ANSWER_SCHEMA)


class RowProblemLike(Protocol):
    """One problem of one bad input row, as a cohort reader reports it."""

    @property
    def row(self) -> int: ...
    @property
    def field(self) -> str: ...
    @property
    def value(self) -> object: ...
    @property
    def allowed(self) -> str: ...
    @property
    def patient(self) -> str | None: ...


class BatchLike(Protocol):
    """A stretch of the input: the valid records (a table of ``TABLE_SCHEMA``) and the bad rows' problems."""

    @property
    def table(self) -> pa.Table: ...
    @property
    def problems(self) -> Sequence[RowProblemLike]: ...


@dataclass
class CohortCounts:
    """How many input rows were read, assessed (valid), refused (bad) and answered by the per-patient engine."""

    rows_read: int = 0
    assessed: int = 0
    refused: int = 0
    fallen_back: int = 0
    problems: int = 0

    def add(self, assessed: int, refused: int, fallen_back: int, problems: int) -> None:
        self.rows_read += assessed + refused
        self.assessed += assessed
        self.refused += refused
        self.fallen_back += fallen_back
        self.problems += problems


@dataclass(frozen=True)
class CohortAssessment:
    """What an assessment of a cohort did: its counts, the knowledge version and the files it wrote."""

    counts: CohortCounts
    knowledge_version: str
    output: Path
    output_format: OutputFormat
    problems_path: Path
    refused_parts: tuple[Refusal, ...] = field(default=())


Progress = Callable[[CohortCounts], None]
"""Called after each batch with the counts so far (the CLI's progress bar)."""

_compiled: dict[str, Stratifier] = {}
_compiled_lock = Lock()


def stratifier_for(kb: KnowledgeBase) -> Stratifier:
    """The knowledge base's columnar stratifier, compiled once per knowledge version."""
    with _compiled_lock:
        found = _compiled.get(kb.version)
        if found is None:
            found = _compiled[kb.version] = compile_stratifier(kb)
        return found


def answer_frame(stratifier: Stratifier, table: pa.Table) -> pl.DataFrame:
    """The stratification columns of one batch's valid records, in ``ANSWER_COLUMNS`` order."""
    answers = stratifier.stratify(table)
    if "id" not in answers.columns:
        answers = answers.with_columns(pl.lit(None, dtype=pl.String).alias("id"))
    return answers.select(ANSWER_COLUMNS)


def assess_cohort(
    batches: Iterable[BatchLike],
    kb: KnowledgeBase,
    output: Path,
    output_format: OutputFormat,
    problems_path: Path,
    on_progress: Progress | None = None,
) -> CohortAssessment:
    """Stratify every batch with ``kb`` and write the answers to ``output`` and the bad rows' problems to
    ``problems_path`` as they come; hand back the counts.

    Raises
    ------
    OSError
        When an output file cannot be written.
    """
    stratifier = stratifier_for(kb)
    counts = CohortCounts()
    with (
        open_answers(output, output_format, kb.version) as answers,
        ProblemsWriter(problems_path) as problems,
    ):
        for batch in batches:
            _one_batch(stratifier, batch, answers, problems, counts)
            if on_progress is not None:
                on_progress(counts)
        if counts.assessed == 0:  # an empty file still has the answer columns
            answers.write(pl.DataFrame(schema=ANSWER_SCHEMA))
    return CohortAssessment(counts, kb.version, output, output_format, problems_path, stratifier.refused)


def _one_batch(
    stratifier: Stratifier, batch: BatchLike, answers: AnswerWriter, problems: ProblemsWriter, counts: CohortCounts
) -> None:
    refused_rows = {problem.row for problem in batch.problems}
    problems.write(batch.problems)
    fallen_back = 0
    if batch.table.num_rows:
        frame = answer_frame(stratifier, batch.table)
        fallen_back = int(frame["fallback"].sum())
        answers.write(frame)
    counts.add(batch.table.num_rows, len(refused_rows), fallen_back, len(batch.problems))
