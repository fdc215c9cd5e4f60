"""A strict JSON reader: numbers that JSON cannot carry are refused, with the place they were found.

Python's ``json`` module reads ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON at all, RFC 8259 section 6)
and turns a number too large for a 64-bit float (``1e309``) into infinity. None of these can be written back
as JSON, so a value that got in this way fails later, far from where it came in (as a server error, or a
record that cannot be shown). ``loads`` refuses them at the door; the HTTP layer, the web app's FHIR import
and the command line all read JSON input through it.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

__all__ = ["NotFiniteNumber", "loads", "might_hold_unfinite_numbers", "path_text"]

# A float has at most 309 digits before the decimal point (sys.float_info.max is about 1.8e308); a longer
# integer cannot become a float, and converting one with thousands of digits is itself slow.
_MAX_INTEGER_DIGITS = 309

# Every token that ``loads`` could refuse holds one of these once its digits are all written 0 (and E as e):
# the named constants, an exponent of three or more digits (1e309, 1E+0400) or a run of 309 digits. A body
# without any is read as it is, unchecked. (Substring searches: a regular expression costs ten times more.)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_LONG_RUN = b"0" * _MAX_INTEGER_DIGITS


class NotFiniteNumber(ValueError):
    """The JSON holds NaN, Infinity, -Infinity or a number beyond the range of a 64-bit float."""

    def __init__(self, token: str, path: tuple[str | int, ...]) -> None:
        self.token = token if len(token) <= 12 else token[:9] + "..."
        self.path = path
        where = path_text(path)
        super().__init__(
            f"{self.token} is not a number JSON can carry{f' (at {where})' if where else ''}: "
            "send a finite number (NaN, Infinity and numbers beyond about 1.8e308 are not allowed)"
        )


class _Refused:
    """Stands in for a refused number while the document is decoded (so that its place can be found)."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses NaN, Infinity, -Infinity and numbers beyond the float range.

    Raises
    ------
    json.JSONDecodeError
        The text is not JSON.
    NotFiniteNumber
        The text is JSON only by Python's lenient reading; the error names the first such number and where.
    RecursionError
        Nested too deeply to decode (as ``json.loads``).
    """
    refused: list[_Refused] = []

    def constant(token: str) -> _Refused:
        marker = _Refused(token)
        refused.append(marker)
        return marker

    def decimal(token: str) -> float | _Refused:
        value = float(token)
        return value if math.isfinite(value) else constant(token)

    def integer(token: str) -> int | _Refused:
        if len(token.lstrip("-")) > _MAX_INTEGER_DIGITS:
            return constant(token)
        value = int(token)
        return value if abs(value) <= sys.float_info.max else constant(token)

    data = json.loads(text, parse_constant=constant, parse_float=decimal, parse_int=integer)
    if refused:
        raise NotFiniteNumber(refused[0].token, _first_refused(data))
    return data


def might_hold_unfinite_numbers(body: bytes) -> bool:
    """False only when ``loads`` would certainly refuse no number of ``body`` (a quick scan, no decoding)."""
    if b"NaN" in body or b"Infinity" in body:
        return True
    shape = body.translate(_DIGITS_AS_ZERO)
    return b"e000" in shape or b"e+000" in shape or b"e-000" in shape or _LONG_RUN in shape


def path_text(path: tuple[str | int, ...]) -> str:
    """A path as a person reads it: ``relapses[0].sites``; long keys shortened."""
    shown = ""
    for part in path:
        if isinstance(part, int):
            shown += f"[{part}]"
        else:
            key = part if len(part) <= 40 else part[:37] + "..."
            shown += ("." if shown else "") + key
    return shown


def _first_refused(data: Any) -> tuple[str | int, ...]:
    """Where the first refused number is, in document order (iteratively: the depth is the decoder's)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Refused):
            return path
        if isinstance(value, dict):
            stack.extend((item, (*path, key)) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(value))))
    return ()
