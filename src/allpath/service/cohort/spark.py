"""The columnar stratifier on Apache Spark (issue 15): a cohort beyond one machine.

``stratify_on_spark`` reads Parquet in the table's shape (``domain.cohort_table``) or JSON Lines of patient
records with Spark, runs the compiled stratifier over each Arrow batch with ``DataFrame.mapInArrow`` and writes
the answers as Parquet partitions, each row with its ``row``, ``id``, the stratification columns, ``fallback``,
the knowledge version and ``problem`` (why a row or JSON line was not assessed; null on assessed rows). A row of
Parquet is checked as the local reader checks it (``spark_batches``), so a bad row is refused, not stratified;
a file the local reader refuses (a column that is no record field, or of a type the record's cannot be read from)
is refused in the same words (``spark_input.SparkInputError``), and rows without a ``row`` column are numbered.

The knowledge base travels to the executors once, as a broadcast; each Python worker compiles it on its first
batch and keeps the plan for every later batch and task (``_stratifier_for``). PySpark is imported only inside
the functions here, so the rest of allpath never needs it (``allpath[spark]`` installs it).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import ROW, TABLE_SCHEMA
from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.spark_batches import AS_JSON, LINE, lines_table, parquet_table
from allpath.service.cohort.spark_batches import OUTPUT_ARROW_SCHEMA as OUTPUT_ARROW_SCHEMA
from allpath.service.cohort.spark_input import SparkInputError, check_columns, refusal_in, with_row_numbers

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

SparkInput = Literal["parquet", "jsonl"]
Location = Path | str
"""A local path, or a URI Spark reads and writes itself (``hdfs://...``, ``s3a://...``) on a cluster."""

BATCH_ROWS = 65_536
"""Rows per Arrow batch handed to the stratifier (Spark's default of 10,000 pays the plan's cost more often)."""

_JSONLINES = (".jsonl", ".ndjson")
_SCRATCH_PREFIX = "allpath-spark-"
_LOGS = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = {level}
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""
"""Spark's own log (log4j 2) in local mode: errors only (none when quiet), so a run's output is allpath's summary.
The level stays at warn and the console keeps errors only: PySpark prints "Setting default log level" on start-up
when the level differs from warn."""


class SparkUnavailable(RuntimeError):
    """PySpark or Java is missing: the message says what to install, in plain words."""


@dataclass(frozen=True)
class SparkRun:
    """What a Spark run did: the rows written (assessed and refused), the Parquet partitions, the time taken."""

    rows: int
    refused_rows: int
    partitions: int
    seconds: float
    knowledge_version: str
    destination: Location


def spark_missing() -> str | None:
    """Why Spark cannot run here (plain words), or None when PySpark and Java are both present."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed: install allpath[spark] (pip install 'allpath[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "Java is not installed: Spark needs Java 17 or later (install allpath[spark] and a Java runtime)"
    return None


def start_spark(master: str | None = "local[2]", work_dir: Path | None = None, *, quiet: bool = False) -> SparkSession:
    """A Spark session. In local mode (``local[...]``): no web UI, no network beyond this machine, a temporary
    warehouse and scratch space, few shuffle partitions and Spark's log at errors only (none at all when
    ``quiet``). ``master=None`` takes the master and settings ``spark-submit`` gave."""
    problem = spark_missing()
    if problem:
        raise SparkUnavailable(problem)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("allpath cohort").config("spark.ui.enabled", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    if master is not None:
        scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX, dir=work_dir))
        logs = scratch / "log4j2.properties"
        logs.write_text(_LOGS.replace("{level}", "off" if quiet else "error"), encoding="utf-8")
        settings = {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.local.dir": str(scratch / "local"),
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile={logs} -Dderby.system.home={scratch}",
            "spark.ui.showConsoleProgress": "false",
            # No _SUCCESS marker beside the written partitions (the checksum files are removed after writing).
            "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        }
        # The Python workers run this interpreter (PySpark takes it from the environment), which has allpath.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # this machine only, whatever its hostname says
        os.environ.pop("SPARK_PRINT_LAUNCH_COMMAND", None)  # it would print the Java command line on stderr
        builder = builder.master(master)
        for key, value in settings.items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF" if quiet and master is not None else "ERROR")
    return session


def stop_spark(session: SparkSession) -> None:
    """Stop a session and remove the scratch folder ``start_spark`` made for it in local mode."""
    local_dir = session.sparkContext.getConf().get("spark.local.dir")
    session.stop()
    if local_dir and Path(local_dir).parent.name.startswith(_SCRATCH_PREFIX):
        shutil.rmtree(Path(local_dir).parent, ignore_errors=True)


_COMPILED: dict[str, Stratifier] = {}
"""The plans this Python process has compiled, by knowledge version: one compilation per worker process."""


def _stratifier_for(version: str, knowledge: Callable[[], KnowledgeBase]) -> Stratifier:
    """The compiled plan of ``version``, compiled from ``knowledge()`` the first time this process needs it."""
    compiled = _COMPILED.get(version)
    if compiled is None:
        compiled = _COMPILED[version] = compile_stratifier(knowledge())
    return compiled


def _stratify_partition(
    version: str, knowledge: Callable[[], KnowledgeBase], input_format: SparkInput
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function ``mapInArrow`` runs on each partition (pickled to the executors with its arguments)."""

    def stratify_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        stratifier = _stratifier_for(version, knowledge)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = lines_table(stratifier, batch) if input_format == "jsonl" else parquet_table(stratifier, batch)
            yield from table.to_batches()

    return stratify_partition


