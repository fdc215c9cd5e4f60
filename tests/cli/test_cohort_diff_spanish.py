"""``allpath cohort diff --lang es``: the facts, their values, units and numbers of the reviewer's report in Spanish
(issue 14). The inputs' names are the Spanish knowledge base's (``translations/es.yaml``), the units and the value
words the catalog's, the numbers written the Spanish way with every digit kept (``i18n.local_number``). English
keeps the use case's own words, character for character.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.interfaces.cli.cohort_diff_text import DERIVED, UNITS, _derived, _input, _side, _value, render_text
from allpath.interfaces.i18n import gettext, use_locale
from allpath.knowledge.loader import default_data_dir, load_knowledge
from allpath.service.cohort.diff import diff_cohort
from tests.cli.test_cohort_diff_cli import _changed_copy
from tests.service.test_cohort_diff import AYA_CHANGE, AYA_COHORT, WBC_CHANGE, WBC_COHORT, table_of


def _english_words() -> list[str]:
    """Every English input name and unit of the knowledge base ("%" is said the same)."""
    inputs = load_knowledge().inputs.values()
    return sorted({spec.label for spec in inputs} | {spec.unit for spec in inputs if spec.unit and spec.unit != "%"})


def _english_left(text: str) -> list[str]:
    return [word for word in _english_words() if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)]


def _report(root: Path, rows: list[dict[str, object]], change: dict[str, list[tuple[str, str]]], lang: str) -> str:
    cohort = root / "cohort.json"
    cohort.write_text(json.dumps(rows), encoding="utf-8")
    changed = root / "changed" if (root / "changed").exists() else _changed_copy(root / "changed", change)
    result = CliRunner().invoke(app, ["cohort", "diff", str(cohort), "--against", str(changed), "-q", "--lang", lang])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wbc_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wbc_es")


def test_the_spanish_report_names_every_fact_value_and_unit_in_spanish(wbc_root: Path) -> None:
    english = _report(wbc_root, WBC_COHORT, WBC_CHANGE, "en")
    spanish = _report(wbc_root, WBC_COHORT, WBC_CHANGE, "es")
    # The English report does name the facts and units (the check below would find them)...
    assert {"white blood cell count at diagnosis", "per microliter", "years"} <= set(_english_left(english))
    # ... and the Spanish one none of them.
    assert _english_left(spanish) == []
    assert "umbral de recuento de glóbulos blancos al diagnóstico: antes al menos 50.000 por microlitro, " in spanish
    assert "ahora al menos 40.000 por microlitro" in spanish
    assert "; recuento de glóbulos blancos al diagnóstico 49.999 por microlitro" in spanish
    assert "edad al diagnóstico 5 años" in spanish and "ERM en sangre del día 8 0,001 %" in spanish
    assert "esteroides dados antes de las pruebas de diagnóstico no," in spanish
    assert " none" not in spanish and "50,000" not in spanish and "0.001" not in spanish
    assert "Conocimiento en uso: kb-" in spanish and " (incluido en allpath)\n" in spanish and "bundled" not in spanish


def test_a_decimal_value_is_written_the_spanish_way(tmp_path: Path) -> None:
    spanish = _report(tmp_path, AYA_COHORT, AYA_CHANGE, "es")
    assert "umbral de edad al diagnóstico: antes al menos 15 años, ahora al menos 13 años" in spanish
    assert "; edad al diagnóstico 14,5 años" in spanish and _english_left(spanish) == []


def test_values_numbers_and_units_in_each_language() -> None:
    cases = [
        ((49_999.5, "per microliter"), "49,999.5 per microliter", "49.999,5 por microlitro"),
        ((1_250_000, "per microliter"), "1,250,000 per microliter", "1.250.000 por microlitro"),
        ((0.0001, "%"), "0.0001 %", "0,0001 %"),  # every digit kept (the grid probes 0.0001 below a cut point)
        ((14.5, "years"), "14.5 years", "14,5 años"),
        ((None, "months"), "not recorded", "no anotado"),
        ((True, None), "yes", "sí"),
        (([], None), "none", "ninguno"),
        ((["KMT2A_rearranged", "BCR::ABL1"], None), "BCR::ABL1, KMT2A_rearranged", "BCR::ABL1, KMT2A_rearranged"),
        (("male", None), "male", "masculino"),
        (("CNS3", None), "CNS3", "CNS3"),  # a code stays as the knowledge files write it
    ]
    for (value, unit), english, spanish in cases:
        assert _value(value, unit) == english
        with use_locale("es"):
            assert _value(value, unit) == spanish


def test_the_english_report_keeps_the_use_cases_words(tmp_path: Path) -> None:
    """English: each threshold, value and deciding rule's reading is the use case's own English text."""
    old, new = load_knowledge(), load_knowledge(_changed_copy(tmp_path / "changed", WBC_CHANGE))
    result = diff_cohort([table_of(WBC_COHORT)], old, new)
    text = render_text(result, ("bundled", "changed"), 0)
    thresholds = [t for record in result.moved for move in record.moves for r in move.rules for t in r.thresholds]
    deciding = [r for record in result.moved for move in record.moves for r in move.deciding_before]
    assert thresholds and deciding
    for t in thresholds:
        assert f"{t.before} before, {t.after} now" in text and f"; {t.fact_label} {t.value}" in text
    for r in deciding:
        assert ", ".join(f"{label} {value}" for label, value in r.inputs) in text


def test_every_unit_of_the_inputs_is_a_catalog_word() -> None:
    inputs = yaml.safe_load((default_data_dir() / "inputs.yaml").read_text(encoding="utf-8"))["inputs"]
    units = {spec["unit"] for spec in inputs if spec.get("unit")} - {"%"}
    assert units == set(UNITS)
    with use_locale("es"):
        assert all(gettext(unit) != unit for unit in units)


def test_derived_facts_and_their_groups_in_each_language() -> None:
    """A deciding rule that read a derived fact (a COG rule reads the disease state, a relapse rule the relapse
    number), and a rule that follows from another group: English as the use case writes them, Spanish in words."""
    cases = [
        (("disease_state", "disease state", "newly_diagnosed", None), "disease state newly diagnosed"),
        (("risk_group", "risk group", "very_high", None), "risk group very high"),
        (("relapse_number", "relapse number", 1, None), "relapse number 1"),
        (("age_at_latest_event_years", "age at latest event years", 12.5, None), "age at latest event years 12.5"),
        (("wbc_per_ul", "white blood cell count at diagnosis", 52000, "per microliter"), None),
    ]
    spanish = [
        "etapa de la enfermedad recién diagnosticada",
        "grupo de riesgo muy alto",
        "número de recaídas 1",
        "edad en la última recaída o al diagnóstico (años) 12,5",
        "recuento de glóbulos blancos al diagnóstico 52.000 por microlitro",
    ]
    for (reading, english), words in zip(cases, spanish, strict=True):
        if english is not None:
            assert _input(*reading) == english
        with use_locale("es"):
            label = "recuento de glóbulos blancos al diagnóstico" if reading[0] == "wbc_per_ul" else reading[1]
            assert _input(reading[0], label, *reading[2:]) == words
    assert (_derived("risk group"), _side("bundled"), _side("kb/new")) == ("risk group", "bundled", "kb/new")
    with use_locale("es"):
        assert (_derived("risk group"), _derived("populations")) == ("grupo de riesgo", "poblaciones")
        assert (_side("bundled"), _side("kb/new")) == ("incluido en allpath", "kb/new")


def test_every_derived_fact_has_its_words() -> None:
    assert set(DERIVED) == load_knowledge().derived_facts
    assert all(words == fact.replace("_", " ") for fact, words in DERIVED.items())  # the use case's English
    with use_locale("es"):
        assert all(gettext(words) != words for words in DERIVED.values())
