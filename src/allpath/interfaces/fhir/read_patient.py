"""The importer's readers of a Patient and its Conditions: sex, birth date and record id; the leukemia (its
lineage, the diagnosis date, the age at diagnosis, and the disease state its code or clinicalStatus gives: a
relapse or a remission), Down syndrome and the predisposition syndromes."""

from __future__ import annotations

import base64
from calendar import monthrange
from datetime import date

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

_ALL_CONCEPTS = {
    "acute_lymphoblastic_leukemia": None,
    "b_all": "B",
    "t_all": "T",
    "all_in_relapse": None,
    "all_in_remission": None,
}
# Condition.clinicalStatus codes (FHIR R4 CodeSystem condition-clinical) that state the disease state.
_RELAPSE_STATUSES = frozenset({"recurrence", "relapse"})
_REMISSION_STATUS = "remission"
CONDITION_RELAPSES = "condition_relapses"
"""Relapses stated by leukemia Conditions, kept aside until every resource is read: their time from the
original diagnosis needs the diagnosis date, which another Condition may give (``relapses_from_conditions``)."""


def read_patient(found: Findings, label: str, r: JSONObject) -> None:
    before = found.scalar_count()
    _patient_fields(found, label, r)
    _record_id(found, label, r)
    if found.scalar_count() == before:
        found.ignore(label, "gives no field of the record (no gender, full birth date or allpath record id)")


