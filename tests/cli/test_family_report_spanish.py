"""The family report in Spanish (issue 14): ``allpath assess EXAMPLE --format text --lang es`` for every example
equals its golden file (tests/golden/examples_es, written by tests/golden/regenerate.py), leaves no English
sentence behind, and reads plainly (Fernández Huerta, the target of tests/knowledge/test_translations.py); and
``allpath trials search --format text --lang es`` writes the trial section in Spanish too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import textstat  # type: ignore[import-untyped]  # the package ships no type information
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.interfaces.i18n import LOCALE_DIR
from tests.builders import record
from tests.cli.test_family_report_reading import prose
from tests.conftest import EXAMPLES
from tests.golden.regenerate import GOLDEN_EXAMPLES_ES, normalise_report_es
from tests.knowledge.test_translations import FERNANDEZ_HUERTA_AT_LEAST

runner = CliRunner()
EXAMPLE_PATHS = sorted(p for p in EXAMPLES.glob("*.json") if p.stem != "all")
# Sentences the Spanish report may share with the English one, each for a reason:
ALLOWED_ENGLISH = {
    # The closing names the source document by its own (English) title: "Childhood Acute Lymphoblastic
    # Leukemia (PDQ®)–Health Professional Version" (a title, not a sentence a family reads as advice).
    "Childhood Acute Lymphoblastic Leukemia (PDQ®)",
}
# A source note: "(Source: “…”)" in English; in Spanish "(Fuente en inglés: resumen del NCI, sección «…»)".
_SOURCE_NOTE = re.compile(
    r"\((?:Source: \u201c[^\u201d]*\u201d|Fuente en inglés: [^()\u00ab]*\u00ab[^\u00bb]*\u00bb)\)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}|%\([a-z_]+\)s")


def _report(path: Path, *lang: str) -> str:
    result = runner.invoke(app, ["assess", str(path), "--format", "text", *lang])
    assert result.exit_code == 0, result.output
    return result.stdout


def _sentences(text: str) -> set[str]:
    """The sentences of a report or a text, with at least three words (a label or a name is not a sentence)."""
    units = _SENTENCE_END.split(_SOURCE_NOTE.sub("", " ".join(text.split())))
    return {u.strip() for u in units if len(u.split()) >= 3}


def _catalog_sentences() -> set[str]:
    """The English catalog's sentences without placeholders (a sentence with one is checked through the
    English report, where it is filled in)."""
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        ids = [m.id for m in read_po(handle) if m.id]
    texts = [i if isinstance(i, str) else i[0] for i in ids]
    return {s for text in texts for s in _sentences(text) if not _PLACEHOLDER.search(s)}


def _english_left(spanish: str, english: str, medicines: frozenset[str] = frozenset()) -> set[str]:
    """The English sentences found in the Spanish text; a list of the plan's medicine names is no sentence (the
    knowledge base names each medicine by one label, its international name, in both languages)."""
    english_sentences = _sentences(english) | _catalog_sentences()
    found = _sentences(spanish) & english_sentences
    return {
        s
        for s in found
        if not any(allowed in s for allowed in ALLOWED_ENGLISH) and not set(s.rstrip(".").split(", ")) <= medicines
    }


def _medicines(path: Path) -> frozenset[str]:
    result = runner.invoke(app, ["assess", str(path), "--format", "json"])
    return frozenset(drug["label"] for drug in json.loads(result.stdout)["plan"]["drugs"])


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_the_spanish_report_of_every_example_equals_its_golden_file(path: Path) -> None:
    golden = GOLDEN_EXAMPLES_ES / f"{path.stem}.txt"
    assert normalise_report_es(_report(path, "--lang", "es")) == golden.read_text(encoding="utf-8"), (
        "run `python tests/golden/regenerate.py` and review the diff (git diff tests/golden)"
    )


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_no_english_sentence_is_left_in_the_spanish_report(path: Path) -> None:
    spanish = _report(path, "--lang", "es")
    assert spanish.startswith("Informe para la familia de su hijo\n")
    assert not _english_left(spanish, _report(path), _medicines(path)), path.stem


def test_the_english_sentence_check_finds_an_english_sentence() -> None:
    english = "Where things stand. Your child's risk group is: standard risk. Dates can move."
    assert _english_left("Cómo están las cosas. Dates can move.", english) == {"Dates can move."}
    names = "Medicinas que nombra este plan: vincristine, methotrexate, cytarabine."
    assert _english_left(names, "Medicines: vincristine, methotrexate, cytarabine.") == {
        "vincristine, methotrexate, cytarabine."
    }
    assert not _english_left(
        names,
        "Medicines: vincristine, methotrexate, cytarabine.",
        frozenset({"vincristine", "methotrexate", "cytarabine"}),
    )
    assert not _english_left("Cómo están las cosas. Las fechas pueden cambiar.", english)


def test_english_stays_the_default_and_en_is_the_same_report() -> None:
    path = EXAMPLES / "standard_risk.json"
    assert _report(path) == _report(path, "--lang", "en")
    assert _report(path).startswith("Family report for your child\n")


def test_an_unknown_language_is_refused() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLES / "standard_risk.json"), "--format", "text", "--lang", "fr"])
    assert result.exit_code == 2


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_every_spanish_report_reads_plainly(path: Path) -> None:
    text = prose(_SOURCE_NOTE.sub("", _report(path, "--lang", "es").split("\nBasado en:", 1)[0]))
    textstat.set_lang("es")
    try:
        score = textstat.fernandez_huerta(text)
    finally:
        textstat.set_lang("en_US")
    assert score >= FERNANDEZ_HUERTA_AT_LEAST, f"{path.stem}: Fernández Huerta {score:.1f}"


# ---- the trial section -----------------------------------------------------------------------------------------


def _trial_section(registry: Path, monkeypatch: pytest.MonkeyPatch, *lang: str) -> str:
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(registry / "data"))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALLPATH_TRIALS_OUTDATED_DAYS", raising=False)
    child = registry / "child.json"
    child.write_text(
        json.dumps(record(age_years=None, birth_date="2021-08-14", diagnosis_date="2026-11-20")), encoding="utf-8"
    )
    args = ["trials", "search", str(child), "--on", "2026-12-02", "--near", "Omaha, NE", "--format", "text", *lang]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_trial_section_is_in_spanish_with_no_english_sentence_left(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = _trial_section(registry, monkeypatch)
    spanish = _trial_section(registry, monkeypatch, "--lang", "es")
    assert _family_part(spanish) != _family_part(english)
    left = _english_left(_family_part(spanish), _family_part(english))
    assert not left, left


def _family_part(output: str) -> str:
    """The trial section a family reads, without the care team's table after it (whose criteria explanations are
    the trial search's own English words; tests/cli/test_cli_languages.py reads the table)."""
    return re.split(r"\n(?:For the care team|Para el equipo médico): ", output, maxsplit=1)[0]


