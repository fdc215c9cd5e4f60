"""The trial section, the patient page's headings and the record's problem summaries in Spanish (issue 14):
the care team's page of the family's child, read in Spanish, shows its headings and the trial section's
heading, form, status choices, notices and problems in Spanish, with the glossary's word for a clinical
trial; English keeps its words."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from allpath.interfaces.i18n import use_locale
from allpath.interfaces.web.pages import templates
from allpath.interfaces.web.trial_section import FIELD_LABELS, STATUS_CHOICES
from tests.web.conftest import User, WebApp, sign_in

SPANISH = {"Accept-Language": "es"}


@pytest.fixture
def clinician(web: WebApp) -> User:
    """A session of its own: no language cookie left by another test's ``?lang=``."""
    return sign_in(web.app, "dr.rivera")


def _section(page: str) -> str:
    found = re.search(r'<section id="trials".*?</section>', page, re.S)
    assert found, "the page has a trials section"
    return found.group(0)


def test_the_trial_section_of_the_familys_child_in_spanish(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    page = clinician.get(f"/patients/{child}?status=any", headers=SPANISH)
    assert page.status_code == 200
    assert '<html lang="es">' in page.text
    section = _section(page.text)
    assert '<h2 id="trials-title">Ensayos clínicos para preguntar</h2>' in section  # glossary: ensayo clínico
    assert ">Buscar ensayos clínicos</button>" in section
    assert '<label for="trials-near">Lugar</label>' in section
    assert '<label for="trials-status">Qué estudios</label>' in section
    for choice in ("Abiertos o por abrir", "Buscando participantes ahora", "Cualquier estado, también los cerrados"):
        assert f">{choice}</option>" in section
    assert "Trials to ask about" not in section and "Search trials" not in section and "Which studies" not in section


def test_the_patient_page_of_the_familys_child_has_spanish_headings(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    spanish = clinician.get(f"/patients/{child}", headers=SPANISH).text
    for heading in (
        '<h2 id="risk-title">Grupos de riesgo</h2>',
        '<h2 id="phases-title">Fases del tratamiento</h2>',
        '<h2 id="survivorship-title">Plan de seguimiento después del tratamiento</h2>',
        '<h2 id="doses-title">Dosis</h2>',
        '<h2 id="history-title">Historial de evaluaciones</h2>',
        '<li><a href="#trials">Ensayos clínicos</a></li>',
        ">Editar el expediente</a>",
    ):
        assert heading in spanish
    assert re.search(r"<h3>Fase 1 de \d+: ", spanish)
    english = clinician.get(f"/patients/{child}").text
    assert '<h2 id="risk-title">Risk groups</h2>' in english and '<h2 id="doses-title">Doses</h2>' in english
    assert re.search(r"<h3>Phase 1 of \d+: ", english)


def test_a_problem_of_the_form_is_said_in_spanish(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    section = _section(clinician.get(f"/patients/{child}?near=68102&radius_km=far", headers=SPANISH).text)
    assert "<strong>Distancia:</strong> La distancia es un número de kilómetros, por ejemplo 500." in section
    assert "La lista de abajo es la búsqueda sin lugar." in section
    # The same section alone (the form's htmx answer) is Spanish too.
    alone = clinician.get(f"/patients/{child}/trials?radius_km=5", headers={**SPANISH, "HX-Request": "true"}).text
    assert "Una distancia necesita un lugar desde donde medir." in alone
    english = _section(clinician.get(f"/patients/{child}?near=68102&radius_km=far").text)
    assert "<strong>Distance:</strong> The distance is a number of kilometres, such as 500." in english
    assert "The list below is the search without a place." in english


def test_the_words_in_code_are_the_catalogs() -> None:
    """The status choices and field labels kept in code are English until a page translates them."""
    assert [words for _, words in STATUS_CHOICES] == [
        "Open or about to open",
        "Recruiting now",
        "Any status, closed ones too",
    ]
    assert FIELD_LABELS["radius_km"] == "Distance"


def _summary(count: int, locale: str) -> str:
    problems = [SimpleNamespace(anchor=f"f-{n}", message=f"message {n}") for n in range(count)]
    with use_locale(locale):
        return templates.env.get_template("_error_summary.html").render(summary=problems, live=False)


def test_the_problem_summary_agrees_in_number() -> None:
    assert "1 problem in the record: nothing was stored" in _summary(1, "en")
    assert "2 problems in the record: nothing was stored" in _summary(2, "en")
    assert "1 problema en el expediente: no se guardó nada" in _summary(1, "es")
    assert "2 problemas en el expediente: no se guardó nada" in _summary(2, "es")
    assert "Son los mismos mensajes que da la API JSON para este expediente." in _summary(1, "es")
    assert _summary(0, "es").strip() == ""


def test_a_patient_the_family_cannot_see_is_said_in_spanish(web: WebApp) -> None:
    family = sign_in(web.app, "family.demo")
    page = family.get("/patients/no-such-child/report", headers=SPANISH)
    assert page.status_code == 404
    assert "<h1>No se encontró el paciente</h1>" in page.text
    assert "No hay ningún paciente con esta dirección que su cuenta pueda ver." in page.text
    english = family.get("/patients/no-such-child/report")
    assert "<h1>No such patient</h1>" in english.text


def test_the_registrys_english_titles_are_marked_on_a_spanish_page_only(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    spanish = _section(clinician.get(f"/patients/{child}?status=any", headers=SPANISH).text)
    english = _section(clinician.get(f"/patients/{child}?status=any&lang=en").text)
    titles_es = re.findall(r'<li class="trial"[^>]*>\s*<h3([^>]*)>', spanish)
    titles_en = re.findall(r'<li class="trial"[^>]*>\s*<h3([^>]*)>', english)
    assert titles_es and len(titles_es) == len(titles_en)  # the same studies, both pages
    assert all(attributes == ' lang="en"' for attributes in titles_es)
    assert all(attributes == "" for attributes in titles_en)
