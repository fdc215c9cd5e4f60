"""Spark local mode for tests/spark: one session per test module, started once and stopped after its tests.

Outside CI a machine without Java skips these tests, saying why; in CI (``CI=true``) a missing Java or PySpark
is a failure, because scripts/test installs PySpark and CI has Java.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.spark import spark_missing, start_spark, stop_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def require_spark() -> None:
    """Skip (outside CI, only for a missing Java) or fail when Spark cannot run here."""
    missing = spark_missing()
    if missing is None:
        return
    if os.environ.get("CI") != "true" and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(f"Spark local mode needs Java: {missing}")
    pytest.fail(f"Spark cannot run: {missing}")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    require_spark()
    session = start_spark("local[2]", work_dir=tmp_path_factory.mktemp("spark"))
    # Each Parquet file of a test's input is a partition of its own (Spark would pack small files together).
    session.conf.set("spark.sql.files.openCostInBytes", str(128 * 1024 * 1024))
    yield session
    stop_spark(session)


@pytest.fixture(scope="session")
def stratifier(kb: KnowledgeBase) -> Stratifier:
    return compile_stratifier(kb)
