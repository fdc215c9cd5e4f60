"""The Spark path's Parquet input checked as the local reader (``read_cohort``) checks a file (issue 15): a column
that is no record field, or whose values cannot be read as the record's type, refuses the input in the local
reader's words (naming the column, its type and the record's type), not with a Python error from a worker; rows
without a ``row`` column are numbered 1, 2, ... as the local reader numbers a file's rows; a date after 9999 is a
refused row with the local reader's problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allpath.domain.cohort_table import ROW
from allpath.engine.columnar import Stratifier
from allpath.errors import FieldProblem
from allpath.interfaces.cohort import CohortFileError, read_cohort
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.spark import stratify_on_spark
from allpath.service.cohort.spark_input import SparkInputError
from allpath.service.cohort.synthetic_files import write_cohort
from tests.spark.spark_answers import differences, write_partitions, written

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow


def _records(tmp_path: Path, rows: int = 400) -> pa.Table:
    """The synthetic cohort's rows without their ``row`` column (as a registry's export would be)."""
    cohort = write_cohort(rows, 5, tmp_path / "cohort.parquet", tmp_path / "outcomes.parquet")
    return pq.read_table(cohort.records_path).drop_columns([ROW])


def _local_refusal(path: Path) -> str:
    with pytest.raises(CohortFileError) as refused:
        for _ in read_cohort(path):
            pass
    return str(refused.value)


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("an unknown column", ("ward", pa.array(["a"] * 10))),
        ("a type no cast reads", ("genetics", pa.array(list(range(10)), pa.int64()))),
        ("text that is no number", ("wbc_per_ul", pa.array(["many"] * 10))),
    ],
)
def test_a_file_the_local_reader_refuses_is_refused_on_spark_in_its_words(
    spark: SparkSession, kb: KnowledgeBase, tmp_path: Path, name: str, column: tuple[str, pa.Array[Any]]
) -> None:
    table = _records(tmp_path).slice(0, 10)
    label, values = column
    table = (
        table.set_column(table.schema.get_field_index(label), label, values)
        if label in table.column_names
        else (table.append_column(label, values))
    )
    source = tmp_path / "bad.parquet"
    pq.write_table(table, source)
    local = _local_refusal(source)
    assert label in local and (label == "ward" or str(values.type) in local)
    with pytest.raises(SparkInputError) as refused:
        stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    assert str(refused.value) == local, name


def test_rows_without_a_row_column_are_numbered_in_file_order_with_the_local_answers(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    table = _records(tmp_path)
    source = write_partitions(table, tmp_path / "cohort", parts=3)
    run = stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    assert (run.rows, run.refused_rows) == (table.num_rows, 0)
    got = written(tmp_path / "answers")
    assert got["row"].to_list() == list(range(1, table.num_rows + 1))
    assert got["id"].to_list() == table.column("id").to_pylist()  # row n is the file's n-th row
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole)
    local = pa.concat_tables(batch.table for batch in read_cohort(whole))
    assert differences(got.drop("problem"), stratifier.stratify(local)) == []


def test_a_date_after_9999_is_a_refused_row_with_the_local_readers_problem(
    spark: SparkSession, kb: KnowledgeBase, tmp_path: Path
) -> None:
    table = _records(tmp_path).slice(0, 5)
    far = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days + 400
    births = table.column("birth_date").to_pylist()
    days = [None if b is None else (b - dt.date(1970, 1, 1)).days for b in births]
    days[1] = far
    table = table.set_column(table.schema.get_field_index("birth_date"), "birth_date", pa.array(days, pa.date32()))
    source = tmp_path / "far.parquet"
    pq.write_table(table, source)
    local = {
        p.row: FieldProblem(p.field, p.value, p.allowed).message(with_key=True)
        for batch in read_cohort(source)
        for p in batch.problems
    }
    assert list(local) == [2]
    stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    refused = written(tmp_path / "answers").filter(pl.col("problem").is_not_null())
    assert dict(zip(refused["row"].to_list(), refused["problem"].to_list(), strict=True)) == local
