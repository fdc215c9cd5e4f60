"""The importer's readers of a Patient and its Conditions: sex, birth date and record id; the leukemia (its
lineage, the diagnosis date, the age at diagnosis), Down syndrome and the predisposition syndromes."""

from __future__ import annotations

import base64

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir import units
from allpath.interfaces.fhir.findings import Findings
from allpath.interfaces.fhir.values import (
    JSONObject,
    as_list,
    as_object,
    codings,
    first_coding,
    full_date,
)

_ALL_CONCEPTS = {"acute_lymphoblastic_leukemia": None, "b_all": "B", "t_all": "T"}


def read_patient(found: Findings, label: str, r: JSONObject) -> None:
    before = found.scalar_count()
    _patient_fields(found, label, r)
    _record_id(found, label, r)
    if found.scalar_count() == before:
        found.ignore(label, "gives no field of the record (no gender, full birth date or allpath record id)")


def _patient_fields(found: Findings, label: str, r: JSONObject) -> None:
    gender = r.get("gender")
    if gender in ("male", "female"):
        found.scalar("sex", gender, f"{label}.gender")
    elif gender is not None:
        found.ignore(f"{label}.gender", f'gender "{gender}" has no counterpart in the record (female or male)')
    if "birthDate" in r:
        day = full_date(r["birthDate"])
        if day:
            found.scalar("birth_date", day, f"{label}.birthDate")
        else:
            found.ignore(f"{label}.birthDate", "a partial birth date (year or month only) cannot give an age")


def _record_id(found: Findings, label: str, r: JSONObject) -> None:
    """The allpath record id: an identifier's value, or (for an id FHIR cannot hold as a string) an extension."""
    for i, identifier in enumerate(as_list(r.get("identifier"))):
        if not (isinstance(identifier, dict) and identifier.get("system") == c.RECORD_ID_SYSTEM):
            continue
        if "value" in identifier:
            found.scalar("id", identifier["value"], f"{label}.identifier[{i}]")
        for extension in as_list(identifier.get("extension")):
            if not isinstance(extension, dict):
                continue
            if extension.get("url") == c.extension_url("empty-value"):
                found.scalar("id", "", f"{label}.identifier[{i}]")
            elif extension.get("url") == c.extension_url("encoded-value"):
                try:
                    decoded = base64.b64decode(str(extension.get("valueBase64Binary")), validate=True)
                    found.scalar("id", decoded.decode("utf-8"), f"{label}.identifier[{i}]")
                except (ValueError, UnicodeDecodeError):
                    found.ignore(f"{label}.identifier[{i}]", "an encoded record id that is not base64 UTF-8")


def read_condition(found: Findings, label: str, r: JSONObject) -> None:
    lookup = c.lookup()
    verification = {str(x.get("code")) for x in codings(r.get("verificationStatus")) if isinstance(x, dict)}
    if "entered-in-error" in verification:
        found.ignore(label, "entered in error")
        return
    coded = codings(r.get("code"))
    kinds = lookup.concepts_of(coded) & set(_ALL_CONCEPTS)
    refuted = "refuted" in verification
    unconfirmed = bool(verification & {"unconfirmed", "provisional", "differential"})
    if kinds:
        if refuted or unconfirmed:
            found.ignore(label, "the leukemia diagnosis is not confirmed (verificationStatus)")
            return
        _leukemia(found, label, r, kinds)
        return
    down = lookup.value_of("down_syndrome", coded)
    syndrome = lookup.value_of("predisposition", coded)
    if down is None and syndrome is None:
        found.ignore(label, f"not a condition allpath reads ({first_coding(r.get('code'))})")
        return
    if unconfirmed:
        found.ignore(label, "not confirmed (verificationStatus): the record holds known conditions only")
        return
    if down is not None:
        found.scalar("down_syndrome", not refuted, f"{label}.verificationStatus")
    elif refuted:
        found.ignore(label, "a refuted predisposition syndrome: the record lists the syndromes a child has")
    else:
        found.item("predisposition_syndromes", syndrome, f"{label}.code")


def _leukemia(found: Findings, label: str, r: JSONObject, kinds: set[str]) -> None:
    lineages = {_ALL_CONCEPTS[k] for k in kinds} - {None}
    if len(lineages) == 1:
        found.scalar("immunophenotype", lineages.pop(), f"{label}.code")
    elif len(lineages) > 1:
        found.ignore(f"{label}.code", "codes for both B-cell and T-cell ALL: the lineage is not read")
    _diagnosis_date(found, label, r)
    if isinstance(r.get("onsetAge"), dict):
        _age(found, f"{label}.onsetAge", as_object(r.get("onsetAge")))
    for i, extension in enumerate(as_list(r.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == c.extension_url("age-at-diagnosis"):
            # allpath writes an age of 0 as a Quantity: an Age must be positive (age-1)
            age = extension.get("valueAge", extension.get("valueQuantity"))
            _age(found, f"{label}.extension[{i}]", as_object(age))


def _diagnosis_date(found: Findings, label: str, r: JSONObject) -> None:
    if "onsetDateTime" in r:
        day = full_date(r["onsetDateTime"])
        if day:
            found.scalar("diagnosis_date", day, f"{label}.onsetDateTime")
        else:
            found.ignore(f"{label}.onsetDateTime", "a partial date cannot give the age at diagnosis")
    elif "recordedDate" in r and "onsetAge" not in r:
        day = full_date(r["recordedDate"])
        if day:
            found.scalar("diagnosis_date", day, f"{label}.recordedDate")


def _age(found: Findings, source: str, quantity: JSONObject) -> None:
    reading = units.read(quantity, "age_years", "an age")
    if isinstance(reading, units.Unreadable):
        found.ignore(source, f"{reading.reason} (an age is read in years, months, weeks or days)")
    elif reading.comparator is not None:
        words = f"{units.bound_words('age_years', reading)} ({source.rsplit('.', 1)[0]})"
        found.bound("age_years", reading.comparator, reading.value, source, words)
    else:
        found.scalar("age_years", reading.value, source)
