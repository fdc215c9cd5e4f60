"""Great-circle distance from a place to the sites of a study, the nearest site and the radius filter (issue 13).

Pure: no gazetteer, no registry, no input or output. The place's coordinates come from
``allpath.service.places``; the sites are a study's locations as ``allpath.domain.trials`` reads them from the
ClinicalTrials.gov API v2 (``contactsLocationsModule.locations[].geoPoint``). A site without coordinates is kept
and said to be of unknown distance, never dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from allpath.domain.trials import GeoPoint, StudySite

EARTH_MEAN_RADIUS_KM = 6371.0088
"""The IUGG mean radius of the Earth (R1 = (2a + b) / 3 of WGS 84), the usual radius of the haversine formula.
Treating the Earth as a sphere errs by up to about 0.5 % against the ellipsoid: metres over a city,
a few kilometres across a continent, which is well inside what "how far is the trial site" needs."""

Key = TypeVar("Key")
"""Whatever names a study for the caller (an NCT number, a typed study)."""

HALF_CIRCUMFERENCE_KM = math.pi * EARTH_MEAN_RADIUS_KM
"""The farthest two points on the sphere can be apart (antipodes)."""


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points in kilometres (the haversine formula on the mean sphere).

    The haversine form stays accurate for points close together, where the spherical law of cosines loses
    digits; the argument of ``asin`` is clamped to 1 so that rounding near the antipodes cannot leave its domain.
    """
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    half_dlat = (lat_b - lat_a) / 2
    half_dlon = math.radians(b.lon - a.lon) / 2
    h = math.sin(half_dlat) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(half_dlon) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def site_label(site: StudySite) -> str:
    """Facility, city, state and country as far as the registry gives them, for a person to read."""
    parts = [part for part in (site.facility, site.city, site.state, site.country) if part]
    return ", ".join(parts) if parts else "a site the registry does not name"


@dataclass(frozen=True)
class SiteDistance:
    """A site with its great-circle distance from the place searched from."""

    site: StudySite
    km: float


class RadiusVerdict(Enum):
    """Whether a study has a site within the radius: ``UNKNOWN`` when that cannot be decided from coordinates."""

    WITHIN = "within"
    BEYOND = "beyond"
    UNKNOWN = "distance unknown"


@dataclass(frozen=True)
class StudyDistance:
    """How far a study's sites are from the place: the measured ones nearest first, and those without coordinates.

    ``nearest`` is None when no site has coordinates ("distance unknown"); the sites without coordinates are
    always listed in ``unlocated`` so that a reader can judge them (a country-only entry may still be near).
    """

    located: tuple[SiteDistance, ...]
    unlocated: tuple[StudySite, ...]

    @property
    def nearest(self) -> SiteDistance | None:
        return self.located[0] if self.located else None

    def within(self, radius_km: float) -> RadiusVerdict:
        """``WITHIN`` when a site is at most ``radius_km`` away (the boundary itself is within).

        ``BEYOND`` only when the study lists sites, every one with coordinates, and all are farther. A study with
        a site of unknown place is ``UNKNOWN`` rather than excluded, because that site may be the near one; so is
        a study that lists no site at all (the registry does not say where it runs).
        """
        if radius_km < 0 or math.isnan(radius_km):
            raise ValueError("the radius is a distance of 0 km or more")
        nearest = self.nearest
        if nearest is not None and nearest.km <= radius_km:
            return RadiusVerdict.WITHIN
        return RadiusVerdict.BEYOND if self.located and not self.unlocated else RadiusVerdict.UNKNOWN


def study_distance(place: GeoPoint, sites: Iterable[StudySite]) -> StudyDistance:
    """The distance from ``place`` to each site, nearest first (ties keep the registry's order)."""
    located: list[SiteDistance] = []
    unlocated: list[StudySite] = []
    for site in sites:
        if site.geo_point is None:
            unlocated.append(site)
        else:
            located.append(SiteDistance(site, distance_km(place, site.geo_point)))
    located.sort(key=lambda measured: measured.km)
    return StudyDistance(tuple(located), tuple(unlocated))


def keep_within_radius(
    distances: Sequence[tuple[Key, StudyDistance]], radius_km: float
) -> list[tuple[Key, StudyDistance]]:
    """The studies a ``--radius-km`` search keeps: a site within the radius, or distance unknown (never dropped)."""
    return [(key, measured) for key, measured in distances if measured.within(radius_km) is not RadiusVerdict.BEYOND]
