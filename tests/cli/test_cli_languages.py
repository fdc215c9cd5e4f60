"""The command line in the reader's language (issue 14): ``--lang es`` on the roadmap (text and the iCalendar
file), the doses, the survivorship plan and the trial search's text with its care-team table; JSON is never
translated; the count sentences of the trial section are plural messages ("1 study", "2 studies"); and the trial
section's golden files in English and Spanish (``tests/golden/trials``).

The calendar is read back with ``icalendar``, as a calendar program reads it. Set ``ALLPATH_WRITE_GOLDEN=1`` to
rewrite the trial-section goldens (then review ``git diff tests/golden/trials``).
"""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from icalendar import Calendar
from typer.testing import CliRunner

from allpath.domain.results.trials import TrialSearch
from allpath.interfaces.cli import app
from allpath.interfaces.i18n import LOCALE_DIR, use_locale
from allpath.interfaces.report.blocks import render_text
from allpath.interfaces.report.trials import SHOWN_STUDIES, trial_blocks
from allpath.knowledge.loader import load_knowledge
from tests.builders import record
from tests.conftest import EXAMPLES

runner = CliRunner()
START = "2026-01-05"
STANDARD = str(EXAMPLES / "standard_risk.json")
GOLDEN_TRIALS = Path(__file__).resolve().parents[1] / "golden" / "trials"
SEARCH_DAY = "2026-12-02"


def _run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _own_sentences(text: str) -> set[str]:
    """The catalog's English words (their fixed parts, at least 12 characters) found in ``text``."""
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        ids = [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id]
    parts = {part.strip() for i in ids for part in re.split(r"\{[a-z_]*\}|%\([a-z_]+\)s", i)}
    return {part for part in parts if len(part) >= 12 and part in text}


# ---- the calendar ----------------------------------------------------------------------------------------------


def _calendar(lang: str) -> Calendar:
    data = _run("roadmap", STANDARD, "--start", START, "--format", "ics", "--lang", lang).stdout_bytes
    return Calendar.from_ical(data)


def test_the_calendar_in_spanish() -> None:
    spanish, english = _calendar("es"), _calendar("en")
    es_events, en_events = spanish.walk("VEVENT"), english.walk("VEVENT")
    # The same events on the same days: the dates stay ISO values, only the words change.
    assert [(e["UID"], e.decoded("DTSTART"), e.decoded("DTEND")) for e in es_events] == [
        (e["UID"], e.decoded("DTSTART"), e.decoded("DTEND")) for e in en_events
    ]
    assert es_events[0].decoded("DTSTART") == date(2026, 1, 5)
    # Every text property says its language (RFC 5545 LANGUAGE parameter).
    for calendar, lang in ((spanish, "es"), (english, "en")):
        texts = [calendar["NAME"], calendar["DESCRIPTION"]]
        texts += [e[name] for e in calendar.walk("VEVENT") for name in ("SUMMARY", "DESCRIPTION")]
        assert {text.params.get("LANGUAGE") for text in texts} == {lang}
    # The phase names are the Spanish knowledge base's (the roadmap made with it), the tests too.
    from allpath.domain.record import parse_record
    from allpath.service import record_roadmap

    given = json.loads(Path(STANDARD).read_text(encoding="utf-8")) | {"treatment_start_date": START}
    roadmap_es = record_roadmap(load_knowledge(locale="es"), parse_record(given))
    summaries = [str(e["SUMMARY"]) for e in es_events]
    assert [p["label"] for p in roadmap_es["phases"]] == summaries[: len(roadmap_es["phases"])]
    assert summaries[-1] == "Final previsto del tratamiento"
    assert any(s.startswith("Prueba: ") for s in summaries)
    assert set(summaries).isdisjoint(str(e["SUMMARY"]) for e in en_events)
    words = " ".join(str(e["DESCRIPTION"]) for e in es_events) + str(spanish["DESCRIPTION"])
    assert "desde el lunes, 5 de enero de 2026 hasta el domingo, 1 de febrero de 2026 (4 semanas)" in words
    assert "Ayuda para decidir, no una receta" in words
    assert not _own_sentences(words), _own_sentences(words)
    assert str(spanish["NAME"]) == "Plan de tratamiento con fechas"


