"""The treatment a record says was given, as FHIR R4 resources of the record Bundle: each course of a drug as
a MedicationAdministration, each course of radiation as a Procedure (with mCODE's extensions), and the readers of
the validated record's numbers and strings that the Bundle's builders share."""

from __future__ import annotations

from collections.abc import Mapping

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import Resource, quantity, scaled, standard_cc
from allpath.interfaces.fhir.narrative import with_narrative


def as_number(value: object) -> float:
    """A number of the validated record, as given (an int stays an int in the JSON written)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number in a validated record, got {type(value).__name__}")
    return value


def as_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string in a validated record, got {type(value).__name__}")
    return value


def course_administration(subject: Mapping[str, str], course: Mapping[str, object]) -> Resource:
    """A course of a drug as a MedicationAdministration; a dose by body surface area with mCODE's
    normalization basis."""
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": c.value_cc("drug", as_text(course["drug"])),
        "subject": dict(subject),
        "effectiveDateTime": course["date"],
    }
    extensions: list[Resource] = []
    per_m2 = course.get("dose_mg_per_m2")
    mg = course.get("dose_mg")
    route = course.get("route")
    dose = None
    if mg is not None:
        dose = quantity(as_number(mg), "mg")
        if per_m2 is not None:
            per_area = quantity(as_number(per_m2), "mg/m2")
            extensions.append({"url": c.extension_url("dose-per-body-surface-area"), "valueQuantity": per_area})
    elif per_m2 is not None:
        dose = quantity(as_number(per_m2), "mg/m2")
    if per_m2 is not None:  # mCODE: a dose by body surface area says so
        basis = standard_cc("normalization_basis", "body_surface_area")
        extensions.append({"url": c.MCODE["normalization_basis_extension"], "valueCodeableConcept": basis})
    if dose is not None:
        dosage: Resource = {"dose": dose}
        if route is not None:
            dosage["route"] = c.value_cc("route", as_text(route))
        resource["dosage"] = dosage
    elif route is not None:  # a dosage needs a dose or a rate (mad-1): the route alone goes in an extension
        extensions.append(
            {"url": c.extension_url("route"), "valueCodeableConcept": c.value_cc("route", as_text(route))}
        )
    if extensions:
        resource["extension"] = extensions
    return resource


def radiation_procedure(subject: Mapping[str, str], beam: Mapping[str, object]) -> Resource:
    """A course of radiation as a Procedure with mCODE's dose delivered to a volume (the site, contained)."""
    resource: Resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": c.concept_cc("radiation_course"),
        "subject": dict(subject),
        "bodySite": [c.value_cc("radiation_site", as_text(beam["site"]))],
    }
    if beam.get("date") is not None:
        resource["performedPeriod"] = {"end": beam["date"]}
    if beam.get("dose_gy") is not None:
        # mCODE's dose extension requires the volume treated: the site, as a contained BodyStructure.
        site = as_text(beam["site"])
        volume: Resource = {
            "resourceType": "BodyStructure",
            "id": "volume",
            "meta": {"profile": [c.MCODE["radiotherapy_volume"]]},
            "location": c.value_cc("radiation_site", site),
            "description": f"Radiation volume: {site.replace('_', ' ')}",
            "patient": dict(subject),
        }
        resource["contained"] = [with_narrative(volume)]
        total = quantity(scaled(as_number(beam["dose_gy"]), 2), "cGy")
        parts = [{"url": "volume", "valueReference": {"reference": "#volume"}}]
        resource["extension"] = [
            {
                "url": c.MCODE["dose_delivered_extension"],
                "extension": [*parts, {"url": "totalDoseDelivered", "valueQuantity": total}],
            }
        ]
    return resource
