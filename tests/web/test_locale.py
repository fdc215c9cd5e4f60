"""The language of the pages (issue 14): the order of choice, the cookie, the account's preference, the
switch, and one request's language never reaching another request served at the same time."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from fastapi.testclient import TestClient

from allpath.interfaces import i18n
from allpath.interfaces.i18n import (
    LANG_COOKIE,
    accepted_languages,
    choose_locale,
    current_locale,
    gettext,
    supported_locales,
    translations_for,
    use_locale,
)
from tests.web.conftest import PASSWORDS, LiveServer, User, WebApp, sign_in

HTML_LANG = re.compile(r'<html lang="([^"]+)">')


def _lang(html: str) -> str:
    found = HTML_LANG.search(html)
    assert found is not None
    return found.group(1)


# ---- choosing: unit ------------------------------------------------------------------------------------


def test_the_catalog_folders_name_the_languages() -> None:
    assert supported_locales() == ("en", "es")


def test_a_third_language_is_a_folder_and_no_code(tmp_path: Path) -> None:
    catalog = Catalog(locale="fr", domain="messages")
    catalog.add("Sign in", "Se connecter")
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as po:
        write_po(po, catalog)
    (tmp_path / "de").mkdir()  # a folder without a catalog is no language
    assert supported_locales(tmp_path) == ("en", "fr")
    assert translations_for("fr", tmp_path).gettext("Sign in") == "Se connecter"


def test_a_third_language_of_the_knowledge_is_a_file_and_no_code(tmp_path: Path) -> None:
    """The knowledge texts of a new language are one more file in data/translations (README "Languages", adding
    a language): the knowledge base loads it with the translated texts in place, the English ones where the file
    has none yet (listed as gaps, which the lint reports), the review flag and notice as written, and the knowledge
    version covers the file."""
    import shutil

    import yaml

    from allpath.knowledge.loader import default_data_dir, load_knowledge
    from allpath.knowledge.translations import text_hash

    data = tmp_path / "data"
    shutil.copytree(default_data_dir(), data)
    english = load_knowledge(data)
    title = english.text.fever_during_treatment.title
    french = {
        "locale": "fr",
        "reviewed_by_clinician": False,
        "review_notice": "Cette traduction n'a pas encore été relue par un clinicien.",
        "pending": ["text.yaml", "phases.yaml"],
        "texts": {
            "text.yaml/fever_during_treatment/title": {
                "source_hash": text_hash(title),
                "text": "Fièvre pendant le traitement : appelez tout de suite l'équipe soignante",
            }
        },
    }
    (data / "translations" / "fr.yaml").write_text(yaml.safe_dump(french, allow_unicode=True), encoding="utf-8")
    kb = load_knowledge(data, locale="fr")
    assert kb.locale == "fr"
    assert kb.text.fever_during_treatment.title.startswith("Fièvre pendant le traitement")
    assert kb.phases[0].label == english.phases[0].label  # not translated yet: the English text is shown
    assert any(gap.path.startswith("phases.yaml/") for gap in kb.translation_gaps["fr"])
    assert kb.translation is not None and kb.translation.reviewed_by_clinician is False
    assert load_knowledge(data).version != english.version  # the new file is part of the knowledge version
    assert load_knowledge(data, locale="es").text.fever_during_treatment.title != title  # Spanish unchanged


def test_accept_language_is_read_by_weight() -> None:
    assert accepted_languages("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == ["fr-CH", "fr", "en", "de"]
    assert accepted_languages("en;q=0.2, es") == ["es", "en"]
    assert accepted_languages("es;q=0, en") == ["en"]  # q=0: not wanted
    assert accepted_languages("es;q=abc") == []
    assert accepted_languages(None) == accepted_languages("") == []


@pytest.mark.parametrize(
    ("query", "cookie", "account", "header", "expected"),
    [
        ("es", "en", "en", "en", "es"),  # the query first
        (None, "es", "en", "en", "es"),  # then the cookie the query left
        (None, None, "es", "en", "es"),  # then the account
        (None, None, None, "es-MX,en;q=0.5", "es"),  # then the browser (a region falls back to its language)
        (None, None, None, "fr, es;q=0.1", "es"),  # the first supported one of the browser's
        (None, None, None, "es;q=0, fr", "en"),  # refused by the browser, unsupported: English
        (None, None, None, None, "en"),  # nothing: English
        ("xx", None, None, "es", "es"),  # an unsupported query is ignored
        ("<b>", "zz", "qq", None, "en"),
        ("EN", None, "es", None, "en"),
    ],
)
def test_the_order_of_choice(
    query: str | None, cookie: str | None, account: str | None, header: str | None, expected: str
) -> None:
    assert choose_locale(query, cookie, account, header) == expected


def test_outside_a_rendering_the_words_are_english() -> None:
    assert current_locale() == "en"
    assert gettext("Sign in") == "Sign in"
    with use_locale("es"):
        assert gettext("Sign in") == "Entrar"
        assert current_locale() == "es"
    assert gettext("Sign in") == "Sign in"
    assert gettext("") == ""  # never a catalog's header


def test_each_thread_keeps_its_own_language() -> None:
    """Threads that render at the same moment (a barrier makes them overlap) each read their own words."""
    barrier = threading.Barrier(8)

    def render(index: int) -> tuple[str, str]:
        locale = "es" if index % 2 else "en"
        with use_locale(locale):
            barrier.wait(timeout=10)
            word = gettext("Sign in")
            barrier.wait(timeout=10)
            return locale, word

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(render, range(8)))
    assert results == [("es", "Entrar") if i % 2 else ("en", "Sign in") for i in range(8)]


def test_a_phrase_is_translated_whole_with_its_field_name() -> None:
    """A sentence made in code with a value (a form's problem) is English as text and Spanish where shown."""
    problem = i18n.Phrase("%(label)s: use at least %(count)s characters.", label="User name", count=3)
    assert problem == "User name: use at least 3 characters." and gettext(problem) == problem
    with use_locale("es"):
        assert gettext(problem) == "Nombre de usuario: use al menos 3 caracteres."


def test_the_sign_in_and_activation_pages_refuse_in_spanish(web: WebApp) -> None:
    """A wrong password, an expired form and a field's problem, after the POST, in the page's language."""
    visitor = TestClient(web.app, client=("192.0.2.18", 50000))
    visitor.get("/signin?lang=es")
    wrong = {"username": "dr.rivera", "password": "not the password", "csrf_token": visitor.cookies["allpath_form"]}
    assert "El nombre de usuario o la contraseña no son correctos." in visitor.post("/signin", data=wrong).text
    expired = visitor.post("/activate", data={"username": "x", "csrf_token": "stale"}).text
    assert "El formulario había caducado. Inténtelo otra vez." in expired
    visitor.get("/activate")
    short = {"username": "x", "code": "C", "password": "p", "csrf_token": visitor.cookies["allpath_form"]}
    assert "Código: use al menos 4 caracteres." in visitor.post("/activate", data=short).text


# ---- choosing: pages -----------------------------------------------------------------------------------


def test_english_is_the_default_and_the_page_says_so(anonymous: TestClient) -> None:
    page = anonymous.get("/signin")
    assert _lang(page.text) == "en"
    assert "<h1>Sign in</h1>" in page.text
    assert LANG_COOKIE not in page.cookies


def test_the_browser_language_gives_spanish(anonymous: TestClient) -> None:
    page = anonymous.get("/signin", headers={"Accept-Language": "es-US,es;q=0.9,en;q=0.8"})
    assert _lang(page.text) == "es"
    assert "<h1>Entrar</h1>" in page.text
    assert "Nombre de usuario" in page.text and "Contraseña" in page.text


def test_the_query_wins_over_the_browser_and_is_kept_in_a_cookie(web: WebApp) -> None:
    browser = TestClient(web.app)
    page = browser.get("/signin?lang=es", headers={"Accept-Language": "en"})
    assert _lang(page.text) == "es"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{LANG_COOKIE}=es;") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # the next page, without the query, follows the cookie
    assert _lang(browser.get("/signin", headers={"Accept-Language": "en"}).text) == "es"
    # and the switch back to English replaces it
    assert _lang(browser.get("/signin?lang=en").text) == "en"
    assert _lang(browser.get("/signin", headers={"Accept-Language": "es"}).text) == "en"


def test_an_unsupported_query_is_ignored_and_not_kept(anonymous: TestClient) -> None:
    page = anonymous.get("/signin?lang=%3Cscript%3E")
    assert _lang(page.text) == "en"
    assert "set-cookie" not in page.headers or LANG_COOKIE not in page.headers["set-cookie"]
    assert "<script>" not in page.text


def test_the_switch_is_on_the_page_and_keeps_the_query(anonymous: TestClient) -> None:
    page = anonymous.get("/signin?next=%2Fpatients")
    assert 'href="/signin?next=%2Fpatients&amp;lang=es" lang="es" hreflang="es" translate="no">Español</a>' in page.text
    assert 'lang="en" hreflang="en" translate="no" aria-current="true">English</a>' in page.text


def test_the_account_preference_comes_after_the_query_and_before_the_browser(web: WebApp) -> None:
    person = sign_in(web.app, "family.demo")
    try:
        saved = person.post("/account/language", {"language": "es"})
        assert saved.status_code == 200 and "Su idioma quedó guardado." in saved.text
        assert _lang(person.get("/account", headers={"Accept-Language": "en"}).text) == "es"
        assert 'value="es" lang="es" translate="no" selected' in person.get("/account").text
        assert _lang(person.get("/account?lang=en").text) == "en"  # the query first
        refused = person.post("/account/language", {"language": "xx"})
        assert refused.status_code == 422 and "Choose one of the languages offered." in refused.text
    finally:
        assert person.post("/account/language", {"language": ""}).status_code == 200
    assert _lang(person.get("/account", headers={"Accept-Language": "en"}).text) == "en"


def test_saving_a_language_replaces_the_sessions_choice(web: WebApp) -> None:
    person = sign_in(web.app, "family.demo")
    try:
        assert _lang(person.get("/account?lang=en").text) == "en"
        person.post("/account/language", {"language": "es"})
        assert _lang(person.get("/account").text) == "es"  # the cookie of ?lang=en is gone
    finally:
        person.post("/account/language", {"language": ""})


def test_the_familys_report_has_spanish_headings(family: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    page = family.get(f"/patients/{child}/report?lang=es")
    assert page.status_code == 200
    assert _lang(page.text) == "es"
    assert "<title>Informe para la familia: " in page.text
    assert " de 20" in re.search(r"<time [^>]*>([^<]*)</time>", page.text).group(1)  # type: ignore[union-attr]
    assert "Descargar en PDF" in page.text and "Paquete para una segunda opinión (FHIR)" in page.text
    assert "Mi hijo o hija" in page.text and "Salir" in page.text
    english = family.get(f"/patients/{child}/report?lang=en")
    assert "Download as PDF" in english.text and "Descargar" not in english.text


def test_requests_served_together_keep_their_own_language(web: WebApp) -> None:
    """Many requests in threads at once, alternating languages: no page speaks another request's language."""

    def fetch(index: int) -> tuple[str, bool]:
        wanted = "es" if index % 2 else "en"
        page = TestClient(web.app).get("/signin", headers={"Accept-Language": wanted})
        return _lang(page.text), ("<h1>Entrar</h1>" if wanted == "es" else "<h1>Sign in</h1>") in page.text

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(fetch, range(40)))
    assert results == [("es" if i % 2 else "en", True) for i in range(40)]


def test_dates_and_numbers_follow_the_locale() -> None:
    from datetime import UTC, date, datetime

    assert i18n.shown_date(date(2026, 3, 5)) == "2026-03-05"
    with use_locale("es"):
        assert i18n.shown_date(date(2026, 3, 5)) == "5 de marzo de 2026"
        assert i18n.shown_decimal(12345.5) == "12.345,5"
        assert i18n.shown_moment(datetime(2026, 3, 5, 14, 3, tzinfo=UTC)) == "5 de marzo de 2026 14:03 UTC"
    assert i18n.shown_decimal(12345.5) == "12,345.5"
    assert i18n.shown_moment(datetime(2026, 3, 5, 14, 3, tzinfo=UTC)) == "2026-03-05 14:03 UTC"


def test_the_pdf_speaks_the_language_of_the_page_it_came_from(web: WebApp, tmp_path: Path) -> None:
    from tests.web.test_browser import pdf_text

    child = web.ids["family_child"]
    browser = sign_in(web.app, "family.demo")  # no language chosen in this session yet
    spanish = browser.get(f"/patients/{child}/report.pdf", headers={"Accept-Language": "es"})
    assert spanish.status_code == 200 and spanish.content.startswith(b"%PDF-")
    (tmp_path / "es.pdf").write_bytes(spanish.content)
    text = " ".join(pdf_text(tmp_path / "es.pdf").split())
    assert "versión del expediente" in text and "preparado el" in text  # á é í ó ú ñ come through the PDF
    english = browser.get(f"/patients/{child}/report.pdf")
    (tmp_path / "en.pdf").write_bytes(english.content)
    assert "record version" in " ".join(pdf_text(tmp_path / "en.pdf").split())


def test_a_family_reads_in_spanish_in_a_browser_and_switches_back(
    browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """Issue 14's acceptance, in a real browser that asks for English, against the served app: a family account
    whose preferred language is already Spanish signs in and its first page is Spanish; it reads the plan and the
    fever box of its child's report in Spanish (the knowledge base's Spanish texts), downloads the PDF whose text
    is Spanish (every accented letter and opening mark of the page comes through), and the switch brings the
    plan and the fever box back in English. The account's language is left as it was found."""
    from allpath.knowledge.loader import load_knowledge
    from tests.web.test_browser import _expect, _sign_in, pdf_text

    expect = _expect()
    spanish_kb, english_kb = load_knowledge(locale="es"), load_knowledge()
    fever_es, fever_en = spanish_kb.text.fever_during_treatment, english_kb.text.fever_during_treatment
    phase_es, phase_en = spanish_kb.phases[0].label, english_kb.phases[0].label
    plan_heading_es = translations_for("es").gettext("The phases of treatment")
    assert (fever_es.title, phase_es, plan_heading_es) != (fever_en.title, phase_en, "The phases of treatment")

    # Before the visit: the account's preferred language becomes Spanish on its account page.
    setup = browser.new_context(locale="en-US")
    page = setup.new_page()
    _sign_in(page, live_server, "family.demo")
    page.goto(f"{live_server.url}/account")
    chooser = page.get_by_label("The language of your pages")
    found_language = chooser.input_value()
    chooser.select_option("es")
    page.get_by_role("button", name="Save the language").click()
    expect(page.get_by_role("status")).to_have_text("Su idioma quedó guardado.")
    setup.close()

    context = browser.new_context(locale="en-US", accept_downloads=True)  # a new browser session, asking English
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/signin")
        page.get_by_label("User name").fill("family.demo")
        page.get_by_label("Password").fill(PASSWORDS["family.demo"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        # The first page after signing in speaks the account's language, not the browser's.
        expect(page.get_by_role("button", name="Salir")).to_be_visible()
        assert page.evaluate("() => document.documentElement.lang") == "es"

        page.get_by_role("navigation", name="Principal").get_by_role("link", name="Mi hijo o hija").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mi hijo o hija")
        page.locator("#patient-rows a").first.click()
        expect(page.get_by_role("heading", name=fever_es.title)).to_be_visible()
        expect(page.get_by_text(fever_es.items[2], exact=False)).to_be_visible()
        expect(page.get_by_role("heading", name=plan_heading_es)).to_be_visible()
        expect(page.get_by_text(f"{phase_es}:", exact=False).first).to_be_visible()
        shown = page.locator("main").inner_text()
        assert fever_en.title not in shown and "The phases of treatment" not in shown

        with page.expect_download() as download:
            page.get_by_role("link", name="Descargar en PDF").click()
        download.value.save_as(tmp_path / "informe.pdf")
        printed = " ".join(pdf_text(tmp_path / "informe.pdf").split())
        assert " ".join(fever_es.title.split()) in printed and plan_heading_es in printed
        marks = [mark for mark in "áéíóúñ¿¡" if mark in shown]
        assert len(marks) >= 6, marks  # the page itself has them: the comparison below means something
        assert [mark for mark in marks if mark not in printed] == []

        page.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
        expect(page.get_by_role("link", name="Download as PDF")).to_be_visible()
        assert page.evaluate("() => document.documentElement.lang") == "en"
        expect(page.get_by_role("heading", name=fever_en.title)).to_be_visible()
        expect(page.get_by_text(fever_en.items[2], exact=False)).to_be_visible()
        expect(page.get_by_role("heading", name="The phases of treatment")).to_be_visible()
        expect(page.get_by_text(f"{phase_en}:", exact=False).first).to_be_visible()
    finally:
        page.goto(f"{live_server.url}/account")
        page.get_by_label("The language of your pages").select_option(found_language)
        page.get_by_role("button", name="Save the language").click()
        context.close()


def test_the_count_of_a_patient_search_agrees_in_number_in_spanish(clinician: User) -> None:
    """One patient found "coincide", several "coinciden": the count and its words are one plural message."""
    one = clinician.get("/patients?q=infant&lang=es", headers={"HX-Request": "true"})
    assert "1 paciente que coincide con “infant”" in one.text
    several = clinician.get("/patients?q=relapse&lang=es", headers={"HX-Request": "true"})
    found = re.search(r"(\d+) pacientes que coinciden con “relapse”", several.text)
    assert found is not None and int(found.group(1)) > 1
    english = clinician.get("/patients?q=infant&lang=en", headers={"HX-Request": "true"})
    assert "1 patient matching “infant”" in english.text


def test_the_calendar_speaks_the_language_of_the_page(clinician: User) -> None:
    """The roadmap's .ics in the page's language: Spanish words (the knowledge base's phase names, dates in
    Spanish words), each text saying its language; the same events on the same ISO dates as the English one."""
    from icalendar import Calendar

    from tests.web.test_treatment import STARTED, _create

    child = _create(clinician, STARTED | {"display_name": "Calendar in Spanish"})
    calendars = {}
    for lang in ("es", "en"):
        answer = clinician.get(f"/patients/{child}/roadmap.ics?lang={lang}")
        assert answer.status_code == 200, answer.text
        assert f"SUMMARY;LANGUAGE={lang}:".encode() in answer.content
        calendars[lang] = Calendar.from_ical(answer.content)
    events = {lang: calendar.walk("VEVENT") for lang, calendar in calendars.items()}
    assert [(e["UID"], e.decoded("DTSTART"), e.decoded("DTEND")) for e in events["es"]] == [
        (e["UID"], e.decoded("DTSTART"), e.decoded("DTEND")) for e in events["en"]
    ]
    summaries = {str(e["SUMMARY"]) for e in events["es"]}
    assert summaries.isdisjoint({str(e["SUMMARY"]) for e in events["en"]})
    assert str(calendars["es"]["NAME"]) == "Plan de tratamiento con fechas"
    description = str(calendars["es"]["DESCRIPTION"])
    assert "lunes, 5 de enero de 2026" in description and "Ayuda para decidir, no una receta" in description
    assert "Decision support" not in description and "Monday" not in description
    clinician.get("/patients?lang=en")  # the language chosen here is not left to the next test
