"""The care team's record form and FHIR import in Spanish (issue 14): labels, hints and the problems of a record
in Spanish, naming each field by its Spanish label, with numbers written the Spanish way; the English pages and
the API keep their words.

Each Spanish request runs in its own signed-in session: ``?lang=es`` is remembered in a cookie, which must not
make another test's pages Spanish.
"""

from __future__ import annotations

import html
import re

import pytest
import yaml

from allpath.domain import limits
from allpath.domain.labels import field_label
from allpath.errors import FieldProblem
from allpath.interfaces.i18n import LOCALE_DIR, use_locale
from allpath.interfaces.i18n.labels import LABELS_FILE, label_table, local_field_label
from allpath.interfaces.web.forms import local
from tests.web.conftest import User, WebApp, sign_in

NEW_PATIENT = {"display_name": "Niña de prueba", "sex": "female", "age_years": "4", "immunophenotype": "B"}
WBC_LABEL_ES = "recuento de glóbulos blancos al diagnóstico (por microlitro)"
WBC_RANGE_ES = "un número de células por microlitro, de 200 como mínimo y 2.000.000 como máximo"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture()
def spanish(web: WebApp) -> User:
    return sign_in(web.app, "dr.rivera")


def _new(user: User, wbc: str, lang: str = "es") -> tuple[int, str]:
    response = user.post(f"/patients/new?lang={lang}", NEW_PATIENT | {"wbc_per_ul": wbc}, follow_redirects=False)
    return response.status_code, _text(response.text)


def test_an_impossible_white_count_is_refused_in_spanish_by_its_spanish_label(spanish: User) -> None:
    status, page = _new(spanish, "5000000")
    assert status == 422
    assert f"{WBC_LABEL_ES}: 5.000.000 no es un valor permitido; se espera {WBC_RANGE_ES}" in page
    assert "is not allowed" not in page and "white blood cell count" not in page
    # The input itself: its Spanish label and the range in its hint.
    assert "Recuento de glóbulos blancos al diagnóstico (células por microlitro)" in page
    assert f"Se espera {WBC_RANGE_ES}. Para 12,5 x 10^9/L escriba 12500." in page
    assert "1 problema en el expediente: no se guardó nada" in page


def test_the_upper_limit_is_allowed_and_one_more_is_refused(spanish: User) -> None:
    status, _ = _new(spanish, "2000000")
    assert status == 303
    status, page = _new(spanish, "2000001")
    assert status == 422 and f"{WBC_LABEL_ES}: 2.000.001 no es un valor permitido" in page


def test_a_count_in_thousands_is_explained_in_spanish_with_spanish_numbers(spanish: User) -> None:
    status, page = _new(spanish, "12.5")
    assert status == 422
    assert (
        f"{WBC_LABEL_ES}: 12,5 no es un valor permitido; se espera {WBC_RANGE_ES}; esto parece un recuento en "
        "10^9/L (miles por microlitro): si es así, escriba 12.500 células por microlitro"
    ) in page


def test_the_english_page_keeps_its_words(clinician: User) -> None:
    response = clinician.post("/patients/new", NEW_PATIENT | {"wbc_per_ul": "5000000"})
    page = _text(response.text)
    assert response.status_code == 422
    assert (
        "white blood cell count at diagnosis (per microliter): 5000000 is not allowed; expected a number of cells "
        "per microliter, at least 200 and at most 2,000,000"
    ) in page
    assert "White blood cell count at diagnosis (cells per microliter)" in page
    assert "Expected a number of cells per microliter, at least 200 and at most 2,000,000. For 12.5 x 10^9/L" in page
    assert "no es un valor permitido" not in page


def test_the_message_of_the_api_stays_english_inside_a_spanish_page() -> None:
    problem = FieldProblem("wbc_per_ul", 5_000_000, "expected " + limits.WBC_PER_UL.describe())
    english = problem.message()
    with use_locale("es"):
        assert problem.message() == english  # what the JSON API and the command line say
        assert local.problem_message(problem).startswith(f"{WBC_LABEL_ES}: 5.000.000 no es un valor permitido")
    assert local.problem_message(problem) == english


def test_the_live_check_and_a_new_relapse_row_speak_spanish(spanish: User) -> None:
    checked = _text(spanish.post("/patients/check?lang=es", {"wbc_per_ul": "-5"}).text)
    assert f"{WBC_LABEL_ES}: -5 no es un valor permitido" in checked
    row = _text(spanish.get("/patients/relapse-row?index=1&lang=es").text)
    assert "Recaída 2" in row and "Meses desde el diagnóstico" in row and "Añadir otra recaída" in row
    course = _text(spanish.get("/patients/exposure-row?kind=course&index=0&lang=es").text)
    assert "Dosis 1" in course and "elija un medicamento" in course and "Añadir una dosis" in course


def test_a_relapse_problem_names_the_numbered_spanish_field(spanish: User) -> None:
    form = NEW_PATIENT | {"wbc_per_ul": "9000", "relapses[0].months_from_diagnosis": "481", "relapses[0].sites": "cns"}
    page = _text(spanish.post("/patients/new?lang=es", form).text)
    assert "recaída 1: meses desde el diagnóstico hasta la recaída: 481 no es un valor permitido" in page
    assert "se espera un número de meses desde el diagnóstico, de 0 como mínimo y 480 como máximo" in page


def test_the_import_page_refuses_in_spanish(spanish: User) -> None:
    page = _text(spanish.post("/patients/import?lang=es", {"bundle_text": "{not json"}).text)
    assert "No se pudo leer el Bundle" in page and "Esto no es JSON válido (línea 1, columna 2" in page


def test_the_spanish_labels_name_every_field_of_the_english_table() -> None:
    english = yaml.safe_load((LOCALE_DIR.parent / "domain" / "labels.yaml").read_text(encoding="utf-8"))
    spanish = yaml.safe_load((LOCALE_DIR / "es" / LABELS_FILE).read_text(encoding="utf-8"))
    assert set(spanish) == set(english)
    assert all(spanish[key] != english[key] for key in english if key != "down_syndrome")
    assert label_table("en") == {}
    with use_locale("es"):
        assert local_field_label("relapses[1].sites") == "recaída 2: dónde se encontró la recaída"
        assert local_field_label("genetics[2]") == "resultados genéticos de las células de leucemia, entrada 3"
        assert local_field_label("no_such_key") == "el dato “no_such_key”"
    assert local_field_label("genetics[2]") == field_label("genetics[2]")


def test_every_limit_of_the_record_is_said_in_spanish() -> None:
    every = [value for value in vars(limits).values() if isinstance(value, limits.Limit)]
    assert {limit.unit for limit in every} == set(local.LIMIT_UNITS)
    with use_locale("es"):
        for limit in every:
            said = local.local_allowed("expected " + limit.describe())
            assert said.startswith("se espera un número de ") and "expected" not in said, said
        assert local.local_allowed("expected true or false") == "se espera sí o no (true o false)"
        assert local.local_allowed("expected a drug from: asparaginase, cytarabine") == (
            "se espera un medicamento, elegido entre: asparaginase, cytarabine"
        )
        assert local.local_allowed("a sentence nobody translated") == "a sentence nobody translated"
