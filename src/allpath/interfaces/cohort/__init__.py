"""Cohort input (issue 15): a cohort file read as a stream of Arrow tables of valid records, with the problems
of its bad rows.

``read_cohort`` is the one way in. Formats: a JSON array of records (``.json``), JSON Lines (``.jsonl``, or
``.ndjson`` of records), CSV (``.csv``), Parquet in the table's shape (``.parquet``, ``.pq``) and FHIR Bulk Data
NDJSON (a folder of ``$export`` files, or the list of them). Every format checks a record exactly as
``parse_record`` does; a bad row is reported with its row number and field and never stops the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from allpath.interfaces.cohort.bulk_fhir import read_bulk_fhir
from allpath.interfaces.cohort.csv_input import read_csv
from allpath.interfaces.cohort.json_input import read_json_array, read_json_lines
from allpath.interfaces.cohort.parquet_input import read_parquet
from allpath.interfaces.cohort.reading import (
    DEFAULT_BATCH_ROWS,
    CohortBatch,
    CohortFileError,
    RowProblem,
    batch_preferred,
)

CohortFormat = Literal["json", "jsonl", "csv", "parquet", "fhir-ndjson"]
FORMATS: tuple[CohortFormat, ...] = ("json", "jsonl", "csv", "parquet", "fhir-ndjson")
_BY_SUFFIX: dict[str, CohortFormat] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "CohortBatch",
    "CohortFileError",
    "CohortFormat",
    "RowProblem",
    "cohort_format",
    "read_cohort",
]


def _holds_fhir(path: Path) -> bool:
    """An ``.ndjson`` file of FHIR resources (a Bulk Data file) rather than of patient records."""
    with path.open("r", encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if line.strip():
                try:
                    first = json.loads(line)
                except ValueError:
                    return False
                return isinstance(first, dict) and "resourceType" in first
    return False


def cohort_format(source: Path | Sequence[Path]) -> CohortFormat:
    """The format of a cohort by its name: a folder or a list of files is a FHIR Bulk Data export."""
    if not isinstance(source, Path) or source.is_dir():
        return "fhir-ndjson"
    suffix = source.suffix.lower()
    if suffix == ".ndjson":
        return "fhir-ndjson" if _holds_fhir(source) else "jsonl"
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise CohortFileError(
        f"The cohort file's name does not say its format (it ends in {suffix or 'nothing'}): use .json, .jsonl, "
        ".csv, .parquet or a folder of FHIR Bulk Data .ndjson files, or name the format."
    )


def read_cohort(
    source: str | Path | Sequence[Path],
    format: CohortFormat | None = None,  # noqa: A002 - the word a caller expects
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[CohortBatch]:
    """The cohort in ``source`` as batches of valid records (tables of ``TABLE_SCHEMA``) with the problems of
    the bad rows. ``format`` defaults to the one the name says (``cohort_format``).

    Raises
    ------
    CohortFileError
        When the file as a whole cannot be read as a cohort (in plain words).
    """
    where: Path | Sequence[Path] = Path(source) if isinstance(source, str) else source
    chosen = format or cohort_format(where)
    rows = batch_preferred(batch_rows)
    if chosen == "fhir-ndjson":
        return read_bulk_fhir(where, rows)
    if not isinstance(where, Path):
        raise CohortFileError(f"A {chosen} cohort is one file, not a list of files.")
    readers = {"json": read_json_array, "jsonl": read_json_lines, "csv": read_csv, "parquet": read_parquet}
    return readers[chosen](where, rows)
