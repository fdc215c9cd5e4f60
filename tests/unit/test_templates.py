"""engine/templates.py: a copy equals its template, shares no dict nor list with it or with another
copy, and keeps every leaf exactly (key order, types, floats); what cannot be written as a literal is copied."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from allpath.engine.templates import maker

_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_JSON = st.recursive(
    _LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30
)


def _containers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *(i for item in value.values() for i in _containers(item))]
    if isinstance(value, list):
        return [id(value), *(i for item in value for i in _containers(item))]
    return []


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types, the same key order and the same floats (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@given(_JSON)
def test_a_copy_is_the_template_and_shares_no_container(template: Any) -> None:
    make = maker(template)
    first, second = make(), make()
    assert _same(first, template) and _same(second, template)
    assert json.dumps(first) == json.dumps(template)
    kept = set(_containers(template))
    assert kept.isdisjoint(_containers(first)) and set(_containers(first)).isdisjoint(_containers(second))


def test_changing_a_copy_changes_neither_the_template_nor_the_next_copy() -> None:
    template: dict[str, Any] = {"phases": [{"id": "induction", "source": {"url": "u"}}], "n": 1}
    make = maker(template)
    copy = make()
    copy["phases"][0]["source"]["url"] = "changed"
    copy["phases"].append({})
    assert make() == template == {"phases": [{"id": "induction", "source": {"url": "u"}}], "n": 1}


def test_what_is_not_a_literal_is_copied_piece_by_piece() -> None:
    template: dict[str, Any] = {"a": [math.nan, math.inf], "b": (1, 2), "c": {1: "x"}}
    copy = maker(template)()
    assert math.isnan(copy["a"][0]) and copy["a"][1] == math.inf and copy["b"] == (1, 2) and copy["c"] == {1: "x"}
    assert copy["a"] is not template["a"]


def test_words_are_written_back_exactly() -> None:
    words = ["'", '"', "\\", "\n", "{x}", "é\u2028\x00", "__import__('os')", "lambda: 1"]
    assert maker({w: w for w in words})() == {w: w for w in words}
