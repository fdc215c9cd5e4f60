"""FHIR Bulk Data NDJSON: the 40 Synthea bundles and the bundled examples, split by the test into one file per
resource type as ``$export`` writes them, read back exactly as the FHIR import reads each bundle; a patient
whose resources make no record is a reported row (its position in Patient.ndjson and its id)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from allpath.domain.cohort_table import ROW
from allpath.interfaces.cohort import CohortFileError, read_cohort
from allpath.interfaces.fhir import import_bundle, record_to_bundle
from tests.cohort.helpers import expected_table, read_all, split_into_ndjson
from tests.conftest import EXAMPLES, require_shared

FIXTURE = Path(__file__).parent / "data" / "bulk_export"


def _synthea_bundles() -> list[dict[str, Any]]:
    folder = require_shared() / "fhir-samples" / "synthea"
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def _imported(bundles: list[dict[str, Any]]) -> list[dict[str, object]]:
    return [import_bundle(bundle).record for bundle in bundles]


def test_synthea_bundles_as_a_bulk_export_read_as_the_fhir_import_reads_each_bundle(tmp_path: Path) -> None:
    bundles = _synthea_bundles()
    assert len(bundles) == 40
    export = split_into_ndjson(bundles, tmp_path / "export")
    assert {"Patient.ndjson", "Condition.ndjson", "Observation.ndjson", "Procedure.ndjson"} <= {
        path.name for path in export.iterdir()
    }
    expected = _imported(bundles)
    for batch_rows in (7, 40, 41):
        table, problems = read_all(read_cohort(export, batch_rows=batch_rows))
        made = [(index + 1, record) for index, record in enumerate(expected) if record]
        assert table.column(ROW).to_pylist() == [row for row, _ in made]
        assert table.drop_columns([ROW]).equals(expected_table([r for _, r in made]).drop_columns([ROW]))
        assert [p.row for p in problems] == [index + 1 for index, record in enumerate(expected) if not record]


def test_the_bundled_examples_exported_and_split_read_back_as_the_records_themselves(tmp_path: Path) -> None:
    records = json.loads((EXAMPLES / "all.json").read_text(encoding="utf-8"))
    bundles = [record_to_bundle(record) for record in records]
    export = split_into_ndjson(bundles, tmp_path / "export")
    files = sorted(export.glob("*.ndjson"))
    table, problems = read_all(read_cohort(files, batch_rows=10))
    assert problems == []
    # The FHIR round trip gives back every example unchanged (tests/fhir/test_round_trip.py), so the export does.
    assert table.equals(expected_table(records))


def test_the_committed_export_reports_the_patients_that_make_no_record() -> None:
    table, problems = read_all(read_cohort(FIXTURE))
    assert table.column(ROW).to_pylist() == [1, 2]
    first, second = table.to_pylist()
    assert first["sex"] == "female" and first["birth_date"].isoformat() == "2016-04-12"
    assert first["immunophenotype"] == "B" and first["wbc_per_ul"] == 12000.0
    assert second["sex"] == "male" and second["cns_status"] is None
    assert [(p.row, p.patient, p.field) for p in problems] == [
        (3, "p-empty", "record"),
        (4, None, "record"),
        (5, "p-bad", "record"),
        (6, "p-one", "record"),
    ]
    assert "nothing the record can hold" in problems[0].allowed
    assert "Patient resource with an id" in problems[1].allowed
    assert "not valid FHIR R4" in problems[2].allowed
    assert "given once" in problems[3].allowed
    assert problems[0].message().startswith("Row 3 (Patient p-empty): ")


def test_an_export_without_patients_is_a_file_problem(tmp_path: Path) -> None:
    (tmp_path / "Observation.ndjson").write_text('{"resourceType": "Observation", "status": "final"}\n')
    with pytest.raises(CohortFileError, match="no Patient file"):
        list(read_cohort(tmp_path))
