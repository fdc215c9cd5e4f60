"""The trial search result (design.md, "Trial search"): one study's verdict with its criteria, and the answer.

``TrialMatch`` is what the matching engine gives for one study; ``TrialResult`` adds what needs the registry
and a place (the nearest site, whether the entry may be outdated); ``TrialSearch`` is the whole answer.
"""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import with_config
from typing_extensions import TypedDict

from allpath.domain.results.common import CLOSED

Verdict = Literal["eligible", "possibly", "not_eligible"]
"""``possibly``: no criterion excludes the child, but at least one cannot be decided from the data."""
Outcome = Literal["met", "not_met", "unknown"]
CriterionName = Literal["disease", "lineage", "disease_state", "risk_group", "subgroup", "age", "sex", "status"]
StatusFilter = Literal["recruiting", "open", "any"]


@with_config(CLOSED)
class TrialCriterion(TypedDict):
    """One criterion: what the child's data says, what the study says, and why the outcome follows."""

    criterion: CriterionName
    patient_value: str | None  # in words; None when the record does not say
    study_value: str | None  # in the registry's words; None when the study does not say
    outcome: Outcome
    explanation: str


@with_config(CLOSED)
class TrialMatch(TypedDict):
    """The verdict of one study for one child on one date."""

    nct_id: str | None
    org_study_id: str | None
    title: str | None
    overall_status: str | None
    verdict: Verdict
    criteria: list[TrialCriterion]
    eligibility_text: str | None  # the study's own eligibility criteria, shown as written, never parsed


@with_config(CLOSED)
class NearestSite(TypedDict):
    facility: str | None
    city: str | None
    state: str | None
    country: str | None
    distance_km: float | None


RadiusOutcome = Literal["within", "beyond", "distance unknown"]


@with_config(CLOSED)
class TrialResult(TrialMatch):
    """A study of the answer: the verdict plus the nearest site and whether the entry may be outdated."""

    nearest_site: NearestSite | None
    possibly_outdated: bool
    last_update: str | None  # the registry's last-update date of the entry (YYYY-MM-DD), None when not given
    brief_summary: str | None  # the registry's own short description of what the study tests, as written
    interventions: list[str]  # the registry's names of what the study gives, as written
    phases: list[str]
    sites: int  # how many sites the registry lists
    sites_without_coordinates: int  # of them, how many have no coordinates (their distance is unknown)
    within_radius: RadiusOutcome | None  # None when no radius was asked for
    registry_url: str | None  # the study's page on ClinicalTrials.gov
    conditions: NotRequired[list[str]]  # the registry's conditions of the study, as written


@with_config(CLOSED)
class RegistryInfo(TypedDict):
    snapshot_date: str | None  # the day of the registry's last refresh (YYYY-MM-DD), None when never filled
    source: str | None  # where the last refresh came from, in words
    studies: int
    outdated_after_days: int  # an entry not updated for longer is marked possibly outdated


@with_config(CLOSED)
class Place(TypedDict):
    query: str
    name: str
    lat: float
    lon: float
    note: str | None  # said when the name fits several places and the most populous was taken


@with_config(CLOSED)
class TrialSearch(TypedDict):
    """The answer of ``allpath trials search``, results best first."""

    registry: RegistryInfo
    place: Place | None
    searched_on: str  # the date the child's age and the entries' freshness are taken on (YYYY-MM-DD)
    status: StatusFilter
    radius_km: float | None
    results: list[TrialResult]
    disclaimer: str
