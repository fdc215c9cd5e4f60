"""The importer's readers of the treatment given: MedicationAdministrations (courses of a drug with their dose
and route), radiation Procedures, and the treatment-course Procedure (first day of treatment, end of therapy)."""

from __future__ import annotations

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
    has_local,
    names,
    number,
)


def _drug(concept: object) -> tuple[str | None, str]:
    """The drug a medication concept codes (or names by its generic name), and how it was recognised."""
    drug = c.lookup().value_of("drug", codings(concept))
    if drug is not None:
        return drug, "medicationCodeableConcept"
    named = names(concept) & set(c.value_tokens("drug"))
    return (named.pop() if len(named) == 1 else None), "medicationCodeableConcept (by generic name)"


def read_medication(found: Findings, label: str, r: JSONObject) -> None:
    if r.get("status") != "completed":
        found.ignore(label, f'status "{r.get("status")}": only completed administrations are exposures')
        return
    concept = r.get("medicationCodeableConcept")
    if concept is None:
        found.ignore(label, "medicationReference is not followed: give medicationCodeableConcept")
        return
    drug, how = _drug(concept)
    if drug is None:
        found.ignore(label, f"not a drug whose courses the record holds ({first_coding(concept)})")
        return
    day = full_date(r.get("effectiveDateTime")) or full_date(as_object(r.get("effectivePeriod")).get("start"))
    if day is None:
        found.ignore(label, "an administration without a full date")
        return
    course: dict[str, object] = {"drug": drug, "date": day}
    _dose(found, label, r, course)
    found.item("exposures.courses", course, f"{label} ({how})")


def _dose(found: Findings, label: str, r: JSONObject, course: dict[str, object]) -> None:
    """The dose (in mg, or mg per square metre) and the route of an administration, into ``course``."""
    dosage = as_object(r.get("dosage"))
    dose = dosage.get("dose")
    if isinstance(dose, dict):
        _dose_amount(found, label, dose, course)
    route_concept = dosage.get("route")
    for extension in as_list(r.get("extension")):
        if not isinstance(extension, dict):
            continue
        if extension.get("url") == c.extension_url("dose-per-body-surface-area"):
            per_area = units.read(as_object(extension.get("valueQuantity")), "dose_mg_per_m2", "a dose per area")
            _keep(found, (label, "extension"), "exposures.courses.dose_mg_per_m2", per_area, course)
        elif extension.get("url") == c.extension_url("route"):
            route_concept = extension.get("valueCodeableConcept")
    if route_concept is not None:
        route = c.lookup().value_of("route", codings(route_concept))
        if route is not None:
            course["route"] = route
        else:
            found.ignore(f"{label}.dosage.route", "a route the record does not list")


def _dose_amount(found: Findings, label: str, dose: JSONObject, course: dict[str, object]) -> None:
    """The dose of an administration in mg, or else in mg per square metre, into ``course``."""
    name, reading = "dose_mg", units.read(dose, "dose_mg", "a dose")
    if isinstance(reading, units.Unreadable):
        per_area = units.read(dose, "dose_mg_per_m2", "a dose")
        if isinstance(per_area, units.Reading) or number(dose.get("value")) is None:
            name, reading = "dose_mg_per_m2", per_area
        else:
            reading = units.Unreadable(f"{reading.reason} or {units.quantity_of('dose_mg_per_m2').unit_words}")
    _keep(found, (label, "dosage.dose"), f"exposures.courses.{name}", reading, course)


def _keep(
    found: Findings,
    where: tuple[str, str],
    path: str,
    reading: units.Reading | units.Unreadable,
    into: dict[str, object],
) -> None:
    """A reading into ``into`` under the last part of ``path`` (a record quantity of ``units.yaml``); a bound is
    listed instead, a unit that cannot be read is ignored. ``where``: the resource's label and the element."""
    name, source = path.rsplit(".", 1)[-1], f"{where[0]}.{where[1]}"
    if isinstance(reading, units.Unreadable):
        found.ignore(source, reading.reason)
    elif reading.comparator is not None:
        words = f"{units.bound_words(name, reading)} ({where[0]})"
        found.bound(path, reading.comparator, reading.value, source, words)
    else:
        into[name] = reading.value


def read_procedure(found: Findings, label: str, r: JSONObject) -> None:
    concept = c.lookup().concept_of(codings(r.get("code")))
    if r.get("status") in ("entered-in-error", "not-done", "preparation", "stopped", "unknown"):
        found.ignore(label, f'status "{r.get("status")}"')
        return
    if concept == "radiation_course":
        _radiation(found, label, r)
    elif concept == "treatment_course" and has_local(r.get("code"), c.concept_local_code("treatment_course")):
        period = as_object(r.get("performedPeriod"))
        start, end = full_date(period.get("start")), full_date(period.get("end"))
        if start:
            found.scalar("treatment_start_date", start, f"{label}.performedPeriod.start")
        if end:
            found.scalar("end_of_therapy_date", end, f"{label}.performedPeriod.end")
    elif concept == "treatment_course":
        found.ignore(
            label,
            "a chemotherapy procedure without allpath's treatment-course code: its dates may be of one session",
        )
    else:
        found.ignore(label, f"not a procedure allpath reads ({first_coding(r.get('code'))})")


def _total_dose_gy(found: Findings, label: str, r: JSONObject, beam: dict[str, object]) -> None:
    """The total dose delivered (mCODE's extension), in gray, into ``beam``."""
    for extension in as_list(r.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == c.MCODE["dose_delivered_extension"]:
            for part in as_list(extension.get("extension")):
                if isinstance(part, dict) and part.get("url") == "totalDoseDelivered":
                    reading = units.read(as_object(part.get("valueQuantity")), "dose_gy", "a radiation dose")
                    _keep(found, (label, "extension"), "exposures.radiation.dose_gy", reading, beam)


def _radiation(found: Findings, label: str, r: JSONObject) -> None:
    if r.get("status") != "completed":
        found.ignore(label, "a radiation course is read once it is completed")
        return
    sites = {c.lookup().value_of("radiation_site", codings(site)) for site in as_list(r.get("bodySite"))} - {None}
    if len(sites) != 1:
        found.ignore(label, "a radiation course needs exactly one body site the record lists")
        return
    beam: dict[str, object] = {"site": sites.pop()}
    _total_dose_gy(found, label, r, beam)
    day = full_date(as_object(r.get("performedPeriod")).get("end")) or full_date(r.get("performedDateTime"))
    if day:
        beam["date"] = day
    found.item("exposures.radiation", beam, label)
