"""Identity on Spark (issue 15, item 5): in Spark local mode, over several partitions, the Spark path writes
exactly the local columnar stratifier's answer in every output column (and the local stratifier is the
per-patient engine's answer: tests/columnar). Inputs: every cell of the committed risk grid and every row of
the absent grid (tests/golden), 100,000 records of the synthetic cohort generator, and 20,000 seeded varied
records (relapses, refractory disease, missing inputs), these also checked against the per-patient engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allpath.domain.cohort_table import ROW, records_table
from allpath.domain.record import parse_record
from allpath.engine.columnar import Stratifier
from allpath.engine.columnar.fallback import record_of
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.spark import OUTPUT_ARROW_SCHEMA, stratify_on_spark
from allpath.service.cohort.synthetic_files import write_cohort
from tests.columnar.identity import RecordGenerator, engine_answer, mismatches, parsed
from tests.columnar.test_grid_identity import INPUTS, NULL, RESPONSE, _cohort, _read
from tests.spark.spark_answers import differences, write_partitions, written

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow


def _numbered(frame: pl.DataFrame) -> pa.Table:
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64)).to_arrow()


@pytest.fixture(scope="module")
def complete_grid() -> pl.DataFrame:
    golden = _read("risk_grid.csv")
    tokens = [c for c in golden.columns if c not in (*INPUTS, *RESPONSE)]
    cells = golden.unpivot(index=[*INPUTS, *RESPONSE], on=tokens, variable_name="genetics", value_name="cell")
    return cells.with_columns(pl.col("cell").str.split_exact("/", 1).struct.rename_fields(["risk", "cog"])).unnest(
        "cell"
    )


def test_every_cell_of_the_complete_risk_grid_on_spark_is_the_local_answer_and_the_committed_group(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, complete_grid: pl.DataFrame, tmp_path: Path
) -> None:
    table = _numbered(_cohort(complete_grid))
    assert table.num_rows == 18432 * 11
    source = write_partitions(table, tmp_path / "grid", parts=4)
    run = stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    assert (run.rows, run.refused_rows, run.knowledge_version) == (table.num_rows, 0, kb.version)
    assert run.partitions >= 4
    got = written(tmp_path / "answers")
    assert differences(got, stratifier.stratify(table)) == []
    committed = complete_grid.select("risk", "cog")
    assert got["risk_group"].fill_null(NULL).to_list() == committed["risk"].to_list()
    assert got["cog_risk_group"].fill_null(NULL).to_list() == committed["cog"].to_list()


def test_every_row_of_the_absent_grid_on_spark_is_the_local_and_the_per_patient_answer(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    cohort = _cohort(_read("risk_grid_absent.csv"))
    table = _numbered(cohort)
    source = write_partitions(table, tmp_path / "absent", parts=3)
    stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    got = written(tmp_path / "answers")
    assert differences(got, stratifier.stratify(table)) == []
    assert mismatches(got, [record_of(row) for row in cohort.to_dicts()], kb, engine_answer) == []


def test_100000_synthetic_records_on_spark_get_the_local_answer_in_every_column(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    cohort = write_cohort(100_000, 15, tmp_path / "cohort.parquet", tmp_path / "outcomes.parquet")
    table = pq.read_table(cohort.records_path)
    source = write_partitions(table, tmp_path / "cohort", parts=5)
    run = stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    assert (run.rows, run.partitions) == (100_000, 5)
    assert differences(written(tmp_path / "answers"), stratifier.stratify(table)) == []


def test_seeded_varied_records_on_spark_get_the_per_patient_answer_in_every_column(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    records = parsed(RecordGenerator(kb, seed=1502).records(20_000))
    table = records_table(records)
    source = write_partitions(table, tmp_path / "varied", parts=4)
    stratify_on_spark(source, tmp_path / "answers", kb, session=spark)
    got = written(tmp_path / "answers")
    assert set(got["disease_state"]) == {"newly_diagnosed", "relapsed", "refractory"}
    assert differences(got, stratifier.stratify(table)) == []
    assert mismatches(got, records, kb, engine_answer) == []


def test_one_parquet_file_spread_over_partitions_gives_the_same_answers(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    cohort = write_cohort(5_000, 4, tmp_path / "cohort.parquet", tmp_path / "outcomes.parquet")
    run = stratify_on_spark(cohort.records_path, tmp_path / "answers", kb, session=spark, partitions=3)
    assert run.partitions == 3
    assert differences(written(tmp_path / "answers"), stratifier.stratify(pq.read_table(cohort.records_path))) == []


def test_json_lines_partitions_are_numbered_as_one_file_and_bad_lines_are_rows_with_their_problem(
    spark: SparkSession, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    cohort = write_cohort(3_000, 8, tmp_path / "cohort.jsonl", tmp_path / "outcomes.jsonl", "jsonl")
    lines = cohort.records_path.read_text(encoding="utf-8").splitlines()
    folder = tmp_path / "parts"
    folder.mkdir()
    # Three partitions; the second ends with a blank line, a record with an impossible age and a broken line.
    (folder / "a.jsonl").write_text("\n".join(lines[:1000]) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text(
        "\n".join([*lines[1000:2000], "", '{"age_years": -3}', "{"]) + "\n", encoding="utf-8"
    )
    (folder / "c.jsonl").write_text("\n".join(lines[2000:]) + "\n", encoding="utf-8")
    run = stratify_on_spark(folder, tmp_path / "answers", kb, session=spark)
    assert (run.rows, run.refused_rows) == (3_002, 2)
    got = written(tmp_path / "answers")
    refused = got.filter(pl.col("problem").is_not_null())
    assert refused["row"].to_list() == [2002, 2003]  # the blank line 2001 is counted, as the local reader counts it
    assert "age" in refused["problem"][0] and refused["problem"][1] == "The line is not valid JSON."
    assert refused["risk_group"].null_count() == 2 and set(refused["knowledge_version"]) == {kb.version}
    # The assessed lines are the records the local reader reads from the same lines (rows after the three
    # extra lines of b.jsonl numbered three further on).
    expected = stratifier.stratify(records_table(parse_record(json.loads(line)) for line in lines))
    assessed = got.filter(pl.col("problem").is_null()).drop("problem")
    renumbered = assessed.with_columns(pl.when(pl.col("row") > 2003).then(pl.col("row") - 3).otherwise("row"))
    assert differences(renumbered, expected) == []


def test_the_written_schema_is_the_declared_one(spark: SparkSession, kb: KnowledgeBase, tmp_path: Path) -> None:
    cohort = write_cohort(100, 1, tmp_path / "cohort.parquet", tmp_path / "outcomes.parquet")
    stratify_on_spark(cohort.records_path, tmp_path / "answers", kb, session=spark)
    schema = pq.read_schema(next((tmp_path / "answers").glob("*.parquet")))
    assert schema.names == OUTPUT_ARROW_SCHEMA.names
