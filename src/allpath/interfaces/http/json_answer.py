"""A JSON answer written by orjson: the same bytes as Starlette's ``JSONResponse``, in about half the time.

``JSONResponse`` encodes with the standard library (``json.dumps(ensure_ascii=False, allow_nan=False,
separators=(",", ":"))``). For an assessment (14-25 kB) that is about 0.2 ms of a request's CPU. orjson writes
JSON values in under a tenth of that and, for the values a result typed as JSON holds, byte for byte the same:
keys in their order, text as UTF-8 with the same escapes (``\\"``, ``\\\\``, ``\\n``, ``\\u001f``; U+007F,
U+2028 and U+2029 as they are), integers, ``true``/``false``/``null`` and finite floats of magnitude 1e-4 or
more in their shortest form (``1e+16`` as ``repr`` writes it). Where it would differ, the answer is encoded by
the standard library instead, which answers or refuses exactly as ``JSONResponse`` does:

- NaN and the infinities: orjson writes ``null``, the standard library refuses them (``ValueError``: the
  request answers 500, as before);
- a non-zero float below 1e-4 in magnitude: ``0.00001`` or ``1.5e-7`` against ``1e-05`` and ``1.5e-07``;
- what orjson refuses (an integer beyond 64 bits, a key that is not text, a lone surrogate, nesting deeper
  than 254, a value that is not JSON): the standard library answers or refuses it in its own words;
- what orjson writes where the standard library would write it otherwise or refuse it: subclasses of
  ``str``/``int``/``dict``/``list`` (an ``IntEnum``, a ``str`` enum), tuples, enums, UUIDs, dates, dataclasses.

orjson's output cannot show the first and last kinds (a NaN is a ``null`` like ``None``), so they are found in
the value: after orjson has written it (so it holds no cycle), the value is walked level by level with
``gc.get_referents`` (CPython's: the values of each dict, the items of each list, in C), and each level's types are
checked in C against the six plain ones (``dict``, ``list``, ``str``, ``int``, ``bool``, ``None``); only a
level with another type (in an assessment, the one level that holds its few floats) is looked at item by
item. For the 200 generated assessments of the HTTP benchmark (22 kB) orjson writes one in about 15 us and
the walk takes about 35 us: together about half the former pydantic-core encoding with its search of the
output for marks (benchmarks/README.md). Also measured: a walk in Python (``dict.values``, a stack) took about
twice as long as this one, and reading orjson's output back with ``orjson.loads`` to compare it with the value
nearly three times; ujson (refuses NaN, writes ``1e-5``), python-rapidjson (writes ``\\u001F``) and msgspec
(writes NaN as ``null`` too) are all slower than orjson. ``tests/api/test_json_answer.py`` proves the bytes
equal over the examples' assessments, generated records, generated JSON values and every float orjson writes.
"""

from __future__ import annotations

import gc
import json
import math

import orjson
from starlette.responses import JSONResponse

_PLAIN = frozenset({dict, list, str, int, bool, type(None)})
_plain_types = _PLAIN.issuperset
_children = gc.get_referents  # a dict's values (and its keys, unless all are exactly str), a list's items
_SMALLEST_PLAIN_FLOAT = 1e-4  # below this (except 0), orjson writes a float otherwise than repr does


def encode(content: object) -> bytes:
    """``content`` as Starlette's ``JSONResponse`` writes it (see the module docstring)."""
    try:
        encoded = orjson.dumps(content)
    except orjson.JSONEncodeError:
        return _standard(content)  # answered or refused there too, in the standard library's words
    if _written_alike(content):
        return encoded
    return _standard(content)


def _written_alike(content: object) -> bool:
    """Whether orjson wrote ``content`` as the standard library would: all of it plain JSON, floats finite and
    0 or at least 1e-4 in magnitude. ``content`` is one orjson wrote, so it holds no cycle."""
    level: list[object] = [content]
    while level:
        if not _plain_types(map(type, level)):
            for value in level:
                if type(value) not in _PLAIN and not (type(value) is float and _plain_float(value)):
                    return False  # before its children are walked: they may be anything
        level = _children(*level)
    return True


def _plain_float(value: float) -> bool:
    return value == 0.0 or _SMALLEST_PLAIN_FLOAT <= abs(value) < math.inf  # False for NaN


def _standard(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


class JSONAnswer(JSONResponse):
    """``JSONResponse`` with its body written by ``encode``: the same bytes, in less time."""

    def render(self, content: object) -> bytes:
        return encode(content)


__all__ = ["JSONAnswer", "encode"]
