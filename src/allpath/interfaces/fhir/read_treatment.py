"""The importer's readers of the treatment given: MedicationAdministrations (courses of a drug with their dose
and route), radiation Procedures, and the treatment-course Procedure (first day of treatment, end of therapy)."""

from __future__ import annotations

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.findings import Findings
from allpath.interfaces.fhir.values import (
    DOSE_UNITS,
    GRAY_UNITS,
    JSONObject,
    as_list,
    as_object,
    codings,
    first_coding,
    full_date,
    has_local,
    names,
    number,
    scaled,
    unit,
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
        amount, given = number(dose.get("value")), unit(dose)
        if amount is not None and given in DOSE_UNITS:
            course["dose_mg"] = scaled(amount, DOSE_UNITS[given])
        elif amount is not None and given in ("mg/m2", "mg/m*2"):
            course["dose_mg_per_m2"] = amount
        else:
            found.ignore(f"{label}.dosage.dose", "a dose in a unit allpath does not convert")
    route_concept = dosage.get("route")
    for extension in as_list(r.get("extension")):
        if not isinstance(extension, dict):
            continue
        if extension.get("url") == c.extension_url("dose-per-body-surface-area"):
            amount = number(as_object(extension.get("valueQuantity")).get("value"))
            if amount is not None:
                course["dose_mg_per_m2"] = amount
        elif extension.get("url") == c.extension_url("route"):
            route_concept = extension.get("valueCodeableConcept")
    if route_concept is not None:
        route = c.lookup().value_of("route", codings(route_concept))
        if route is not None:
            course["route"] = route
        else:
            found.ignore(f"{label}.dosage.route", "a route the record does not list")


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


def _total_dose_gy(r: JSONObject) -> float | None:
    """The total dose delivered (mCODE's extension), in gray, when it is given in a unit allpath converts."""
    dose = None
    for extension in as_list(r.get("extension")):
        if isinstance(extension, dict) and extension.get("url") == c.MCODE["dose_delivered_extension"]:
            for part in as_list(extension.get("extension")):
                if isinstance(part, dict) and part.get("url") == "totalDoseDelivered":
                    quantity = as_object(part.get("valueQuantity"))
                    amount, given = number(quantity.get("value")), unit(quantity)
                    if amount is not None and given in GRAY_UNITS:
                        dose = scaled(amount, GRAY_UNITS[given])
    return dose


def _radiation(found: Findings, label: str, r: JSONObject) -> None:
    if r.get("status") != "completed":
        found.ignore(label, "a radiation course is read once it is completed")
        return
    sites = {c.lookup().value_of("radiation_site", codings(site)) for site in as_list(r.get("bodySite"))} - {None}
    if len(sites) != 1:
        found.ignore(label, "a radiation course needs exactly one body site the record lists")
        return
    beam: dict[str, object] = {"site": sites.pop()}
    dose = _total_dose_gy(r)
    if dose is not None:
        beam["dose_gy"] = dose
    day = full_date(as_object(r.get("performedPeriod")).get("end")) or full_date(r.get("performedDateTime"))
    if day:
        beam["date"] = day
    found.item("exposures.radiation", beam, label)
