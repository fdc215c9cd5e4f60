"""The knowledge base's plain-language texts in Spanish (issue 14, items 2, 4 and 5).

Translations are data (``data/translations/es.yaml``) applied when the knowledge base is loaded for a locale:
the English base is unchanged, a changed English text makes its translation stale (and the English text is shown
until it is translated again), the lint fails for a missing or stale text outside the ratchet list ``pending``
and warns inside it, ``knowledge_version`` covers the translations, the Spanish texts use the glossary's terms,
and they read at the level of the English target (grade 8).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import textstat  # type: ignore[import-untyped]  # the package ships no type information
import yaml

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.errors import KnowledgeError
from allpath.interfaces.report import build_blocks
from allpath.knowledge import schema as s
from allpath.knowledge.lint import lint
from allpath.knowledge.loader import KnowledgeBase, _load, default_data_dir, load_knowledge
from allpath.knowledge.translations import GlossaryFile, TranslationFile, text_hash, todo, translatable

TRANSLATIONS = default_data_dir() / "translations"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _english_raw() -> dict[str, object]:
    return {name: yaml.safe_load((default_data_dir() / name).read_text(encoding="utf-8")) for name in s.FILES}


def _spanish() -> TranslationFile:
    return TranslationFile.model_validate(yaml.safe_load((TRANSLATIONS / "es.yaml").read_text(encoding="utf-8")))


def _glossary() -> GlossaryFile:
    return GlossaryFile.model_validate(yaml.safe_load((TRANSLATIONS / "glossary_es.yaml").read_text(encoding="utf-8")))


def _translated_pairs() -> list[tuple[str, str, str]]:
    """(path, English, Spanish) of every current translation."""
    texts = _spanish().texts
    return [
        (path, english, texts[path].text)
        for path, _, _, english in translatable(_english_raw())
        if path in texts and texts[path].source_hash == text_hash(english)
    ]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- the English base is unchanged; the Spanish one has the translated texts ---------------------------------


def test_the_english_base_is_the_same_with_or_without_translations(data: Path) -> None:
    with_translations = _load(data)
    shutil.rmtree(data / "translations")
    without = _load(data)
    assert with_translations.files == without.files
    assert with_translations.text == without.text and with_translations.phases == without.phases
    assert with_translations.locale == "en" and with_translations.translation is None
    assert with_translations.version != without.version  # knowledge_version covers the translations


def test_a_change_of_a_translation_changes_the_knowledge_version(data: Path) -> None:
    before = _load(data).version
    _edit(data / "translations" / "es.yaml", "Llame de día o de noche.", "Llame a cualquier hora.")
    assert _load(data).version != before


def test_the_spanish_base_reads_the_translated_texts(kb: KnowledgeBase) -> None:
    spanish = load_knowledge(locale="es")
    assert spanish.locale == "es" and spanish.translation is not None
    assert spanish.version == kb.version
    assert (
        spanish.text.fever_during_treatment.title == "Fiebre durante el tratamiento: llame enseguida al equipo médico"
    )
    assert spanish.text.risk_group_meaning["standard"].startswith("Riesgo estándar")
    assert [p.label for p in spanish.phases][0] == "Inducción de la remisión"
    assert kb.text.fever_during_treatment.title == "Fever during treatment: call the care team at once"
    # what is not a text stays as it is: ids, citations, code mappings, the tests of a relapse
    assert spanish.text.scheme_correspondence == kb.text.scheme_correspondence
    assert spanish.text.relapse.tests == kb.text.relapse.tests
    assert spanish.text.fever_during_treatment.cite == kb.text.fever_during_treatment.cite


def test_every_translation_is_in_place_in_the_spanish_base() -> None:
    spanish_raw: dict[str, object] = {
        name: model.model_dump(mode="json") for name, model in load_knowledge(locale="es").files.items()
    }
    placed = {text for _, _, _, text in translatable(spanish_raw)}  # by text: a glossary item's key is translated
    for path, source, translated in _translated_pairs():
        assert translated in placed, path
        assert source == translated or source not in placed, path  # no English text left where it was translated


def test_a_language_without_translation_is_refused() -> None:
    with pytest.raises(KnowledgeError, match="no translation for the language 'xx'"):
        load_knowledge(locale="xx")


# --- stale and missing texts, and the lint's ratchet ----------------------------------------------------------


def test_a_changed_english_text_makes_its_translation_stale_and_shows_the_english(data: Path) -> None:
    _edit(data / "text.yaml", "Call day or night. Do not wait for the clinic to open.", "Call day or night.")
    spanish = _load(data, "es")
    assert spanish.text.fever_during_treatment.items[2] == "Call day or night."  # not the old translation
    assert spanish.text.fever_during_treatment.items[0].startswith("Llame enseguida")
    report = lint(_load(data))
    assert report.errors == [
        "translations/es.yaml: text.yaml/fever_during_treatment/items/2 has a translation of an older English text"
    ]


def test_the_entries_still_to_write_are_listed_with_the_new_hash(data: Path) -> None:
    assert todo(data, "es") == ""
    _edit(data / "text.yaml", "Call day or night. Do not wait for the clinic to open.", "Call day or night.")
    assert todo(data, "es") == (
        "  # English: Call day or night.\n"
        '  "text.yaml/fever_during_treatment/items/2":\n'
        f'    source_hash: "{text_hash("Call day or night.")}"\n'
        '    text: "Llame de día o de noche. No espere a que abra la clínica."\n'
    )


def test_a_missing_text_outside_the_pending_list_fails_the_lint(data: Path) -> None:
    _edit(data / "translations" / "es.yaml", '  "text.yaml/support/text":', '  "text.yaml/support/removed":')
    report = lint(_load(data))
    assert "translations/es.yaml: text.yaml/support/text has no translation" in report.errors
    assert "translations/es.yaml: text.yaml/support/removed is translated, but the knowledge base has no such text" in (
        report.errors
    )


def test_a_missing_text_under_a_pending_prefix_is_a_warning_and_the_prefix_is_a_whole_key(data: Path) -> None:
    _edit(data / "translations" / "es.yaml", "pending: []", 'pending:\n  - "text.yaml/trials_section"')
    _edit(data / "translations" / "es.yaml", '  "text.yaml/trials_section/heading":', '  "text.yaml/trials_section/x":')
    report = lint(_load(data))
    heading = "translations/es.yaml: text.yaml/trials_section/heading has no translation"
    assert heading in report.warnings and heading not in report.errors
    # a prefix names whole keys: "text.yaml/trials" does not cover "text.yaml/trials_section"
    _edit(data / "translations" / "es.yaml", '  - "text.yaml/trials_section"', '  - "text.yaml/trials"')
    assert heading in lint(_load(data)).errors


def test_the_completed_files_have_no_gap(kb: KnowledgeBase) -> None:
    report = lint(kb)
    assert [e for e in report.errors if e.startswith("translations/")] == []
    gaps = kb.translation_gaps["es"]
    assert not [g for g in gaps if not g.pending]
    assert gaps == ()  # every family text has a current Spanish version
    assert _spanish().pending == []  # the ratchet is at its end: nothing may be missing or stale


def test_with_the_pending_list_empty_a_missing_text_is_an_error_not_a_warning(data: Path) -> None:
    """The mechanism stays: with no prefix left, a text that loses its translation fails the lint."""
    _edit(data / "translations" / "es.yaml", '  "text.yaml/trials_section/heading":', '  "text.yaml/trials_section/x":')
    report = lint(_load(data))
    heading = "translations/es.yaml: text.yaml/trials_section/heading has no translation"
    assert heading in report.errors and heading not in report.warnings


# The texts of the road ahead, the check-ups after treatment, the trial section and the plan's medicine names that
# a family reads: one of each kind of path. Each is translatable, so a missing Spanish text fails the lint.
FAMILY_TEXTS = [
    "regimens.yaml/regimens/[b_all_standard_risk]/phases/[maintenance]/label",
    "regimens.yaml/regimens/[b_all_high_risk]/label",
    "regimens.yaml/checkpoints/[day8_blood_mrd]/label",
    "regimens.yaml/checkpoints/[end_of_consolidation_mrd]/purpose",
    "regimens.yaml/selection/not_covered/infant",
    "regimens.yaml/selection/notes/[roadmap.note.cns_extra_intrathecal]/text",
    "regimens.yaml/total_duration/explanation",
    "survivorship.yaml/screening/[surv.cardiac.recommended]/late_effect",
    "survivorship.yaml/screening/[surv.cyclophosphamide_male]/test",
    "survivorship.yaml/screening/[surv.dexamethasone_age10_osteonecrosis]/explanation",
    "survivorship.yaml/anthracyclines/not_covered/idarubicin",
    "survivorship.yaml/not_covered/[surv.not_covered.ltfu_schedules]/text",
    "trials.yaml/statuses/labels/RECRUITING",
    "drugs.yaml/drugs/[methotrexate]/label",
    "drugs.yaml/drugs/[inotuzumab ozogamicin]/label",
]


@pytest.mark.parametrize("path", FAMILY_TEXTS)
def test_a_missing_road_ahead_check_up_trial_or_medicine_text_fails_the_lint(data: Path, path: str) -> None:
    assert path in {p for p, _, _, _ in translatable(_english_raw())}
    _edit(data / "translations" / "es.yaml", f'  "{path}":', f'  "{path}/gone":')
    assert f"translations/es.yaml: {path} has no translation" in lint(_load(data)).errors


def test_every_population_label_is_translatable_and_a_missing_one_fails_the_lint(data: Path) -> None:
    """A population's name is read in the reader's language (the assessment, the cohort diff's report): each one
    is a text to translate, so a population added, or a label changed, without its Spanish name fails the lint."""
    populations = yaml.safe_load((default_data_dir() / "populations.yaml").read_text(encoding="utf-8"))
    labels = {f"populations.yaml/populations/[{p['id']}]/label" for p in populations["populations"]}
    assert len(labels) >= 7 and labels <= {path for path, _, _, _ in translatable(_english_raw())}
    assert labels <= set(_spanish().texts)
    _edit(data / "populations.yaml", 'label: "leukemia in the testicles"', 'label: "leukemia in a testicle"')
    path = "populations.yaml/populations/[testicular_disease]/label"
    assert f"translations/es.yaml: {path} has a translation of an older English text" in lint(_load(data)).errors
    _edit(data / "translations" / "es.yaml", '  "populations.yaml/populations/[infant]/label":', '  "gone":')
    assert "translations/es.yaml: populations.yaml/populations/[infant]/label has no translation" in (
        lint(_load(data)).errors
    )


def test_every_input_label_is_translatable_and_the_derived_facts_are_not(data: Path) -> None:
    """An input's name is read beside its value in the reader's language (the cohort diff's report): each one is
    a text to translate, so an input added, or a label changed, without its Spanish name fails the lint. The
    derived facts' descriptions are no reader's words and stay out."""
    inputs = yaml.safe_load((default_data_dir() / "inputs.yaml").read_text(encoding="utf-8"))
    labels = {f"inputs.yaml/inputs/[{i['id']}]/label" for i in inputs["inputs"]}
    paths = {path for path, _, _, _ in translatable(_english_raw())}
    assert len(labels) >= 19 and labels <= paths and labels <= set(_spanish().texts)
    assert not {path for path in paths if path.startswith("inputs.yaml/") and path not in labels}
    spanish = load_knowledge(locale="es")
    assert spanish.inputs["wbc_per_ul"].label == "recuento de glóbulos blancos al diagnóstico"
    assert spanish.inputs["wbc_per_ul"].unit == load_knowledge().inputs["wbc_per_ul"].unit  # units: the catalog's
    _edit(data / "inputs.yaml", 'label: "day 8 blood MRD"', 'label: "day-8 blood MRD"')
    path = "inputs.yaml/inputs/[day8_blood_mrd_pct]/label"
    assert f"translations/es.yaml: {path} has a translation of an older English text" in lint(_load(data)).errors
    _edit(data / "translations" / "es.yaml", '  "inputs.yaml/inputs/[sex]/label":', '  "gone":')
    assert "translations/es.yaml: inputs.yaml/inputs/[sex]/label has no translation" in lint(_load(data)).errors


def test_the_texts_for_the_care_team_in_the_same_files_are_not_translatable() -> None:
    """Boundary: the dose tables' medicine names, a drug's schedule, the sources, ids, and the survivorship
    explanations that the family report does not show (with a dose, or of an item that is not covered) stay
    English; those it shows (a covered item without a test) are translatable."""
    paths = {path for path, _, _, _ in translatable(_english_raw())}
    by_file = {name: {p for p in paths if p.startswith(name)} for name in ("regimens.yaml", "survivorship.yaml")}
    assert "drugs.yaml/drugs/[pegaspargase]/dosing/label" not in paths
    assert "drugs.yaml/drugs/[methotrexate]/dosing/label" not in paths
    assert "survivorship.yaml/screening/[surv.cardiac.recommended]/explanation" not in paths
    assert "survivorship.yaml/screening/[surv.total_body_irradiation]/explanation" not in paths
    assert "survivorship.yaml/screening/[surv.cyclophosphamide_female]/explanation" not in paths
    assert "survivorship.yaml/screening/[surv.cyclophosphamide_male]/explanation" not in paths  # has a test
    assert "survivorship.yaml/screening/[surv.methotrexate]/explanation" in paths
    assert "survivorship.yaml/screening/[surv.cranial_radiation]/explanation" in paths
    assert "survivorship.yaml/anthracyclines/alternatives/0/label" not in paths
    assert "trials.yaml/statuses/reason" not in paths
    assert not [
        p for p in by_file["regimens.yaml"] | by_file["survivorship.yaml"] if "/evidence/" in p or "/drugs/" in p
    ]
    assert not [p for p in paths if p.endswith(("/id", "/fact", "/reference"))]


def test_a_translation_must_keep_the_fields_the_report_fills_in(data: Path) -> None:
    _edit(data / "translations" / "es.yaml", "sigue {more_years}.", "sigue unos años más.")
    assert (
        "translations/es.yaml: text.yaml/treatment_length/with_regimen is translated with other {...} fields than the "
        "English text" in lint(_load(data)).errors
    )


def test_every_translatable_text_of_text_yaml_is_found() -> None:
    """Boundary of what counts as a text: all of text.yaml's words, none of its ids, citations or mappings."""
    paths = {path for path, _, _, _ in translatable(_english_raw())}
    assert "text.yaml/glossary/[MRD]/meaning" in paths and "text.yaml/relapse/group_words/low" in paths
    assert "catalog.yaml/therapies/[clinical_trial]/plain" in paths  # a list item by its code
    assert not [p for p in paths if "/cite/" in p or "scheme_correspondence" in p or p.endswith("comparison_id")]
    assert not [p for p in paths if p.startswith("text.yaml/relapse/tests")]


# --- the review flag and the glossary ---------------------------------------------------------------------------


def test_the_translation_says_it_is_not_yet_reviewed_by_a_clinician() -> None:
    spanish = load_knowledge(locale="es").translation
    assert spanish is not None and spanish.reviewed_by_clinician is False
    assert "aún no ha sido revisada por un clínico" in spanish.review_notice


def test_the_family_report_of_the_spanish_base_says_the_translation_is_not_reviewed(kb: KnowledgeBase) -> None:
    """No consumer changes: the report built with the Spanish base carries its texts and the review notice right
    after the family disclaimer; the English report has no notice (its golden files are unchanged)."""
    record = parse_record(json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8")))
    spanish = load_knowledge(locale="es")
    paragraphs = [b.text for b in build_blocks(assess(record, spanish), spanish) if b.kind == "paragraph"]
    assert spanish.translation is not None
    assert paragraphs[:2] == [spanish.text.family_disclaimer, spanish.translation.review_notice]
    assert paragraphs[0].startswith("Este informe explica")
    texts = [b.text for b in build_blocks(assess(record, kb), kb)]
    assert spanish.translation.review_notice not in texts and kb.text.family_disclaimer in texts


def test_every_glossary_term_names_the_page_it_was_checked_against() -> None:
    glossary = _glossary()
    assert len(glossary.terms) >= 10
    assert {t.translation for t in glossary.terms} >= {
        "leucemia linfoblástica aguda",
        "médula ósea",
        "punción lumbar",
        "enfermedad residual mínima",
        "quimioterapia",
        "recaída",
    }
    for term in glossary.terms:
        assert term.checked_against.startswith(("https://", "http://")), term.en


def test_every_spanish_text_uses_the_glossary_term_for_each_english_term_it_translates() -> None:
    glossary = _glossary()
    pairs = _translated_pairs()
    assert len(pairs) >= 80
    wrong = []
    for term in glossary.terms:
        english = re.compile(rf"\b{re.escape(term.en)}\b", re.IGNORECASE)
        spellings = [term.translation, *term.forms]
        for path, source, translated in pairs:
            if english.search(source) and not any(word.lower() in translated.lower() for word in spellings):
                wrong.append(f"{path}: {term.en} -> {term.translation}")
    assert wrong == []


def test_the_glossary_check_finds_a_wrong_term() -> None:
    """The check above is not vacuous: 'relapse' said as 'recurrencia' is caught."""
    relapse = next(t for t in _glossary().terms if t.en == "relapse")
    assert re.search(r"\brelapse\b", "A high-risk relapse", re.IGNORECASE)
    assert relapse.translation not in "Una recurrencia de riesgo alto"


# --- readability --------------------------------------------------------------------------------------------------

# The English family report reads at US grade 8 or below (Flesch-Kincaid, tests/web/test_report_reading.py).
# Fernández Huerta's scale (legible.es/blog/lecturabilidad-fernandez-huerta): 60-70 is "normal (para adulto)",
# grade 7 or 8; so grade 8 is a score of 60 or more. Szigriszt-Pazos on the INFLESZ scale validated for patient
# texts (Barrio-Cantalejo 2008, as given at legible.es): 55-65 "normal", so 55 or more.
FERNANDEZ_HUERTA_AT_LEAST = 60.0
SZIGRISZT_PAZOS_AT_LEAST = 55.0


def _prose(texts: list[str]) -> str:
    return " ".join(t if t.rstrip()[-1] in ".?!:" else t + "." for t in texts)


def test_the_spanish_texts_read_at_grade_8_or_easier() -> None:
    textstat.set_lang("es")
    try:
        spanish = _prose([translated for _, _, translated in _translated_pairs()])
        assert textstat.fernandez_huerta(spanish) >= FERNANDEZ_HUERTA_AT_LEAST
        assert textstat.szigriszt_pazos(spanish) >= SZIGRISZT_PAZOS_AT_LEAST
        hard = _prose(
            [
                "La administración concomitante de quimioterapia intratecal profiláctica condiciona "
                "significativamente la probabilidad de supervivencia libre de acontecimientos adversos "
                "en pacientes pediátricos con leucemia linfoblástica aguda de precursores B."
            ]
        )
        assert textstat.fernandez_huerta(hard) < FERNANDEZ_HUERTA_AT_LEAST  # the measure tells hard from plain
    finally:
        textstat.set_lang("en_US")
