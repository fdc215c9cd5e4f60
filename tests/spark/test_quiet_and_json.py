"""The Spark path's speed-up and its quiet start (issue 15, item 5): ``exposures`` leaves Spark as JSON text and
the worker decodes it into exactly the Arrow column of the table contract; ``--engine spark`` prints nothing of
Spark's on standard error but the one line Java itself prints, and nothing at all of Spark's log with ``--quiet``."""

from __future__ import annotations

import datetime
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest

from allpath.domain.cohort_table import EXPOSURES
from allpath.service.cohort.spark_batches import json_column
from allpath.service.cohort.synthetic_files import write_cohort
from tests.spark.conftest import require_spark

JAVA_INCUBATOR_LINE = "WARNING: Using incubator modules: jdk.incubator.vector"
"""What Java itself prints when Spark 4 starts it (documented in the README as the one line left)."""

_COURSE = {"drug": "vincristine", "date": datetime.date(2024, 2, 29), "dose_mg_per_m2": 1.5, "dose_mg": None}
_EXPOSURES: list[Any] = [
    {"courses": [{**_COURSE, "route": "IV"}, None], "radiation": [{"site": "cranial", "dose_gy": 12.0, "date": None}]},
    None,
    {"courses": [], "radiation": None},
    {"courses": None, "radiation": []},
]


def _as_spark_writes(value: Any) -> str | None:
    """A value as JSON text the way ``to_json`` writes it: dates as yyyy-MM-dd, null fields left out."""
    if value is None:
        return None

    def plain(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: plain(inner) for key, inner in item.items() if inner is not None}
        if isinstance(item, list):
            return [plain(inner) for inner in item]
        return item.isoformat() if isinstance(item, datetime.date) else item

    return json.dumps(plain(value))


def test_exposures_as_json_text_decode_to_the_table_column() -> None:
    original = pa.array(_EXPOSURES, EXPOSURES)
    texts = pa.array([_as_spark_writes(value) for value in _EXPOSURES], pa.string())
    assert json_column(texts, EXPOSURES).equals(original)


def test_a_dose_json_readers_refuse_still_decodes() -> None:
    """Arrow's JSON reader refuses NaN; Python's reader takes it, so such a row still reaches the checks."""
    texts = pa.array(['{"courses":[{"drug":"x","date":"2024-01-01","dose_mg":NaN}],"radiation":[]}'], pa.string())
    decoded = cast(list[dict[str, Any]], json_column(texts, EXPOSURES).to_pylist())
    course = decoded[0]["courses"][0]
    assert course["date"] == datetime.date(2024, 1, 1) and math.isnan(course["dose_mg"])


@pytest.mark.slow
@pytest.mark.parametrize("quiet", [False, True])
def test_the_spark_engine_prints_only_javas_own_line_on_standard_error(tmp_path: Path, quiet: bool) -> None:
    require_spark()
    cohort = write_cohort(200, 5, tmp_path / "records.parquet", tmp_path / "outcomes.parquet")
    command = [sys.executable, "-m", "allpath", "cohort", "assess", str(cohort.records_path)]
    command += ["--out", str(tmp_path / "answers"), "--engine", "spark", *(["--quiet"] if quiet else [])]
    environment = {**os.environ, "SPARK_PRINT_LAUNCH_COMMAND": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Read 200 rows on Spark" in done.stdout
    assert [line for line in done.stderr.splitlines() if line.strip() and line != JAVA_INCUBATOR_LINE] == []
