"""The last English words of a Spanish page (issue 14): the trial section's registry line and dates, the note of
a place chosen among several of its name, the knowledge texts of the staff pages and of the clinician's patient
page, and the doses engine's own words on the doses table. English pages keep their words, and the API's JSON
keeps its English."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pytest

from allpath.interfaces.i18n import use_locale
from allpath.interfaces.web.dose_words import age_basis_words, basis_words, per_words
from allpath.interfaces.web.pages import templates
from allpath.knowledge.loader import load_knowledge
from allpath.service.places import find_place
from tests.web.conftest import User, WebApp, sign_in

SPANISH = {"Accept-Language": "es"}


@pytest.fixture
def clinician(web: WebApp) -> User:
    """A session of its own: no language cookie left by another test's ``?lang=``."""
    return sign_in(web.app, "dr.rivera")


def _section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}".*?</section>', page, re.S)
    assert found, name
    return found.group(0)


def _words(part: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(part)).split())


# ---- 1. the trial section's registry line -------------------------------------------------------------------


def _registry_line(studies: int, locale: str) -> str:
    """The registry line of the trial section rendered alone, with a registry of ``studies`` studies."""
    search = {
        "registry": {"studies": studies, "source": None, "snapshot_date": "2026-01-05", "outdated_after_days": 365},
        "searched_on": "2026-02-03",
        "status": "any",
        "place": None,
        "radius_km": None,
    }
    trials = SimpleNamespace(
        search=search,
        problem=None,
        form={"near": "", "radius_km": "", "status": "any"},
        status_choices=(),
        registry_empty=False,
        fitting=[],
        not_fitting=[],
        place_note="",
        status_labels={},
        distance=str,
    )
    with use_locale(locale):
        page = templates.env.get_template("_trials.html").render(
            trials=trials, patient=SimpleNamespace(id="p1"), role="clinician"
        )
    found = re.search(r'<p class="meta">.*?</p>', page, re.S)
    assert found
    return " ".join(found.group(0).split())


def test_one_study_in_the_registry_is_one_study_in_both_languages() -> None:
    assert "From the local copy of the registry: 1 study," in _registry_line(1, "en")
    assert "From the local copy of the registry: 2 studies," in _registry_line(2, "en")
    assert "De la copia local del registro: 1 estudio," in _registry_line(1, "es")
    assert "De la copia local del registro: 2 estudios," in _registry_line(2, "es")


def test_the_registry_dates_are_in_the_pages_language_with_the_iso_date_kept() -> None:
    spanish = _registry_line(20, "es")
    assert 'actualizada el <time datetime="2026-01-05">5 de enero de 2026</time>' in spanish
    assert 'Búsqueda del <time datetime="2026-02-03">3 de febrero de 2026</time>' in spanish
    english = _registry_line(20, "en")
    assert 'last refreshed <time datetime="2026-01-05">2026-01-05</time>' in english
    assert 'Searched on <time datetime="2026-02-03">2026-02-03</time>' in english


def _patient(user: User, name: str) -> str:
    listed = user.get("/patients").text
    found = re.search(rf'href="/patients/([0-9a-f-]{{36}})"[^>]*>\s*{re.escape(name)}\s*<', listed)
    assert found, name
    return found.group(1)


