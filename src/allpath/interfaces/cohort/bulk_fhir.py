"""Cohorts as FHIR Bulk Data NDJSON, as ``$export`` writes them: one file per resource type (Patient.ndjson,
Condition.ndjson, Observation.ndjson, ...), one resource per line.

Each patient's resources are gathered into a Bundle and mapped by the FHIR import (``import_bundle``), so a
cohort gets the same time-aware rules as one record imported alone. The row is the Patient's position in
Patient.ndjson (across the Patient files in the order given), and a problem names the Patient's id too. A
patient whose resources do not make a record (a line that is not a Patient with an id, a Patient that is not
valid FHIR R4, or nothing the record can hold) is a reported row.

Memory stays bounded: the Patients are taken ``batch_rows`` at a time, and for each such group the other files
are read once more, keeping only the resources about those patients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

from allpath.interfaces.cohort.reading import BatchBuilder, CohortBatch, CohortFileError, RowProblem
from allpath.interfaces.fhir.importer import READ_TYPES, import_bundle
from allpath.interfaces.fhir.values import JSONObject

_NOT_A_PATIENT = "expected a FHIR Patient resource with an id on this line of Patient.ndjson"
_NO_RECORD = "resources from which the FHIR import makes a patient record; it found nothing the record can hold"
_REPEATED = "a Patient id given once in the export (this id is on an earlier line too)"


def _resource_type(path: Path) -> str | None:
    """The resource type of an NDJSON file, from its first resource (file names vary between servers)."""
    with path.open("r", encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if line.strip():
                try:
                    first = json.loads(line)
                except ValueError:
                    return None
                kind = first.get("resourceType") if isinstance(first, dict) else None
                return kind if isinstance(kind, str) else None
    return None


def bulk_files(source: Path | Sequence[Path]) -> dict[str, list[Path]]:
    """The NDJSON files of an export (a folder, or the list of files), by resource type."""
    if isinstance(source, Path):
        paths = sorted(source.glob("*.ndjson")) if source.is_dir() else [source]
    else:
        paths = list(source)
    by_type: dict[str, list[Path]] = {}
    for path in paths:
        kind = _resource_type(path)
        if kind is not None:
            by_type.setdefault(kind, []).append(path)
    if "Patient" not in by_type:
        raise CohortFileError("The FHIR Bulk Data export has no Patient file (Patient.ndjson): it lists no patients.")
    return by_type


def _patients(files: list[Path]) -> Iterator[tuple[int, object]]:
    row = 0
    for path in files:
        with path.open("r", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if not line.strip():
                    continue
                row += 1
                try:
                    yield row, json.loads(line)
                except ValueError:
                    yield row, line.strip()


def patient_id(reference: object) -> str | None:
    """The Patient id a reference points at: ``Patient/<id>``, a full URL ending so, or ``urn:uuid:<id>``."""
    if not isinstance(reference, str):
        return None
    if reference.startswith("urn:uuid:"):
        return reference.removeprefix("urn:uuid:")
    head, _, ident = reference.rpartition("/")
    return ident if head.endswith("Patient") and ident else None


def _subject(resource: object) -> str | None:
    if not isinstance(resource, dict):
        return None
    subject = resource.get("subject")
    return patient_id(subject.get("reference")) if isinstance(subject, dict) else None


def _resources_about(ids: set[str], by_type: dict[str, list[Path]]) -> dict[str, list[JSONObject]]:
    """The resources the FHIR import reads about these patients, read afresh from every other file."""
    found: dict[str, list[JSONObject]] = {ident: [] for ident in ids}
    for kind in READ_TYPES:
        if kind == "Patient":
            continue
        for path in by_type.get(kind, []):
            with path.open("r", encoding="utf-8", errors="replace") as stream:
                for line in stream:
                    if not line.strip():
                        continue
                    try:
                        resource = json.loads(line)
                    except ValueError:
                        continue  # a resource that is not JSON belongs to no patient we can name
                    ident = _subject(resource)
                    if ident in found:
                        found[ident].append(resource)
    return found


def read_bulk_fhir(source: Path | Sequence[Path], batch_rows: int) -> Iterator[CohortBatch]:
    """The records of a FHIR Bulk Data export, ``batch_rows`` patients at a time."""
    by_type = bulk_files(source)
    patients = _patients(by_type["Patient"])
    while group := list(islice(patients, batch_rows)):
        yield _group_batch(group, by_type)


def _group_batch(group: list[tuple[int, object]], by_type: dict[str, list[Path]]) -> CohortBatch:
    builder = BatchBuilder(len(group))
    valid: dict[str, int] = {}
    for row, patient in group:
        if (
            isinstance(patient, dict)
            and patient.get("resourceType") == "Patient"
            and isinstance(patient.get("id"), str)
        ):
            valid.setdefault(patient["id"], row)
    resources = _resources_about(set(valid), by_type)
    for row, patient in group:
        ident = patient.get("id") if isinstance(patient, dict) else None
        if not isinstance(patient, dict) or not isinstance(ident, str) or ident not in valid:
            builder.refuse([RowProblem(row, "record", patient, _NOT_A_PATIENT)])
            continue
        if valid[ident] != row:
            builder.refuse([RowProblem(row, "record", f"Patient/{ident}", _REPEATED, ident)])
            continue
        _import_patient(builder, row, ident, [patient, *resources[ident]])
    return builder.take()


def _import_patient(builder: BatchBuilder, row: int, ident: str, resources: list[JSONObject]) -> None:
    entries: list[object] = [{"fullUrl": f"urn:uuid:{ident}", "resource": resources[0]}]
    entries += [{"resource": resource} for resource in resources[1:]]
    result = import_bundle({"resourceType": "Bundle", "type": "collection", "entry": entries})
    if result.record:
        builder.check(row, result.record, ident)
        return
    # Why the Patient gave nothing (not valid FHIR R4, or no field the record holds), in the import's words.
    why = [item["reason"] for item in result.ignored if item.get("resource") == f"Patient/{ident}"]
    allowed = _NO_RECORD + (f" (the Patient: {why[0]})" if why else "")
    builder.refuse([RowProblem(row, "record", f"Patient/{ident}", allowed, ident)])
