"""A JSON answer written by pydantic-core's encoder: the same bytes as Starlette's ``JSONResponse``, faster.

``JSONResponse`` encodes with the standard library (``json.dumps(ensure_ascii=False, allow_nan=False,
separators=(",", ":"))``). For an assessment (14-25 kB) that was about 0.15 ms of a request's CPU, the
largest single cost of ``POST /api/assess`` after the engine itself (benchmarks/README.md). pydantic-core,
which FastAPI uses already, writes JSON values in a quarter of that time and, for nearly every value, byte for
byte the same: keys in their order, text as UTF-8 with the same escapes, integers of any size, floats in their
shortest form. Three kinds of number it writes differently; each leaves a mark in its output that this
module looks for, and then the answer is encoded by the standard library instead:

- a float below 1e-4 in magnitude: the standard library writes ``1e-05``, pydantic-core ``0.00001``
  (marked by ``0.0000``);
- a float with a negative exponent of one digit: ``1.5e-07`` against ``1.5e-7`` (marked by ``e-`` and a digit);
- NaN and the infinities: the standard library refuses them (``ValueError``: the request answers 500, as
  before), pydantic-core would write ``NaN`` / ``Infinity`` (marked by those words).

The marks are looked for in the whole text, strings included, so a text that happens to hold one only costs
the slower encoding, never a different answer. ``NaN`` and ``Infinity`` are found from their capital letter
(each found by ``memchr``; few in an answer), ``e-`` by one scan whose few hits are checked for a digit: about
35 us less than four scans of a 22 kB assessment. A value pydantic-core cannot encode goes to the standard
library too, which refuses it as before. Meant for results typed as JSON (the TypedDicts of
``allpath.domain.results``, whose values mypy checks): pydantic-core would also write a few Python types that
are not JSON (a date, a set), which such a result cannot hold. ``tests/api/test_json_answer.py`` proves the
bytes equal over the examples' assessments, generated records and generated JSON values.
"""

from __future__ import annotations

import json

from pydantic_core import PydanticSerializationError, to_json
from starlette.responses import JSONResponse

_CAPITALS_CHECKED = 32  # past this many capitals, the word is looked for by one scan of the rest


def encode(content: object) -> bytes:
    """``content`` as Starlette's ``JSONResponse`` writes it (see the module docstring)."""
    try:
        encoded = to_json(content, inf_nan_mode="constants")
    except PydanticSerializationError:
        return _standard(content)  # refused there too, in the standard library's words
    if _marked(encoded):
        return _standard(content)
    return encoded


def _marked(encoded: bytes) -> bool:
    """Whether ``encoded`` holds ``0.0000``, ``e-`` and a digit, ``NaN`` or ``Infinity`` anywhere."""
    if b"0.0000" in encoded:
        return True
    at = encoded.find(b"e-")
    while at >= 0:
        if encoded[at + 2 : at + 3].isdigit():  # ASCII digits only; False at the end
            return True
        at = encoded.find(b"e-", at + 2)
    return _holds(encoded, b"NaN") or _holds(encoded, b"Infinity")


def _holds(encoded: bytes, word: bytes) -> bool:
    """``word in encoded``, found from the occurrences of its first letter (a ``memchr`` each)."""
    at = encoded.find(word[:1])
    for _ in range(_CAPITALS_CHECKED):
        if at < 0:
            return False
        if encoded.startswith(word, at):
            return True
        at = encoded.find(word[:1], at + 1)
    return at >= 0 and word in encoded[at:]


def _standard(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class JSONAnswer(JSONResponse):
    """``JSONResponse`` with its body written by ``encode``: the same bytes, in less time."""

    def render(self, content: object) -> bytes:
        return encode(content)


__all__ = ["JSONAnswer", "encode"]
