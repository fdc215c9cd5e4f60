"""The synthetic cohort written to files, block by block: Parquet or JSON Lines, records and outcomes apart.

Each file says it is synthetic. A Parquet file carries it in its key-value metadata (``allpath.synthetic`` =
``true``, the notice, the seed and the number of rows). JSON Lines has no room for a header that every reader
skips, so there each record's ``id`` starts with ``SYNTHETIC-`` and each outcome line has ``"synthetic": true``.
A record line is exactly a patient record (no row number: the line number is the row), so ``parse_record``
reads every line; the outcomes name their record by ``row``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import ROW, TABLE_SCHEMA
from allpath.service.cohort.synthetic import OUTCOME_SCHEMA, generate
from allpath.service.cohort.synthetic_parameters import load_parameters

SYNTHETIC_KEY = b"allpath.synthetic"
NOTICE_KEY = b"allpath.synthetic.notice"
SEED_KEY = b"allpath.synthetic.seed"
ROWS_KEY = b"allpath.synthetic.rows"

FileFormat = Literal["parquet", "jsonl"]


@dataclass(frozen=True)
class WrittenCohort:
    """What was written: the two files and the number of records."""

    records_path: Path
    outcomes_path: Path
    rows: int


def synthetic_metadata(seed: int, rows: int) -> dict[bytes, bytes]:
    """The key-value metadata that marks a Parquet file as synthetic."""
    return {
        SYNTHETIC_KEY: b"true",
        NOTICE_KEY: load_parameters().notice.encode("utf-8"),
        SEED_KEY: str(seed).encode("ascii"),
        ROWS_KEY: str(rows).encode("ascii"),
    }


def is_synthetic(path: Path) -> bool:
    """Whether a Parquet file says it is synthetic (read from its footer only)."""
    metadata = pq.read_schema(path).metadata or {}
    return metadata.get(SYNTHETIC_KEY) == b"true"


def write_cohort(
    rows: int, seed: int, records_path: Path, outcomes_path: Path, file_format: FileFormat = "parquet"
) -> WrittenCohort:
    """Generate ``rows`` records with ``seed`` and write them and their outcomes, one block at a time."""
    if file_format == "parquet":
        _write_parquet(rows, seed, records_path, outcomes_path)
    else:
        _write_json_lines(rows, seed, records_path, outcomes_path)
    return WrittenCohort(records_path=records_path, outcomes_path=outcomes_path, rows=rows)


def _write_parquet(rows: int, seed: int, records_path: Path, outcomes_path: Path) -> None:
    metadata = synthetic_metadata(seed, rows)
    with (
        pq.ParquetWriter(records_path, TABLE_SCHEMA.with_metadata(metadata)) as records,
        pq.ParquetWriter(outcomes_path, OUTCOME_SCHEMA.with_metadata(metadata)) as outcomes,
    ):
        for block in generate(rows, seed):
            records.write_table(block.records)
            outcomes.write_table(block.outcomes)


def _write_json_lines(rows: int, seed: int, records_path: Path, outcomes_path: Path) -> None:
    with (
        records_path.open("w", encoding="utf-8") as records,
        outcomes_path.open("w", encoding="utf-8") as outcomes,
    ):
        for block in generate(rows, seed):
            records.writelines(_record_line(row) for row in block.records.drop_columns([ROW]).to_pylist())
            outcomes.writelines(_outcome_line(row) for row in block.outcomes.to_pylist())


def _without_nulls(value: object) -> object:
    """A record as its JSON form: a missing value is left out, as in a record a person writes."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _record_line(row: dict[str, object]) -> str:
    return json.dumps(_without_nulls(row), separators=(",", ":")) + "\n"


def _outcome_line(row: dict[str, object]) -> str:
    return json.dumps({"synthetic": True, **row}, separators=(",", ":")) + "\n"


def read_outcomes(path: Path) -> pa.Table:
    """An outcomes file written by ``write_cohort`` (Parquet or JSON Lines) as a table of ``OUTCOME_SCHEMA``."""
    if path.suffix == ".parquet":
        return pq.read_table(path, schema=OUTCOME_SCHEMA)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return pa.Table.from_pylist([{k: v for k, v in line.items() if k != "synthetic"} for line in lines], OUTCOME_SCHEMA)
