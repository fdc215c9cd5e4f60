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
the slower encoding, never a different answer. A value pydantic-core cannot encode goes to the standard
library too, which refuses it as before. Meant for results typed as JSON (the TypedDicts of
``allpath.domain.results``, whose values mypy checks): pydantic-core would also write a few Python types that
are not JSON (a date, a set), which such a result cannot hold. ``tests/api/test_json_answer.py`` proves the
bytes equal over the examples' assessments, generated records and generated JSON values.
"""

from __future__ import annotations

import json
import re

from pydantic_core import PydanticSerializationError, to_json
from starlette.responses import JSONResponse

_SHORT_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9]")  # starts with a literal: a fast scan of the whole answer


def encode(content: object) -> bytes:
    """``content`` as Starlette's ``JSONResponse`` writes it (see the module docstring)."""
    try:
        encoded = to_json(content, inf_nan_mode="constants")
    except PydanticSerializationError:
        return _standard(content)  # refused there too, in the standard library's words
    if b"0.0000" in encoded or b"NaN" in encoded or b"Infinity" in encoded or _SHORT_NEGATIVE_EXPONENT.search(encoded):
        return _standard(content)
    return encoded


def _standard(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class JSONAnswer(JSONResponse):
    """``JSONResponse`` with its body written by ``encode``: the same bytes, in less time."""

    def render(self, content: object) -> bytes:
        return encode(content)


__all__ = ["JSONAnswer", "encode"]
