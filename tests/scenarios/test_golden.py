"""Golden outputs of the example patients: the assessment (JSON) and the family report (text).

Each example in examples/ has its expected CLI output in tests/golden/examples/, with the knowledge and
engine versions normalised. A difference means an engine, knowledge or report change altered what a
clinician or a family reads: run `python tests/golden/regenerate.py`, review the diff, and commit it with
the change that caused it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from allpath.domain.results import Assessment
from allpath.interfaces.report import build_blocks, render_markdown, render_text
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import ROOT, run
from tests.golden.regenerate import (
    COHORT,
    EXAMPLES,
    FORMATS,
    GOLDEN_EXAMPLES,
    cohort_text,
    example_paths,
    golden_outputs,
    normalise,
    render,
)

REGENERATE = "run `python tests/golden/regenerate.py` and review the diff (git diff tests/golden examples)"
EXAMPLE_PATHS = example_paths()
STEMS = [p.stem for p in EXAMPLE_PATHS]

POPULATIONS = (
    "infant",
    "adolescent_young_adult",
    "t_cell",
    "down_syndrome",
    "ph_positive",
    "cns_disease",
    "testicular_disease",
)


def _golden(stem: str, suffix: str) -> str:
    path = GOLDEN_EXAMPLES / f"{stem}.{suffix}"
    assert path.is_file(), f"{path.relative_to(ROOT)} does not exist: {REGENERATE}"
    return path.read_text(encoding="utf-8")


def _assess_example(stem: str) -> Assessment:
    return run(json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8")))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allpath.interfaces.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_there_are_example_patients() -> None:
    assert len(EXAMPLE_PATHS) >= 20, f"expected the bundled example patients in {EXAMPLES}"


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=STEMS)
def test_example_is_one_record_whose_id_is_its_file_name(path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(record, dict), f"{path.name}: expected one patient record object"
    assert record.get("id") == path.stem


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("suffix", FORMATS)
def test_in_process_output_matches_golden(stem: str, suffix: str) -> None:
    actual = golden_outputs(EXAMPLES / f"{stem}.json")[suffix]
    expected = _golden(stem, suffix)
    assert actual == expected, f"{stem}.{suffix} differs from its golden file: {REGENERATE}"


def test_no_golden_file_without_an_example() -> None:
    expected = {f"{stem}.{suffix}" for stem in STEMS for suffix in FORMATS}
    present = {p.name for p in GOLDEN_EXAMPLES.iterdir() if p.is_file()}
    assert present - expected == set(), f"golden files without an example: {REGENERATE}"
    assert expected - present == set(), f"examples without golden files: {REGENERATE}"


def test_cohort_file_holds_every_example_in_file_name_order() -> None:
    cohort = EXAMPLES / f"{COHORT}.json"
    assert cohort.read_text(encoding="utf-8") == cohort_text(EXAMPLE_PATHS), (
        f"{cohort.relative_to(ROOT)} is out of date with the example files: {REGENERATE}"
    )


def test_examples_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    unlisted = [stem for stem in STEMS if f"`{stem}.json`" not in readme]
    assert unlisted == [], "examples/README.md should give one line for each example"


@pytest.mark.parametrize("stem", ["standard_risk", "relapse_combined"])
def test_normalised_output_does_not_depend_on_the_versions(stem: str, kb: KnowledgeBase) -> None:
    # The text report wraps lines, so a longer or shorter version can move a line break into the sentence
    # that names the versions (even after the hyphen of "kb-"); normalisation must undo that.
    assessment = _assess_example(stem)
    normalised: set[tuple[str, str, str]] = set()
    for knowledge_version in ("kb-0", "kb-5fd2745ce271", "kb-" + "0123456789abcdef" * 3):
        for engine_version in ("0.1.0", "12.34.56rc7"):
            versioned: Assessment = {
                **assessment,
                "knowledge_version": knowledge_version,
                "engine_version": engine_version,
            }
            blocks = build_blocks(versioned, kb)
            text = normalise(render_text(blocks), "txt")
            assert knowledge_version not in text.replace("\n", "")
            assert engine_version not in text
            normalised.add(
                (
                    normalise(json.dumps(versioned, indent=2, ensure_ascii=False) + "\n", "json"),
                    text,
                    normalise(render_markdown(blocks), "md"),
                )
            )
    assert len(normalised) == 1


# ---- The real command line, in a subprocess ------------------------------------------------------------

CLI_JSON_EXAMPLES = ["standard_risk", "multi_population", "relapse_isolated_cns", "missing_data"]


@pytest.mark.parametrize("stem", CLI_JSON_EXAMPLES)
def test_cli_json_output_equals_golden(stem: str) -> None:
    result = _cli("assess", f"examples/{stem}.json", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert normalise(result.stdout, "json") == _golden(stem, "json"), (
        f"the CLI's JSON for {stem} differs from its golden file: {REGENERATE}"
    )


def test_cli_text_output_equals_golden() -> None:
    result = _cli("assess", "examples/ph_positive.json", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert normalise(result.stdout, "txt") == _golden("ph_positive", "txt"), (
        f"the CLI's text report for ph_positive differs from its golden file: {REGENERATE}"
    )


def test_cli_markdown_output_equals_in_process_report() -> None:
    stem = "relapse_combined"
    result = _cli("assess", f"examples/{stem}.json", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = render(json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8")))["md"]
    assert normalise(result.stdout, "md") == normalise(expected, "md")
    assert result.stdout.startswith("# Family report for your child\n")


def test_cli_on_the_bundled_cohort_gives_every_golden_assessment() -> None:
    result = _cli("assess", f"examples/{COHORT}.json", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assessments = json.loads(normalise(result.stdout, "json"))
    assert [a["record_id"] for a in assessments] == STEMS
    for stem, assessment in zip(STEMS, assessments, strict=True):
        assert assessment == json.loads(_golden(stem, "json")), (
            f"the cohort run differs from the golden file for {stem}: {REGENERATE}"
        )


# ---- Coverage: the examples show every population and every relapse type ---------------------------------


@pytest.fixture(scope="module")
def assessments() -> dict[str, Assessment]:
    return {stem: _assess_example(stem) for stem in STEMS}


@pytest.mark.parametrize("population", POPULATIONS)
def test_examples_cover_population(population: str, assessments: dict[str, dict[str, Any]]) -> None:
    members = [stem for stem, a in assessments.items() if population in a["populations"]]
    assert members, f"no example patient belongs to the population {population!r}"


RELAPSE_TYPES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "isolated bone marrow": lambda r: r["sites"] == ["bone_marrow"],
    "isolated cns": lambda r: r["sites"] == ["cns"],
    "isolated testis": lambda r: r["sites"] == ["testis"],
    "combined": lambda r: r["combined"] is True,
}


@pytest.mark.parametrize("relapse_type", RELAPSE_TYPES)
def test_examples_cover_relapse_type(relapse_type: str, assessments: dict[str, dict[str, Any]]) -> None:
    matches = RELAPSE_TYPES[relapse_type]
    found = [stem for stem, a in assessments.items() if a["relapse"] is not None and matches(a["relapse"])]
    assert found, f"no example patient has a relapse of type {relapse_type!r}"


def test_examples_cover_every_disease_state(assessments: dict[str, dict[str, Any]]) -> None:
    states = {a["disease_state"] for a in assessments.values()}
    assert states == {"newly_diagnosed", "relapsed", "refractory"}
