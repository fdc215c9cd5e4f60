"""Writers of cohort files for the tests: the same records as CSV, JSON Lines, Parquet or FHIR Bulk Data NDJSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import RECORD_SCHEMA, ROW, records_table
from allpath.domain.record import parse_record
from allpath.interfaces.cohort.csv_input import COLUMN_KINDS, TOKEN_SEPARATOR

ReadRecord = Mapping[str, Any]


def expected_table(records: Iterable[ReadRecord]) -> pa.Table:
    """What a reader must hand on for valid records: ``parse_record``'s records as a table."""
    return records_table([parse_record(record) for record in records])


def _cell(kind: str, value: Any) -> str:
    if kind == "json":
        return json.dumps(value)
    if kind == "tokens":
        return TOKEN_SEPARATOR.join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def csv_row(record: ReadRecord) -> dict[str, str]:
    """A record as CSV cells (nested fields under dotted names)."""
    cells: dict[str, str] = {}
    for name, value in record.items():
        if isinstance(value, dict) and COLUMN_KINDS.get(name) != "json":
            for child, inner in value.items():
                if inner is not None:
                    cells[f"{name}.{child}"] = _cell(COLUMN_KINDS[f"{name}.{child}"], inner)
        elif value is not None:
            cells[name] = _cell(COLUMN_KINDS[name], value)
    return cells


def write_csv(records: Iterable[ReadRecord], path: Path) -> Path:
    rows = [csv_row(record) for record in records]
    header = [name for name in COLUMN_KINDS if any(name in row for row in rows)]
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json_lines(records: Iterable[object], path: Path) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def _typed(value: Any) -> Any:
    """A JSON value with ISO date strings as dates, as a Parquet file holds them."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {key: _typed(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_typed(inner) for inner in value]
    return value


def parquet_table(records: Iterable[ReadRecord]) -> pa.Table:
    """Records (valid or not, as long as each value fits its column's type) as a table of ``RECORD_SCHEMA``."""
    return pa.Table.from_pylist([_typed(dict(record)) for record in records], schema=RECORD_SCHEMA)


def write_parquet(records: Iterable[ReadRecord], path: Path) -> Path:
    pq.write_table(parquet_table(records), path)
    return path


def read_all(batches: Iterable[Any]) -> tuple[pa.Table, list[Any]]:
    """Every batch's table joined, and every problem."""
    tables, problems = [], []
    for batch in batches:
        tables.append(batch.table)
        problems.extend(batch.problems)
    return pa.concat_tables(tables) if tables else pa.table({ROW: pa.array([], pa.int64())}), problems


def split_into_ndjson(bundles: Iterable[Mapping[str, Any]], folder: Path) -> Path:
    """Bundles split as ``$export`` writes an export: one NDJSON file per resource type, references to the
    patient as ``Patient/<id>``."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {}
    for bundle in bundles:
        entries = []
        for entry in bundle.get("entry", []):
            resource = json.loads(json.dumps(entry["resource"]))
            # An export server gives every resource its id; the allpath exporter names them by fullUrl only.
            resource.setdefault("id", str(entry.get("fullUrl", "")).removeprefix("urn:uuid:"))
            entries.append((entry.get("fullUrl"), resource))
        full_urls = dict(entries)
        for _, resource in entries:
            subject = resource.get("subject")
            if isinstance(subject, dict) and subject.get("reference") in full_urls:
                target = full_urls[subject["reference"]]
                if target.get("resourceType") == "Patient":
                    subject["reference"] = f"Patient/{target['id']}"
            by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
