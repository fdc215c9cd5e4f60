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
