"""Small readers of FHIR JSON for the importer: numbers, units, dates and codings, each narrowed from the
JSON value (``object``) it is given, and the unit tables the importer converts with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from allpath.interfaces.fhir import codes as c

JSONObject = Mapping[str, object]
"""A JSON object as read: its values are narrowed with isinstance where they are used."""

_FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


# Units -> factor as a power of ten (cells per microliter, kilograms, centimeters, ...); None = not a power of ten.
WBC_UNITS = {
    "10*3/ul": 3,
    "10*3/mm3": 3,
    "k/ul": 3,
    "thou/ul": 3,
    "thousand/ul": 3,
    "10*9/l": 3,
    "g/l": 3,  # "giga per liter", as some laboratories write 10^9/L
    "/ul": 0,
    "/mm3": 0,
    "{cells}/ul": 0,
    "cells/ul": 0,
    "10*6/l": 0,
    "/l": -6,
}
WEIGHT_UNITS: dict[str, tuple[int, float]] = {"kg": (0, 1.0), "g": (-3, 1.0), "[lb_av]": (0, 0.45359237)}
HEIGHT_UNITS: dict[str, tuple[int, float]] = {"cm": (0, 1.0), "m": (2, 1.0), "mm": (-1, 1.0), "[in_i]": (0, 2.54)}
AGE_UNITS = {"a": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}
MONTH_UNITS = {"mo": 1.0, "a": 12.0, "wk": 12 * 7 / 365.25, "d": 12 / 365.25}
DOSE_UNITS = {"mg": 0, "g": 3, "ug": -3, "mcg": -3}
GRAY_UNITS = {"gy": 0, "cgy": -2}


def as_object(value: object) -> JSONObject:
    """The JSON object ``value`` is, or an empty one (a validated resource has objects where FHIR says so)."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def scaled(value: float, power_of_ten: int) -> float:
    if power_of_ten == 0:
        return value
    try:
        return float(Decimal(repr(value)).scaleb(power_of_ten))
    except InvalidOperation:
        return value * 10.0**power_of_ten


def unit(quantity: JSONObject) -> str:
    """The unit of a Quantity, normalised for look-up: the UCUM code when given, else the unit text."""
    text = quantity.get("code") if quantity.get("system") == c.UCUM and quantity.get("code") else None
    text = text or quantity.get("unit") or quantity.get("code") or ""
    text = str(text).strip().lower().replace(" ", "").replace("^", "*").replace("µ", "u").replace("μ", "u")
    text = text.replace("x10e3", "10*3").replace("x10*3", "10*3").replace("x10e9", "10*9").replace("x10*9", "10*9")
    return text


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
