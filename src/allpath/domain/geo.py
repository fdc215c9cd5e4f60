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
from operator import itemgetter
from typing import NamedTuple, TypeVar

from allpath.domain.trials import GeoPoint, StudySite

EARTH_MEAN_RADIUS_KM = 6371.0088
"""The IUGG mean radius of the Earth (R1 = (2a + b) / 3 of WGS 84), the usual radius of the haversine formula.
Treating the Earth as a sphere errs by up to about 0.5 % against the ellipsoid: metres over a city,
a few kilometres across a continent, which is well inside what "how far is the trial site" needs."""

Key = TypeVar("Key")
"""Whatever names a study for the caller (an NCT number, a typed study)."""

HALF_CIRCUMFERENCE_KM = math.pi * EARTH_MEAN_RADIUS_KM
"""The farthest two points on the sphere can be apart (antipodes)."""


class DistancesFrom:
    """Distances from one place, for one search: the place's latitude in radians and its cosine are worked out
    once, and each distance once per coordinate pair. The registry's coordinates are city level, so the sites
    of thousands of studies share a few thousand points (a large study lists hundreds of sites)."""

    __slots__ = ("_known", "cos_lat", "lat", "lon")

    def __init__(self, point: GeoPoint) -> None:
        self.lat = math.radians(point.lat)
        self.lon = point.lon
        self.cos_lat = math.cos(self.lat)
        self._known: dict[tuple[float, float], float] = {}

    def km_to(self, point: GeoPoint) -> float:
        """The great-circle distance to ``point`` in kilometres."""
        key = (point.lat, point.lon)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = self._haversine_km(point)
        return known

    def study(self, sites: Iterable[StudySite]) -> StudyDistance:
        """The distance to each site of one study."""
        measured: list[tuple[float, StudySite]] = []
        unlocated: list[StudySite] = []
        for site in sites:
            point = site.geo_point
            if point is None:
                unlocated.append(site)
            else:
                measured.append((self.km_to(point), site))
        return StudyDistance(tuple(measured), tuple(unlocated))

    def _haversine_km(self, point: GeoPoint) -> float:
        # The haversine form stays accurate for points close together, where the spherical law of cosines loses
        # digits; the argument of asin is clamped to 1 so that rounding near the antipodes cannot leave its domain.
        lat = math.radians(point.lat)
        half_dlat = math.sin((lat - self.lat) / 2)
        half_dlon = math.sin(math.radians(point.lon - self.lon) / 2)
        h = half_dlat * half_dlat + self.cos_lat * math.cos(lat) * half_dlon * half_dlon
        return _DIAMETER_KM * math.asin(min(1.0, math.sqrt(h)))


_DIAMETER_KM = 2 * EARTH_MEAN_RADIUS_KM


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points in kilometres (the haversine formula on the mean sphere)."""
    return DistancesFrom(a).km_to(b)


def site_label(site: StudySite) -> str:
    """Facility, city, state and country as far as the registry gives them, for a person to read."""
    parts = [part for part in (site.facility, site.city, site.state, site.country) if part]
    return ", ".join(parts) if parts else "a site the registry does not name"


class SiteDistance(NamedTuple):
    """A site with its great-circle distance from the place searched from (a tuple: the search makes one for
    every site of every study, and a named tuple is the cheapest immutable record to make)."""

    site: StudySite
    km: float


class RadiusVerdict(Enum):
    """Whether a study has a site within the radius: ``UNKNOWN`` when that cannot be decided from coordinates."""

    WITHIN = "within"
    BEYOND = "beyond"
    UNKNOWN = "distance unknown"


@dataclass(frozen=True)
class StudyDistance:
    """How far a study's sites are from the place: those measured, and those without coordinates.

    ``measured`` holds (km, site) in the registry's order; ``located`` is the same nearest first (ties keep the
    registry's order), sorted only when asked for: a search measures every site of every study, but shows the
    full list for a few. ``nearest`` is None when no site has coordinates ("distance unknown"); the sites without
    coordinates are always listed in ``unlocated`` so that a reader can judge them (a country-only entry may
    still be near).
    """

    measured: tuple[tuple[float, StudySite], ...]
    unlocated: tuple[StudySite, ...]

    @property
    def located(self) -> tuple[SiteDistance, ...]:
        return tuple(SiteDistance(site, km) for km, site in sorted(self.measured, key=itemgetter(0)))

    @property
    def nearest(self) -> SiteDistance | None:
        if not self.measured:
            return None
        km, site = min(self.measured, key=itemgetter(0))  # the first of equals, as in ``located``
        return SiteDistance(site, km)

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
        return RadiusVerdict.BEYOND if self.measured and not self.unlocated else RadiusVerdict.UNKNOWN


def study_distance(place: GeoPoint, sites: Iterable[StudySite]) -> StudyDistance:
    """The distance from ``place`` to each site of one study (a search over many studies uses one
    ``DistancesFrom`` for all of them)."""
    return DistancesFrom(place).study(sites)


def keep_within_radius(
    distances: Sequence[tuple[Key, StudyDistance]], radius_km: float
) -> list[tuple[Key, StudyDistance]]:
    """The studies a ``--radius-km`` search keeps: a site within the radius, or distance unknown (never dropped)."""
    return [(key, measured) for key, measured in distances if measured.within(radius_km) is not RadiusVerdict.BEYOND]
