"""The treatment commands of the CLI: ``allpath roadmap``, ``allpath doses`` and ``allpath survivorship``.

Every format, the exit status (0, or 2 with the field named on standard error and nothing on standard
output), ``--start`` overriding the record, and the iCalendar output read back with ``icalendar``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()
START = "2026-01-05"
STANDARD = str(EXAMPLES / "standard_risk.json")
HIGH = str(EXAMPLES / "high_risk_age.json")
RELAPSE = str(EXAMPLES / "relapse_combined.json")


def _record(stem: str = "standard_risk", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def _file(tmp_path: Path, record: Any, name: str = "record.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def _ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _refused(*args: str, stdin: str | None = None) -> str:
    """Invalid input: exit 2, nothing on standard output, the message on standard error."""
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("allpath: invalid input: ")
    return result.stderr


def _events(ics: bytes | str) -> list[Any]:
    calendar = Calendar.from_ical(ics)
    return list(calendar.walk("VEVENT"))


# ---- roadmap ---------------------------------------------------------------------------------------------


def test_roadmap_json_has_dated_phases_checkpoints_and_end_of_therapy() -> None:
    roadmap = json.loads(_ok("roadmap", STANDARD, "--start", START))
    assert roadmap["record_id"] == "standard_risk"
    assert roadmap["regimen"]["id"] == "b_all_standard_risk"
    assert roadmap["start_date"] == START
    assert roadmap["phases"][0]["start"] == START
    assert [p["id"] for p in roadmap["phases"]][:2] == ["induction", "consolidation"]
    assert all(p["start"] and p["end"] for p in roadmap["phases"])
    assert all(c["date"] for c in roadmap["checkpoints"])
    assert roadmap["end_of_therapy"]["date"] == "2028-03-01"
    assert roadmap["knowledge_version"] and roadmap["engine_version"]
    assert "not a prescription" in roadmap["disclaimer"]


def test_roadmap_without_a_start_date_is_undated_and_says_what_is_missing() -> None:
    roadmap = json.loads(_ok("roadmap", STANDARD))
    assert roadmap["start_date"] is None
    assert "treatment_start_date" in roadmap["missing"]
    assert all(p["start"] is None for p in roadmap["phases"])


def test_start_option_overrides_the_records_start_date(tmp_path: Path) -> None:
    path = _file(tmp_path, _record(treatment_start_date="2025-03-03"))
    assert json.loads(_ok("roadmap", path))["start_date"] == "2025-03-03"
    roadmap = json.loads(_ok("roadmap", path, "--start", START))
    assert roadmap["start_date"] == START
    assert roadmap["phases"][0]["start"] == START


def test_roadmap_reads_standard_input() -> None:
    stdin = (EXAMPLES / "standard_risk.json").read_text(encoding="utf-8")
    assert _ok("roadmap", "-", "--start", START, stdin=stdin) == _ok("roadmap", STANDARD, "--start", START)


def test_roadmap_text_is_a_table_of_phases_checkpoints_and_end_of_therapy() -> None:
    text = _ok("roadmap", HIGH, "--start", START, "--format", "text")
    assert "Regimen: High-risk B-ALL" in text
    assert "Induction (four drugs)" in text and "2026-01-05" in text and "2026-02-01" in text
    assert "not given in the sources" in text  # delayed intensification has no length
    assert "Checkpoints" in text and "End-of-consolidation MRD" in text
    assert "End of therapy: 2028-03-29." in text
    assert "not a prescription" in text


def test_roadmap_text_says_why_there_is_no_roadmap() -> None:
    text = _ok("roadmap", RELAPSE, "--format", "text")
    assert "No roadmap for this child." in text
    assert "relapsed ALL" in text
    assert "not a prescription" in text


@pytest.mark.parametrize("example", [STANDARD, HIGH])
def test_roadmap_ics_parses_and_matches_the_roadmap(example: str) -> None:
    roadmap = json.loads(_ok("roadmap", example, "--start", START))
    events = {str(e["SUMMARY"]): e for e in _events(_ok("roadmap", example, "--start", START, "--format", "ics"))}
    dated_phases = [p for p in roadmap["phases"] if p["start"]]
    dated_checkpoints = [c for c in roadmap["checkpoints"] if c["date"]]
    assert len(events) == len(dated_phases) + len(dated_checkpoints) + 1
    for phase in dated_phases:
        summary = phase["label"] if phase["end"] else f"{phase['label']} begins"
        event = events[summary]
        assert event.decoded("DTSTART") == date.fromisoformat(phase["start"])
        last = date.fromisoformat(phase["end"] or phase["start"])
        assert event.decoded("DTEND") == last + timedelta(days=1)
    for checkpoint in dated_checkpoints:
        assert events[f"Test: {checkpoint['label']}"].decoded("DTSTART") == date.fromisoformat(checkpoint["date"])
    end = events["Planned end of treatment"]
    assert end.decoded("DTSTART") == date.fromisoformat(roadmap["end_of_therapy"]["date"])


def test_roadmap_ics_is_reproducible_and_names_no_record_id() -> None:
    args = ["roadmap", STANDARD, "--start", START, "--format", "ics"]
    first = runner.invoke(app, args).stdout_bytes
    assert first == runner.invoke(app, args).stdout_bytes
    assert b"standard_risk" not in first
    assert first.startswith(b"BEGIN:VCALENDAR\r\n")  # RFC 5545 content lines end with CRLF
    assert b"\n" not in first.replace(b"\r\n", b"")
    assert b"dates assume no delays" in first


def test_roadmap_output_file(tmp_path: Path) -> None:
    target = tmp_path / "roadmap.ics"
    assert _ok("roadmap", STANDARD, "--start", START, "--format", "ics", "-o", str(target)) == ""
    assert len(_events(target.read_bytes())) == 9
    text_target = tmp_path / "roadmap.txt"
    assert _ok("roadmap", STANDARD, "--format", "text", "--output", str(text_target)) == ""
    assert "Phases" in text_target.read_text(encoding="utf-8")


def test_roadmap_ics_without_dates_or_regimen_is_refused() -> None:
    assert "treatment_start_date" in _refused("roadmap", STANDARD, "--format", "ics")
    message = _refused("roadmap", RELAPSE, "--start", START, "--format", "ics")
    assert message.startswith("allpath: invalid input: regimen: ") and "relapsed ALL" in message


@pytest.mark.parametrize("value", ["2026-02-30", "2026-1-5", "tomorrow", "1899-12-31"])
def test_roadmap_invalid_start_is_refused(value: str) -> None:
    assert _refused("roadmap", STANDARD, "--start", value).startswith("allpath: invalid input: --start: ")


@pytest.mark.parametrize("command", [["roadmap"], ["doses", "--phase", "induction"], ["survivorship"]])
def test_invalid_record_is_refused_like_assess(command: list[str], tmp_path: Path) -> None:
    path = _file(tmp_path, _record(wbc_per_ul=12.5))
    label = "white blood cell count at diagnosis (per microliter)"
    assert f"{label} (key wbc_per_ul in the record): 12.5 is not allowed" in _refused(command[0], path, *command[1:])
    assert "record: not valid JSON" in _refused(command[0], "-", *command[1:], stdin="{")
    assert "does not exist" in _refused(command[0], str(tmp_path / "missing.json"), *command[1:])
    array = _file(tmp_path, [_record()], "array.json")
    assert "expected one patient record" in _refused(command[0], array, *command[1:])


# ---- doses -----------------------------------------------------------------------------------------------


def test_doses_json_of_the_childs_regimen() -> None:
    doses = json.loads(_ok("doses", STANDARD, "--phase", "induction"))
    assert doses["record_id"] == "standard_risk"
    assert doses["regimen"] == "b_all_standard_risk" and doses["phase"] == "induction"
    assert doses["body_surface_area"]["m2"] == pytest.approx(0.703, abs=0.001)
    vincristine = next(line for line in doses["lines"] if line["drug"] == "vincristine")
    assert vincristine["dose"] == 1.05 and vincristine["unit"] == "mg" and vincristine["cap"] == 2.0
    assert doses["knowledge_version"]


def test_doses_options_override_the_record() -> None:
    doses = json.loads(
        _ok("doses", STANDARD, "--phase", "induction", "--regimen", "b_all_high_risk", "--weight-kg", "70")
    )
    assert doses["regimen"] == "b_all_high_risk"
    assert doses["weight_kg"] == 70.0 and doses["height_cm"] == 104.0
    doses = json.loads(_ok("doses", STANDARD, "--phase", "induction", "--weight-kg", "60", "--height-cm", "170"))
    vincristine = next(line for line in doses["lines"] if line["drug"] == "vincristine")
    assert vincristine["dose"] == 2.0 and vincristine["capped"] is True


def test_doses_on_a_day_uses_the_age_on_that_day(tmp_path: Path) -> None:
    record = _record(age_years=None, birth_date="2020-01-10", diagnosis_date="2025-12-20", treatment_start_date=START)
    path = _file(tmp_path, record)
    default = json.loads(_ok("doses", path, "--phase", "consolidation"))
    assert default["age_basis"] == "age on 2026-02-02 from the birth date"  # the phase's planned start
    later = json.loads(_ok("doses", path, "--phase", "consolidation", "--on", "2029-06-01"))
    assert later["age_basis"] == "age on 2029-06-01 from the birth date"
    before, after = (next(li for li in d["lines"] if li["route"] == "intrathecal") for d in (default, later))
    assert (before["dose"], after["dose"]) == (12.0, 15.0)  # age 6 and age 9: another band of the table


def test_doses_text_marks_refused_lines_caps_and_adjustments(tmp_path: Path) -> None:
    text = _ok("doses", STANDARD, "--phase", "consolidation", "--format", "text")
    assert "Body surface area: 0.703 m2" in text
    assert "vincristine (intravenous): 1.05 mg per dose" in text
    assert "cap 2 mg per dose" in text
    assert "mercaptopurine (6-MP) (oral): NOT CALCULATED: " in text
    assert "methotrexate (intrathecal): NOT CALCULATED: " in text
    assert "not a prescription" in text
    path = _file(tmp_path, _record(pharmacogenomics={"tpmt": "intermediate", "nudt15": "normal"}))
    text = _ok("doses", path, "--phase", "consolidation", "--format", "text")
    assert "mercaptopurine (6-MP) (oral): 15.8 to 42.2 mg per day" in text
    assert "TPMT/NUDT15 adjustment: " in text
    big = _ok("doses", STANDARD, "--phase", "induction", "--weight-kg", "60", "--height-cm", "170", "-f", "text")
    assert "CAPPED: cap 2 mg per dose" in big


def test_doses_phase_without_drugs_says_so() -> None:
    text = _ok("doses", HIGH, "--phase", "maintenance", "--format", "text")
    assert "No doses: the knowledge base lists no drugs for this phase" in text


@pytest.mark.parametrize(
    ("changes", "args", "field"),
    [
        ({"weight_kg": None}, [], "weight_kg"),
        ({"height_cm": None}, [], "height_cm"),
        ({}, ["--weight-kg", "500"], "weight_kg"),
        ({}, ["--height-cm", "nan"], "height_cm"),
        ({}, ["--weight-kg", "80", "--height-cm", "60"], "weight_kg"),  # implausible together
        ({}, ["--regimen", "no_such_regimen"], "regimen"),
        ({}, ["--on", "2026-13-01"], "--on"),
        (  # a dose day before the birth date
            {"age_years": None, "birth_date": "2020-01-10", "diagnosis_date": "2025-12-20"},
            ["--on", "2019-06-01"],
            "on",
        ),
    ],
)
def test_doses_refusals_exit_2_naming_the_field(
    changes: dict[str, Any], args: list[str], field: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, _record(**changes))
    message = _refused("doses", path, "--phase", "induction", *args)
    assert message.startswith(f"allpath: invalid input: {field}: "), message


def test_doses_unknown_phase_names_the_phases() -> None:
    message = _refused("doses", STANDARD, "--phase", "nope")
    assert message.startswith("allpath: invalid input: phase: ") and "interim_maintenance" in message


def test_doses_without_a_regimen_for_the_child_need_one_named() -> None:
    message = _refused("doses", RELAPSE, "--phase", "induction")
    assert message.startswith("allpath: invalid input: regimen: ") and "--regimen" in message
    named = json.loads(_ok("doses", RELAPSE, "--phase", "induction", "--regimen", "b_all_high_risk"))
    assert named["regimen"] == "b_all_high_risk"


def test_doses_needs_a_phase() -> None:
    result = runner.invoke(app, ["doses", STANDARD])
    assert result.exit_code == 2
    assert result.stdout == ""


# ---- survivorship ----------------------------------------------------------------------------------------


def test_survivorship_json_from_the_planned_exposures(tmp_path: Path) -> None:
    path = _file(tmp_path, _record(treatment_start_date=START))
    plan = json.loads(_ok("survivorship", path))
    assert plan["record_id"] == "standard_risk"
    assert plan["basis"] == "planned"
    assert plan["end_of_therapy_date"] == "2028-03-01"
    assert plan["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 75.0
    assert plan["knowledge_version"]


def test_survivorship_json_from_recorded_exposures(tmp_path: Path) -> None:
    exposures = {"courses": [{"drug": "doxorubicin", "date": "2026-05-01", "dose_mg_per_m2": 300}]}
    path = _file(tmp_path, _record(exposures=exposures, end_of_therapy_date="2028-03-01"))
    plan = json.loads(_ok("survivorship", path))
    assert plan["basis"] == "recorded"
    assert plan["end_of_therapy_date"] == "2028-03-01"
    assert plan["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 300.0


def test_survivorship_text() -> None:
    text = _ok("survivorship", HIGH, "--format", "text")
    assert "Survivorship plan for record high_risk_age" in text
    assert "Based on: the treatment planned by the roadmap." in text
    assert "Anthracyclines: 135 mg/m2 doxorubicin equivalent" in text
    assert "echocardiogram every 5 years" in text
    assert "NOT COVERED: " in text
    assert "not a prescription" in text


def test_survivorship_without_a_roadmap_or_exposures_is_provisional() -> None:
    plan = json.loads(_ok("survivorship", RELAPSE))
    assert plan["basis"] == "none"
    assert plan["provisional"] is True and "exposures" in plan["missing"]


def test_doses_text_gives_each_lines_words_never_a_frequency_token(tmp_path: Path) -> None:
    path = _file(tmp_path, _record(pharmacogenomics={"tpmt": "poor", "nudt15": "normal"}))
    text = " ".join(_ok("doses", path, "--phase", "consolidation", "--format", "text").split())
    # The engine's words for the line, not "5.3 mg per day, three_times_weekly; every day".
    assert "mercaptopurine (6-MP) (oral): 5.3 mg per dose, three times a week instead of every day." in text
    assert "three_times_weekly" not in text and "; every day" not in text
    assert ".." not in text
    # A refused line names what is missing by its label.
    assert "(missing: date of birth)" in text and "birth_date" not in text
