"""Malformed input to ``allpath fhir import``, ``allpath fhir export`` and ``allpath assess``: exit status 2 with
plain lines on standard error (or 0 when the damage left valid input), never a traceback.

Hypothesis takes valid Bundles and records and breaks them: a value replaced by NaN, Infinity, 1e309, a
number beyond a float, a lone surrogate, deep nesting, a wrong type; a key dropped; the text cut short or
given bytes that are not UTF-8. The commands run in-process (``CliRunner``); one check runs the installed
command in a subprocess.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from allpath.interfaces.cli import app
from allpath.interfaces.fhir import record_to_bundle
from allpath.interfaces.json_text import MAX_DEPTH, loads_strict
from tests.conftest import EXAMPLES
from tests.property.strategies import PROPERTY_SETTINGS

runner = CliRunner()
PREFIX = "allpath: invalid input: "
LONGEST_LINE = 600  # a message names the problem and what is allowed; it never carries the input
LONG_VALUE = "x" * 5000
OVERFLOW = "__overflow__"  # stands for the text 1e309, which json.dumps cannot write
RECORDS = [
    json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.json")) if path.name != "all.json"
]
BUNDLES = [record_to_bundle(record) for record in RECORDS]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


BAD_VALUES = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        OVERFLOW,
        10**400,
        "\ud800",
        "a\udfffb",
        _nested(MAX_DEPTH + 5),
        None,
        [],
        {},
        "",
        0,
        -1,
        True,
        LONG_VALUE,
        {"resourceType": "Patient"},
        {"resource": 5},
        [None, 1, "entry"],
    ]
) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if drop and not rest:
        del copy[head]
    else:
        copy[head] = _replaced(value[head], rest, new, drop)
    return copy


@st.composite
def broken_text(draw: st.DrawFn, originals: list[Any]) -> bytes:
    """A valid document with one node replaced or dropped, then perhaps cut short or spoilt with bad bytes."""
    original = draw(st.sampled_from(originals))
    path = draw(st.sampled_from(_paths(original)))
    drop = bool(path) and draw(st.booleans())
    document = _replaced(original, path, draw(BAD_VALUES), drop)
    text = json.dumps(document).replace(f'"{OVERFLOW}"', "1e309").encode("utf-8")
    spoil = draw(st.sampled_from(["none", "none", "cut", "bytes"]))
    if spoil == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif spoil == "bytes":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + text[at:]
    return text


def _assert_exit_0_or_2_without_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr[-500:])
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines, "exit 2 without a message"
        for line in lines:
            assert line.startswith(PREFIX), line[:200]
            assert len(line) <= LONGEST_LINE, line[:200]
            assert LONG_VALUE[:100] not in line  # a long value is quoted shortened


@PROPERTY_SETTINGS
@given(text=broken_text(BUNDLES))
def test_fhir_import_of_a_broken_bundle_exits_0_or_2_and_never_a_traceback(text: bytes) -> None:
    result = runner.invoke(app, ["fhir", "import", "-"], input=text)
    _assert_exit_0_or_2_without_traceback(result)
    if result.exit_code == 0:
        loads_strict(result.stdout)  # what it wrote is strict JSON


@PROPERTY_SETTINGS
@given(text=broken_text(RECORDS))
def test_fhir_export_of_a_broken_record_exits_0_or_2_and_never_a_traceback(text: bytes) -> None:
    result = runner.invoke(app, ["fhir", "export", "-", "--kind", "second-opinion"], input=text)
    _assert_exit_0_or_2_without_traceback(result)


@PROPERTY_SETTINGS
@given(text=broken_text([RECORDS, *RECORDS]))
def test_assess_of_a_broken_record_or_array_exits_0_or_2_and_never_a_traceback(text: bytes) -> None:
    result = runner.invoke(app, ["assess", "-"], input=text)
    _assert_exit_0_or_2_without_traceback(result)


# ---- each kind of bad input, named on one line --------------------------------------------------------------

BUNDLE = json.dumps(BUNDLES[0])
CASES = {
    "lone surrogate": (BUNDLE.replace('"Patient"', '"Patient", "id": "\\ud800"', 1).encode(), "lone surrogate"),
    "NaN": (b'{"resourceType": "Bundle", "total": NaN}', "NaN is not a number JSON can carry (at total)"),
    "Infinity": (b'{"resourceType": "Bundle", "total": Infinity}', "Infinity is not a number JSON can carry"),
    "-Infinity": (b'{"resourceType": "Bundle", "total": -Infinity}', "-Infinity is not a number JSON can carry"),
    "1e309": (b'{"resourceType": "Bundle", "total": 1e309}', "1e309 is not a number JSON can carry"),
    "a 400-digit number": (b'{"total": 1' + b"0" * 400 + b"}", "not a number JSON can carry (at total)"),
    "not UTF-8": (b'{"resourceType": "Bundle\xff"}', "not UTF-8 text: byte 25"),
    "empty": (b"", "the input is empty"),
    "only spaces": (b"  \n", "the input is empty"),
    "nested too deeply": (b"[" * 100_000, f"nested more than {MAX_DEPTH} levels deep"),
    "nested one level too deeply": (
        json.dumps({"resourceType": "Bundle", "entry": _nested(MAX_DEPTH)}).encode(),
        f"nested more than {MAX_DEPTH} levels deep",
    ),
    "not an object": (b"[1, 2]", "is not a FHIR Bundle (got an array)"),
    "a string": (b'"Bundle"', "is not a FHIR Bundle (got str)"),
    "cut short": (BUNDLE[:40].encode(), "not valid JSON (line 1, column"),
}


@pytest.mark.parametrize(("text", "words"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("command", [["fhir", "import", "-"], ["fhir", "export", "-"], ["assess", "-"]])
def test_each_kind_of_bad_input_is_exit_2_with_one_plain_line(command: list[str], text: bytes, words: str) -> None:
    result = runner.invoke(app, command, input=text)
    _assert_exit_0_or_2_without_traceback(result)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    if command[0] == "assess" and text.startswith(b"[") and text.endswith(b"]"):
        assert len(lines) == 2  # an array of records: one line per invalid record
        return
    (line,) = lines
    if "FHIR Bundle" not in words or command[:2] == ["fhir", "import"]:
        assert words in line


def _bundle_nested(levels: int) -> dict[str, Any]:
    """A Bundle whose arrays and objects are ``levels`` deep (the Bundle, its meta, then nested arrays)."""
    return {"resourceType": "Bundle", "type": "collection", "entry": [], "meta": {"tag": _nested(levels - 2)}}


def test_json_nested_exactly_to_the_limit_is_read_and_one_more_level_is_refused() -> None:
    at_limit = _bundle_nested(MAX_DEPTH)
    assert loads_strict(json.dumps(at_limit)) == at_limit
    result = runner.invoke(app, ["fhir", "import", "-"], input=json.dumps(at_limit))
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["fhir", "import", "-"], input=json.dumps(_bundle_nested(MAX_DEPTH + 1)))
    assert result.exit_code == 2
    assert f"nested more than {MAX_DEPTH} levels deep" in result.stderr


def test_a_long_bad_value_is_quoted_shortened() -> None:
    number = "9" * 5000
    result = runner.invoke(app, ["assess", "-"], input='{"wbc_per_ul": ' + number + "}")
    assert result.exit_code == 2
    assert number[:9] + "..." in result.stderr
    assert number[:20] not in result.stderr
    assert len(result.stderr) < 300


def test_the_installed_command_refuses_a_lone_surrogate_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(CASES["lone surrogate"][0])
    done = subprocess.run(
        [str(Path(sys.executable).parent / "allpath"), "fhir", "import", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(PREFIX) and "lone surrogate" in done.stderr
    assert len(done.stderr.splitlines()) == 1