def test_the_english_calendar_keeps_its_words() -> None:
    english = _calendar("en")
    first = english.walk("VEVENT")[0]
    assert "planned from Monday 5 January 2026 to Sunday 1 February 2026 (4 weeks)" in str(first["DESCRIPTION"])
    assert str(english["NAME"]) == "Treatment roadmap"


# ---- text output ------------------------------------------------------------------------------------------------


def test_the_roadmap_text_in_spanish_and_json_never_translated() -> None:
    text = _run("roadmap", STANDARD, "--start", START, "--format", "text", "--lang", "es").stdout
    assert text.startswith("Plan de tratamiento con fechas del registro standard_risk\n")
    assert "\nFases\n" in text and "\nPruebas de control\n" in text and "confianza" in text
    assert "4 semanas" in text and "2026-01-05" in text  # a table compared with a calendar keeps ISO dates
    assert not _own_sentences(text), _own_sentences(text)
    as_json = _run("roadmap", STANDARD, "--start", START, "--lang", "es").stdout
    assert as_json == _run("roadmap", STANDARD, "--start", START).stdout  # ids, codes and texts stay


def test_the_survivorship_text_in_spanish_and_the_doses_stay_english() -> None:
    plan = _run("survivorship", STANDARD, "--format", "text", "--lang", "es").stdout
    assert plan.startswith("Plan de seguimiento después del tratamiento del registro standard_risk\n")
    assert "Basado en: " in plan and "\nSeguimiento\n" in plan and "Antraciclinas: " in plan
    # The start rules are the engine's words from the knowledge base (still English there): the command's own
    # words are Spanish.
    for own in ("Based on", "End of therapy", "Anthracyclines", "Radiation", "Follow-up", " confidence]"):
        assert own not in plan
    # The doses have no --lang: their lines are the engine's English words and numbers (see allpath doses).
    refused = runner.invoke(app, ["doses", STANDARD, "--phase", "induction", "--format", "text", "--lang", "es"])
    assert refused.exit_code == 2 and "--lang" in refused.output
    assert _run("survivorship", STANDARD, "--lang", "es").stdout == _run("survivorship", STANDARD).stdout


# ---- plural counts ----------------------------------------------------------------------------------------------


def _search(studies: int, fitting: int, outdated_days: int) -> TrialSearch:
    """A search answer with ``studies`` in the registry and ``fitting`` studies that may fit (the first one
    possibly outdated), built from one study of the shared snapshot's shape."""
    result: dict[str, Any] = {
        "nct_id": "NCT00000001",
        "org_study_id": None,
        "title": "A study",
        "brief_summary": None,
        "verdict": "eligible",
        "criteria": [],
        "nearest_site": None,
        "sites": 0,
        "overall_status": "RECRUITING",
        "last_update": "2025-01-01",
        "possibly_outdated": True,
        "registry_url": "https://clinicaltrials.gov/study/NCT00000001",
    }
    answer: dict[str, Any] = {
        "place": None,
        "radius_km": None,
        "registry": {
            "studies": studies,
            "snapshot_date": "2026-12-01",
            "outdated_after_days": outdated_days,
            "source": None,
        },
        "results": [copy.deepcopy(result) for _ in range(fitting)],
        "disclaimer": "Decision support.",
    }
    return answer  # type: ignore[return-value]  # the fields the section reads


def _section(search: TrialSearch, locale: str) -> str:
    with use_locale(locale):
        return " ".join(render_text(trial_blocks(search, load_knowledge(locale=locale))).split())


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "with 1 study.", "with 2 studies."),
        ("es", "con 1 estudio.", "con 2 estudios."),
    ],
)
def test_the_registry_count_agrees_in_number(locale: str, one: str, two: str) -> None:
    assert one in _section(_search(1, 1, 365), locale)
    assert two in _section(_search(2, 1, 365), locale)
    undated = _search(1, 1, 365)
    undated["registry"]["snapshot_date"] = None
    assert one.rstrip(".") + "." in _section(undated, locale)


