"""Decimal age from a birth date and a diagnosis date."""

from __future__ import annotations

from datetime import date


def _birthday_in(year: int, birth: date) -> date:
    # A child born on 29 February has the birthday on 28 February in other years, so that the
    # birthday never falls after the day the child has lived the whole year.
    if birth.month == 2 and birth.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, birth.month, birth.day)


def decimal_age_years(birth: date, on: date) -> float:
    """Age on ``on`` in decimal years, counted by calendar birthdays.

    The whole part is the number of completed years; the fraction is the share of the current year of
    life that has passed. On a birthday the age is exactly a whole number, so a child diagnosed on
    their tenth birthday is 10.0 years old, which is what the risk-group boundaries mean.

    Raises
    ------
    ValueError
        If ``on`` is before ``birth``.
    """
    if on < birth:
        raise ValueError("date is before the birth date")
    years = on.year - birth.year
    if _birthday_in(on.year, birth) > on:
        years -= 1
    last = _birthday_in(birth.year + years, birth)
    following = _birthday_in(birth.year + years + 1, birth)
    return years + (on - last).days / (following - last).days