def _birth_sex(found: Findings, label: str, r: JSONObject) -> tuple[str | None, str]:
    """The sex the US Core birth-sex extension gives (female or male), and where it was found."""
    for i, extension in enumerate(as_list(r.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == c.BIRTH_SEX_URL:
            where = f"{label}.extension[{i}]"
            sex = c.BIRTH_SEX.get(str(extension.get("valueCode")))
            if sex is None:
                found.ignore(where, "a birth sex with no counterpart in the record (female or male)")
            return sex, where
    return None, label


def _sex(found: Findings, label: str, r: JSONObject) -> None:
    """The record's sex: Patient.gender, else the US Core birth sex; when both are given and differ, neither
    (allpath does not choose between them: the sex is entered by hand)."""
    gender = r.get("gender")
    birth_sex, where = _birth_sex(found, label, r)
    if gender not in ("male", "female") and gender is not None:
        found.ignore(f"{label}.gender", f'gender "{gender}" has no counterpart in the record (female or male)')
    if gender in ("male", "female") and birth_sex is not None and gender != birth_sex:
        found.ignore(
            f"{label}.gender; {where}",
            "the gender and the birth sex differ: the sex is not read, enter it by hand",
        )
    elif gender in ("male", "female"):
        found.scalar("sex", gender, f"{label}.gender")
    elif birth_sex is not None:
        found.scalar("sex", birth_sex, f"{where} (US Core birth sex)")


def _patient_fields(found: Findings, label: str, r: JSONObject) -> None:
    _sex(found, label, r)
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


def _clinical_status(r: JSONObject) -> set[str]:
    return {
        str(x.get("code"))
        for x in codings(r.get("clinicalStatus"))
        if isinstance(x, dict) and x.get("system") == c.CONDITION_CLINICAL
    }


def _leukemia(found: Findings, label: str, r: JSONObject, kinds: set[str]) -> None:
    lineages = {_ALL_CONCEPTS[k] for k in kinds} - {None}
    if len(lineages) == 1:
        found.scalar("immunophenotype", lineages.pop(), f"{label}.code")
    elif len(lineages) > 1:
        found.ignore(f"{label}.code", "codes for both B-cell and T-cell ALL: the lineage is not read")
    status = _clinical_status(r)
    coded_state = kinds & {"all_in_relapse", "all_in_remission"}
    if "all_in_relapse" in kinds or status & _RELAPSE_STATUSES:
        _relapse(found, label, r, coded="all_in_relapse" in kinds)
    elif "all_in_remission" in kinds or _REMISSION_STATUS in status:
        found.ignore(
            label,
            "a remission is recognised but not read: the record's remission is the one at the end of induction, "
            "and a remission diagnosis does not say when it was reached",
        )
    if coded_state:
        # The onset of "ALL in relapse" (or "in remission") is the onset of that state, not of the leukemia.
        if "onsetDateTime" in r or "onsetAge" in r:
            found.ignore(label, "the onset of a relapse or remission diagnosis is not the date of the diagnosis")
    else:
        _diagnosis_date(found, label, r)
        if isinstance(r.get("onsetAge"), dict):
            _age(found, f"{label}.onsetAge", as_object(r.get("onsetAge")))
    for i, extension in enumerate(as_list(r.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == c.extension_url("age-at-diagnosis"):
            # allpath writes an age of 0 as a Quantity: an Age must be positive (age-1)
            age = extension.get("valueAge", extension.get("valueQuantity"))
            _age(found, f"{label}.extension[{i}]", as_object(age))


def _relapse(found: Findings, label: str, r: JSONObject, coded: bool) -> None:
    """A relapse stated by a leukemia Condition: its date (the onset of an "in relapse" diagnosis) and its
    sites (bodySite), each only where given; the rest stays unknown and the assessment lists it as missing."""
    relapse: dict[str, object] = {"date": full_date(r.get("onsetDateTime")) if coded else None}
    if not coded:
        found.ignore(
            f"{label}.clinicalStatus",
            "a relapse by clinicalStatus: the onset of the Condition is the diagnosis, so the relapse time is unknown",
        )
    elif relapse["date"] is None:
        found.ignore(label, "a relapse diagnosis without a full onset date: the relapse time is unknown")
    sites: list[str] = []
    for i, site in enumerate(as_list(r.get("bodySite"))):
        token = c.lookup().value_of("relapse_site", codings(site))
        if token is None:
            found.ignore(f"{label}.bodySite[{i}]", "a body site that is not a relapse site the record lists")
        elif token not in sites:
            sites.append(token)
    if sites:
        relapse["sites"] = sites
    found.item(CONDITION_RELAPSES, relapse, label)


def relapses_from_conditions(found: Findings) -> None:
    """The relapses the leukemia Conditions state, as relapses of the record, once every resource is read.

    allpath's own relapse Observations (with time and sites) take precedence. Otherwise each relapse date is
    one relapse, timed from the one diagnosis date found (none when the dates disagree or are missing);
    undated statements add a relapse only when no dated one exists (they may be the same relapse)."""
    pending = found.items.pop(CONDITION_RELAPSES, [])
    if not pending:
        return
    if found.items.get("relapses"):
        for f in pending:
            found.ignore(f.source, "a relapse diagnosis: the Bundle's relapse Observations give the relapses")
        return
    diagnosed = {f.value for f in found.scalars.get("diagnosis_date", [])}
    diagnosis = date.fromisoformat(str(diagnosed.pop())) if len(diagnosed) == 1 else None
    by_date: dict[str | None, tuple[set[str], list[str]]] = {}
    for f in pending:
        relapse = f.value if isinstance(f.value, dict) else {}
        day = relapse.get("date")
        sites, sources = by_date.setdefault(day if isinstance(day, str) else None, (set(), []))
        sites.update(str(s) for s in as_list(relapse.get("sites")))
        sources.append(f.source)
    if len(by_date) > 1 and None in by_date:
        for source in by_date.pop(None)[1]:
            found.ignore(source, "an undated relapse diagnosis beside dated ones: it may be the same relapse")
    for day, (sites, sources) in sorted(by_date.items(), key=lambda item: item[0] or ""):
        item: dict[str, object] = {}
        months = _months_after(diagnosis, day, found, sources)
        if months is not None:
            item["months_from_diagnosis"] = months
        if sites:
            item["sites"] = sorted(sites)
        found.item("relapses", item, "; ".join(sources))


def _months_after(diagnosis: date | None, day: str | None, found: Findings, sources: list[str]) -> float | None:
    """Months from the diagnosis to a relapse date, when both are known and the relapse comes after it."""
    if day is None:
        return None
    if diagnosis is None:
        found.ignore("; ".join(sources), "no single diagnosis date: the time from diagnosis to relapse is unknown")
        return None
    relapse = date.fromisoformat(day)
    if relapse <= diagnosis:
        found.ignore("; ".join(sources), "a relapse dated on or before the diagnosis: its time is not read")
        return None
    return round(_calendar_months(diagnosis, relapse), 2)


def _calendar_months(start: date, end: date) -> float:
    """Calendar months from ``start`` to ``end``: whole months as a clinician counts them (10 January 2021 to
    10 January 2024 is 36), and the rest as a fraction of the month it falls in."""
    whole = (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)
    anniversary, following = _months_later(start, whole), _months_later(start, whole + 1)
    return whole + (end - anniversary).days / (following - anniversary).days


def _months_later(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    return date(year, month + 1, min(start.day, monthrange(year, month + 1)[1]))


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
