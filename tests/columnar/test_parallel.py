"""The columnar stratifier on several processes (``service.cohort.parallel``): exactly the single-process answer,
in every column and in the file's order, whatever the number of row groups and workers; an empty file; the
number of row groups in flight bounded."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allpath.domain.cohort_table import TABLE_SCHEMA, records_table
from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.parallel import NotInTableShape, StratifierPool, in_order, stratify_parquet
from tests.columnar.identity import RecordGenerator, mismatches, parsed
from tests.columnar.test_fallback import _widened

ROWS = 2_000


@pytest.fixture(scope="module")
def table(kb: KnowledgeBase) -> pa.Table:
    return records_table(parsed(RecordGenerator(kb, seed=23).records(ROWS)))


def _written(table: pa.Table, folder: Path, row_group_rows: int) -> Path:
    path = folder / f"cohort-{row_group_rows}.parquet"
    pq.write_table(table, path, row_group_size=row_group_rows)
    return path


def _single(stratifier: Stratifier, path: Path) -> pl.DataFrame:
    """The single-process answer: the file streamed through ``stratify_batches``."""
    columns = ["row", "id", *stratifier.reads]
    return pl.concat(list(stratifier.stratify_batches(pq.ParquetFile(path).iter_batches(columns=columns))))


@pytest.fixture(scope="module")
def pool(kb: KnowledgeBase) -> Iterator[StratifierPool]:
    with StratifierPool(kb, workers=2) as started:
        yield started


def test_two_workers_over_many_row_groups_give_the_single_process_answer_in_order(
    kb: KnowledgeBase, stratifier: Stratifier, table: pa.Table, tmp_path: Path, pool: StratifierPool
) -> None:
    path = _written(table, tmp_path, 150)  # 14 row groups, the last one short
    assert pq.ParquetFile(path).metadata.num_row_groups == 14
    answers = list(pool.stratify_parquet(path, batch_rows=64))
    assert [a.height for a in answers] == [150] * 13 + [50]  # one frame per row group, in the file's order
    whole = pl.concat(answers)
    assert whole["row"].to_list() == list(range(1, ROWS + 1))
    assert whole.equals(_single(stratifier, path))
    assert whole.equals(stratifier.stratify(table))  # and the whole table's answer, every column
    assert pool.submitted == 14


def test_small_row_groups_are_sent_together_up_to_a_batch_and_a_large_one_alone(
    stratifier: Stratifier, table: pa.Table, tmp_path: Path, pool: StratifierPool
) -> None:
    path = _written(table, tmp_path, 100)  # 20 row groups of 100 rows
    expected = stratifier.stratify(table).drop("id")
    at_limit = list(pool.stratify_parquet(path, batch_rows=200, kept=("row",)))  # two groups fill a batch
    assert [a.height for a in at_limit] == [200] * 10
    past_limit = list(pool.stratify_parquet(path, batch_rows=199, kept=("row",)))  # one more row: one group
    assert [a.height for a in past_limit] == [100] * 20
    assert pl.concat(at_limit).equals(expected) and pl.concat(past_limit).equals(expected)
    large = _written(table, tmp_path, 1_500)  # a group larger than the batch: alone, read in batches
    assert [a.height for a in pool.stratify_parquet(large, batch_rows=400)] == [1_500, 500]


def test_the_one_shot_function_matches_with_fewer_row_groups_than_workers_and_with_one_worker(
    kb: KnowledgeBase, stratifier: Stratifier, table: pa.Table, tmp_path: Path
) -> None:
    expected = stratifier.stratify(table)
    one_group = _written(table, tmp_path, ROWS)
    two_groups = _written(table, tmp_path, 1_000)
    assert pl.concat(list(stratify_parquet(one_group, kb, workers=4))).equals(expected)  # one group: in process
    assert pl.concat(list(stratify_parquet(two_groups, kb, workers=8))).equals(expected)  # two workers, not 8
    assert pl.concat(list(stratify_parquet(two_groups, kb, workers=1))).equals(expected)
    assert pl.concat(list(stratify_parquet(two_groups, kb))).equals(expected)  # the machine's cores


def test_rows_left_to_the_per_patient_engine_are_answered_in_the_workers_too(
    kb: KnowledgeBase, table: pa.Table, tmp_path: Path
) -> None:
    """A knowledge base with a part the compiler refuses: each worker compiles it and falls back the same way."""
    fixture = replace(kb, relapse_risk_group=_widened(kb.relapse_risk_group))
    path = _written(table, tmp_path, 400)
    with StratifierPool(fixture, workers=2) as refused_pool:
        assert [r.part for r in refused_pool.stratifier.refused] == ["relapse_risk_group"]
        answer = pl.concat(list(refused_pool.stratify_parquet(path)))
    assert answer.equals(compile_stratifier(fixture).stratify(table))
    assert 0 < answer["fallback"].sum() < ROWS
    records = parsed(RecordGenerator(kb, seed=23).records(ROWS))
    assert mismatches(answer, records, fixture) == []


def test_an_empty_file_gives_no_answers(kb: KnowledgeBase, tmp_path: Path, pool: StratifierPool) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(TABLE_SCHEMA.empty_table(), path)
    assert list(stratify_parquet(path, kb, workers=2)) == []
    before = pool.submitted
    assert list(pool.stratify_parquet(path)) == []
    assert pool.submitted == before  # no row group of no rows is sent to a worker


def test_a_file_not_in_the_tables_shape_is_refused_in_plain_words(
    kb: KnowledgeBase, table: pa.Table, tmp_path: Path
) -> None:
    path = _written(table.drop_columns(["genetics"]), tmp_path, 1_000)
    with pytest.raises(NotInTableShape, match="has no column genetics"):
        list(stratify_parquet(path, kb, workers=2))


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_in_order_keeps_at_most_the_limit_of_tasks_in_flight_and_the_tasks_order(limit: int) -> None:
    """The mechanism, without timing: at each result handed over, the tasks submitted and not yet taken (that one
    included) are never more than the limit, and the results come in the tasks' order."""
    submitted: list[Future[int]] = []

    def submit(task: int) -> Future[int]:
        future: Future[int] = Future()
        future.set_result(task * 10)
        submitted.append(future)
        return future

    taken = 0
    results = []
    for result in in_order(submit, range(10), limit):
        assert len(submitted) - taken <= limit
        taken += 1
        results.append(result)
    assert results == [i * 10 for i in range(10)]
    assert len(submitted) == 10


def test_the_pool_keeps_at_most_in_flight_row_groups_submitted_and_not_taken(
    table: pa.Table, tmp_path: Path, pool: StratifierPool
) -> None:
    path = _written(table, tmp_path, 100)  # 20 row groups
    start = pool.submitted
    for taken, _ in enumerate(pool.stratify_parquet(path, batch_rows=100, in_flight=3), start=1):
        assert pool.submitted - start - (taken - 1) <= 3
    assert pool.submitted - start == 20


def test_stopping_early_cancels_the_row_groups_not_yet_started() -> None:
    futures: list[Future[int]] = []

    def submit(task: int) -> Future[int]:
        future: Future[int] = Future()
        if task == 0:
            future.set_result(0)
        futures.append(future)
        return future

    results = in_order(submit, range(5), 2)
    assert next(results) == 0
    results.close()
    assert all(f.cancelled() for f in futures[1:])
