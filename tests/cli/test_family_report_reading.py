"""The family report a parent can act on (issue 10, item 4): the report `allpath assess --format text` prints
for every example reads at grade 8 or below, opens with the fever box and never shows a record id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import textstat  # type: ignore[import-untyped]  # the package ships no type information
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
EXAMPLE_PATHS = sorted(p for p in EXAMPLES.glob("*.json") if p.stem != "all")
GRADE_AT_MOST = 8.0
# Source notes name the heading of a document (a title, not a sentence of the report), and the closing
# "Based on" line names the documents and versions; neither is prose a parent reads as advice.
_SOURCE_NOTE = re.compile(r"\(Source: \u201c[^\u201d]*\u201d\)")
_ITEM_MARK = re.compile(r"^(- |\d+\. )")


def report_text(path: Path) -> str:
    result = runner.invoke(app, ["assess", str(path), "--format", "text"])
    assert result.exit_code == 0, result.output
    return result.stdout


def prose(report: str) -> str:
    """The report as sentences: wrapped lines joined, each heading, paragraph and list item one sentence."""
    text = _SOURCE_NOTE.sub("", report.split("\nBased on:", 1)[0])
    units: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= set("=-"):
            units.append(current)
            current = ""
        elif _ITEM_MARK.match(stripped):
            units.append(current)
            current = _ITEM_MARK.sub("", stripped)
        else:
            current = f"{current} {stripped}".strip()
    units.append(current)
    return " ".join(u if u[-1] in ".?!:" else u + "." for u in (u.strip() for u in units) if u)


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_every_example_report_reads_at_grade_8_or_below(path: Path) -> None:
    grade = textstat.flesch_kincaid_grade(prose(report_text(path)))
    assert grade <= GRADE_AT_MOST, f"{path.stem}: Flesch-Kincaid grade {grade:.2f}"


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_every_example_report_opens_with_the_fever_box_and_never_names_the_record(path: Path) -> None:
    report = report_text(path)
    assert report.startswith("Family report for your child\n")
    record_id = json.loads(path.read_text(encoding="utf-8")).get("id")
    assert not record_id or f"record {record_id}" not in report
    fever = report.index("Fever during treatment: call the care team at once")
    assert fever < report.index("Where things stand")
    assert "38 °C (100.4 °F)" in report and "day or night" in report
    assert "Do not give medicine for fever unless the care team tells you to." in report
    # The summary's symptoms at diagnosis are about noticing leukemia, not about a child on treatment.
    assert "an infection that does not go away" not in report


def test_the_grade_measure_tells_plain_words_from_hard_ones() -> None:
    plain = "Call the care team at once. Do not wait."
    hard = "Consolidation intensification necessitates multidisciplinary pharmacological administration."
    assert textstat.flesch_kincaid_grade(prose(plain)) <= GRADE_AT_MOST < textstat.flesch_kincaid_grade(prose(hard))


def _glossary_terms(report: str) -> list[str]:
    glossary = report.split("Words used in this report\n", 1)[1].split("\n\n", 1)[0]
    return [line[2:].split(":", 1)[0] for line in glossary.splitlines() if line.startswith("- ")]


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_every_glossary_term_of_a_report_is_used_in_that_report(path: Path) -> None:
    report = report_text(path)
    before_glossary = _SOURCE_NOTE.sub("", report.split("Words used in this report\n", 1)[0])
    terms = _glossary_terms(report)
    assert terms, "every example's report uses some of the glossary's words"
    for term in terms:
        assert re.search(rf"\b{re.escape(term)}\b", before_glossary.replace("\n", " "), re.IGNORECASE), term


def test_a_term_the_report_does_not_use_stays_out_of_its_glossary() -> None:
    # A relapse report names no intrathecal treatment, so the word is not explained there.
    report = report_text(EXAMPLES / "relapse_marrow_early.json")
    assert "intrathecal" not in report.lower()
    assert "intrathecal" not in _glossary_terms(report)


def test_a_favourable_result_and_the_cog_group_are_explained() -> None:
    report = " ".join(report_text(EXAMPLES / "standard_risk.json").split())
    assert "ETV6::RUNX1. This is a good sign" in report
    assert "your child is in COG low risk. COG low risk is the group with the best chance of cure." in report
    assert "The results behind the COG group:" in report
    assert "The MRD tests found almost no leukemia cells on day 8 and at the end of induction." in report


def test_an_unfavourable_result_is_explained() -> None:
    report = " ".join(report_text(EXAMPLES / "very_high_kmt2a.json").split())
    assert "a change in a gene called KMT2A. It makes the leukemia harder to treat" in report
    assert "COG very high risk means the leukemia is harder to treat" in report


def test_how_long_treatment_lasts_comes_from_the_childs_regimen() -> None:
    # Standard risk: induction 4 + consolidation 4 weeks, then two years from interim maintenance.
    standard = " ".join(report_text(EXAMPLES / "standard_risk.json").split())
    assert "treatment lasts about 2 years and 2 months in all. The first parts take about 8 weeks." in standard
    # High risk: induction 4 + augmented consolidation 8 weeks.
    high = " ".join(report_text(EXAMPLES / "high_risk_age.json").split())
    assert "treatment lasts about 2 years and 3 months in all. The first parts take about 12 weeks." in high


@pytest.mark.parametrize("stem", ["relapse_marrow_early", "very_high_kmt2a", "infant", "refractory"])
def test_without_a_regimen_the_length_depends_on_the_plan(stem: str) -> None:
    report = " ".join(report_text(EXAMPLES / f"{stem}.json").split())
    assert "How long treatment lasts depends on your child's plan." in report
    assert "years and" not in report


def test_a_relapse_report_says_the_group_plainly_names_chemotherapy_and_lists_the_relapse_tests() -> None:
    report = report_text(EXAMPLES / "relapse_marrow_early.json")
    flat = " ".join(report.split())
    assert "Your child's relapse is high risk." in flat
    assert "Relapse treatment includes chemotherapy: several anticancer drugs given together." in flat
    assert "The tests at relapse" in report
    assert "MRD test after the first block of relapse treatment" in flat
    # Not the work-up at diagnosis.
    assert "Chest x-ray" not in report and "What the tests are for" not in report
    assert "Risk group\n" not in report


def test_a_low_risk_relapse_is_said_plainly() -> None:
    flat = " ".join(report_text(EXAMPLES / "relapse_isolated_testis.json").split())
    assert "Your child's relapse is low risk." in flat


def test_a_report_at_diagnosis_does_not_list_the_tests_at_relapse() -> None:
    report = report_text(EXAMPLES / "standard_risk.json")
    assert "What the tests are for" in report
    assert "Tests at relapse" not in report and "relapse treatment" not in report


def test_the_report_shows_the_warnings_of_the_assessment(tmp_path: Path) -> None:
    record = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8")) | {"wbc_per_ul": 500}
    path = tmp_path / "low_count.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    for output_format in ("text", "markdown"):
        result = runner.invoke(app, ["assess", str(path), "--format", output_format])
        assert result.exit_code == 0, result.output
        flat = " ".join(result.stdout.split())
        assert "Results to check with the care team" in flat
        assert "The white blood cell count at diagnosis is 500 per microliter" in flat


def test_a_report_without_warnings_has_no_check_section() -> None:
    assert "Results to check with the care team" not in report_text(EXAMPLES / "standard_risk.json")


def test_the_report_says_what_the_plan_left_out_and_why() -> None:
    flat = " ".join(report_text(EXAMPLES / "infant.json").split())
    assert (
        "Left out of the plan: - Radiation therapy to the brain (and spinal cord). Babies under 1 year old do not get "
        "radiation to the brain or spinal cord, so it is left out of your child's plan." in flat
    )
    assert "Left out of the plan" not in report_text(EXAMPLES / "standard_risk.json")


@pytest.mark.parametrize("stem", ["relapse_marrow_late", "relapse_second"])
def test_a_relapse_without_a_group_says_so_plainly(stem: str) -> None:
    flat = " ".join(report_text(EXAMPLES / f"{stem}.json").split())
    assert "The relapse group is not known yet. The care team will tell you how serious the relapse is." in flat
    assert "Your child's relapse is" not in flat