def _local(location: Location) -> Path | None:
    """The local path of a location, or None for a URI Spark reads itself (``hdfs://``, ``s3a://`` ...)."""
    if isinstance(location, Path):
        return location
    return None if "://" in location else Path(location)


def _input_format(source: Location) -> SparkInput:
    """Parquet or JSON Lines, by the file's suffix (a local folder: by the suffix of its files)."""
    local = _local(source)
    if local is None:
        names = [str(source).rstrip("/").rsplit("/", 1)[-1]]
    else:
        names = [p.name for p in local.iterdir()] if local.is_dir() else [local.name]
    suffixes = {Path(n).suffix.lower() for n in names if not n.startswith((".", "_"))}
    if suffixes and suffixes <= {".parquet", ".pq"}:
        return "parquet"
    if suffixes and suffixes <= set(_JSONLINES):
        return "jsonl"
    raise ValueError(
        f"{names[0] if len(names) == 1 else 'the folder'} is neither Parquet (.parquet) nor JSON Lines (.jsonl) "
        "partitions; name the format (parquet or jsonl)"
    )


def record_columns(frame: DataFrame) -> list[Column | str]:
    """The table's columns ``frame`` has, as they leave Spark for Python: the columns of ``AS_JSON`` as JSON
    text (Spark converts them to Arrow slowly; the worker decodes them), the others as they are."""
    from pyspark.sql import functions

    present = [name for name in TABLE_SCHEMA.names if name in frame.columns]
    return [functions.to_json(name).alias(name) if name in AS_JSON else name for name in present]


def _read(session: SparkSession, source: Location, input_format: SparkInput) -> DataFrame:
    """The input as a Spark DataFrame: the table's columns (Parquet) or numbered lines. Every record column the
    file has leaves Spark, not only the ones the plan reads: each row is checked as the local reader checks it."""
    if input_format == "parquet":
        frame = session.read.parquet(str(source))
        check_columns(frame)  # refused as the local reader refuses the file, before any row runs
        frame = with_row_numbers(frame)
        return frame.select(*record_columns(frame))
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    # Each line keeps its number, counted through the files in the order of their names as if they were one
    # file (1 = the first line; blank lines counted but skipped), as the local reader numbers a file's lines.
    local = _local(source)
    if local is not None and local.is_dir():
        files = ",".join(str(p) for p in sorted(local.iterdir()) if p.suffix.lower() in _JSONLINES)
    else:
        files = str(source)  # a file, or a folder on storage Spark lists itself (in the order of the names)
    lines = session.sparkContext.textFile(files).zipWithIndex()
    numbered = lines.map(lambda pair: (pair[0], pair[1] + 1)).filter(lambda pair: pair[0].strip() != "")
    schema = StructType([StructField(LINE, StringType()), StructField(ROW, LongType())])
    return session.createDataFrame(numbered, schema)


def _written(destination: Path) -> tuple[int, int, int]:
    """Rows, refused rows and Parquet partitions written (read from the files' footers and problem column).
    The local file system's checksum files (``.part-*.crc``) are removed: the folder holds the answers only."""
    for checksum in destination.glob("*.crc"):
        checksum.unlink()
    files = sorted(destination.glob("part-*.parquet"))
    rows = refused = 0
    for path in files:
        rows += pq.ParquetFile(path).metadata.num_rows
        problems = pq.read_table(path, columns=["problem"]).column("problem")
        refused += len(problems) - problems.null_count
    return rows, refused, len(files)


def _written_on_spark(session: SparkSession, destination: str) -> tuple[int, int, int]:
    """Rows, refused rows and partitions of answers written to storage Spark reads itself."""
    answers = session.read.parquet(destination)
    refused = answers.where(answers["problem"].isNotNull()).count()
    return answers.count(), refused, len(answers.inputFiles())


def stratify_on_spark(
    source: Location,
    destination: Location,
    kb: KnowledgeBase,
    master: str | None = "local[2]",
    *,
    session: SparkSession | None = None,
    input_format: SparkInput | None = None,
    partitions: int | None = None,
    quiet: bool = False,
) -> SparkRun:
    """Stratify the cohort at ``source`` on Spark and write the answers to ``destination`` (a new folder of
    Parquet partitions). ``session``: a running session to use (left running); otherwise one is started on
    ``master`` and stopped at the end. ``partitions``: spread the input over at least this many partitions.
    ``quiet``: none of Spark's own log in a session started here."""
    started = time.perf_counter()
    own = session is None
    spark = start_spark(master, quiet=quiet) if session is None else session
    try:
        chosen = input_format or _input_format(source)
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_ROWS))
        frame = _read(spark, source, chosen)
        if partitions and frame.rdd.getNumPartitions() < partitions:
            frame = frame.repartition(partitions)
        shared = spark.sparkContext.broadcast(kb)
        from pyspark.sql.pandas.types import from_arrow_schema

        answers = frame.mapInArrow(
            _stratify_partition(kb.version, lambda: shared.value, chosen), from_arrow_schema(OUTPUT_ARROW_SCHEMA)
        )
        try:
            answers.write.mode("errorifexists").parquet(str(destination))
        except Exception as error:  # a worker's refusal of a column comes back inside Spark's own error
            refusal = refusal_in(error)
            if refusal is None:
                raise
            raise SparkInputError(refusal) from None
        shared.unpersist()
        local = _local(destination)
        rows, refused, written = _written(local) if local is not None else _written_on_spark(spark, str(destination))
    finally:
        if own:
            stop_spark(spark)
    return SparkRun(rows, refused, written, time.perf_counter() - started, kb.version, destination)
