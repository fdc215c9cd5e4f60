"""Helpers of the Spark tests: a cohort written as several Parquet partitions, and the Spark path's answers
beside the local stratifier's."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.engine.columnar import Stratifier


def write_partitions(table: pa.Table, folder: Path, parts: int) -> Path:
    """``table`` as ``parts`` Parquet files of about equal size (Spark reads each as a partition at least)."""
    folder.mkdir(parents=True)
    size = -(-table.num_rows // parts)
    for index in range(parts):
        pq.write_table(table.slice(index * size, size), folder / f"part-{index:03d}.parquet")
    return folder


def written(destination: Path) -> pl.DataFrame:
    """What the Spark path wrote, in row order."""
    return pl.read_parquet(str(destination / "*.parquet")).sort("row")


def differences(spark: pl.DataFrame, local: pl.DataFrame) -> list[str]:
    """Every column of every row where the Spark path's answer is not the local stratifier's (empty when equal)."""
    assert spark.height == local.height, (spark.height, local.height)
    ordered = local.sort("row")
    found = []
    for name in ordered.columns:
        differ = spark.select("row", pl.col(name).alias("spark")).with_columns(ordered[name].alias("local"))
        differ = differ.filter(pl.col("spark").ne_missing(pl.col("local")))
        found += [
            f"row {r['row']}: {name} is {r['spark']!r} on Spark, {r['local']!r} locally"
            for r in differ.head(3).to_dicts()
        ]
    return found


def local_answers(stratifier: Stratifier, table: pa.Table) -> pl.DataFrame:
    return stratifier.stratify(table)
