"""The Spark job of a cohort (issue 15), for ``spark-submit``: stratify INPUT and write the answers to OUTPUT.

    spark-submit --master spark://HOST:7077 --py-files allpath-0.1.0-py3-none-any.whl \\
        src/allpath/interfaces/spark_job.py INPUT OUTPUT

INPUT is Parquet in the cohort table's shape or JSON Lines of patient records (a file or a folder of
partitions, on storage every executor reads); OUTPUT is a new folder of Parquet partitions. The master and the
executors' settings are the ones ``spark-submit`` gives. README "Stratifying a cohort on Spark" has the recipe.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.spark import SparkUnavailable, start_spark, stop_spark, stratify_on_spark

MISSING_EXIT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_job.py", description="Stratify a cohort on Spark (allpath).")
    parser.add_argument("input", help="Parquet or JSON Lines cohort: a file or a folder of partitions (or a URI)")
    parser.add_argument("output", help="a new folder (or URI) for the Parquet partitions of the answers")
    parser.add_argument("--format", choices=("parquet", "jsonl"), help="the input's format (default: by suffix)")
    parser.add_argument("--partitions", type=int, help="spread the input over at least this many partitions")
    parser.add_argument("--knowledge", type=Path, help="a knowledge base folder (default: the bundled one)")
    options = parser.parse_args(argv)
    try:
        session = start_spark(master=None)  # the master and settings spark-submit gave
    except SparkUnavailable as missing:
        print(f"allpath: {missing}", file=sys.stderr)  # noqa: T201 - a script's message to the person running it
        return MISSING_EXIT
    try:
        run = stratify_on_spark(
            options.input,
            options.output,
            load_knowledge(options.knowledge),
            session=session,
            input_format=options.format,
            partitions=options.partitions,
        )
    except ValueError as refused:  # an input the local reader refuses too (SparkInputError), or of no known format
        print(f"allpath: {refused}", file=sys.stderr)  # noqa: T201 - a script's message to the person running it
        return MISSING_EXIT
    finally:
        stop_spark(session)
    print(  # noqa: T201 - the job's summary for the person running it
        f"allpath: {run.rows:,} rows ({run.refused_rows:,} not valid records) in {run.partitions} Parquet "
        f"partitions in {run.seconds:.1f} s, knowledge version {run.knowledge_version}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
