"""``allpath cohort assess --engine spark``: the cohort stratified on Apache Spark (``service.cohort.spark``).

The answers are a folder of Parquet partitions (Spark writes one file per partition); a JSON line that is not a
valid record is a row of its own there, with its row number and its problem in the ``problem`` column. Without
PySpark or Java the command says what to install, with exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from allpath.interfaces.cli.console import fail_input

if TYPE_CHECKING:
    from allpath.knowledge.loader import KnowledgeBase

DEFAULT_MASTER = "local[2]"


def run_on_spark(
    source: Path, out: Path, kb: KnowledgeBase, master: str, output_format: str | None, *, quiet: bool = False
) -> None:
    """Stratify ``source`` on Spark into the folder ``out`` and print the summary; exit 2 on a bad option, an
    input Spark cannot read, or a missing PySpark or Java. ``quiet``: none of Spark's own log on standard error
    (errors only otherwise); allpath's own messages still say what went wrong."""
    from allpath.service.cohort.spark import SparkUnavailable, spark_missing, stratify_on_spark

    if output_format not in (None, "parquet"):
        raise fail_input("--format: with --engine spark the answers are Parquet partitions (a folder); name parquet")
    if not source.exists():
        raise fail_input(f"INPUT: {str(source)!r} does not exist; expected a Parquet or JSON Lines cohort")
    if out.exists():
        raise fail_input(f"--out: {str(out)!r} exists; with --engine spark it names a new folder for the answers")
    missing = spark_missing()
    if missing:
        raise fail_input(f"--engine spark: {missing}")
    try:
        run = stratify_on_spark(source, out, kb, master, quiet=quiet)
    except SparkUnavailable as problem:
        raise fail_input(f"--engine spark: {problem}") from None
    except ValueError as problem:  # neither Parquet nor JSON Lines
        raise fail_input(f"INPUT: {problem}") from None
    typer.echo(
        f"Read {run.rows:,} rows on Spark ({master}): {run.rows - run.refused_rows:,} assessed, "
        f"{run.refused_rows:,} refused (their problem is in the problem column).\n"
        f"Knowledge version: {run.knowledge_version}.\n"
        f"Answers (parquet, {run.partitions} partitions): {run.destination}\n"
        f"Time: {run.seconds:.1f} s"
    )
