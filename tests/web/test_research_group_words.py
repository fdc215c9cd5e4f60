"""The researcher's pages name the groups in the reader's language; the downloads keep the stored codes.

One rule for the de-identified export (``/export``) and the outcomes by group (``/research/outcomes``): a page
is read by a person, so a group is shown in words ("muy alto" in Spanish, "very high" in English), never as its
code; what is downloaded for analysis (the export's CSV and JSON, the command line's tables) keeps the stored
code (``very_high``), the same in every language. Each page says so once, without showing a code.
"""

from __future__ import annotations

import csv
import io
import json
import re

from tests.web.conftest import User, WebApp, sign_in

EXPORT_NOTE = {
    "en": "This page names the groups in words. The downloads keep the stored codes of the groups",
    "es": "Esta página nombra los grupos con palabras. Las descargas conservan los códigos almacenados de los grupos",
}
OUTCOMES_NOTE = {
    "en": "This page names the groups in words. The command line's tables and files",
    "es": "Esta página nombra los grupos con palabras. Las tablas y los archivos de la línea de comandos",
}
RISK_GROUPS = {"en": ("standard", "high", "very high"), "es": ("estándar", "alto", "muy alto")}


def _text(html: str) -> str:
    """The page's text without its markup and its drawings."""
    without = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", without).replace("&#39;", "'").split())


def _researcher(web: WebApp, lang: str) -> User:
    """A researcher of their own, whose language cookie no other test shares."""
    person = sign_in(web.app, "researcher")
    person.get(f"/export?lang={lang}")
    return person


def test_the_export_page_shows_the_groups_in_words_in_english_and_spanish(web: WebApp) -> None:
    for lang, newly in (("en", "newly diagnosed"), ("es", "recién diagnosticada")):
        html = _researcher(web, lang).get(f"/export?lang={lang}").text
        text = _text(html)
        assert re.search(rf">{newly}</td>", html), lang
        assert re.search(rf">({'|'.join(RISK_GROUPS[lang])})</td>", html), lang
        assert "newly_diagnosed" not in text and "very_high" not in text, lang
        assert text.count(EXPORT_NOTE[lang]) == 1, lang
    assert "newly diagnosed" not in _text(_researcher(web, "es").get("/export?lang=es").text)


def test_the_export_downloads_keep_the_codes_whatever_the_pages_language(web: WebApp) -> None:
    spanish = _researcher(web, "es")
    rows = json.loads(spanish.get("/export/deidentified.json").text)
    table = list(csv.DictReader(io.StringIO(spanish.get("/export/deidentified.csv").text)))
    for found in ({r["disease_state"] for r in rows}, {r["disease_state"] for r in table}):
        assert "newly_diagnosed" in found and "recién diagnosticada" not in found
    stored = {r["risk_group"] for r in rows} - {None}
    assert stored and stored <= {"standard", "high", "very_high"}
    assert {r["risk_group"] for r in table} - {""} == stored


def test_the_outcomes_page_shows_the_groups_in_words_in_english_and_spanish(web: WebApp) -> None:
    for lang in ("en", "es"):
        answer = _researcher(web, lang).post(
            f"/research/outcomes?lang={lang}", {"action": "demo", "grouping": "risk_group"}
        )
        assert answer.status_code == 200, lang
        html, text = answer.text, _text(answer.text)
        for group in RISK_GROUPS[lang]:
            # The 5-year table's row: the group in words, then its children, events and deaths.
            assert re.search(rf"{group} \d+ \d+ \d+ \d", text), (lang, group)
            assert f'<th scope="row">{group}</th>' in html, (lang, group)  # the yearly tables' rows
        assert "very_high" not in text and 'translate="no">very' not in html, lang
        assert text.count(OUTCOMES_NOTE[lang]) == 1, lang
    spanish = _text(_researcher(web, "es").post("/research/outcomes?lang=es", {"action": "demo"}).text)
    assert "very high" not in spanish and "standard" not in spanish


def test_the_outcomes_page_writes_its_counts_in_the_readers_way(web: WebApp) -> None:
    """The rows read and the children analysed, as the demo's own size is written: Spanish 5.000, English 5,000."""
    for lang, rows, children in (
        ("en", "5,000 rows read", "5,000 children analysed"),
        ("es", "5.000 filas leídas", "5.000 niños analizados"),
    ):
        text = _text(_researcher(web, lang).post(f"/research/outcomes?lang={lang}", {"action": "demo"}).text)
        assert rows in text and children in text, lang
