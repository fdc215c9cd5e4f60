"""The rest of the patient page in Spanish (issue 14): the care team's page of the family's child — its assessment,
roadmap, doses, survivorship plan, therapies, history and invitation — and the family's own view of their child
say no English sentence of the catalog; numbers are written the Spanish way (0,703 m², 9,5 km); the trial search's
own problems (an unknown place, a radius out of range) are Spanish; the source pages too. English is unchanged
(the rest of tests/web)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM
from allpath.interfaces import i18n
from allpath.interfaces.i18n import catalog_path
from tests.web.conftest import User, WebApp, sign_in
from tests.web.test_pseudo_locale import PATIENT_TEMPLATES, RECORD_VALUES, template_pieces
from tests.web.test_treatment import STARTED, _create, _section

SPANISH = {"Accept-Language": "es"}


@pytest.fixture
def clinician(web: WebApp) -> User:
    """A session of its own: no language cookie left by another test's ``?lang=``."""
    return sign_in(web.app, "dr.rivera")


class Runs(HTMLParser):
    """The runs of text a reader sees, between markup (no script, style or head)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: set[str] = set()
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style", "head")

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in ("script", "style", "head")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.runs.add(" ".join(data.split()).strip(" ·›()|:.,;—"))


def runs_of(html: str) -> set[str]:
    """The runs of a page, the record's own values left out (codes such as a route: data, not words)."""
    reader = Runs()
    reader.feed(RECORD_VALUES.sub("", html))
    return reader.runs - {""}


def spanish_differs() -> set[str]:
    """The English pieces of the catalog whose Spanish is other words (not "COG" or "Factor", the same in both)."""
    with catalog_path("es").open("rb") as po:
        spanish = " ".join(str(m.string) for m in read_po(po) if m.id and isinstance(m.string, str))
    return {piece for piece in template_pieces(*PATIENT_TEMPLATES) if piece not in spanish}


def english_left(html: str, pieces: set[str]) -> set[str]:
    return runs_of(html) & pieces


