"""The strict JSON reader (``allpath.interfaces.strict_json``), which the HTTP guard, the web FHIR import and
the command line share: it refuses exactly the numbers JSON cannot carry, and its quick scan misses none."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allpath.interfaces.strict_json import NotFiniteNumber, loads, might_hold_unfinite_numbers, path_text

FINITE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
UNFINITE_TOKENS = st.sampled_from(["NaN", "Infinity", "-Infinity"]) | st.builds(
    lambda mantissa, exponent, sign: f"{sign}{mantissa}e{exponent}",
    st.integers(1, 9),
    st.integers(309, 100_000),
    st.sampled_from(["", "-"]),
)


def _has_unfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_unfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unfinite(v) for v in value)
    return False


@given(FINITE_JSON)
@settings(max_examples=300, deadline=None)
def test_finite_json_reads_as_json_loads_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@given(FINITE_JSON, UNFINITE_TOKENS, st.data())
@settings(max_examples=300, deadline=None)
def test_an_unfinite_number_anywhere_is_refused_and_the_scan_sees_it(value: Any, token: str, data: Any) -> None:
    marker = "__number_goes_here__"
    # put the marker in the place of one leaf or as a new element/member, then the token in place of the marker
    container = data.draw(st.sampled_from(["list", "object"]))
    document = [value, marker] if container == "list" else {"a": value, "b": {"c": marker}}
    text = json.dumps(document).replace(f'"{marker}"', token)
    assert _has_unfinite(json.loads(text))  # Python's own reader lets it in
    assert might_hold_unfinite_numbers(text.encode())
    with pytest.raises(NotFiniteNumber) as refused:
        loads(text)
    assert refused.value.path == ((1,) if container == "list" else ("b", "c"))


JSON_NUMBERS = st.builds(
    lambda sign, whole, fraction, exponent: f"{sign}{whole}{fraction}{exponent}",
    st.sampled_from(["", "-"]),
    st.from_regex(r"\A(0|[1-9][0-9]{0,400})\Z"),
    st.sampled_from(["", ".5", ".000001", ".9999"]),
    st.sampled_from(["", "e", "E", "e+", "e-", "E-0"]).flatmap(
        lambda mark: st.just("") if not mark else st.integers(0, 1000).map(lambda n: f"{mark}{n}")
    ),
)


@given(JSON_NUMBERS)
@settings(max_examples=500, deadline=None)
def test_the_scan_misses_no_number_the_reader_refuses(text: str) -> None:
    try:
        loads(text)
    except NotFiniteNumber:
        assert might_hold_unfinite_numbers(text.encode()), text


def test_each_refusal_names_the_token_and_the_place() -> None:
    cases = {
        '{"wbc_per_ul": NaN}': ("NaN", ("wbc_per_ul",), "NaN is not a number JSON can carry (at wbc_per_ul)"),
        '{"r": [{"m": 1}, {"m": -Infinity}]}': ("-Infinity", ("r", 1, "m"), "(at r[1].m)"),
        "[1e309]": ("1e309", (0,), "1e309 is not a number JSON can carry (at [0])"),
        "-1E+400": ("-1E+400", (), "-1E+400 is not a number JSON can carry: send"),
        "1" * 400: ("111111111...", (), "111111111... is not a number JSON can carry: send"),
    }
    for text, (token, path, words) in cases.items():
        with pytest.raises(NotFiniteNumber) as refused:
            loads(text)
        assert (refused.value.token, refused.value.path) == (token, path)
        assert words in str(refused.value)


def test_the_largest_floats_and_integers_are_kept() -> None:
    assert loads("1.7976931348623157e308") == 1.7976931348623157e308
    assert loads("-1e-400") == 0.0  # below the smallest float: zero, which JSON carries
    largest = int(1.7976931348623157e308)
    assert loads(str(largest)) == largest
    with pytest.raises(NotFiniteNumber):
        loads(str(largest * 2))


def test_text_that_is_not_json_is_a_decode_error_and_strings_are_text() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")
    assert loads('{"note": "NaN and Infinity"}') == {"note": "NaN and Infinity"}


def test_paths_are_shown_as_a_person_reads_them() -> None:
    assert path_text(("relapses", 0, "sites")) == "relapses[0].sites"
    assert path_text(("k" * 100,)) == "k" * 37 + "..."
