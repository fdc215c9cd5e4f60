"""The ``allpath assess`` command over generated records: exit codes, standard output and standard error.

design.md: exit 0 on success; 2 on invalid input, with a message on standard error that names the field,
the value and what is allowed, and nothing written anywhere. Most properties run the real CLI in-process
(typer's CliRunner keeps standard error apart in ``result.stderr``); a few fixed examples run it as a
separate process, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.cli import app
from allpath.knowledge.loader import load_knowledge
from tests.property.strategies import (
    PROPERTY_SETTINGS,
    Invalid,
    assert_names_the_field,
    invalid_records,
    valid_records,
)

KB = load_knowledge()
PREFIX = "allpath: invalid input: "
EXIT_INVALID_INPUT = 2


def invoke(text: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["assess", "-", *args], input=text)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, with its own traceback
    return result


def expected_json(record: dict[str, Any]) -> Any:
    """The assessment as it reads back from JSON (what the CLI should print)."""
    return json.loads(json.dumps(assess(parse_record(record), KB)))


def stderr_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_invalid_input(result: Any) -> None:
    assert result.exit_code == EXIT_INVALID_INPUT, (result.exit_code, result.stderr)
    assert result.stdout == "", f"something was written to standard output: {result.stdout[:200]!r}"
    assert result.stderr.startswith(PREFIX), result.stderr


# --------------------------------------------------------------------------------------------------
# In-process properties
# --------------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_a_valid_record_exits_0_with_its_assessment_as_json(record: dict[str, Any]) -> None:
    result = invoke(json.dumps(record))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == expected_json(record)


@PROPERTY_SETTINGS
@given(record=valid_records(), output_format=st.sampled_from(["text", "markdown", "summary"]))
def test_a_valid_record_exits_0_in_every_report_format(record: dict[str, Any], output_format: str) -> None:
    result = invoke(json.dumps(record), "--format", output_format)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip()


@PROPERTY_SETTINGS
@given(invalid=invalid_records())
def test_an_invalid_record_exits_2_naming_the_field_on_stderr_only(invalid: Invalid) -> None:
    result = invoke(json.dumps(invalid.record))
    assert_invalid_input(result)
    assert_names_the_field(stderr_lines(result), invalid, prefix=PREFIX)


@PROPERTY_SETTINGS
@given(records=st.lists(valid_records(), min_size=1, max_size=4))
def test_an_array_of_valid_records_gives_an_array_of_assessments(records: list[dict[str, Any]]) -> None:
    result = invoke(json.dumps(records))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == [expected_json(r) for r in records]


@st.composite
def _array_with_one_invalid(draw: Any) -> tuple[list[dict[str, Any]], int, Invalid]:
    records = draw(st.lists(valid_records(), min_size=0, max_size=3))
    invalid = draw(invalid_records())
    index = draw(st.integers(0, len(records)))
    records.insert(index, invalid.record)
    return records, index, invalid


@PROPERTY_SETTINGS
@given(case=_array_with_one_invalid())
def test_one_invalid_record_in_an_array_fails_the_whole_call_naming_its_index(
    case: tuple[list[dict[str, Any]], int, Invalid],
) -> None:
    records, index, invalid = case
    result = invoke(json.dumps(records))
    assert_invalid_input(result)
    assert_names_the_field(stderr_lines(result), invalid, prefix=f"{PREFIX}record {index}: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "not valid JSON"),
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"age_years": 5,}', "not valid JSON"),
        ("5", "expected a JSON object"),
        ("3.5", "expected a JSON object"),
        ('"a record"', "expected a JSON object"),
        ("null", "expected a JSON object"),
        ("true", "expected a JSON object"),
        ("[5]", "record 0: the patient record: 5 is not allowed"),
        ("[{}, []]", "record 1: the patient record: [] is not allowed"),
    ],
)
def test_input_that_is_not_a_record_exits_2_with_a_message(text: str, expected: str) -> None:
    result = invoke(text)
    assert_invalid_input(result)
    assert expected in result.stderr


def test_an_empty_array_is_an_empty_cohort() -> None:
    result = invoke("[]")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert result.stderr == ""


def test_a_missing_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-record.json"
    result = CliRunner().invoke(app, ["assess", str(missing)])
    assert_invalid_input(result)
    assert str(missing) in result.stderr
    assert "does not exist" in result.stderr


def test_a_record_in_a_file_gives_the_same_answer_as_standard_input(tmp_path: Path) -> None:
    record = {"sex": "male", "age_years": 4, "wbc_per_ul": 10_000, "immunophenotype": "B"}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    from_file = CliRunner().invoke(app, ["assess", str(path)])
    assert from_file.exit_code == 0, from_file.stderr
    assert json.loads(from_file.stdout) == json.loads(invoke(json.dumps(record)).stdout) == expected_json(record)


def test_deeply_nested_json_exits_2_not_a_crash() -> None:
    result = CliRunner().invoke(app, ["assess", "-"], input="[" * 100_000)
    assert_invalid_input(result)


def test_a_lone_surrogate_in_the_id_is_reported_or_survives_the_output() -> None:
    # Regression: this once crashed the UTF-8 output (UnicodeEncodeError, exit 1).
    result = CliRunner().invoke(app, ["assess", "-"], input='{"id": "\\ud800", "age_years": 5}')
    if result.exit_code == 0:
        assert json.loads(result.stdout)["record_id"] == "\ud800"
    else:
        assert_invalid_input(result)
        assert f"{PREFIX}record: not valid JSON (at id: " in result.stderr  # refused as it is read


# --------------------------------------------------------------------------------------------------
# As a separate process (a few fixed examples, not hypothesis, to keep the suite fast)
# --------------------------------------------------------------------------------------------------

STANDARD_RISK = {
    "sex": "male",
    "age_years": 4.0,
    "wbc_per_ul": 10_000,
    "immunophenotype": "B",
    "genetics": ["none_detected"],
    "cns_status": "CNS1",
    "testicular_involvement": False,
    "down_syndrome": False,
    "steroid_pretreatment": False,
    "response": {
        "day8_blood_mrd_pct": 0.001,
        "end_of_induction_marrow_mrd_pct": 0.0,
        "end_of_induction_remission": True,
    },
}

SUBPROCESS_INVALID = [
    (
        {**STANDARD_RISK, "wbc_per_ul": 12.5},
        "white blood cell count at diagnosis (per microliter) (key wbc_per_ul in the record): 12.5 is not allowed",
    ),
    ({**STANDARD_RISK, "age_years": "4"}, 'age at diagnosis (years) (key age_years in the record): "4" is not allowed'),
    ({**STANDARD_RISK, "wbc": 10_000}, "the field \u201cwbc\u201d (key wbc in the record): 10000 is not allowed"),
    (
        {**STANDARD_RISK, "response": {"day8_blood_mrd_pct": 101}},
        "day 8 blood MRD (%) (key response.day8_blood_mrd_pct in the record): 101 is not allowed",
    ),
    (
        {**STANDARD_RISK, "sex": "female", "testicular_involvement": True},
        "leukemia in the testicles at diagnosis (key testicular_involvement in the record): true",
    ),
    (
        {
            "relapses": [
                {"months_from_diagnosis": 30, "sites": ["bone_marrow"]},
                {"months_from_diagnosis": 12, "sites": ["cns"]},
            ]
        },
        "relapse 2: months from diagnosis to the relapse (key relapses[1].months_from_diagnosis in the record): 12",
    ),
    (
        {"relapses": [{"months_from_diagnosis": 30, "sites": ["bone_marrow", "spleen"]}]},
        'relapse 1: where the relapse was found, entry 2 (key relapses[0].sites[1] in the record): "spleen"',
    ),
    (
        [STANDARD_RISK, {**STANDARD_RISK, "genetics": ["ETV6-RUNX1"]}],
        'record 1: genetic results of the leukemia cells, entry 1 (key genetics[0] in the record): "ETV6-RUNX1"',
    ),
]


def run_cli(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allpath.interfaces.cli", "assess", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("payload", [STANDARD_RISK, [STANDARD_RISK, {"age_years": 0.5}], {}])
def test_subprocess_valid_input_exits_0_with_json(payload: Any) -> None:
    done = run_cli(json.dumps(payload))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    printed = json.loads(done.stdout)
    if isinstance(payload, list):
        assert printed == [expected_json(r) for r in payload]
    else:
        assert printed == expected_json(payload)


@pytest.mark.parametrize(("payload", "expected"), SUBPROCESS_INVALID)
def test_subprocess_invalid_input_exits_2_naming_the_field(payload: Any, expected: str) -> None:
    done = run_cli(json.dumps(payload))
    assert done.returncode == EXIT_INVALID_INPUT, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(PREFIX)
    assert expected in done.stderr, done.stderr
    assert "expected" in done.stderr or "allowed" in done.stderr


@pytest.mark.parametrize(("text", "expected"), [("{oops", "not valid JSON"), ("42", "expected a JSON object")])
def test_subprocess_input_that_is_not_a_record_exits_2(text: str, expected: str) -> None:
    done = run_cli(text)
    assert done.returncode == EXIT_INVALID_INPUT
    assert done.stdout == ""
    assert expected in done.stderr
