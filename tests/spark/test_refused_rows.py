"""Bad Parquet rows on Spark (issue 15): the Spark path checks each row of the table as the local reader
(``read_cohort``) does, so a row the local reader refuses is, on Spark too, an output row with its row number and
the same problem in plain words, never stratified and never dropped; the other rows get the local answers.
Outside material: the synthetic cohort generator's own Parquet file, with a few of its rows spoiled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allpath.domain import limits
from allpath.domain.cohort_table import TABLE_SCHEMA
from allpath.engine.columnar import Stratifier
from allpath.errors import FieldProblem
from allpath.interfaces.cohort import read_cohort
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.spark import stratify_on_spark
from allpath.service.cohort.synthetic_files import write_cohort
from tests.spark.spark_answers import differences, write_partitions, written

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow

_RELAPSE = {"sites": ["bone_marrow"], "end_of_block1_mrd_pct": None}
_SPOILED: dict[int, dict[str, object]] = {
    # row number (1 = the first) -> the cells that spoil it
    11: {"wbc_per_ul": limits.WBC_PER_UL.high + 1},  # an impossible white count: one past the limit
    12: {"wbc_per_ul": 50_000_000.0},
    21: {"genetics": ["not_a_known_finding"]},  # an unknown genetics token
    22: {"genetics": ["none_detected", "none_detected"]},
    31: {"relapses": [{"months_from_diagnosis": -2.0, **_RELAPSE}]},  # a relapse before the diagnosis
    32: {"relapses": [{"months_from_diagnosis": limits.RELAPSE_MONTHS.low, **_RELAPSE}]},  # at the diagnosis
}
_VALID: dict[int, dict[str, object]] = {
    # rows the column checks accept or leave to parse_record, which accepts them
    13: {"wbc_per_ul": limits.WBC_PER_UL.high},  # the white count at its limit
    33: {"relapses": [{"months_from_diagnosis": 0.5, **_RELAPSE}]},
    41: {"exposures": {"courses": None, "radiation": [{"site": "cranial", "dose_gy": 18.0, "date": None}]}},
    42: {"birth_date": dt.date(2015, 3, 1), "diagnosis_date": dt.date(2021, 3, 1), "age_years": None},
}


def _cohort(tmp_path: Path) -> pa.Table:
    """The synthetic cohort's Parquet rows with the rows of ``_SPOILED`` and ``_VALID`` changed."""
    cohort = write_cohort(3_000, 21, tmp_path / "cohort.parquet", tmp_path / "outcomes.parquet")
    rows = pq.read_table(cohort.records_path).to_pylist()
    for row, cells in (_SPOILED | _VALID).items():
        rows[row - 1].update(cells)
    return pa.Table.from_pylist(rows, schema=TABLE_SCHEMA)


def _local_problems(path: Path) -> dict[int, str]:
    """The local reader's problems of each refused row, in the words the Spark path writes."""
    found: dict[int, list[str]] = {}
    for batch in read_cohort(path):
        for problem in batch.problems:
            message = FieldProblem(problem.field, problem.value, problem.allowed).message(with_key=True)
            found.setdefault(problem.row, []).append(message)
    return {row: "; ".join(messages) for row, messages in found.items()}


def test_bad_parquet_rows_on_spark_are_the_local_readers_refused_rows_and_problems(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    table = _cohort(tmp_path)
    source = write_partitions(table, tmp_path / "cohort", parts=3)
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole)
    run = stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    assert (run.rows, run.refused_rows) == (3_000, len(_SPOILED))

    got = written(tmp_path / "answers")
    refused = got.filter(pl.col("problem").is_not_null())
    local = _local_problems(whole)
    assert sorted(local) == sorted(_SPOILED)
    assert dict(zip(refused["row"].to_list(), refused["problem"].to_list(), strict=True)) == local
    words = dict(zip(refused["row"].to_list(), refused["problem"].to_list(), strict=True))
    assert "white" in words[11].lower() and "not_a_known_finding" in words[21] and "-2" in words[31]
    # A refused row is never stratified: no answer in any column, only its number, problem and knowledge version.
    answer_columns = [c for c in got.columns if c not in ("row", "problem", "knowledge_version")]
    assert refused.select(pl.all_horizontal(pl.col(answer_columns).is_null())).to_series().all()
    assert set(refused["knowledge_version"]) == {kb.version}

    # The rest: exactly the local stratifier's answers on the records the local reader reads.
    valid = pa.concat_tables(batch.table for batch in read_cohort(whole))
    assert set(_VALID) <= set(valid.column("row").to_pylist())
    assessed = got.filter(pl.col("problem").is_null()).drop("problem")
    assert differences(assessed, stratifier.stratify(valid)) == []
