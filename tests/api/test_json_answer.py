"""The kernel's JSON answer (``allpath.interfaces.http.json_answer``) writes exactly the bytes of Starlette's
``JSONResponse``, or refuses what it refuses with the same error: over the assessment of every example, the
golden outputs, generated records, generated JSON values (floats of every size, NaN and the infinities, any
text, keys in any order, integers of any size), values that are not plain JSON, and through
``POST /api/assess`` itself."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import struct
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from allpath import service
from allpath.interfaces.http.json_answer import JSONAnswer, _written_alike, encode
from allpath.knowledge.loader import KnowledgeBase
from tests.api.conftest import Service
from tests.conftest import complete_b_all
from tests.property.strategies import PROPERTY_SETTINGS, valid_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path for path in (ROOT / "examples").glob("*.json") if path.name != "all.json")
GOLDEN = sorted((ROOT / "tests" / "golden").rglob("*.json"))


def starlette(content: object) -> bytes:
    return bytes(JSONResponse(content).body)


def outcome(write: Callable[[object], bytes], content: object) -> bytes | tuple[type[Exception], str]:
    """The bytes written, or the error raised and its words."""
    try:
        return write(content)
    except (TypeError, ValueError) as error:
        return type(error), str(error)


def assert_written_alike(content: object) -> None:
    assert outcome(encode, content) == outcome(starlette, content)


def test_there_are_examples_and_goldens_to_compare() -> None:
    assert len(EXAMPLES) >= 20 and len(GOLDEN) >= 20


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_the_assessment_of_every_example_is_encoded_byte_for_byte(path: Path, kb: KnowledgeBase) -> None:
    assessment = service.assess_record(kb, json.loads(path.read_text()))
    assert encode(assessment) == starlette(assessment)
    assert bytes(JSONAnswer(assessment).body) == starlette(assessment)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: str(path.relative_to(ROOT / "tests" / "golden")))
def test_every_golden_document_is_encoded_byte_for_byte(path: Path) -> None:
    document = json.loads(path.read_text())
    assert encode(document) == starlette(document)


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_the_assessment_of_generated_records_is_encoded_byte_for_byte(
    record: dict[str, object], kb: KnowledgeBase
) -> None:
    assessment = service.assess_record(kb, record)
    assert encode(assessment) == starlette(assessment)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=40,
)


@PROPERTY_SETTINGS
@given(JSON_VALUES)
def test_generated_json_values_are_encoded_byte_for_byte_or_refused_alike(value: object) -> None:
    assert_written_alike(value)  # NaN and the infinities among the floats: refused by both


@PROPERTY_SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_is_written_alike(value: float) -> None:
    assert encode([value]) == starlette([value])


def test_floats_of_every_bit_pattern_are_written_alike() -> None:
    rng = Random(11)
    values = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)]
    finite = [value for value in values if math.isfinite(value)]
    for start in range(0, len(finite), 100):
        assert encode(finite[start : start + 100]) == starlette(finite[start : start + 100])


@pytest.mark.parametrize(
    "value",
    [
        1e-05,  # the standard library writes the exponent, orjson would write 0.00001
        -5.126664519340101e-05,
        1.5e-07,  # orjson would write e-7
        1e-300,
        0.0001,
        1e16,
        1e22,
        -0.0,
        5e-324,
        1.7976931348623157e308,
        2**63 - 1,
        -(2**63),
        2**64 - 1,
        2**64,  # beyond what orjson writes
        -(2**70),
        "NaN and Infinity are words here, like 0.00001 and 1e-7",
        'é, ✓, 🩸, \u2028, \u2029, \ufeff, \x7f, \x00, \x1f, \b, \f, \n, \r, \t, "quoted", back\\slash, /',
        {"z": 1, "a": [1.5, None, True]},  # keys in their order, not sorted
    ],
)
def test_the_numbers_and_texts_orjson_writes_differently_are_left_to_the_standard_library(value: object) -> None:
    assert encode({"value": value}) == starlette({"value": value})


def test_every_character_is_escaped_alike() -> None:
    text = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x10000)))
    assert encode({text: text}) == starlette({text: text})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("before", ["", "No Irish Ice " * 40])
def test_a_number_json_cannot_carry_is_refused_as_before(value: float, before: str) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        starlette({"text": before, "value": [value]})
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode({"text": before, "value": [value]})


def test_a_nan_deep_in_an_assessment_is_refused_as_before(kb: KnowledgeBase) -> None:
    assessment: object = service.assess_record(kb, complete_b_all())
    assert isinstance(assessment, dict)
    assessment["deep"] = [{"a": [None, {"b": [1, 2.5, math.nan]}]}]
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode(assessment)


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    LARGE = 3


class Grade(enum.StrEnum):
    HIGH = "high"


class Text(str):
    pass


class Number(int):
    pass


class Record(dict[str, object]):
    pass


@dataclasses.dataclass
class Point:
    x: int


def _deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


NOT_PLAIN = [
    Colour.RED,  # orjson writes an enum's value, the standard library refuses it
    Size.LARGE,
    Grade.HIGH,
    Text("subclass of str"),
    Number(7),
    Record(a=1),
    (1, "tuple"),
    uuid.UUID(int=5),
    date(2026, 12, 2),
    Point(1),
    {1, 2},
    b"bytes",
    object(),
    {1: "integer key"},
    {Text("key"): 1},
    {None: 1, True: 2, 1.5: 3},
    "lone \ud800 surrogate",
    _deep(300),  # deeper than orjson writes
]


@pytest.mark.parametrize("value", NOT_PLAIN, ids=lambda value: type(value).__name__)
def test_a_value_that_is_not_plain_json_is_written_or_refused_as_before(value: object) -> None:
    assert_written_alike({"value": [value]})
    assert_written_alike(value)


@pytest.mark.parametrize(
    ("value", "alike"),
    [
        ({"a": [1, "x", None, True, {"b": 0.5}]}, True),
        ({"a": [0.0, -0.0, 1e-4, 1e300]}, True),
        ({"a": [{"b": 9.9e-5}]}, False),
        ({"a": [{"b": math.inf}]}, False),
        ({"a": [{"b": -math.nan}]}, False),
        ({"a": [{"b": (1,)}]}, False),
        ({"a": [{"b": Number(1)}]}, False),
    ],
)
def test_what_orjson_writes_otherwise_is_found_at_any_depth(value: object, alike: bool) -> None:
    assert _written_alike(value) is alike


def test_a_value_that_is_not_json_is_refused_as_before() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"value": object()})


def test_post_api_assess_answers_the_bytes_starlette_would(module_service: Service) -> None:
    record = complete_b_all()
    response = module_service.client().post("/api/assess", json=record, headers=module_service.bearer("clinician"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == starlette(service.assess_record(module_service.kb, record))