@pytest.mark.parametrize(
    ("locale", "one", "two"),
    [
        ("en", "1 more study may also fit. Ask your care team about it too.", "2 more studies may also fit."),
        ("es", "Hay 1 estudio más que también podría servir.", "Hay 2 estudios más que también podrían servir."),
    ],
)
def test_the_hidden_studies_are_counted_in_number(locale: str, one: str, two: str) -> None:
    assert "more stud" not in _section(_search(20, SHOWN_STUDIES, 365), "en")  # at the limit: none hidden
    assert one in _section(_search(20, SHOWN_STUDIES + 1, 365), locale)
    assert two in _section(_search(20, SHOWN_STUDIES + 2, 365), locale)


@pytest.mark.parametrize(("locale", "one", "two"), [("en", "than 1 day before", "than 2 days before")])
def test_the_outdated_days_agree_in_number(locale: str, one: str, two: str) -> None:
    assert one in _section(_search(20, 1, 1), locale)
    assert two in _section(_search(20, 1, 2), locale)
    assert "más de 1 día antes" in _section(_search(20, 1, 1), "es")


# ---- the trial search's text, and its goldens -----------------------------------------------------------------


def _trial_text(registry: Path, *args: str) -> str:
    child = registry / "child.json"
    child.write_text(
        json.dumps(record(age_years=None, birth_date="2021-08-14", diagnosis_date="2026-11-20")), encoding="utf-8"
    )
    search = ["trials", "search", str(child), "--on", SEARCH_DAY, "--near", "Omaha, NE", "--status", "any"]
    return str(_run(*search, *args).stdout)


def _golden_text(registry: Path, locale: str) -> str:
    """The trial section of ``allpath trials search --format text --lang LOCALE`` and its care-team table. The
    registry's copy date is the day of the import, so the section is rendered from the command's JSON answer with
    the copy date fixed (as tests/cli/test_trials_reading.py does); the table is the command's own."""
    answer = json.loads(_trial_text(registry, "--format", "json"))
    answer["registry"]["snapshot_date"] = "2026-12-01"
    kb = load_knowledge(locale=locale)
    answer["disclaimer"] = kb.text.disclaimer
    with use_locale(locale):
        section = render_text(trial_blocks(answer, kb))
    text = _trial_text(registry, "--format", "text", "--lang", locale)
    title = "\nFor the care team: " if locale == "en" else "\nPara el equipo médico: "
    return section + title + text.split(title, 1)[1]


def test_json_is_never_translated(registry: Path) -> None:
    english = json.loads(_trial_text(registry, "--format", "json"))
    spanish = json.loads(_trial_text(registry, "--format", "json", "--lang", "es"))
    assert spanish == english


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_trial_section_equals_its_golden_file(registry: Path, locale: str) -> None:
    text = _golden_text(registry, locale)
    golden = GOLDEN_TRIALS / f"omaha.{locale}.txt"
    if os.environ.get("ALLPATH_WRITE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "ALLPATH_WRITE_GOLDEN=1, then review git diff tests/golden"


def test_the_care_team_table_in_spanish(registry: Path) -> None:
    text = _trial_text(registry, "--format", "text", "--lang", "es")
    family, care_team = text.split("\nPara el equipo médico: ", 1)
    assert "For the care team" not in text
    header = next(line for line in care_team.splitlines() if line.startswith("Número NCT"))
    assert header.split() == ["Número", "NCT", "Estudio", "Resultado", "Centro", "más", "cercano"] + [
        "Situación",
        "Lo",
        "decidió",
    ]
    rows = [line for line in care_team.splitlines() if line.startswith("NCT0")]
    assert len(rows) == 20
    aall1731 = next(line for line in rows if "AALL1731" in line)
    assert " 0,5 km " in aall1731  # a Spanish decimal comma
    aall1331 = next(line for line in rows if "AALL1331" in line)
    assert "no corresponde" in aall1331 and "etapa de la enfermedad: " in aall1331
    assert re.search(r" \d\.\d{3},\d km ", care_team)  # thousands as Spanish groups them
    assert "may fit" not in care_team and "does not fit" not in care_team
    assert "El texto de cada estudio" in care_team
    assert "Ensayos" in family or "estudio" in family
