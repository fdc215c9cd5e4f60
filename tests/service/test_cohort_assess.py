"""The cohort assessment use case (issue 15): batches in, the columnar stratifier's answers written as they come,
bad rows counted and written to the problems file, the knowledge version carried in the output."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from allpath.engine.columnar import compile_stratifier
from allpath.interfaces.cohort import CohortBatch, RowProblem, read_cohort
from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.assess import ANSWER_COLUMNS, assess_cohort, stratifier_for
from allpath.service.cohort.files import KNOWLEDGE_VERSION_KEY, PROBLEM_COLUMNS, write_synthetic
from allpath.service.cohort.synthetic import ID_PREFIX
from allpath.service.cohort.synthetic_files import is_synthetic, write_cohort
from tests.conftest import EXAMPLES

KB = load_knowledge()


def _expected(source: Path) -> pl.DataFrame:
    """The reference: ``compile_stratifier(kb).stratify`` of every valid record of the file, read whole."""
    tables = [batch.table for batch in read_cohort(source)]
    return compile_stratifier(KB).stratify(pa.concat_tables(tables)).select(ANSWER_COLUMNS)


def test_answers_equal_the_stratifier_and_carry_the_knowledge_version(tmp_path: Path) -> None:
    source = EXAMPLES / "all.json"
    out, problems = tmp_path / "answers.parquet", tmp_path / "problems.csv"
    seen: list[int] = []
    result = assess_cohort(
        read_cohort(source, batch_rows=4), KB, out, "parquet", problems, lambda c: seen.append(c.rows_read)
    )
    written = pq.read_table(out)
    assert_frame_equal(pl.DataFrame(pl.from_arrow(written)), _expected(source))
    assert written.schema.metadata[KNOWLEDGE_VERSION_KEY] == KB.version.encode()
    assert set(written.column("knowledge_version").to_pylist()) == {KB.version}
    examples = len(json.loads(source.read_text(encoding="utf-8")))
    assert (result.counts.rows_read, result.counts.assessed, result.counts.refused) == (examples, examples, 0)
    assert result.knowledge_version == KB.version
    assert seen == sorted(seen) and seen[-1] == examples and len(seen) == -(-examples // 4)  # one call per batch


def test_one_batch_or_one_row_per_batch_gives_the_same_file(tmp_path: Path) -> None:
    source = EXAMPLES / "all.json"
    for rows in (1, 10_000):
        assess_cohort(read_cohort(source, batch_rows=rows), KB, tmp_path / f"{rows}.parquet", "parquet", tmp_path / "p")
    assert pq.read_table(tmp_path / "1.parquet").equals(pq.read_table(tmp_path / "10000.parquet"))


def _problem_batches() -> list[CohortBatch]:
    """Three batches: good records, a batch with one bad row (two problems) beside good ones, good records."""
    tables = [batch.table for batch in read_cohort(EXAMPLES / "all.json", batch_rows=5)]
    bad = (
        RowProblem(6, "wbc_per_ul", -1, "expected a number from 0 to 2,000,000"),
        RowProblem(6, "sex", "x", 'expected "male" or "female"', patient="p-6"),
    )
    return [CohortBatch(tables[0]), CohortBatch(tables[1].slice(1), bad), CohortBatch(tables[2])]


def test_a_bad_row_goes_to_the_problems_file_counted_and_the_run_completes(tmp_path: Path) -> None:
    out, problems = tmp_path / "answers.parquet", tmp_path / "problems.csv"
    batches = _problem_batches()
    result = assess_cohort(batches, KB, out, "parquet", problems)
    valid = sum(batch.table.num_rows for batch in batches)
    assert (result.counts.assessed, result.counts.refused, result.counts.problems) == (valid, 1, 2)
    assert result.counts.rows_read == valid + 1
    assert pq.read_table(out).num_rows == valid  # the batches after the bad row were answered too
    with problems.open(encoding="utf-8", newline="") as stream:
        lines = list(csv.reader(stream))
    assert lines == [
        list(PROBLEM_COLUMNS),
        ["6", "", "wbc_per_ul", "-1", "expected a number from 0 to 2,000,000"],
        ["6", "p-6", "sex", "x", 'expected "male" or "female"'],
    ]


def test_csv_and_json_lines_hold_the_same_answers(tmp_path: Path) -> None:
    source = EXAMPLES / "all.json"
    expected = _expected(source)
    assess_cohort(read_cohort(source), KB, tmp_path / "a.jsonl", "jsonl", tmp_path / "p1.csv")
    lines = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines == expected.to_dicts()
    assess_cohort(read_cohort(source), KB, tmp_path / "a.csv", "csv", tmp_path / "p2.csv")
    with (tmp_path / "a.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == list(ANSWER_COLUMNS)
    assert [row["risk_group"] or None for row in rows] == expected["risk_group"].to_list()
    # A list is its items with ";" between them, as the cohort reader reads genetics.
    assert [row["populations"] for row in rows] == [";".join(p) for p in expected["populations"].to_list()]


def test_an_input_with_no_valid_row_still_writes_the_answer_columns(tmp_path: Path) -> None:
    empty = pa.Table.from_batches([], schema=_problem_batches()[0].table.schema)
    bad = CohortBatch(empty, (RowProblem(1, "sex", "x", "expected male or female"),))
    result = assess_cohort([bad], KB, tmp_path / "a.parquet", "parquet", tmp_path / "p.csv")
    written = pq.read_table(tmp_path / "a.parquet")
    assert written.num_rows == 0 and written.column_names == list(ANSWER_COLUMNS)
    assert (result.counts.rows_read, result.counts.refused, result.counts.assessed) == (1, 1, 0)


def test_the_stratifier_is_compiled_once_per_knowledge_version() -> None:
    assert stratifier_for(KB) is stratifier_for(load_knowledge())


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_the_synthetic_files_with_progress_are_the_generators_own(tmp_path: Path, file_format: str) -> None:
    told: list[int] = []
    written = write_synthetic(70_000, 5, tmp_path / "cli", file_format, told.append)  # type: ignore[arg-type]
    reference = write_cohort(70_000, 5, tmp_path / "r1", tmp_path / "r2", file_format)  # type: ignore[arg-type]
    assert told == [65_536, 70_000]  # after each block of the generator
    assert written.records_path.read_bytes() == reference.records_path.read_bytes()
    assert written.outcomes_path.read_bytes() == reference.outcomes_path.read_bytes()
    if file_format == "parquet":
        assert is_synthetic(written.records_path) and is_synthetic(written.outcomes_path)
    else:
        first = json.loads(written.records_path.read_text(encoding="utf-8").splitlines()[0])
        assert first["id"].startswith(ID_PREFIX)
