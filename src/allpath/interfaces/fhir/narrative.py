"""The human-readable narrative (``text``) of every exported resource: a short XHTML div in plain words, built
from what the resource itself says (its title or code, its value, its date, its description), so that a reader
without allpath sees what each resource holds. Everything written into the div is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from allpath.interfaces.fhir.elements import Resource

XHTML = "http://www.w3.org/1999/xhtml"


_NOTHING: Mapping[str, object] = {}


def _object(value: object) -> Mapping[str, object]:
    # The exporter builds plain dicts (a dict check is much cheaper than an ABC one, per element of 100,000s).
    return value if isinstance(value, dict) else _NOTHING


def _concept_words(value: object) -> str:
    """A CodeableConcept in words: its text, or the display of its first coding that has one."""
    concept = _object(value)
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else []:
        display = _object(coding).get("display")
        if display:
            return str(display)
    return ""


def _quantity_words(value: object) -> str:
    quantity = _object(value)
    return f"{quantity.get('value')} {quantity.get('unit') or quantity.get('code') or ''}".strip()


def _value_words(element: Mapping[str, object]) -> str:
    """The value[x] of an Observation or component in words, or why it is absent."""
    if "valueQuantity" in element:
        return _quantity_words(element["valueQuantity"])
    if "valueCodeableConcept" in element:
        return _concept_words(element["valueCodeableConcept"])
    if "valueBoolean" in element:
        return "yes" if element["valueBoolean"] else "no"
    if "dataAbsentReason" in element:
        codings = _object(element["dataAbsentReason"]).get("coding")
        first = _object(codings[0]) if isinstance(codings, list) and codings else {}
        return f"no value ({str(first.get('code') or 'absent').replace('-', ' ')})"
    return ""


def _dates(resource: Mapping[str, object]) -> str:
    for key in ("effectiveDateTime", "onsetDateTime"):
        if resource.get(key):
            return f"on {resource[key]}"
    for key in ("performedPeriod", "period"):
        span = _object(resource.get(key))
        if span:
            return " ".join(f"{word} {span[k]}" for k, word in (("start", "from"), ("end", "until")) if span.get(k))
    return ""


def _title(resource: Mapping[str, object]) -> str:
    kind = str(resource.get("resourceType", "Resource"))
    for key in ("title", "code", "medicationCodeableConcept"):
        value = resource.get(key)
        words = str(value) if key == "title" and value else _concept_words(value)
        if words:
            return words
    return kind


def _patient_words(patient: Mapping[str, object]) -> str:
    parts = ["Patient"]
    if patient.get("gender"):
        parts.append(str(patient["gender"]))
    if patient.get("birthDate"):
        parts.append(f"born {patient['birthDate']}")
    return ", ".join(parts) + ". Name not held by allpath."


def _status_words(resource: Mapping[str, object]) -> str:
    """What a Condition's verification status says in words when it is not simply confirmed."""
    codings = _object(resource.get("verificationStatus")).get("coding")
    codes = {_object(x).get("code") for x in codings} if isinstance(codings, list) else set()
    return "Ruled out: " if "refuted" in codes else ""


def summary(resource: Mapping[str, object]) -> str:
    """One or two sentences in plain words about a resource."""
    if resource.get("resourceType") == "Patient":
        return _patient_words(resource)
    text = _status_words(resource) + _title(resource)
    value = _value_words(resource)
    dose = _object(resource.get("dosage")).get("dose")
    if dose:
        value = _quantity_words(dose)
    if value:
        text += f": {value}"
    components = resource.get("component")
    parts = []
    for item in components if isinstance(components, list) else []:
        entry = _object(item)
        parts.append(f"{_concept_words(entry.get('code'))} {_value_words(entry)}".strip())
    if parts:
        text += " (" + "; ".join(p for p in parts if p) + ")"
    when = _dates(resource)
    if when:
        text += f", {when}"
    text += "."
    if resource.get("description"):
        text += f" {resource['description']}"
    return text


def with_narrative(resource: Resource) -> Resource:
    """The resource with a generated narrative right after its resourceType (and meta), replacing any."""
    div = f'<div xmlns="{XHTML}"><p>{escape(summary(resource), quote=False)}</p></div>'
    result: Resource = {}
    for key in ("resourceType", "id", "meta"):
        if key in resource:
            result[key] = resource[key]
    result["text"] = {"status": "generated", "div": div}
    for key, value in resource.items():
        if key not in result:
            result[key] = value
    return result
