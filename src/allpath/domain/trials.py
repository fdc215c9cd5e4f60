"""A clinical study as the ClinicalTrials.gov API v2 describes it, read defensively.

The registry's JSON is outside data: any module or field may be missing, empty or of an unexpected type, so
every field here is optional and the parser never raises on a study it can read at all (a study that is not a
JSON object at all yields a study with every field empty). Values are kept as the registry wrote them (upper-case
statuses and phases, the age strings) next to their parsed form, so that what a reader is shown is the
registry's own wording.

Frozen dataclasses rather than pydantic models: a registry holds thousands of studies and the matching runs over
all of them, so reading and holding a study has to be cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

AgeUnit = Literal["years", "months", "weeks", "days", "hours", "minutes"]
StudySex = Literal["ALL", "FEMALE", "MALE"]

_AGE_TEXT = re.compile(r"^\s*(\d+)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)
_DATE_TEXT = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True, slots=True)
class AgeLimit:
    """An age limit of a study: "1 Year" is ``AgeLimit(1, "years", "1 Year")``."""

    amount: int
    unit: AgeUnit
    text: str


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class StudySite:
    """One location of a study; the coordinates are the registry's (city level), when it gives them."""

    facility: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    zip_code: str | None = None
    status: str | None = None
    geo_point: GeoPoint | None = None