def test_the_care_teams_page_of_the_familys_child_says_no_english_of_the_catalog(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    page = clinician.get(f"/patients/{child}", headers=SPANISH)
    assert page.status_code == 200 and '<html lang="es">' in page.text
    pieces = spanish_differs()
    assert len(pieces) > 100
    assert english_left(page.text, pieces) == set()
    for spanish in (
        "<strong>Solo para el equipo médico.</strong>",
        "Antraciclina acumulada (equivalente de doxorrubicina)",
        "Crear un código de invitación",
        '<th scope="col">Medicamento</th>',
        "Versión del expediente",
    ):
        assert spanish in page.text, spanish
    # The same page in English has these words (the check would see them).
    english = clinician.get(f"/patients/{child}?lang=en").text
    assert len(english_left(english, pieces)) > 40


def test_every_patient_page_of_the_team_says_no_english_of_the_catalog(web: WebApp, clinician: User) -> None:
    """Every demo child (relapse, no roadmap, missing results, doses refused ...), read in Spanish."""
    listing = clinician.get("/patients", headers=SPANISH).text
    children = sorted(set(re.findall(r'href="/patients/([0-9a-f-]{36})"', listing)))
    assert len(children) >= 20
    pieces = spanish_differs()
    for child in children:
        page = clinician.get(f"/patients/{child}", headers=SPANISH)
        assert page.status_code == 200
        assert english_left(page.text, pieces) == set(), child


def test_the_familys_view_of_their_child_says_no_english_of_the_catalog(web: WebApp) -> None:
    family = sign_in(web.app, "family.demo")
    child = web.ids["family_child"]
    page = family.get(f"/patients/{child}", headers=SPANISH)
    assert page.status_code == 200 and '<html lang="es">' in page.text
    with catalog_path("es").open("rb") as po:
        translated = {str(m.id): str(m.string) for m in read_po(po) if isinstance(m.id, str) and m.id and m.string}
    english = {words for words, spanish in translated.items() if words != spanish and re.search(r"[a-z]{3}", words)}
    assert runs_of(page.text) & english == set()
    assert "Doses" not in page.text and "Dosis" not in page.text  # a family never sees doses


def _number(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    assert found, pattern
    return found.group(1)


def test_numbers_on_the_patient_page_are_written_the_spanish_way(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    english = clinician.get(f"/patients/{child}?lang=en").text
    spanish = clinician.get(f"/patients/{child}?lang=es").text
    area = _number(english, r"Body surface area: <strong>([0-9.]+) m²</strong>")
    assert "." in area  # a decimal number, so the Spanish one has a comma
    assert f"Superficie corporal: <strong>{area.replace('.', ',')} m²</strong>" in spanish
    weight = _number(english, r"from a weight of\s+([0-9.]+) kg")
    assert f"con un peso de\n    {weight.replace('.', ',')} kg" in spanish
    english_doses = re.findall(r'<strong class="dose">([0-9.]+) ', english)
    spanish_doses = re.findall(r'<strong class="dose">([0-9.,]+) ', spanish)
    assert any("." in dose for dose in english_doses)
    assert spanish_doses == [
        format_decimal(Decimal(dose), locale="es", decimal_quantization=False) for dose in english_doses
    ]


def _problem(page: str) -> str:
    found = re.search(r'<div class="notice notice--warning" role="alert"><p>(.*?)</p></div>', page, re.S)
    assert found, "the trial section names the problem"
    return found.group(1).replace("&#34;", '"').replace("&#39;", "'")


@pytest.mark.parametrize(
    ("query", "spanish", "english"),
    [
        (
            "near=Nowhereville+Xq",
            "<strong>Lugar:</strong> No se encontró ninguna ciudad llamada «Nowhereville Xq» entre las ciudades de "
            "15.000 habitantes o más. Escriba un código postal de EE. UU. («68102» o «68102-1234») o una ciudad",
            'No city called "Nowhereville Xq" was found',
        ),
        (
            "near=Madrid%2C+Nebraska",
            "No se encontró ninguna ciudad llamada «Madrid» en Nebraska",
            'No city called "Madrid" in Nebraska was found',
        ),
        ("near=Omaha%2C+Atlantis", "«Atlantis» no es un país ni un estado de EE. UU.", '"Atlantis" is neither'),
        ("near=00000", "El código postal 00000 no es un código postal de EE. UU.", "The ZIP code 00000 is not"),
        (
            f"near=68102&radius_km={HALF_CIRCUMFERENCE_KM + 0.01}",
            "<strong>Distancia:</strong> El radio es una distancia de 0 a 20.015 km "
            "(la mitad de la vuelta a la Tierra).",
            "The radius is a distance from 0 to 20015 km (half the Earth's girth).",
        ),
        ("radius_km=50", "Una distancia necesita un lugar desde donde medir", "A distance needs a place"),
    ],
)
def test_the_trial_searchs_own_problems_are_spanish(
    web: WebApp, clinician: User, query: str, spanish: str, english: str
) -> None:
    child = web.ids["family_child"]
    assert spanish in _problem(clinician.get(f"/patients/{child}?{query}", headers=SPANISH).text)
    assert english in _problem(clinician.get(f"/patients/{child}?{query}&lang=en").text)


def test_trial_distances_are_spanish(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    english = clinician.get(f"/patients/{child}?near=68102&status=any&lang=en").text
    spanish = clinician.get(f"/patients/{child}?near=68102&status=any&lang=es").text
    distances = re.findall(r"([0-9.,]+) km \(([0-9.,]+) miles\)", english)
    assert distances
    for km, miles in distances:

        def spanish_way(number: str) -> str:
            return number.replace(",", "\0").replace(".", ",").replace("\0", ".")

        assert f"{spanish_way(km)} km ({spanish_way(miles)} millas)" in spanish
    assert " miles)" not in spanish


def test_the_source_pages_in_spanish(web: WebApp, clinician: User) -> None:
    listing = clinician.get("/sources", headers=SPANISH).text
    assert "<h1>Fuentes</h1>" in listing and "Cada regla, población, parte del plan y prueba" in listing
    for source_id in web.app.state.kb.sources:
        page = clinician.get(f"/sources/{source_id}", headers=SPANISH).text
        assert "<h2>Secciones que cita allpath</h2>" in page
        assert "Sections cited by allpath" not in page and "Publisher" not in page


def test_i18n_local_number_keeps_english_and_every_digit() -> None:
    with i18n.use_locale("es"):
        assert [i18n.local_number(typed) for typed in ("0.00001", "0.5", "12345", "abc")] == [
            "0,00001",
            "0,5",
            "12.345",
            "abc",
        ]
    assert i18n.local_number("0.00001") == "0.00001" and i18n.local_number("12345") == "12345"


def test_dates_on_the_patient_page_are_spanish_words(web: WebApp, clinician: User) -> None:
    """The roadmap's, the response tests', the survivorship plan's and the doses' dates: Spanish words in the text,
    the ISO date kept for machines in ``datetime``; English keeps the ISO date (a child with a start date)."""
    child = _create(clinician, STARTED | {"display_name": "Dated child"})
    roadmap = r'<time datetime="(\d{4}-\d{2}-\d{2})">([^<]*)</time>'
    spanish_page = clinician.get(f"/patients/{child}?lang=es").text
    english_page = clinician.get(f"/patients/{child}?lang=en").text
    spanish = re.findall(roadmap, _section(spanish_page, "phases") + _section(spanish_page, "doses"))
    english = re.findall(roadmap, _section(english_page, "phases") + _section(english_page, "doses"))
    assert len(spanish) >= 10
    assert [day for day, _ in spanish] == [day for day, _ in english]
    assert all(shown == format_date(date.fromisoformat(day), "long", locale="es") for day, shown in spanish)
    assert all(shown == day for day, shown in english)
    start = '<time datetime="2026-01-05">5 de enero de 2026</time>'
    assert f"Con fechas a partir del inicio del tratamiento, el {start}" in spanish_page


def test_routes_and_frequencies_of_the_doses_are_spanish(web: WebApp, clinician: User) -> None:
    """The knowledge base's codes for a route and a frequency are said in Spanish; English keeps its words."""
    child = _create(
        clinician,
        STARTED | {"display_name": "Route child", "pharmacogenomics.tpmt": "poor", "pharmacogenomics.nudt15": "normal"},
    )
    spanish = _section(clinician.get(f"/patients/{child}?lang=es").text, "doses")
    english = _section(clinician.get(f"/patients/{child}?lang=en").text, "doses")
    assert '<td data-label="Vía">intravenosa</td>' in spanish and '<td data-label="Vía">oral</td>' in spanish
    assert '<td data-label="Vía">intratecal</td>' in spanish
    assert "dada tres veces por semana" in spanish  # la dosis
    assert '<td data-label="Route">intravenous</td>' in english and "given three times weekly" in english
    assert "intravenous" not in spanish and "three times weekly" not in spanish
