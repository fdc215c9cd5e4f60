"""FHIR R4 Bundle -> patient record v1 (a dict that ``parse_record`` accepts), with an account of every step.

``import_bundle`` reads the resources that can carry record fields (Patient, Condition, Observation,
MedicationAdministration, Procedure), each validated with the ``fhir.resources`` R4B models
(``validation``), and says for every record field where it came from, the resource's date and why that value
was chosen (``mapped``), for every resource or part it did not use why not (``ignored``), for every field whose
sources disagree what they said (``conflicts``), and what it assumed about time (``assumptions``).

Each value carries its resource's clinical date (``timing.clinical_date``, set on ``Findings`` before each
reader runs). Repeated values are a time series: ``timing`` takes the value nearest the diagnosis for a
diagnostic field, the value of each treatment time point for MRD, the latest for body size, and lists the
others as not used with their date and the window they missed. It never guesses: two values at the chosen
time that differ leave the field out. The record it returns has passed ``parse_record``; a value that the
record contract does not allow is left out and reported with the contract's message (``assemble``). The
readers of each kind of resource are in ``read_patient``, ``read_observations`` and ``read_treatment``.

Nothing is logged; the result goes back to the caller only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from allpath.interfaces.fhir.assemble import ImportResult, assemble, validate
from allpath.interfaces.fhir.findings import Findings
from allpath.interfaces.fhir.read_observations import read_observation
from allpath.interfaces.fhir.read_patient import read_condition, read_patient, relapses_from_conditions
from allpath.interfaces.fhir.read_treatment import read_medication, read_procedure
from allpath.interfaces.fhir.timing import clinical_date
from allpath.interfaces.fhir.validation import validation_problem
from allpath.interfaces.fhir.values import JSONObject

__all__ = ["READ_TYPES", "ImportResult", "import_bundle", "validation_problem"]

READ_TYPES = ("Patient", "Condition", "Observation", "MedicationAdministration", "Procedure")

_READERS: dict[str, Callable[[Findings, str, JSONObject], None]] = {
    "Condition": read_condition,
    "Observation": read_observation,
    "MedicationAdministration": read_medication,
    "Procedure": read_procedure,
}

Readable = tuple[str, JSONObject, JSONObject]
"""A resource to read: its label, its Bundle entry and the resource itself."""


def _label(resource: JSONObject, entry: JSONObject, index: int) -> str:
    kind = str(resource.get("resourceType"))
    if isinstance(resource.get("id"), str):
        return f"{kind}/{resource['id']}"
    if isinstance(entry.get("fullUrl"), str):
        return f"{kind} {entry['fullUrl']}"
    return f"{kind} (entry {index})"


def _references(entry: JSONObject, resource: JSONObject) -> set[str]:
    """The reference strings that point at this Patient."""
    refs = set()
    if isinstance(entry.get("fullUrl"), str):
        refs.add(str(entry["fullUrl"]))
    if isinstance(resource.get("id"), str):
        refs.add(f"Patient/{resource['id']}")
    return refs


def _subject(resource: JSONObject) -> str | None:
    subject = resource.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        return str(subject["reference"])
    return None


def _about(reference: str | None, patient_refs: set[str]) -> bool:
    if reference is None:
        return True
    return reference in patient_refs or any(
        ref.startswith("Patient/") and reference.endswith("/" + ref) for ref in patient_refs
    )


def _not_read(kind: object) -> str:
    if kind == "Bundle":
        return "a nested Bundle is not read; import it on its own"
    return f"allpath reads no {kind} resources" if isinstance(kind, str) else "no resourceType"


def _readable(entries: list[object], found: Findings) -> list[Readable]:
    """The entries whose resources allpath reads and that are valid FHIR R4; the others are ignored with why."""
    readable: list[Readable] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(entry, dict):
            found.ignore(f"entry {index}", "an entry without a resource")
            continue
        label = _label(resource, entry, index)
        kind = resource.get("resourceType")
        if kind not in READ_TYPES:
            found.ignore(label, _not_read(kind))
            continue
        problem = validation_problem(resource)
        if problem:
            found.ignore(label, problem)
            continue
        readable.append((label, entry, resource))
    return readable


def _about_the_patient(readable: list[Readable], found: Findings) -> list[tuple[str, JSONObject]]:
    """The resources about the Bundle's one child (its Patient is read here); the others are ignored with why."""
    patients = [(label, entry, r) for label, entry, r in readable if r["resourceType"] == "Patient"]
    others = [(label, r) for label, _, r in readable if r["resourceType"] != "Patient"]
    if len(patients) > 1:
        for label, _, _ in patients:
            found.ignore(label, "the Bundle holds several Patient resources; a record describes one child")
        for label, _ in others:
            found.ignore(label, "the Bundle holds several patients")
        return []
    if len(patients) == 1:
        label, entry, patient = patients[0]
        refs = _references(entry, patient)
        read_patient(found, label, patient)
        kept = []
        for other_label, r in others:
            if _about(_subject(r), refs):
                kept.append((other_label, r))
            else:
                found.ignore(other_label, "about another subject than the Bundle's Patient")
        return kept
    subjects = {s for s in (_subject(r) for _, r in others) if s is not None}
    if len(subjects) > 1:
        for label, _ in others:
            found.ignore(label, "resources about several subjects and no Patient to choose between them")
        return []
    return others


def import_bundle(bundle: object, today: date | None = None) -> ImportResult:
    """Map a FHIR R4 Bundle onto a patient record v1. Never raises on bad input; see ``ImportResult``.
    ``today`` (default: today in UTC) is the day the report measures the age of the latest body size from."""
    result = ImportResult(record={})
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        result.ignored.append({"resource": "input", "reason": "not a FHIR Bundle (resourceType must be Bundle)"})
        return result
    entries = bundle.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        result.ignored.append({"resource": "Bundle.entry", "reason": "entry is not a list"})
        return result
    found = Findings()
    for label, r in _about_the_patient(_readable(entries, found), found):
        found.when = clinical_date(r)
        try:
            _READERS[str(r["resourceType"])](found, label, r)
        except Exception as error:  # noqa: BLE001 - a resource the readers did not foresee is reported, not fatal
            found.ignore(label, f"could not be read ({type(error).__name__})")
    found.when = None
    relapses_from_conditions(found)
    assemble(found, result, today or datetime.now(UTC).date())
    validate(result)
    return result
