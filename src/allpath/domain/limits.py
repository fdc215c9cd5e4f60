"""Plausibility limits of the patient record (input contract v1).

These are limits of the *input contract*, not clinical decision thresholds: they separate values that
can belong to a child with ALL from typing and unit mistakes. Decision thresholds (age 1 and 10 years,
50,000 white cells per microliter, MRD 0.01 %) live in the knowledge base, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Limit:
    """A closed-open or closed numeric range with the text shown when a value falls outside it."""

    low: float
    high: float
    high_inclusive: bool
    unit: str

    def contains(self, value: float) -> bool:
        if value < self.low:
            return False
        return value <= self.high if self.high_inclusive else value < self.high

    def describe(self) -> str:
        upper = "at most" if self.high_inclusive else "below"
        return f"a number of {self.unit}, at least {number(self.low)} and {upper} {number(self.high)}"


def number(value: float) -> str:
    """A number as a person writes it: 2,000,000 rather than 2e+06, 0.5 rather than 0.50000."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


# design.md: "age_years: number, 0 <= x < 40".
AGE_YEARS = Limit(0, 40, high_inclusive=False, unit="years (age at diagnosis)")
# A white count under 200 cells/uL at diagnosis is not a plausible count in cells per microliter; it is
# almost always a count in 10^9/L (thousands per microliter) typed into the per-microliter field.
WBC_PER_UL = Limit(200, 2_000_000, high_inclusive=True, unit="cells per microliter")
WBC_UNIT_MISTAKE_BELOW = 200.0
WEIGHT_KG = Limit(0.5, 250, high_inclusive=True, unit="kilograms")
HEIGHT_CM = Limit(25, 250, high_inclusive=True, unit="centimeters")
MRD_PCT = Limit(0, 100, high_inclusive=True, unit="percent (share of cells that are leukemia cells)")
# A relapse is dated from diagnosis; the contract covers patients diagnosed before age 40.
RELAPSE_MONTHS = Limit(0, 480, high_inclusive=True, unit="months from diagnosis")
# Age from dates agrees with age_years when they differ by less than this (about 18 days), which
# tolerates an age_years rounded to one decimal place.
AGE_AGREEMENT_YEARS = 0.05
# Calendar dates outside this window are typing mistakes (a year 9999, a year 20), not patients.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
# Recorded exposures. The per-m2 limit sits above every dose in the knowledge base (high-dose
# methotrexate, 5,000 mg/m2); the per-mg limit above any single dose a child receives; radiation in gray.
COURSE_DOSE_MG_PER_M2 = Limit(0, 10_000, high_inclusive=True, unit="milligrams per square meter")
COURSE_DOSE_MG = Limit(0, 20_000, high_inclusive=True, unit="milligrams")
RADIATION_GY = Limit(0, 80, high_inclusive=True, unit="gray (total dose of the course)")
# Weight and height together: a body mass index outside this range is a typing or unit mistake (for
# example a weight in pounds or a height in meters), not a child to calculate doses for.
BODY_MASS_INDEX = Limit(7, 80, high_inclusive=True, unit="kg/m2 (body mass index)")

# ---- sizes: input limits against oversized input (not clinical values) ---------------------------------
# Each is far above any real record and far below what would cost the service time or memory: a record that
# passes them is at most about 0.6 MB of JSON (settings.BodyLimits explains the body limits built on that).
# The caller's identifier: a hospital number, a FHIR id (at most 64 characters) or a URN with a UUID.
ID_MAX_CHARS = 128
# Relapses of one child: the relapse risk groups concern the first and second relapse; ten is far beyond.
RELAPSES_MAX_ITEMS = 10
# Administered doses: about 1,500 if every daily dose of a three-year treatment is recorded one by one.
COURSES_MAX_ITEMS = 5_000
# Radiation courses of one child (a few at most in practice).
RADIATION_MAX_ITEMS = 20
# The lists of tokens (genetics, predisposition syndromes, relapse sites) hold each token at most once, so
# they are never longer than their list of allowed tokens (record.py); nothing to choose here.
# At most this many problems are reported for one record (each names its field); a record with more is
# refused all the same, and its first problems are the ones to fix first.
PROBLEMS_MAX_REPORTED = 50
