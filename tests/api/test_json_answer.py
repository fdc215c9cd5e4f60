"""The kernel's JSON answer (``allpath.interfaces.http.json_answer``) writes exactly the bytes of Starlette's
``JSONResponse``: over the assessment of every example, the golden outputs, generated records and generated
JSON values (floats of every size, any text, keys in any order), and through ``POST /api/assess`` itself."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from allpath import service
from allpath.interfaces.http.json_answer import JSONAnswer, _marked, encode
from allpath.knowledge.loader import KnowledgeBase
from tests.api.conftest import Service
from tests.conftest import complete_b_all
from tests.property.strategies import PROPERTY_SETTINGS, valid_records

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path for path in (ROOT / "examples").glob("*.json") if path.name != "all.json")
GOLDEN = sorted((ROOT / "tests" / "golden").rglob("*.json"))


def starlette(content: object) -> bytes:
    return bytes(JSONResponse(content).body)


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
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=40,
)


@PROPERTY_SETTINGS
@given(JSON_VALUES)
def test_generated_json_values_are_encoded_byte_for_byte(value: object) -> None:
    assert encode(value) == starlette(value)


@pytest.mark.parametrize(
    "value",
    [
        1e-05,  # the standard library writes the exponent, pydantic-core would write 0.00001
        -5.126664519340101e-05,
        1.5e-07,  # pydantic-core would write e-7
        1e-300,
        0.0001,
        1e16,
        1e22,
        -0.0,
        5e-324,
        1.7976931348623157e308,
        2**64,
        -(2**70),
        "NaN and Infinity are words here, like 0.00001 and 1e-7",
        'é, ✓, 🩸, \u2028, \x7f, \x00, \x1f, "quoted", back\\slash',
        {"z": 1, "a": [1.5, None, True]},  # keys in their order, not sorted
    ],
)
def test_the_numbers_and_texts_pydantic_core_writes_differently_are_left_to_the_standard_library(
    value: object,
) -> None:
    assert encode({"value": value}) == starlette({"value": value})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("before", ["", "No Irish Ice " * 40])  # more capitals than are checked one by one
def test_a_number_json_cannot_carry_is_refused_as_before(value: float, before: str) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        starlette({"text": before, "value": [value]})
    with pytest.raises(ValueError, match="not JSON compliant"):
        encode({"text": before, "value": [value]})


def _four_scans(encoded: bytes) -> bool:
    return any(mark in encoded for mark in (b"0.0000", b"NaN", b"Infinity")) or any(
        f"e-{digit}".encode() in encoded for digit in range(10)
    )


MARK_PARTS = st.sampled_from(["N", "Na", "NaN", "I", "Infinit", "Infinity", "e", "e-", "e-x", "e-7", "0.000", "0.0000"])


@PROPERTY_SETTINGS
@given(st.lists(MARK_PARTS | st.text(max_size=3), max_size=80))
def test_the_marks_are_found_as_four_scans_of_the_text_would(parts: list[str]) -> None:
    encoded = "".join(parts).encode()
    assert _marked(encoded) == _four_scans(encoded)


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        ("", False),
        ("e-", False),
        ("one-two e-x e-", False),
        ("e-x then e-5", True),
        ("N" * 100 + "NaN", True),
        ("I" * 100 + "Infinit", False),
        ("I" * 100 + "Infinity", True),
        ("Na " * 50, False),
    ],
)
def test_the_marks_at_the_edges(text: str, marked: bool) -> None:
    assert _marked(text.encode()) is marked


def test_a_value_that_is_not_json_is_refused_as_before() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"value": object()})


def test_post_api_assess_answers_the_bytes_starlette_would(module_service: Service) -> None:
    record = complete_b_all()
    response = module_service.client().post("/api/assess", json=record, headers=module_service.bearer("clinician"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == starlette(service.assess_record(module_service.kb, record))
