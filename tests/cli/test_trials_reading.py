"""The "Trials to ask about" section a parent reads (issue 13): for several children of the 20-study snapshot
(studies that may fit near a place, without a place, with a radius that leaves none near, nothing that fits,
an empty registry) it reads at grade 8 or below, measured as the family report is
(``tests/cli/test_family_report_reading.py``: Flesch-Kincaid on the text as sentences), and shows no record
path, no record id and no code but the NCT number: no study code of the sponsor, no registry status, verdict
or criterion name, never "eligible". The section always says that only the care team and the study team can
confirm, the registry's copy date and the disclaimer.

The section is taken from ``allpath trials search --format text`` (the part before the care-team table), and
built directly from that command's JSON answer, changed, for the cases the snapshot does not hold.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import cast

import pytest
import textstat  # type: ignore[import-untyped]  # the package ships no type information
from typer.testing import CliRunner

from allpath.domain.results.trials import TrialResult, TrialSearch
from allpath.interfaces.cli import app
from allpath.interfaces.i18n import use_locale
from allpath.interfaces.report.blocks import render_markdown, render_text
from allpath.interfaces.report.trials import SHOWN_STUDIES, SUMMARY_CHARACTERS, _where, trial_blocks
from allpath.knowledge.loader import load_knowledge
from tests.builders import record
from tests.cli.test_family_report_reading import GRADE_AT_MOST, prose

runner = CliRunner()
SEARCH_DAY = "2026-12-01"
CHILDREN: dict[str, tuple[dict[str, object], list[str]]] = {
    "five-year-old near Omaha": (
        {"birth_date": "2021-08-14", "diagnosis_date": "2026-11-20"},
        ["--near", "Omaha, NE", "--status", "any"],
    ),
    "five-year-old, no place": ({"birth_date": "2021-08-14", "diagnosis_date": "2026-11-20"}, ["--status", "any"]),
    "infant with KMT2A near Boston": (
        {"birth_date": "2026-06-10", "diagnosis_date": "2026-11-25", "genetics": ["KMT2A_rearranged"]},
        ["--near", "Boston, MA", "--status", "any"],
    ),
    "first relapse, recruiting, within 1500 km of Denver": (
        {
            "birth_date": "2014-06-01",
            "diagnosis_date": "2020-01-10",
            "relapses": [{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
        },
        ["--near", "Denver, CO", "--radius-km", "1500", "--status", "recruiting"],
    ),
    "first relapse, within 50 km of Paris, France": (
        {
            "birth_date": "2014-06-01",
            "diagnosis_date": "2020-01-10",
            "relapses": [{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
        },
        ["--near", "Paris, France", "--radius-km", "50", "--status", "any"],
    ),
    "T-cell, nothing within 100 km of Omaha": (
        {"birth_date": "2016-03-03", "diagnosis_date": "2026-11-01", "immunophenotype": "T"},
        ["--near", "Omaha, NE", "--radius-km", "100", "--status", "any"],
    ),
    "nothing fits (48 years old)": (
        {"birth_date": "1988-01-01", "diagnosis_date": "2026-11-20"},
        ["--status", "any", "--on", "2036-01-01"],
    ),
}
RECORD_ID = "reading-child-42"
# Words of the registry's format and of allpath's answer that are codes, not words for a family.
CODES = (
    "not_eligible",
    "eligible",
    "possibly",
    "not_met",
    "disease_state",
    "RECRUITING",
    "NOT_YET_RECRUITING",
    "ACTIVE_NOT_RECRUITING",
    "COMPLETED",
    "PHASE",
    "record_id",
    "results[",
)


def _run(folder: Path, changes: dict[str, object], options: list[str], output: str) -> str:
    path = folder / "child.json"
    path.write_text(json.dumps(record(**{"age_years": None, "id": RECORD_ID, **changes})), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALLPATH_DATA_DIR", str(folder / "data"))
        patch.delenv("ALLPATH_DATABASE_URL", raising=False)
        on = [] if "--on" in options else ["--on", SEARCH_DAY]
        result = runner.invoke(app, ["trials", "search", str(path), *options, *on, "--format", output])
    assert result.exit_code == 0, result.output
    return result.stdout


def _section(folder: Path, name: str) -> str:
    changes, options = CHILDREN[name]
    return _run(folder, changes, options, "text").split("\nFor the care team:", 1)[0]


def _answer(folder: Path, name: str) -> TrialSearch:
    changes, options = CHILDREN[name]
    answer: TrialSearch = json.loads(_run(folder, changes, options, "json"))
    return answer


def _grade(section: str) -> float:
    grade: float = textstat.flesch_kincaid_grade(prose(section))
    return grade


def _check_plain(section: str, answer: TrialSearch, folder: Path) -> None:
    """No record path or id, no code but the NCT number, never a promise; the fixed reminders said."""
    assert RECORD_ID not in section and str(folder) not in section and "child.json" not in section
    for code in CODES:
        assert not re.search(rf"\b{re.escape(code)}\b", section), code
    assert "eligib" not in section.lower()  # a study "may fit": never a promise
    for result in answer["results"]:
        assert not result["org_study_id"] or result["org_study_id"] not in section
    assert "_" not in section
    flat = " ".join(section.split())
    assert "Only your child's care team and the study team can say if your child can join a study." in flat
    assert "This list comes from a copy of the ClinicalTrials.gov list made on " in flat
    assert flat.endswith(" ".join(load_knowledge().text.disclaimer.split()))


@pytest.mark.parametrize("name", list(CHILDREN))
def test_the_section_reads_at_grade_8_or_below_and_shows_no_code(registry: Path, name: str) -> None:
    section = _section(registry, name)
    assert section.startswith("Trials to ask about\n")
    grade = _grade(section)
    assert grade <= GRADE_AT_MOST, f"{name}: Flesch-Kincaid grade {grade:.2f}"
    _check_plain(section, _answer(registry, name), registry)


@pytest.mark.parametrize("name", list(CHILDREN))
def test_each_study_shown_is_one_that_may_fit_best_first_with_its_nct_number(registry: Path, name: str) -> None:
    answer = _answer(registry, name)
    flat = " ".join(_section(registry, name).split())
    fitting = [r for r in answer["results"] if r["verdict"] != "not_eligible"]
    shown = re.findall(r"Study number: (NCT\d{8})\.", flat)
    assert shown == [r["nct_id"] for r in fitting[:SHOWN_STUDIES]]
    for nct_id in shown:
        assert f"https://clinicaltrials.gov/study/{nct_id}" in flat
    hidden = len(fitting) - SHOWN_STUDIES
    if hidden > 1:
        assert f"{hidden} more studies may also fit." in flat
    if not fitting:
        assert "allpath did not find a study in its list that fits your child's results." in flat
        assert "This does not mean there is no trial for your child." in flat
        assert "Study number" not in flat and "Why it may fit" not in flat
    else:
        assert "How to ask: bring this list to your care team." in flat


def test_the_omaha_child_is_told_where_and_how_far(registry: Path) -> None:
    flat = " ".join(_section(registry, "five-year-old near Omaha").split())
    assert "Distances are from Omaha, Nebraska, United States." in flat
    assert (
        "Where: the nearest site is Nebraska Medicine, Omaha, Nebraska, United States, about 0.5 km (0.3 miles) away."
    ) in flat
    assert "Status: Active, not recruiting. It may not take new patients now." in flat
    # AALL1731's entry was last changed on 2025-11-17: more than 365 days before 2026-12-01.
    assert "Its entry was last changed on 17 November 2025. That is more than 365 days before this search" in flat
    # An entry without a date: possibly outdated, said in words.
    assert "Its entry does not say when it was last changed, so some details may be old." in flat
    assert "Why it may fit: it matches the kind of leukemia, the kind of cells the leukemia started in" in flat


def test_without_a_place_the_section_says_so_and_counts_the_sites(registry: Path) -> None:
    flat = " ".join(_section(registry, "five-year-old, no place").split())
    assert "No place was given, so this list does not say how far away each study is." in flat
    assert "Where: the study lists 3 sites. Your care team can tell you which one is nearest." in flat  # AALL1731
    assert " km " not in flat


def test_a_radius_is_said_and_a_study_of_unknown_distance_is_no_site_near(registry: Path) -> None:
    answer = _answer(registry, "first relapse, within 50 km of Paris, France")
    flat = " ".join(_section(registry, "first relapse, within 50 km of Paris, France").split())
    assert "Only studies with a site within 50 km (31 miles) are listed" in flat
    kept = [r for r in answer["results"] if r["verdict"] != "not_eligible"]
    assert kept and all(r["within_radius"] == "distance unknown" for r in kept)
    assert "Where: no site is listed near Paris" in flat


def test_nothing_within_the_radius_says_the_place_and_the_radius(registry: Path) -> None:
    flat = " ".join(_section(registry, "T-cell, nothing within 100 km of Omaha").split())
    assert "allpath did not find a study in its list that fits your child's results." in flat
    assert "Distances are from Omaha, Nebraska, United States." in flat
    assert "Only studies with a site within 100 km (62 miles) are listed" in flat


def test_what_is_still_to_check_is_said_in_words(registry: Path) -> None:
    answer = _answer(registry, "five-year-old near Omaha")
    flat = " ".join(render_text(trial_blocks(answer, load_knowledge())).split())
    possibly = [r for r in answer["results"] if r["verdict"] == "possibly"]
    assert possibly  # NCT06124157: its entry names no disease state, and takes Ph-like ALL the record does not say
    # Shown only when among the first five: put it first to see its words.
    answer["results"] = possibly + [r for r in answer["results"] if r not in possibly]
    flat = " ".join(render_text(trial_blocks(answer, load_knowledge())).split())
    assert "Still to check: if it takes children at your child's point in the illness" in flat
    assert "Your care team can check this in the study's full rules." in flat


# ---- the section built from a changed answer ----------------------------------------------------------------


def test_one_more_study_is_said_in_the_singular(registry: Path) -> None:
    answer = _answer(registry, "five-year-old near Omaha")
    fitting = [r for r in answer["results"] if r["verdict"] != "not_eligible"]
    assert len(fitting) >= SHOWN_STUDIES + 1
    answer["results"] = fitting[: SHOWN_STUDIES + 1]
    flat = " ".join(render_text(trial_blocks(answer, load_knowledge())).split())
    assert "1 more study may also fit. Ask your care team about it too." in flat
    answer["results"] = fitting[:SHOWN_STUDIES]
    flat = " ".join(render_text(trial_blocks(answer, load_knowledge())).split())
    assert "more stud" not in flat


def test_the_summary_shows_its_first_sentence_cut_at_a_word(registry: Path) -> None:
    answer = _answer(registry, "five-year-old near Omaha")
    first, second = copy.deepcopy(answer["results"][:2])
    first["brief_summary"] = "This study tests a new medicine.\nIt also looks at side effects. More text."
    second["brief_summary"] = "Long " + "words " * 100 + "end. Then more."
    answer["results"] = [first, second]
    flat = " ".join(render_text(trial_blocks(answer, load_knowledge())).split())
    assert "In the study's own words: \u201cThis study tests a new medicine.\u201d" in flat
    cut = re.search(r"In the study's own words: \u201c(Long[^\u201d]*)\u201d", flat)
    assert cut is not None and cut.group(1).endswith("words\u2026")
    assert len(cut.group(1)) <= SUMMARY_CHARACTERS + 1


def test_an_empty_registry_says_so_kindly(registry: Path) -> None:
    answer = _answer(registry, "five-year-old near Omaha")
    answer["results"] = []
    answer["registry"] = {**answer["registry"], "studies": 0, "snapshot_date": None, "source": None}
    section = render_text(trial_blocks(answer, load_knowledge()))
    flat = " ".join(section.split())
    assert "allpath's list of studies is empty, so it cannot suggest any trials yet." in flat
    assert "Only your child's care team and the study team can say" in flat
    assert "made on" not in flat
    assert _grade(section) <= GRADE_AT_MOST


def test_markdown_says_the_same(registry: Path) -> None:
    answer = _answer(registry, "five-year-old near Omaha")
    blocks = trial_blocks(answer, load_knowledge())
    markdown = render_markdown(blocks)
    assert markdown.startswith("## Trials to ask about\n")
    assert " ".join(render_text(blocks).split()).count("Study number:") == markdown.count("Study number:") == 5


@pytest.mark.parametrize(
    ("locale", "one", "three"),
    [
        ("en", "Where: the study lists 1 site. Your care team can tell you where it is.", "lists 3 sites."),
        (
            "es",
            "Dónde: el estudio tiene 1 centro. El equipo médico de su hijo le puede decir dónde está.",
            "3 centros.",
        ),
    ],
)
def test_a_study_of_one_site_is_not_said_in_the_plural(locale: str, one: str, three: str) -> None:
    words = load_knowledge(locale=locale).text.trials_section
    search = cast(TrialSearch, {"place": None})

    def where(sites: int) -> str:
        with use_locale(locale):
            return _where(cast(TrialResult, {"sites": sites, "nearest_site": None}), search, words)

    assert where(1) == one
    assert three in where(3) and where(3) != where(1).replace("1", "3")  # the plural says "the nearest"
    assert where(0) == ""  # no site listed: nothing to say
