"""The stratifier's inputs and outputs: Arrow or polars tables, Arrow batches (for Spark's ``mapInArrow``),
Parquet streamed in batches, the knowledge version on every row, an empty table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import TABLE_SCHEMA, records_table
from allpath.engine.columnar import Stratifier
from allpath.knowledge.loader import KnowledgeBase
from tests.columnar.identity import RecordGenerator, parsed


def _table(kb: KnowledgeBase, n: int = 500) -> pa.Table:
    return records_table(parsed(RecordGenerator(kb, seed=17).records(n)))


def test_arrow_and_polars_tables_give_the_same_answer_with_the_knowledge_version(
    kb: KnowledgeBase, stratifier: Stratifier
) -> None:
    table = _table(kb)
    from_arrow = stratifier.stratify(table)
    from_polars = stratifier.stratify(pl.DataFrame(pl.from_arrow(table)))
    assert from_arrow.equals(from_polars)
    assert from_arrow["knowledge_version"].unique().to_list() == [kb.version]
    assert stratifier.knowledge_version == kb.version
    assert from_arrow["row"].to_list() == table.column("row").to_pylist()


def test_a_batch_in_gives_a_batch_out_row_for_row(kb: KnowledgeBase, stratifier: Stratifier) -> None:
    table = _table(kb)
    whole = stratifier.stratify(table)
    batches = table.to_batches(max_chunksize=128)
    answers = [stratifier.stratify_batch(batch) for batch in batches]
    assert all(isinstance(a, pa.RecordBatch) for a in answers)
    assert [a.num_rows for a in answers] == [b.num_rows for b in batches]
    assert pl.DataFrame(pl.from_arrow(pa.Table.from_batches(answers))).equals(whole)


def test_an_empty_table_gives_an_empty_answer_with_every_column(stratifier: Stratifier) -> None:
    empty = stratifier.stratify(TABLE_SCHEMA.empty_table())
    assert empty.height == 0
    assert {"disease_state", "risk_group_missing", "populations", "fallback", "knowledge_version"} <= set(empty.columns)
    assert stratifier.stratify_batch(pa.RecordBatch.from_pylist([], schema=TABLE_SCHEMA)).num_rows == 0


def test_every_kind_of_empty_table_gives_the_full_answer_schema_of_a_non_empty_one(
    kb: KnowledgeBase, stratifier: Stratifier
) -> None:
    """The reported failure (a token's column not found on an empty table): an empty table, whatever it holds of
    the table's columns, gives no rows and exactly the columns and types of a non-empty answer."""
    table = _table(kb, 50)
    full = stratifier.stratify(table)
    read_only = table.select(["row", *stratifier.reads])
    empties: list[pa.Table | pl.DataFrame] = [
        TABLE_SCHEMA.empty_table(),
        pa.Table.from_batches([], schema=TABLE_SCHEMA),  # no chunks at all
        table.slice(0, 0),
        pl.DataFrame(pl.from_arrow(table)).filter(pl.lit(False)),
    ]
    for empty in empties:
        answer = stratifier.stratify(empty)
        assert answer.height == 0
        assert answer.schema == full.schema
    assert stratifier.stratify(read_only.slice(0, 0)).schema == stratifier.stratify(read_only).schema
    assert stratifier.stratify(pl.DataFrame(schema={"row": pl.Int64})).columns == ["row", *full.columns[2:]]
    batch = stratifier.stratify_batch(pa.RecordBatch.from_pylist([], schema=TABLE_SCHEMA))
    assert batch.num_rows == 0 and batch.schema == stratifier.stratify_batch(table.to_batches()[0]).schema


def test_a_parquet_file_streamed_in_batches_gives_the_whole_tables_answer(
    kb: KnowledgeBase, stratifier: Stratifier, tmp_path: Path
) -> None:
    table = _table(kb, 1_000)
    path = tmp_path / "cohort.parquet"
    pq.write_table(table, path, row_group_size=300)
    columns = ["row", *stratifier.reads]  # only what the plan reads (and the row number)
    streamed = list(stratifier.stratify_batches(pq.ParquetFile(path).iter_batches(batch_size=256, columns=columns)))
    assert [s.height for s in streamed] == [256, 256, 256, 232]
    assert pl.concat(streamed).equals(stratifier.stratify(table).drop("id"))


def test_two_batches_in_flight_give_the_answers_of_one_in_the_batches_order(
    kb: KnowledgeBase, stratifier: Stratifier
) -> None:
    table = _table(kb, 1_000)
    batches = table.to_batches(max_chunksize=100)
    one = list(stratifier.stratify_batches(batches))
    for in_flight in (2, 3):
        overlapped = list(stratifier.stratify_batches(iter(batches), in_flight=in_flight))
        assert [a["row"].to_list() for a in overlapped] == [b["row"].to_list() for b in one]
        assert pl.concat(overlapped).equals(pl.concat(one))


def test_columns_left_out_of_reads_do_not_change_an_answer(kb: KnowledgeBase, stratifier: Stratifier) -> None:
    """The Parquet read takes only ``reads``: a column outside it (weight, predisposition syndromes and the
    others no compiled part reads) emptied in every row leaves every answer as it was."""
    table = _table(kb, 1_000)
    unread = [c for c in table.column_names if c not in {*stratifier.reads, "row", "id"}]
    assert "weight_kg" in unread  # the bundled knowledge's stratification reads no weight
    emptied = table
    for name in unread:
        position = emptied.schema.get_field_index(name)
        emptied = emptied.set_column(position, name, pa.nulls(table.num_rows, type=table.schema.field(name).type))
    assert stratifier.stratify(emptied).equals(stratifier.stratify(table))
