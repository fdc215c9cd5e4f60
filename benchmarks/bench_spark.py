"""Cohort stratification on Apache Spark in local mode (issue 15, item 5): records per second of the Spark path
(``service.cohort.spark.stratify_on_spark``: Parquet read, ``mapInArrow`` over the compiled stratifier, Parquet
written) against a bare Spark read of the same file in the same run, with the local columnar stratifier on the
same file for comparison.

The cohort is the one of ``bench_stratify.py`` (``--distinct`` varied records of ``records.py``, repeated to
``--n`` rows, one Parquet file), untimed. One Spark session (``local[2]`` unless ``--master``) is started, its
time reported, and a first small run starts the Python workers (reported, not counted). Then, ``--repeat``
times in turn so that all see the same load:

* ``spark_count``: the bare Spark read and count - ``spark.read.parquet`` of every column of the table (the Spark
  path reads them all, since it checks each row as the local reader does), the rows
  counted and the ages summed (a trivial reduction, so that a column is read);
* ``spark_arrow``: the same columns handed to Python as Arrow batches by ``mapInArrow`` and counted there, as the
  Spark path hands them over (``record_columns``: ``exposures`` as JSON text) - what the path pays before doing
  anything;
* ``spark_stratify``: the Spark path, answers written as Parquet partitions;
* ``local``: the columnar stratifier in this process over the file's batches (``bench_stratify.stratify``).

Usage::

    python benchmarks/bench_spark.py [--n 1000000] [--repeat 3] [--master local[2]] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from allpath.domain.cohort_table import TABLE_SCHEMA
from allpath.engine.columnar import compile_stratifier
from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.spark import record_columns, start_spark, stop_spark, stratify_on_spark
from bench_stratify import DEFAULT_BATCH, DEFAULT_DISTINCT, DEFAULT_SEED, stratify, write_cohort
from common import RESULTS_DIR, machine, write_json

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_N = 1_000_000
QUICK_N = 200_000
DEFAULT_REPEAT = 3


def _counted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield pa.RecordBatch.from_pylist([{"rows": sum(batch.num_rows for batch in batches)}])


def spark_count(session: SparkSession, path: Path, columns: list[str]) -> int:
    """Rows counted, with the sum of the ages as the trivial reduction that makes Spark read a column."""
    from pyspark.sql import functions

    frame = session.read.parquet(str(path)).select(*columns)
    return int(frame.agg(functions.count("*").alias("rows"), functions.sum("age_years")).collect()[0]["rows"])


def spark_arrow(session: SparkSession, path: Path) -> int:
    frame = session.read.parquet(str(path))
    frame = frame.select(*record_columns(frame))
    return sum(int(row["rows"]) for row in frame.mapInArrow(_counted, "rows long").collect())


def _timed(function: Callable[[], int]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _rates(n: int, seconds: list[float]) -> dict[str, Any]:
    return {
        "median_per_s": round(n / statistics.median(seconds)),
        "best_per_s": round(n / min(seconds)),
        "seconds": [round(s, 2) for s in seconds],
    }


def run(n: int, repeat: int, master: str, distinct: int, seed: int) -> dict[str, Any]:
    kb = load_knowledge()
    stratifier = compile_stratifier(kb)
    columns = list(TABLE_SCHEMA.names)  # what the Spark path reads: every column, each row is checked
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        path = base / "cohort.parquet"
        write_cohort(path, n, distinct, seed, DEFAULT_BATCH)
        warm = base / "warm.parquet"
        write_cohort(warm, 10_000, distinct, seed, DEFAULT_BATCH)
        started = time.perf_counter()
        session = start_spark(master, work_dir=base)
        start_s = time.perf_counter() - started
        try:
            first_s = stratify_on_spark(warm, base / "warm-out", kb, session=session).seconds
            passes: dict[str, list[float]] = {"spark_count": [], "spark_arrow": [], "spark_stratify": [], "local": []}
            for index in range(repeat):
                out = base / f"out-{index}"
                passes["spark_count"].append(_timed(lambda: spark_count(session, path, columns)))
                passes["spark_arrow"].append(_timed(lambda: spark_arrow(session, path)))
                passes["spark_stratify"].append(stratify_on_spark(path, out, kb, session=session).seconds)
                passes["local"].append(_timed(lambda: stratify(path, stratifier, DEFAULT_BATCH)))
                shutil.rmtree(out)
            partitions = session.read.parquet(str(path)).rdd.getNumPartitions()
        finally:
            stop_spark(session)
    figures = {name: _rates(n, seconds) for name, seconds in passes.items()}
    ratios = [s / c for s, c in zip(passes["spark_stratify"], passes["spark_count"], strict=True)]
    return {
        "n": n,
        "master": master,
        "input_partitions": partitions,
        "session_start_s": round(start_s, 1),
        "first_small_run_s": round(first_s, 1),
        **figures,
        "stratify_over_count_median": round(statistics.median(ratios), 2),
        "local_over_spark_median": round(
            figures["local"]["median_per_s"] / figures["spark_stratify"]["median_per_s"], 1
        ),
        "load_average_1min": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
    }


def report(result: dict[str, Any]) -> str:
    load = result["load_average_1min"]
    lines = [
        f"Spark {result['master']}: {result['n']:,} rows in {result['input_partitions']} input partitions "
        f"(session start {result['session_start_s']} s, first small run {result['first_small_run_s']} s; "
        f"load {load['before']} -> {load['after']})",
    ]
    for name, label in (
        ("spark_count", "Spark read + count"),
        ("spark_arrow", "Spark to Arrow in Python"),
        ("spark_stratify", "Spark stratify + write"),
        ("local", "local stratifier"),
    ):
        figure = result[name]
        lines.append(f"  {label:<26} median {figure['median_per_s']:>12,}  best {figure['best_per_s']:>12,} records/s")
    lines.append(
        f"  Spark stratify / read + count time: median {result['stratify_over_count_median']}x; the local stratifier "
        f"is {result['local_over_spark_median']}x the Spark path's throughput on this machine"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"rows (default {DEFAULT_N:,})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} rows")
    parser.add_argument("--json", default=str(RESULTS_DIR / "spark.json"), help="result file")
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    result = run(n, args.repeat, args.master, args.distinct, args.seed)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "spark": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