@dataclass(frozen=True, slots=True)
class Intervention:
    type: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The eligibility module. ``minimum_age_text``/``maximum_age_text`` are the registry's strings ("N/A" kept);
    ``minimum_age``/``maximum_age`` are set only when the string reads as "N unit"."""

    minimum_age: AgeLimit | None = None
    maximum_age: AgeLimit | None = None
    minimum_age_text: str | None = None
    maximum_age_text: str | None = None
    sex: StudySex | None = None
    healthy_volunteers: bool | None = None
    criteria_text: str | None = None
    std_ages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Study:
    """One study of the registry (API v2 ``protocolSection``)."""

    nct_id: str | None = None
    org_study_id: str | None = None
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    brief_summary: str | None = None
    overall_status: str | None = None
    last_update_post_date: date | None = None
    lead_sponsor: str | None = None
    study_type: str | None = None
    primary_purpose: str | None = None
    phases: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    eligibility: Eligibility = Eligibility()
    locations: tuple[StudySite, ...] = ()

    @property
    def title(self) -> str | None:
        """The title a reader sees: the brief title, else the official one."""
        return self.brief_title or self.official_title


# ---- Reading ------------------------------------------------------------------------------------------------


def _module(parent: object, key: str) -> Mapping[str, object]:
    # A plain dict first: the registry's JSON is dicts, and the check against the Mapping ABC costs several times
    # more (a search reads every site of a large registry, 200,000 for 10,000 studies).
    if type(parent) is dict or isinstance(parent, Mapping):
        value = parent.get(key)
        if type(value) is dict or isinstance(value, Mapping):
            return value
    return {}


def _text(parent: Mapping[str, object], key: str) -> str | None:
    value = parent.get(key)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _texts(parent: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = parent.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())


def _number(value: object) -> float | None:
    # bool is an int in Python; a true/false latitude is no latitude.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_age_limit(text: str | None) -> AgeLimit | None:
    """Read "N Years/Months/Weeks/Days/Hours/Minutes"; "N/A", an empty or an unreadable string give ``None``."""
    if text is None:
        return None
    match = _AGE_TEXT.match(text)
    if match is None:
        return None
    unit: AgeUnit
    word = match.group(2).lower()
    if word == "year":
        unit = "years"
    elif word == "month":
        unit = "months"
    elif word == "week":
        unit = "weeks"
    elif word == "day":
        unit = "days"
    elif word == "hour":
        unit = "hours"
    else:
        unit = "minutes"
    return AgeLimit(int(match.group(1)), unit, text.strip())


def parse_registry_date(text: str | None) -> date | None:
    """Read a registry date: "2025-11-17", or "2025-11" (month precision, read as the first of the month)."""
    if text is None:
        return None
    match = _DATE_TEXT.match(text.strip())
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        return None


def _sex(text: str | None) -> StudySex | None:
    upper = text.upper() if text else None
    if upper == "ALL":
        return "ALL"
    if upper == "FEMALE":
        return "FEMALE"
    if upper == "MALE":
        return "MALE"
    return None


def _eligibility(module: Mapping[str, object]) -> Eligibility:
    minimum = _text(module, "minimumAge")
    maximum = _text(module, "maximumAge")
    volunteers = module.get("healthyVolunteers")
    return Eligibility(
        minimum_age=parse_age_limit(minimum),
        maximum_age=parse_age_limit(maximum),
        minimum_age_text=minimum,
        maximum_age_text=maximum,
        sex=_sex(_text(module, "sex")),
        healthy_volunteers=volunteers if isinstance(volunteers, bool) else None,
        criteria_text=_text(module, "eligibilityCriteria"),
        std_ages=_texts(module, "stdAges"),
    )


def _site(raw: object) -> StudySite | None:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return None
    point = _module(raw, "geoPoint")
    lat, lon = _number(point.get("lat")), _number(point.get("lon"))
    on_earth = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
    geo = GeoPoint(lat, lon) if on_earth and lat is not None and lon is not None else None
    return StudySite(
        facility=_text(raw, "facility"),
        city=_text(raw, "city"),
        state=_text(raw, "state"),
        country=_text(raw, "country"),
        zip_code=_text(raw, "zip"),
        status=_text(raw, "status"),
        geo_point=geo,
    )


def _interventions(module: Mapping[str, object]) -> tuple[Intervention, ...]:
    raw = module.get("interventions")
    if not isinstance(raw, list):
        return ()
    return tuple(
        Intervention(type=_text(item, "type"), name=_text(item, "name")) for item in raw if isinstance(item, Mapping)
    )


def _locations(module: Mapping[str, object]) -> tuple[StudySite, ...]:
    raw = module.get("locations")
    if not isinstance(raw, list):
        return ()
    return tuple(site for site in (_site(item) for item in raw) if site is not None)


def parse_study(raw: object) -> Study:
    """One study object of the API v2 (``{"protocolSection": {...}}``) as a :class:`Study`. Never raises."""
    protocol = _module(raw, "protocolSection")
    identification = _module(protocol, "identificationModule")
    status = _module(protocol, "statusModule")
    design = _module(protocol, "designModule")
    conditions = _module(protocol, "conditionsModule")
    return Study(
        nct_id=_text(identification, "nctId"),
        org_study_id=_text(_module(identification, "orgStudyIdInfo"), "id"),
        brief_title=_text(identification, "briefTitle"),
        official_title=_text(identification, "officialTitle"),
        acronym=_text(identification, "acronym"),
        brief_summary=_text(_module(protocol, "descriptionModule"), "briefSummary"),
        overall_status=(_text(status, "overallStatus") or "").upper() or None,
        last_update_post_date=parse_registry_date(_text(_module(status, "lastUpdatePostDateStruct"), "date")),
        lead_sponsor=_text(_module(_module(protocol, "sponsorCollaboratorsModule"), "leadSponsor"), "name"),
        study_type=_text(design, "studyType"),
        primary_purpose=_text(_module(design, "designInfo"), "primaryPurpose"),
        phases=_texts(design, "phases"),
        conditions=_texts(conditions, "conditions"),
        keywords=_texts(conditions, "keywords"),
        interventions=_interventions(_module(protocol, "armsInterventionsModule")),
        eligibility=_eligibility(_module(protocol, "eligibilityModule")),
        locations=_locations(_module(protocol, "contactsLocationsModule")),
    )


def parse_studies(raw: object) -> list[Study]:
    """The studies of one API v2 page (``{"studies": [...]}``), a bare list of study objects, or one study."""
    items: Iterable[object]
    if isinstance(raw, Mapping) and isinstance(raw.get("studies"), list):
        studies = raw.get("studies")
        items = studies if isinstance(studies, list) else []
    elif isinstance(raw, list):
        items = raw
    elif isinstance(raw, Mapping) and "protocolSection" in raw:
        items = [raw]
    else:
        items = []
    return [parse_study(item) for item in items if isinstance(item, Mapping)]
