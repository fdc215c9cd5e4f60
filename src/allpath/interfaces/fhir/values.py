"""Small readers of FHIR JSON for the importer: numbers, dates and codings, each narrowed from the JSON value
(``object``) it is given. Quantities are read in the record's units by ``units``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from allpath.interfaces.fhir import codes as c

JSONObject = Mapping[str, object]
"""A JSON object as read: its values are narrowed with isinstance where they are used."""

_FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def as_object(value: object) -> JSONObject:
    """The JSON object ``value`` is, or an empty one (a validated resource has objects where FHIR says so)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def full_date(value: object) -> str | None:
    """The day of a FHIR date or dateTime (None for a partial date or anything else)."""
    if isinstance(value, str):
        match = _FULL_DATE.match(value)
        if match:
            return match.group(1)
    return None


def codings(concept: object) -> list[object]:
    return as_list(concept.get("coding")) if isinstance(concept, dict) else []


def names(concept: object) -> set[str]:
    """The displays and the text of a CodeableConcept, lower-case."""
    found = {str(x.get("display", "")).strip().lower() for x in codings(concept) if isinstance(x, dict)}
    if isinstance(concept, dict) and concept.get("text"):
        found.add(str(concept["text"]).strip().lower())
    return found - {""}


def has_local(concept: object, code: str) -> bool:
    return any(
        isinstance(x, dict) and x.get("system") == c.LOCAL_SYSTEM and x.get("code") == code for x in codings(concept)
    )


def first_coding(concept: object) -> str:
    for x in codings(concept):
        if isinstance(x, dict):
            return f"{x.get('system', '?')}|{x.get('code', '?')}"
    return "no coding"