def test_a_studys_last_update_is_in_the_pages_language(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")  # AALL1731 may fit, and its entry is possibly outdated
    spanish = _section(clinician.get(f"/patients/{child}?status=any", headers=SPANISH).text, "trials")
    # AALL1731's registry entry was last updated on 2025-11-17 (the bundled registry copy).
    assert 'último cambio en el registro el <time datetime="2025-11-17">17 de noviembre de 2025</time>' in spanish
    english = _section(clinician.get(f"/patients/{child}?status=any").text, "trials")
    assert 'last updated in the registry on <time datetime="2025-11-17">2025-11-17</time>' in english


# ---- 4. the note of a place chosen among several ---------------------------------------------------------------


def test_the_note_of_a_shared_place_name_is_spanish_on_the_page(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    spanish = _section(clinician.get(f"/patients/{child}?near=Springfield", headers=SPANISH).text, "trials")
    assert "Hay varios lugares con este nombre. Esta búsqueda usa Springfield, Missouri, United States" in spanish
    assert "; y 2 más. Añada el estado o el país para elegir otro." in spanish
    assert "Several places have this name" not in spanish
    english = _section(clinician.get(f"/patients/{child}?near=Springfield").text, "trials")
    assert "Several places have this name. This search uses Springfield, Missouri, United States" in english


def test_the_note_keeps_its_english_in_the_api_and_its_template_gives_the_same_words() -> None:
    place = find_place("Springfield")
    parts = place.note_parts()
    assert parts is not None
    template, params = parts
    assert template % params == place.note()
    assert place.note() is not None and place.note().startswith("Several places have this name.")  # type: ignore[union-attr]
    assert "; and 2 more." in (place.note() or "")
    # Boundary: a name with no other place of its name has no note.
    assert find_place("68102").note_parts() is None and find_place("68102").note() is None


def test_the_api_search_says_the_note_in_english_whatever_the_language(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    answer = clinician.get(f"/api/patients/{child}/trials?near=Springfield", headers={**SPANISH, "Accept": "*/*"})
    if answer.status_code == 404:
        pytest.skip("no patient trial search in the API")
    assert answer.status_code == 200, answer.text
    assert answer.json()["place"]["note"].startswith("Several places have this name.")


# ---- 5. the knowledge texts of the staff pages and of the clinician's patient page -----------------------------


def test_the_staff_pages_disclaimer_is_spanish_on_a_spanish_page(web: WebApp, clinician: User) -> None:
    spanish_kb, english_kb = load_knowledge(locale="es"), load_knowledge()
    assert spanish_kb.text.disclaimer != english_kb.text.disclaimer
    first_words = html.escape(spanish_kb.text.disclaimer.split(".")[0])
    spanish = clinician.get("/patients", headers=SPANISH).text
    assert first_words in spanish
    assert html.escape(english_kb.text.disclaimer.split(".")[0]) not in spanish
    english = clinician.get("/patients").text
    assert html.escape(english_kb.text.disclaimer.split(".")[0]) in english


def test_the_clinicians_spanish_patient_page_reads_the_spanish_knowledge(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    spanish = _section(clinician.get(f"/patients/{child}", headers=SPANISH).text, "survivorship")
    english = _section(clinician.get(f"/patients/{child}").text, "survivorship")
    # The late effects of survivorship.yaml, in es.yaml's words on the Spanish page only.
    assert "miocardiopatía (el músculo del corazón se debilita)" in spanish
    assert "cardiomyopathy (weakening of the heart muscle)" not in spanish
    assert "cardiomyopathy (weakening of the heart muscle)" in english


# ---- 6. the doses engine's own words --------------------------------------------------------------------------


def test_the_dose_lines_parts_are_written_in_spanish() -> None:
    with use_locale("es"):
        assert per_words("per day") == "al día" and per_words("per dose") == "por dosis"
        assert per_words("per week") == "a la semana"
        assert basis_words("1,000 mg/m2 per day") == "1.000 mg/m2 al día"  # Babel's Spanish grouping
        assert basis_words("2,500 IU/m2 per dose") == "2.500 IU/m2 por dosis"
        assert basis_words("75 mg/m2 per day") == "75 mg/m2 al día"
        assert basis_words("1.5 mg/m2 per dose") == "1,5 mg/m2 por dosis"
        assert (
            # The engine with the Spanish knowledge base names the age band in Spanish (intrathecal.yaml's bands).
            basis_words("12 mg for age de 3 a 8 años (age on 2026-01-05 from the birth date)")
            == "12 mg según la edad (de 3 a 8 años; edad el 5 de enero de 2026, según la fecha de nacimiento)"
        )
        assert age_basis_words("age at diagnosis (induction starts at diagnosis)") == (
            "edad al diagnóstico (la inducción empieza en el diagnóstico)"
        )
        assert basis_words("a basis of another form") == "a basis of another form"  # shown as written
    with use_locale("en"):  # English: the engine's words as they are
        assert basis_words("1,000 mg/m2 per day") == "1,000 mg/m2 per day" and per_words("per day") == "per day"


def test_the_doses_table_of_a_spanish_page_has_no_engine_english(web: WebApp, clinician: User) -> None:
    child = web.ids["family_child"]
    page = _section(clinician.get(f"/patients/{child}", headers=SPANISH).text, "doses")
    spanish = _words(page)
    # The engine's words: the Per column, the basis (an amount per m2) and how the age was found. (A drug's cap
    # explanation, "never given above 2 mg per dose", is a knowledge text of the care team, not the engine's.)
    per_column = re.findall(r'<td data-label="Por">([^<,]*)', page)
    assert per_column and set(per_column) <= {"al día", "por dosis", "a la semana"}
    assert not re.search(r"/m2 per (?:day|dose|week)", spanish)
    assert "age at diagnosis" not in spanish and "from the birth date" not in spanish
    assert re.search(r"\d+ mg/m2 al día", spanish) and "mg/m2 por dosis" in spanish
    assert "2.500 IU/m2 por dosis" in spanish  # pegaspargase: Spanish groups thousands with a point
    english = _words(_section(clinician.get(f"/patients/{child}").text, "doses"))
    assert "2,500 IU/m2 per dose" in english and "mg/m2 per day" in english


def test_the_intrathecal_age_bands_are_translated() -> None:
    spanish, english = load_knowledge(locale="es"), load_knowledge()
    assert [b.label for b in spanish.therapy.intrathecal.bands] == [
        "menos de 1 año",
        "1 año",
        "2 años",
        "de 3 a 8 años",
        "9 años o más",
    ]
    assert english.therapy.intrathecal.bands[3].label == "3 to 8 years"


def test_an_intrathecal_dose_says_its_age_band_and_day_in_spanish(clinician: User) -> None:
    """A child with a birth date and a start date: the intrathecal lines are dosed by the age on the day."""
    fields = {
        "display_name": "Intrathecal words child",
        "sex": "male",
        "birth_date": "2021-10-01",
        "age_years": "4.2",
        "immunophenotype": "B",
        "wbc_per_ul": "8500",
        "weight_kg": "17.1",
        "height_cm": "104",
        "treatment_start_date": "2026-01-05",
    }
    created = clinician.post("/patients/new", fields, follow_redirects=False)
    assert created.status_code == 303, created.text[:2000]
    pid = created.headers["location"].rsplit("/", 1)[1]
    spanish = _words(_section(clinician.get(f"/patients/{pid}", headers=SPANISH).text, "doses"))
    assert re.search(
        r"\d+ mg según la edad \(de 3 a 8 años; edad el \d+ de \w+ de 2026, según la fecha de nacimiento\)", spanish
    )
    assert "for age" not in spanish and "from the birth date" not in spanish
    english = _words(_section(clinician.get(f"/patients/{pid}").text, "doses"))
    assert re.search(r"\d+ mg for age 3 to 8 years \(age on 2026-\d\d-\d\d from the birth date\)", english)


def test_the_disease_state_and_risk_groups_are_spanish_on_the_pages_and_english_stays(
    web: WebApp, clinician: User
) -> None:
    """A group's code in words ("newly diagnosed", "very high") in the reader's language: the patient list, the
    patient page's heading and the research export's table; English keeps the code with spaces."""
    spanish, english = clinician.get("/patients", headers=SPANISH).text, clinician.get("/patients?lang=en").text
    assert ">recién diagnosticada</td>" in spanish and ">newly diagnosed</td>" not in spanish
    assert ">newly diagnosed</td>" in english
    child = web.ids["family_child"]
    assert "· recién diagnosticada</p>" in clinician.get(f"/patients/{child}?lang=es").text
    researcher = sign_in(web.app, "researcher")
    export = researcher.get("/export?lang=es").text
    assert "recién diagnosticada" in export and "newly diagnosed" not in export
    assert re.search(r">(estándar|alto|muy alto)</td>", export)


def test_the_stored_risk_groups_are_named_in_the_pages_language(web: WebApp, clinician: User) -> None:
    """The patient list and a patient's history show stored assessments: their group labels (stored in English)
    are the knowledge base's names of the groups in the page's language; English keeps the stored labels."""
    spanish, english = clinician.get("/patients", headers=SPANISH).text, clinician.get("/patients?lang=en").text
    assert "riesgo estándar</span>" in spanish and "riesgo muy alto del COG</span>" in spanish
    assert "standard risk</span>" not in spanish and "COG very high risk" not in spanish
    assert "standard risk</span>" in english and "riesgo" not in english
    family = sign_in(web.app, "family.demo").get("/patients?lang=es").text
    assert "riesgo" in family and " risk</span>" not in family
    history = _section(clinician.get(f"/patients/{web.ids['family_child']}?lang=es").text, "history")
    assert re.search(r"grupo de riesgo: riesgo (estándar|alto|muy alto)", history), history
    assert " risk ·" not in history and "COG: COG" not in history


def test_group_words_say_each_code_as_a_group() -> None:
    from allpath.interfaces.i18n.groups import group_words

    assert [group_words(code) for code in ("very_high", "newly_diagnosed", None, "unknown_code")] == [
        "very high",
        "newly diagnosed",
        "none",
        "unknown code",
    ]
    with use_locale("es"):
        assert [group_words(code) for code in ("high", "very_high", "early", None)] == [
            "alto",
            "muy alto",
            "temprana",
            "ninguno",
        ]
