"""The Spark path's entry points (issue 15, item 5): ``allpath cohort assess --engine spark`` and the
``spark-submit`` job module, each run in Spark local mode, give the local stratifier's answers; without PySpark
or Java the command says to install allpath[spark] and exits 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import allpath.interfaces.spark_job as spark_job
from allpath.engine.columnar import Stratifier
from allpath.interfaces.cli import app
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort import spark as spark_service
from allpath.service.cohort.spark_input import SparkInputError
from allpath.service.cohort.synthetic_files import WrittenCohort, write_cohort
from tests.spark.conftest import require_spark
from tests.spark.spark_answers import differences, written

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> WrittenCohort:
    folder = tmp_path_factory.mktemp("cohort")
    return write_cohort(4_000, 21, folder / "records.parquet", folder / "outcomes.parquet")


@pytest.mark.slow
def test_cohort_assess_with_the_spark_engine_writes_the_local_answers(
    cohort: WrittenCohort, stratifier: Stratifier, tmp_path: Path
) -> None:
    require_spark()
    out = tmp_path / "answers"
    args = ["cohort", "assess", str(cohort.records_path), "--out", str(out), "--engine", "spark"]
    done = runner.invoke(app, [*args, "--spark-master", "local[1]"])
    assert done.exit_code == 0, done.output
    assert "Read 4,000 rows on Spark (local[1]): 4,000 assessed, 0 refused" in done.stdout
    got = written(out)
    assert differences(got.drop("problem"), stratifier.stratify(pq.read_table(cohort.records_path))) == []
    again = runner.invoke(app, [*args])
    assert again.exit_code == 2 and "--out" in again.stderr and "exists" in again.stderr


@pytest.mark.slow
def test_the_spark_submit_job_module_writes_the_local_answers(
    cohort: WrittenCohort, stratifier: Stratifier, kb: KnowledgeBase, tmp_path: Path
) -> None:
    require_spark()
    submit = Path(sys.executable).with_name("spark-submit")
    job = Path(spark_job.__file__)
    out = tmp_path / "answers"
    environment = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    settings = ["--conf", "spark.ui.enabled=false", "--conf", "spark.ui.showConsoleProgress=false"]
    command = [str(submit), "--master", "local[2]", *settings, str(job), str(cohort.records_path), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "allpath: 4,000 rows (0 not valid records)" in done.stdout
    assert f"knowledge version {kb.version}" in done.stdout
    assert differences(written(out).drop("problem"), stratifier.stratify(pq.read_table(cohort.records_path))) == []


def test_without_pyspark_the_command_says_to_install_the_spark_extra(
    cohort: WrittenCohort, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` fails as when it is not installed
    args = ["cohort", "assess", str(cohort.records_path), "--out", str(tmp_path / "answers"), "--engine", "spark"]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert "install allpath[spark]" in done.stderr and "Traceback" not in done.output
    assert not (tmp_path / "answers").exists()


def test_without_java_the_command_says_so(
    cohort: WrittenCohort, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    args = ["cohort", "assess", str(cohort.records_path), "--out", str(tmp_path / "answers"), "--engine", "spark"]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    assert "Java is not installed" in done.stderr and "allpath[spark]" in done.stderr


def test_the_spark_engine_writes_parquet_only(cohort: WrittenCohort, tmp_path: Path) -> None:
    args = ["cohort", "assess", str(cohort.records_path), "--out", str(tmp_path / "a"), "--engine", "spark"]
    done = runner.invoke(app, [*args, "--format", "csv"])
    assert done.exit_code == 2 and "--format" in done.stderr


def test_the_job_module_without_spark_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    assert spark_job.main([str(tmp_path / "in.parquet"), str(tmp_path / "out")]) == spark_job.MISSING_EXIT


def test_the_job_module_says_why_an_input_is_refused_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = "The Parquet file has columns that are not record fields: ward. The allowed columns are: id."

    def refuse(*_: object, **__: object) -> None:
        raise SparkInputError(words)

    stopped: list[object] = []
    monkeypatch.setattr(spark_job, "start_spark", lambda master: "session")
    monkeypatch.setattr(spark_job, "stop_spark", stopped.append)
    monkeypatch.setattr(spark_job, "stratify_on_spark", refuse)
    assert spark_job.main([str(tmp_path / "in.parquet"), str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"allpath: {words}\n"
    assert stopped == ["session"]


def test_a_process_compiles_the_knowledge_base_once_whatever_the_batches(kb: KnowledgeBase) -> None:
    spark_service._COMPILED.clear()
    loaded: list[int] = []

    def knowledge() -> KnowledgeBase:
        loaded.append(1)
        return kb

    first = spark_service._stratifier_for(kb.version, knowledge)
    assert all(spark_service._stratifier_for(kb.version, knowledge) is first for _ in range(5))
    assert len(loaded) == 1


def test_written_answers_count_rows_refused_rows_and_partitions(tmp_path: Path) -> None:
    rows = pl.DataFrame(
        {"row": [1, 2, 3], "problem": [None, "bad", None]}, schema={"row": pl.Int64, "problem": pl.String}
    )
    rows.head(2).write_parquet(tmp_path / "part-00000-a.snappy.parquet")
    rows.tail(1).write_parquet(tmp_path / "part-00001-a.snappy.parquet")
    assert spark_service._written(tmp_path) == (3, 1, 2)
