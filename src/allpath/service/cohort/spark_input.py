"""The Parquet input of the Spark path checked as the local reader checks a file (issue 15), before any row runs.

The local reader (``interfaces/cohort/parquet_input``) refuses a file with a column that is no record field, and a
column whose values cannot be read as the record's type, naming the column, its type and the record's type; it
numbers the rows by their place in the file. The Spark path does the same here, on the driver, from the schema
Spark read: a refused input is a ``SparkInputError`` in the same words, not a Python error from a worker. A value
that only fails when it is cast (text that is no number) fails on the worker, which says it in the same words
(``spark_batches.ColumnTypeError``); ``refusal_in`` finds them in Spark's error. Input without a ``row`` column
gets one: the rows numbered in the order Spark reads them (file by file, in each file's order), from 1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa

from allpath.domain.cohort_table import RECORD_SCHEMA, ROW

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_PARTITION_BITS = 33  # Spark's monotonically_increasing_id: the partition in the upper bits, the row in the lower 33
_WORKER_REFUSAL = re.compile(r"ColumnTypeError: (The Parquet column .*?)(?:\n|$)")


class SparkInputError(ValueError):
    """The input is not a cohort table the Spark path reads: the message says why, as the local reader says it."""


def type_refusal(name: str, found: object, wanted: pa.DataType) -> str:
    """The local reader's words for a column that cannot be read as the record's type."""
    return f"The Parquet column {name} holds values of type {found}, which cannot be read as the record's {wanted}."


def refusal_in(error: BaseException) -> str | None:
    """The worker's refusal of a column inside Spark's error (a Python exception on an executor), if it is one."""
    found = _WORKER_REFUSAL.search(str(error))
    return found.group(1) if found else None


def check_columns(frame: DataFrame) -> None:
    """Refuse, as the local reader does, a column that is no record field or whose type cannot be read as the
    record's type (``row`` aside: the table's own numbering)."""
    from pyspark.sql.pandas.types import to_arrow_type

    names = [name for name in frame.columns if name != ROW]
    extra = [name for name in names if name not in RECORD_SCHEMA.names]
    if extra:
        raise SparkInputError(
            f"The Parquet file has columns that are not record fields: {', '.join(extra[:5])}. "
            f"The allowed columns are: {', '.join(RECORD_SCHEMA.names)}."
        )
    for field in frame.schema.fields:
        if field.name == ROW:
            continue
        wanted = RECORD_SCHEMA.field(field.name).type
        try:
            found = to_arrow_type(field.dataType)
        except TypeError:  # a Spark type with no Arrow counterpart (none of the record's)
            raise SparkInputError(type_refusal(field.name, field.dataType.simpleString(), wanted)) from None
        try:
            pa.array([], found).cast(wanted)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SparkInputError(type_refusal(field.name, found, wanted)) from None


def with_row_numbers(frame: DataFrame) -> DataFrame:
    """``frame`` with a ``row`` column when it has none: 1, 2, ... in the order Spark reads the rows (one pass to
    count the rows of each partition; the numbering itself stays in the partitions, no shuffle)."""
    if ROW in frame.columns:
        return frame
    from pyspark.sql import functions

    ids = frame.withColumn("_allpath_id", functions.monotonically_increasing_id())
    partition = functions.shiftright("_allpath_id", _PARTITION_BITS)
    counts = sorted(ids.groupBy(partition.alias("p")).count().collect())
    offsets: list[Column] = []
    total = 0
    for part, count in counts:
        offsets += [functions.lit(part), functions.lit(total)]
        total += count
    if not offsets:
        return frame.withColumn(ROW, functions.lit(None).cast("long"))
    start = functions.element_at(functions.create_map(*offsets), partition)
    within = functions.col("_allpath_id").bitwiseAND((1 << _PARTITION_BITS) - 1)
    row = (start + within + functions.lit(1)).cast("long").alias(ROW)
    return ids.select(row, *[functions.col(name) for name in frame.columns])