# ---- the road ahead and the check-ups after treatment (the care overview's parts of the report) ----------------


def _treatment_parts(path: Path, locale: str) -> str:
    from datetime import date

    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.engine.survivorship import survivorship_plan
    from allpath.interfaces.i18n import use_locale
    from allpath.interfaces.report import render_text
    from allpath.interfaces.report.treatment import roadmap_blocks, survivorship_blocks
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge(locale=locale)
    record = parse_record(json.loads(path.read_text(encoding="utf-8")))
    roadmap = build_roadmap(record, assess(record, kb), kb, date(2026, 1, 5))
    with use_locale(locale):
        return render_text(roadmap_blocks(roadmap) + survivorship_blocks(survivorship_plan(record, kb, roadmap)))


@pytest.mark.parametrize("stem", ["standard_risk", "high_risk_age", "on_treatment"])
def test_the_road_ahead_and_the_check_ups_are_in_spanish(stem: str) -> None:
    path = EXAMPLES / f"{stem}.json"
    spanish, english = _treatment_parts(path, "es"), _treatment_parts(path, "en")
    assert spanish.startswith("El camino por delante\n")
    assert "Controles después del tratamiento" in spanish
    assert "lunes, 5 de enero de 2026" in spanish  # the first day, in Spanish words
    # The phase labels, checkpoints and survivorship texts come from therapy.yaml and survivorship.yaml, whose
    # Spanish is the knowledge translations' part (data/translations/es.yaml): here the report's own sentences.
    assert not _catalog_sentences_left(spanish, english), stem
    assert "Dates can move; the care team will confirm." in _catalog_sentences_left(english, english)  # it finds


def _catalog_sentences_left(spanish: str, english: str) -> set[str]:
    """The English sentences of the report's own words (a catalog entry, its placeholders filled) in the Spanish."""
    with (LOCALE_DIR / "messages.pot").open("rb") as handle:
        ids = [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id]
    patterns = [
        re.compile(".*?".join(re.escape(part) for part in _PLACEHOLDER.split(sentence)))
        for text in ids
        for sentence in _sentences(text)
    ]
    own = {s for s in _sentences(english) if any(p.fullmatch(s) for p in patterns)}
    return own & _sentences(spanish)
