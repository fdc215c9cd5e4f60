"""``allpath trials search RECORD``: the 20-study snapshot imported with ``allpath trials import``, then searched
as a family or the care team would from the command line: JSON in design.md's contract, the text with the
plain-words section and the care-team table, the options (place, radius, status, day, outdated threshold from
the settings), and the refusals (record, place, radius, day, an empty registry) with exit status 2, the option
named on standard error and nothing on standard output; the audit holds counts only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from allpath.domain.results.trials import RegistryInfo, TrialResult, TrialSearch
from allpath.interfaces.cli import app
from allpath.interfaces.dates import MONTHS
from allpath.settings import load_settings
from allpath.storage import tables as t
from allpath.storage.db import make_engine, session_factory
from tests.builders import record

runner = CliRunner()
FIVE_YEAR_OLD = {"age_years": None, "birth_date": "2021-08-14", "diagnosis_date": "2026-11-20"}
RELAPSE = ("AALL1331", "AALL1821", "AALL1621", "CCTL019B2202", "CTL019B2205J")
INFANT = ("AALL15P1", "NCT05327894")


@pytest.fixture
def in_registry(registry: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(registry / "data"))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALLPATH_TRIALS_OUTDATED_DAYS", raising=False)
    return registry


def _child(folder: Path, name: str = "child.json", **changes: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(record(**{**FIVE_YEAR_OLD, **changes})), encoding="utf-8")
    return path


def _search(*args: str) -> TrialSearch:
    result = runner.invoke(app, ["trials", "search", *args])
    assert result.exit_code == 0, result.output
    answer: TrialSearch = json.loads(result.stdout)
    return answer


def _name(result: TrialResult) -> str:
    return result["org_study_id"] or result["nct_id"] or ""


def _found(search: TrialSearch) -> list[str]:
    return [_name(r) for r in search["results"] if r["verdict"] != "not_eligible"]


def _audits() -> list[t.AuditEntry]:
    engine = make_engine(load_settings().database_url)
    try:
        with session_factory(engine)() as s:
            return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id)))
    finally:
        engine.dispose()


# ---- answers ---------------------------------------------------------------------------------------------------


def test_json_is_the_trial_search_contract(in_registry: Path, tmp_path: Path) -> None:
    search = _search(str(_child(tmp_path)), "--near", "Omaha, NE", "--status", "any", "--on", "2026-12-01")
    assert set(search) == set(TrialSearch.__annotations__)
    assert set(search["registry"]) == set(RegistryInfo.__annotations__)
    assert search["searched_on"] == "2026-12-01" and search["status"] == "any" and search["radius_km"] is None
    assert search["place"] is not None and search["place"]["query"] == "Omaha, NE"
    assert search["registry"]["studies"] == 20 and search["registry"]["source"] == "imported from a file"
    found = _found(search)
    assert found[0] == "AALL1731"  # the nearest study that may fit: a site in Omaha
    assert not set(found) & set(RELAPSE + INFANT)
    first = search["results"][0]
    assert first["registry_url"] == "https://clinicaltrials.gov/study/NCT03914625"
    assert first["eligibility_text"] and first["criteria"]


def test_the_defaults_are_status_open_today_and_no_place(in_registry: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    search = _search(str(_child(tmp_path)))
    assert search["status"] == "open" and search["place"] is None
    assert search["searched_on"] == datetime.now(UTC).date().isoformat()
    assert search["registry"]["outdated_after_days"] == 365


def test_status_recruiting_drops_closed_studies(in_registry: Path, tmp_path: Path) -> None:
    child = str(_child(tmp_path))
    every = _search(child, "--status", "any", "--on", "2026-12-01")
    recruiting = _search(child, "--status", "recruiting", "--on", "2026-12-01")
    assert "AALL1731" in _found(every) and "AALL1731" not in _found(recruiting)
    assert all(r["overall_status"] == "RECRUITING" for r in recruiting["results"] if r["verdict"] != "not_eligible")


def test_infant_and_relapse_children_from_the_command_line(in_registry: Path, tmp_path: Path) -> None:
    infant = _child(tmp_path, "infant.json", birth_date="2026-06-10", diagnosis_date="2026-11-25")
    infant_data = json.loads(infant.read_text())
    infant_data["genetics"] = ["KMT2A_rearranged"]
    infant.write_text(json.dumps(infant_data))
    found = _found(_search(str(infant), "--status", "any", "--on", "2026-12-01"))
    assert set(INFANT) <= set(found) and "AALL1731" not in found
    relapse = _child(
        tmp_path,
        "relapse.json",
        birth_date="2014-06-01",
        diagnosis_date="2020-01-10",
        relapses=[{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
    )
    found = _found(_search(str(relapse), "--status", "any", "--on", "2026-12-01"))
    assert {"AALL1331", "AALL1821", "AALL1621"} <= set(found) and "AALL1731" not in found


def test_the_radius_keeps_studies_of_unknown_distance(in_registry: Path, tmp_path: Path) -> None:
    search = _search(
        str(_child(tmp_path)), "--near", "68102", "--radius-km", "10", "--status", "any", "--on", "2026-12-01"
    )
    assert {_name(r): r["within_radius"] for r in search["results"]} == {
        "AALL1731": "within",
        "CCTL019B2202": "distance unknown",
    }


def test_the_outdated_threshold_comes_from_the_settings(
    in_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CCTL019G2201J was last updated on 2026-01-21: 314 days before 2026-12-01.
    child = str(_child(tmp_path))
    for days, outdated in ((314, False), (313, True)):
        monkeypatch.setenv("ALLPATH_TRIALS_OUTDATED_DAYS", str(days))
        search = _search(child, "--status", "any", "--on", "2026-12-01")
        assert search["registry"]["outdated_after_days"] == days
        study = next(r for r in search["results"] if r["org_study_id"] == "CCTL019G2201J")
        assert study["possibly_outdated"] is outdated


def test_text_is_the_family_section_then_the_care_team_table(in_registry: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["trials", "search", str(_child(tmp_path)), "--near", "Omaha, NE", "--status", "any", "--on", "2026-12-01"]
        + ["--format", "text"],
    )
    assert result.exit_code == 0, result.output
    section, care_team = result.stdout.split("For the care team:", 1)
    assert section.startswith("Trials to ask about\n")
    family = " ".join(section.split())  # the lines joined: the text is wrapped at 88 characters
    assert "Study 1: \u201cA Study to Investigate Blinatumomab" in family
    assert "Nebraska Medicine, Omaha, Nebraska, United States, about 0.5 km (0.3 miles) away" in family
    assert "Study number: NCT03914625" in family and "https://clinicaltrials.gov/study/NCT03914625" in family
    assert "Only your child's care team and the study team can say" in family
    snapshot = _search(str(_child(tmp_path)))["registry"]["snapshot_date"]
    assert snapshot is not None
    year, month, day = (int(part) for part in snapshot.split("-"))
    assert f"made on {day} {MONTHS[month - 1]} {year}, with 20 studies" in family
    assert "allpath is decision support for the care team" in family
    rows = [line for line in care_team.splitlines() if line.startswith("NCT0")]
    assert len(rows) == 20  # every study, not only those that may fit
    aall1331 = next(line for line in rows if "AALL1331" in line)
    assert "does not fit" in aall1331 and "disease state: A relapse study is not for a child" in aall1331
    aall1731 = next(line for line in rows if "AALL1731" in line)
    assert "0.5 km" in aall1731 and "active, not recruiting" in aall1731
    eliana = next(line for line in rows if "CCTL019B2202" in line)  # no site with coordinates
    assert "  unknown  " in eliana and "completed" in eliana
    assert result.stderr == ""


# ---- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--near", "Atlantis, Nowhere"], "allpath: invalid input: --near: "),
        (["--near", "00000"], "allpath: invalid input: --near: The ZIP code 00000 is not a US ZIP code"),
        (["--near", "68102", "--radius-km", "-1"], "allpath: invalid input: --radius-km: the radius is a distance"),
        (["--near", "68102", "--radius-km", "20016"], "allpath: invalid input: --radius-km: the radius is a distance"),
        (["--near", "68102", "--radius-km", "far"], "allpath: invalid input: --radius-km: 'far' is not a number"),
        (["--on", "2026-13-01"], "allpath: invalid input: --on: '2026-13-01' is not allowed"),
    ],
)
def test_a_place_radius_or_day_that_cannot_be_used_exits_2_naming_the_option(
    in_registry: Path, tmp_path: Path, options: list[str], said: str
) -> None:
    result = runner.invoke(app, ["trials", "search", str(_child(tmp_path)), *options])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(said), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_an_invalid_record_exits_2_naming_the_field(in_registry: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record(**{**FIVE_YEAR_OLD, "wbc_per_ul": -5})))
    result = runner.invoke(app, ["trials", "search", str(bad)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("allpath: invalid input: ") and "white" in result.stderr.lower()
    missing = runner.invoke(app, ["trials", "search", str(tmp_path / "nowhere.json")])
    assert missing.exit_code == 2 and missing.stdout == "" and "does not exist" in missing.stderr


def test_an_empty_registry_exits_2_and_says_how_to_fill_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["trials", "search", str(_child(tmp_path)), "--format", "text"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "the trial registry is empty" in result.stderr
    assert "allpath trials import" in result.stderr and "allpath trials sync" in result.stderr


# ---- the audit -------------------------------------------------------------------------------------------------


def test_the_audit_holds_counts_only(in_registry: Path, tmp_path: Path) -> None:
    before = len(_audits())
    child = _child(tmp_path, id="omaha-child-3")
    search = _search(str(child), "--near", "Omaha, NE", "--status", "any", "--on", "2026-12-01")
    refused = runner.invoke(app, ["trials", "search", str(child), "--near", "Atlantis, Nowhere"])
    assert refused.exit_code == 2
    entries = [(e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in _audits()[before:]]
    fitting = len(_found(search))
    assert ("search", "trials", None, "ok", f"20 studies, {fitting} may fit") in entries
    assert ("search", "trials", None, "invalid", "near") in entries
    for entry in entries:
        said = " ".join(str(part) for part in entry)
        assert "Omaha" not in said and "Atlantis" not in said and "omaha-child-3" not in said
