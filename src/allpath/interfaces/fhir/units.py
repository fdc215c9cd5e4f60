"""FHIR Quantities in the record's units: UCUM codes converted by a UCUM library, the spellings EHRs send that
are not UCUM read through the alias list of ``knowledge/data/units.yaml``, and comparators kept as bounds.

The library is ucumvert (the full UCUM grammar, and the UCUM 2.2 unit definitions on pint), built by
``unit_library`` on first use, with a registry of its own and pint's definition cache in a private per-user
folder: about 160 ms of CPU with the cache, 250 ms without (its docstring and benchmarks/README.md say where it
goes). The factors it worked out are kept per user, so a command whose units were all met before does not
build it; a command that reads no Bundle never does (``allpath assess`` imports none of it). A server worker
builds it at start-up (``warm``), so no request pays it.

A value with a comparator (``<``, ``<=``, ``>=``, ``>``, ``ad``) is a bound, never an exact value: ``read``
returns it with its comparator, and the readers leave the field out and list the bound in the import report.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir import unit_library
from allpath.interfaces.fhir.values import JSONObject, number
from allpath.knowledge.loader import load_knowledge
from allpath.knowledge.units_schema import RecordQuantity, UnitsFile, alias_key

_DATA: Final[UnitsFile] = load_knowledge().units
_ALIASES: Final[dict[tuple[str, str | None], str]] = {(alias_key(a.spelling), a.kind): a.ucum for a in _DATA.aliases}


@dataclass(frozen=True)
class Reading:
    """A value in the record quantity's unit; ``comparator`` set when it is a bound, not an exact value."""

    value: float
    comparator: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """Why a Quantity gives no value, in plain words."""

    reason: str


def quantity_of(name: str) -> RecordQuantity:
    """The record quantity ``name`` (a key of ``units.yaml``'s quantities)."""
    return _DATA.quantities[name]


def read(quantity: JSONObject, name: str, what: str) -> Reading | Unreadable:
    """The value of a FHIR Quantity in the unit of the record quantity ``name``; ``what`` names it in reasons
    ("a white count"). The UCUM code is read first (when the system is UCUM), then the unit text."""
    value = number(quantity.get("value"))
    if value is None:
        return Unreadable(f"{what} without a numeric value")
    comparator = quantity.get("comparator")
    if comparator is not None and comparator not in _DATA.comparators:
        return Unreadable(f'{what} with the comparator "{comparator}", which FHIR does not define')
    target = quantity_of(name)
    spellings = _spellings(quantity)
    if not spellings:
        return Unreadable(f"{what} without a unit")
    for spelling in spellings:
        scale = _scale(spelling, name)
        if scale is not None:
            return Reading(
                _converted(value, scale, target.decimals), comparator if isinstance(comparator, str) else None
            )
    return Unreadable(f'{what} in "{spellings[0]}", which allpath cannot convert to {target.unit_words}')


def ucum_factor(code: str, name: str) -> float | None:
    """How many of record quantity ``name``'s unit one of UCUM ``code`` is, by the library alone (no alias);
    None when ``code`` is no UCUM code of that dimension."""
    return _convert(code, quantity_of(name).ucum)


def bound_words(name: str, reading: Reading) -> str:
    """A bound as the import report says it: "white count: more than 500,000 per microliter"."""
    target = quantity_of(name)
    comparator = _DATA.comparators[reading.comparator or ""]
    return f"{target.name}: {comparator} {_shown(reading.value)} {target.unit_words}"


def _shown(value: float) -> str:
    """A number as a person writes it: 500,000 and 0.01, never 5E+5 or 500000.0."""
    return f"{Decimal(repr(value)).normalize():,f}"


def _spellings(quantity: JSONObject) -> list[str]:
    """The unit's spellings to try, best first: the UCUM code when the system says UCUM, then the unit text,
    then any other code."""
    code, text = quantity.get("code"), quantity.get("unit")
    ordered = [code, text] if quantity.get("system") == c.UCUM else [text, code]
    found: list[str] = []
    for spelling in ordered:
        if isinstance(spelling, str) and spelling.strip() and spelling.strip() not in found:
            found.append(spelling.strip())
    return found


@dataclass(frozen=True)
class _Scale:
    """How many of the record's unit one unit of a spelling is; ``power`` when that is a power of ten."""

    factor: float
    power: int | None


@lru_cache(maxsize=1024)
def _scale(spelling: str, name: str) -> _Scale | None:
    """The scale of ``spelling`` to record quantity ``name`` (each pair is worked out once per process)."""
    factor = _factor(spelling, quantity_of(name))
    if factor is None:
        return None
    exact = Decimal(repr(factor)).normalize().as_tuple()
    return _Scale(factor, int(exact.exponent) if exact.digits == (1,) else None)


def _factor(spelling: str, target: RecordQuantity) -> float | None:
    """How many of the record's unit one ``spelling`` is, or None when it names no unit of the target's kind.

    An alias is looked up first (for the target's kind, then for any kind); then the spelling as a UCUM code;
    then, for a spelling all in capitals (systems that upper-case every code), its lower-case form, as UCUM's
    case-insensitive codes of these units are their case-sensitive codes in capitals."""
    if target.exact:
        return 1.0 if spelling == target.ucum else None
    key = alias_key(spelling)
    alias = _ALIASES.get((key, target.kind)) or _ALIASES.get((key, None))
    candidates = [alias] if alias else []
    candidates.append(spelling.replace("\u00b5", "u").replace("\u03bc", "u"))
    if spelling.isupper():
        candidates.append(candidates[-1].lower())
    for ucum in candidates:
        factor = _convert(ucum, target.ucum)
        if factor is not None:
            return factor
    return None


def _converted(value: float, scale: _Scale, decimals: int) -> float:
    """``value`` in the record's unit: as given in that unit, exact for a power of ten (the decimal point
    moves), else rounded to the record quantity's decimals."""
    if scale.power == 0:
        return value
    if scale.power is not None:
        return float(Decimal(repr(value)).scaleb(scale.power))
    return round(value * scale.factor, decimals)


# ---- the library ----------------------------------------------------------------------------------------

_LOCK = threading.Lock()


def _convert(code: str, record_unit: str) -> float | None:
    """The library's factor, one caller at a time (the registry and the parser are built once, on first use)."""
    with _LOCK:
        return _library().factor(code, record_unit)


@lru_cache(maxsize=1)
def _library() -> unit_library.Library:
    """The factors the library worked out before, and the library, built at the first pair not among them
    (``unit_library``)."""
    return unit_library.Library()


def warm() -> None:
    """Build the library now, so that no later conversion in this process pays for it: a server worker calls
    this at start-up (``allpath.interfaces.app``)."""
    with _LOCK:
        _library().load()


def library_built() -> bool:
    """Whether this process has built the library already."""
    return _library.cache_info().currsize == 1 and _library().built
