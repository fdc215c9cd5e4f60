"""Golden treatment roadmaps: a standard-risk and a high-risk example patient dated from 2026-01-05, as the
roadmap JSON and as the iCalendar file that ``allpath roadmap`` writes.

A difference means an engine, knowledge or export change altered a child's calendar: run
`python tests/golden/regenerate.py`, review the diff, and commit it with the change that caused it. The
calendar is also read back with ``icalendar`` and checked event by event against the roadmap JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from tests.conftest import ROOT
from tests.golden.regenerate import (
    EXAMPLES,
    GOLDEN_ROADMAPS,
    ROADMAP_EXAMPLES,
    ROADMAP_START,
    ROADMAP_SUFFIXES,
    normalise_json,
    roadmap_outputs,
)

REGENERATE = "run `python tests/golden/regenerate.py` and review the diff (git diff tests/golden)"
runner = CliRunner()


def _golden(stem: str, suffix: str) -> bytes:
    path = GOLDEN_ROADMAPS / f"{stem}.{suffix}"
    assert path.is_file(), f"{path.relative_to(ROOT)} does not exist: {REGENERATE}"
    return path.read_bytes()


def _roadmap(stem: str) -> dict[str, Any]:
    roadmap: dict[str, Any] = json.loads(_golden(stem, "roadmap.json"))
    return roadmap


def _calendar(stem: str) -> Any:
    return Calendar.from_ical(_golden(stem, "ics"))


@pytest.mark.parametrize("stem", ROADMAP_EXAMPLES)
@pytest.mark.parametrize("suffix", ROADMAP_SUFFIXES)
def test_in_process_roadmap_matches_golden(stem: str, suffix: str) -> None:
    assert roadmap_outputs(stem)[suffix] == _golden(stem, suffix), (
        f"{stem}.{suffix} differs from its golden file: {REGENERATE}"
    )


@pytest.mark.parametrize("stem", ROADMAP_EXAMPLES)
def test_cli_roadmap_equals_golden(stem: str) -> None:
    args = ["roadmap", str(EXAMPLES / f"{stem}.json"), "--start", ROADMAP_START]
    as_json = runner.invoke(app, args)
    assert as_json.exit_code == 0, as_json.stderr
    assert normalise_json(as_json.stdout).encode("utf-8") == _golden(stem, "roadmap.json"), REGENERATE
    as_ics = runner.invoke(app, [*args, "--format", "ics"])
    assert as_ics.exit_code == 0, as_ics.stderr
    assert as_ics.stdout_bytes == _golden(stem, "ics"), REGENERATE


def test_no_golden_roadmap_without_an_example() -> None:
    expected = {f"{stem}.{suffix}" for stem in ROADMAP_EXAMPLES for suffix in ROADMAP_SUFFIXES}
    present = {p.name for p in GOLDEN_ROADMAPS.iterdir() if p.is_file()}
    assert present == expected, REGENERATE


def test_the_golden_roadmaps_are_a_standard_and_a_high_risk_regimen() -> None:
    regimens = {stem: _roadmap(stem)["regimen"]["id"] for stem in ROADMAP_EXAMPLES}
    assert regimens == {
        "standard_risk": "b_all_standard_risk",
        "high_risk_age": "b_all_high_risk",
        "on_treatment": "b_all_standard_risk",  # with thiopurine genetics: its doses golden shows an adjustment
    }


@pytest.mark.parametrize("stem", ROADMAP_EXAMPLES)
def test_every_event_matches_the_roadmap(stem: str) -> None:
    roadmap = _roadmap(stem)
    events = list(_calendar(stem).walk("VEVENT"))
    by_summary = {str(e["SUMMARY"]): e for e in events}
    assert len(by_summary) == len(events), "event summaries should be distinct"

    expected: dict[str, tuple[date, date]] = {}  # summary -> (DTSTART, DTEND)
    for phase in roadmap["phases"]:
        if phase["start"] and phase["end"]:
            end = date.fromisoformat(phase["end"]) + timedelta(days=1)  # all-day events end exclusively
            expected[phase["label"]] = (date.fromisoformat(phase["start"]), end)
        elif phase["start"]:
            first = date.fromisoformat(phase["start"])
            expected[f"{phase['label']} begins"] = (first, first + timedelta(days=1))
    for checkpoint in roadmap["checkpoints"]:
        if checkpoint["date"]:
            day = date.fromisoformat(checkpoint["date"])
            expected[f"Test: {checkpoint['label']}"] = (day, day + timedelta(days=1))
    end_of_therapy = date.fromisoformat(roadmap["end_of_therapy"]["date"])
    expected["Planned end of treatment"] = (end_of_therapy, end_of_therapy + timedelta(days=1))

    assert set(by_summary) == set(expected)
    for summary, (first, after) in expected.items():
        event = by_summary[summary]
        assert event.decoded("DTSTART") == first, summary
        assert event.decoded("DTEND") == after, summary
        assert not isinstance(event.decoded("DTSTART"), datetime), f"{summary}: expected an all-day event"
        assert event.decoded("DTSTAMP") == datetime(2026, 1, 5, tzinfo=UTC)
        description = str(event["DESCRIPTION"])
        assert "Decision support, not a prescription; dates assume no delays." in description
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_standard_risk_calendar_has_every_phase_dated() -> None:
    roadmap = _roadmap("standard_risk")
    calendar = _calendar("standard_risk")
    assert len(list(calendar.walk("VEVENT"))) == len(roadmap["phases"]) + len(roadmap["checkpoints"]) + 1
    assert "X-ALLPATH-NOTE" not in calendar
    maintenance = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]).startswith("Maintenance"))
    assert "8 cycles" in str(maintenance["DESCRIPTION"])
    assert "4 weeks" in str(next(e for e in calendar.walk("VEVENT") if "Induction" in str(e["SUMMARY"]))["DESCRIPTION"])


def test_high_risk_calendar_names_the_phases_it_cannot_date() -> None:
    roadmap = _roadmap("high_risk_age")
    undated = [p for p in roadmap["phases"] if not p["start"]]
    assert [p["id"] for p in undated] == ["maintenance"]
    calendar = _calendar("high_risk_age")
    notes = calendar["X-ALLPATH-NOTE"]
    notes = [str(n) for n in (notes if isinstance(notes, list) else [notes])]
    assert len(notes) == len(undated)
    assert notes[0].startswith("Maintenance: its start is not known")
    assert "Not in this calendar: Maintenance" in str(calendar["DESCRIPTION"])
    begins = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Delayed intensification begins")
    assert "no length" in str(begins["DESCRIPTION"])


@pytest.mark.parametrize("stem", ROADMAP_EXAMPLES)
def test_the_calendar_names_no_patient(stem: str) -> None:
    text = _golden(stem, "ics").decode("utf-8")
    record = json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    assert record["id"] not in text
    calendar = _calendar(stem)
    assert str(calendar["X-WR-CALNAME"]) == str(calendar["NAME"]) == "Treatment roadmap"
