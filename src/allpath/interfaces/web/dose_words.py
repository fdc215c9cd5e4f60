"""The doses engine's own words on the doses table, in the page's language (issue 14).

The engine writes a dose line's ``per`` ("per day"), its ``basis`` ("1,000 mg/m2 per day", "12 mg for age 3 to
8 years (age on 2026-01-05 from the birth date)") and the phase's ``age_basis`` in English: they are part of
the API's answer and of the CLI's doses, which stay English. These parts are data of a fixed form, so the web
page reads them back and writes them in its own language: the words from the catalog, the numbers in the
locale's way (Spanish "1000 mg/m2 al día"), the dates in words. English pages show the engine's words as they
are; a text of another form (none is known) is shown as the engine wrote it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from babel.numbers import format_decimal

from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, marked, shown_date

# engine/doses.py's PER_WORDS, each said in the page's language.
PER: Final = {"per dose": marked("per dose"), "per day": marked("per day"), "per week": marked("per week")}
# engine/doses.py's AgeSpan bases, with the date of the dose put back in.
_AGE_BASES: Final = {
    "from the birth date": marked("age on %(day)s from the birth date"),
    "from the age at diagnosis and the diagnosis date": marked(
        "age on %(day)s from the age at diagnosis and the diagnosis date"
    ),
}
_AT_DIAGNOSIS: Final = "age at diagnosis (induction starts at diagnosis)"
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_PER_M2 = re.compile(rf"(?P<amount>{_NUMBER}) (?P<unit>\S+)/m2 (?P<per>per dose|per day|per week)")
_BY_AGE = re.compile(rf"(?P<amount>{_NUMBER}) (?P<unit>\S+) for age (?P<band>.+) \((?P<basis>[^()]+)\)")
_DATED = re.compile(r"age on (?P<day>\d{4}-\d{2}-\d{2}) (?P<how>from .+)")


def _english() -> bool:
    return current_locale() == DEFAULT_LOCALE


def _number(typed: str) -> str:
    """A number as the engine writes it ("1,000", "7.5") in the locale's way, every digit kept."""
    try:
        value = Decimal(typed.replace(",", ""))
    except InvalidOperation:
        return typed
    return format_decimal(value, locale=current_locale(), decimal_quantization=False)


def per_words(per: str | None) -> str:
    """How often a dose is counted ("per day"), in the page's language."""
    if not per or _english():
        return per or ""
    return gettext(PER[per]) if per in PER else per


def age_basis_words(basis: str | None) -> str:
    """How the age for an age-based dose was found, in the page's language (the day of the dose in words)."""
    if not basis or _english():
        return basis or ""
    if basis == _AT_DIAGNOSIS:
        return gettext(marked("age at diagnosis (induction starts at diagnosis)"))
    dated = _DATED.fullmatch(basis)
    if dated and dated.group("how") in _AGE_BASES:
        day = shown_date(date.fromisoformat(dated.group("day")))
        return gettext(_AGE_BASES[dated.group("how")]) % {"day": day}
    return basis


def basis_words(basis: str | None) -> str:
    """What a dose line is calculated from, in the page's language: an amount per square metre and how often,
    or the amount of the child's age band in the intrathecal table and how the age was found."""
    if not basis or _english():
        return basis or ""
    per_m2 = _PER_M2.fullmatch(basis)
    if per_m2:
        amount, unit, per = per_m2.group("amount", "unit", "per")
        return gettext(marked("%(amount)s %(unit)s/m2 %(per)s")) % {
            "amount": _number(amount),
            "unit": unit,
            "per": per_words(per),
        }
    by_age = _BY_AGE.fullmatch(basis)
    if by_age:
        amount, unit, band, how = by_age.group("amount", "unit", "band", "basis")
        return gettext(marked("%(amount)s %(unit)s for age %(band)s (%(basis)s)")) % {
            "amount": _number(amount),
            "unit": unit,
            "band": band,
            "basis": age_basis_words(how),
        }
    return basis
