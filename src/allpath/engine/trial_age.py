"""A child's age on the search date, compared with a study's age limits.

The age is known as a range of possible birth dates: one date when the record has the birth date; about the
age at diagnosis before the diagnosis date otherwise (a range, because an age at diagnosis may have been
rounded); only a latest birth date when the record has the age at diagnosis without its date (the child is at
least that old now). A limit is met or not met only when every birth date of the range agrees; otherwise the
age is unknown for that limit.

The registry's limits ("21 Years", "365 Days") are read in completed units, as the registry's own wording "1 to
under 31" next to a maximum of "30 Years" shows: a child is within "21 Years" until the 22nd birthday, and
within "365 Days" up to the 365th day of life. Hours and minutes are counted from the day of birth (dates carry
no time of day).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from allpath.domain.age import decimal_age_years
from allpath.domain.trials import AgeLimit, AgeUnit

# How far a birth date worked out from a decimal age at diagnosis may be off: an age written with one decimal
# (5.3 years) is off by up to about 18 days; a month covers that and calendar rounding.
_DERIVED_AGE_MARGIN = timedelta(days=31)
_DAYS_PER_YEAR = 365.2425

Basis = Literal["birth_date", "age_at_diagnosis", "age_at_diagnosis_only"]
LimitOutcome = Literal["met", "not_met", "unknown"]


@dataclass(frozen=True, slots=True)
class AgeOnSearch:
    """The possible birth dates (``earliest_birth`` None: no lower bound) and how they are known."""

    on: date
    earliest_birth: date | None
    latest_birth: date
    basis: Basis

    def in_words(self) -> str:
        return _in_words(self)


@lru_cache(maxsize=64)
def _in_words(age: AgeOnSearch) -> str:
    """The age in words (kept: one child is matched against thousands of studies)."""
    day = age.on.isoformat()
    if age.basis == "birth_date":
        return f"{_years(age.latest_birth, age.on):.1f} years on {day} (from the birth date)"
    # Without the birth date the middle of the range is the best estimate, and it is said to be one.
    middle = _years(age.latest_birth - _DERIVED_AGE_MARGIN, age.on)
    if age.basis == "age_at_diagnosis":
        return f"about {middle:.1f} years on {day} (from the age at diagnosis and the time since)"
    return f"at least {middle:.1f} years on {day} (the age at diagnosis; the diagnosis date is not recorded)"


def _years(birth: date, on: date) -> float:
    return decimal_age_years(birth, on) if birth <= on else 0.0


def age_on(
    on: date, *, birth_date: date | None, age_at_diagnosis: float | None, diagnosis_date: date | None
) -> AgeOnSearch | None:
    """The child's age on ``on``; ``None`` when the record has neither the birth date nor the age."""
    if birth_date is not None:
        return AgeOnSearch(on, birth_date, birth_date, "birth_date")
    if age_at_diagnosis is None:
        return None
    lived = timedelta(days=round(age_at_diagnosis * _DAYS_PER_YEAR))
    if diagnosis_date is not None:
        birth = diagnosis_date - lived
        return AgeOnSearch(on, birth - _DERIVED_AGE_MARGIN, birth + _DERIVED_AGE_MARGIN, "age_at_diagnosis")
    return AgeOnSearch(on, None, on - lived + _DERIVED_AGE_MARGIN, "age_at_diagnosis_only")


@lru_cache(maxsize=256)
def completed(unit: AgeUnit, birth: date, on: date) -> int:
    """Whole units lived from ``birth`` to ``on`` (0 when ``on`` is before ``birth``)."""
    if on <= birth:
        return 0
    days = (on - birth).days
    if unit == "years":
        return int(decimal_age_years(birth, on))
    if unit == "months":
        months = (on.year - birth.year) * 12 + on.month - birth.month
        last_day = calendar.monthrange(on.year, on.month)[1]
        # A month is complete on the same day number, or on the last day of a shorter month (31 Jan -> 28 Feb).
        if on.day < birth.day and on.day != last_day:
            months -= 1
        return months
    if unit == "weeks":
        return days // 7
    if unit == "days":
        return days
    if unit == "hours":
        return days * 24
    return days * 24 * 60


def compare_minimum(age: AgeOnSearch, limit: AgeLimit) -> LimitOutcome:
    youngest = completed(limit.unit, age.latest_birth, age.on)
    if youngest >= limit.amount:
        return "met"
    if age.earliest_birth is not None and completed(limit.unit, age.earliest_birth, age.on) < limit.amount:
        return "not_met"
    return "unknown"


def compare_maximum(age: AgeOnSearch, limit: AgeLimit) -> LimitOutcome:
    if completed(limit.unit, age.latest_birth, age.on) > limit.amount:
        return "not_met"
    if age.earliest_birth is not None and completed(limit.unit, age.earliest_birth, age.on) <= limit.amount:
        return "met"
    return "unknown"
