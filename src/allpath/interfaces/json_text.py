"""JSON text from a file or standard input, read strictly, with every refusal in plain words.

Numbers that JSON cannot carry (NaN, Infinity, numbers beyond a float) are refused by
``allpath.interfaces.strict_json``. This adds what the command line meets besides: bytes that are not
UTF-8, empty input, syntax errors told in words rather than in ``json``'s, ``\\ud800`` escapes that leave a
lone surrogate (a string that can never be written back as UTF-8), and nesting deeper than any record or
Bundle needs (which would otherwise exhaust the interpreter's stack later, as a traceback).
"""

from __future__ import annotations

import json
import re
from typing import Any

from allpath.interfaces.strict_json import NotFiniteNumber, loads, path_text

MAX_DEPTH = 100  # arrays and objects inside one another; a FHIR Bundle needs about 10
QUOTE_LIMIT = 40  # characters of a value quoted in a message
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# json's messages, in plain words (the line and column are given beside them).
_DECODE_PROBLEMS = {
    "Expecting value": "a value is missing or is not JSON",
    "Expecting ',' delimiter": "a comma is missing",
    "Expecting ':' delimiter": "a colon is missing",
    "Expecting property name enclosed in double quotes": "a name in double quotes is expected",
    "Unterminated string starting at": "a string is not closed",
    "Invalid control character at": "a control character (such as a line break) is inside a string",
    "Invalid \\escape": "a backslash escape in a string is not valid",
    "Invalid \\uXXXX escape": "a \\u escape in a string is not valid",
    "Extra data": "more follows the JSON value",
}


class JSONTextError(ValueError):
    """Text that is not strict JSON. ``reason`` says why in words (and where, when known); the message is
    "not valid JSON (<reason>)"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not valid JSON ({reason})")


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` in double quotes, cut to ``limit`` characters with "...", lone surrogates and control
    characters as "?" (a message never carries a long input, nor breaks a line)."""
    cleaned = "".join("?" if LONE_SURROGATE.match(c) or not c.isprintable() else c for c in text)
    return f'"{cleaned}"' if len(cleaned) <= limit else f'"{cleaned[: limit - 3]}..."'


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark is dropped); ``JSONTextError`` naming the first bad
    byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise JSONTextError(f"the input is not UTF-8 text: byte {error.start + 1} is not UTF-8") from None


def loads_strict(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``text``; ``JSONTextError`` (a ``ValueError``) in plain words for anything that is not
    strict JSON: empty or invalid text, NaN, Infinity, numbers beyond a float, lone surrogates, nesting beyond
    ``max_depth``."""
    if not text.strip():
        raise JSONTextError("the input is empty")
    try:
        value = loads(text)
    except NotFiniteNumber as error:
        raise JSONTextError(str(error)) from None
    except json.JSONDecodeError as error:
        words = _DECODE_PROBLEMS.get(error.msg, "this is not JSON")
        raise JSONTextError(f"line {error.lineno}, column {error.colno}: {words}") from None
    except RecursionError:
        raise JSONTextError(f"arrays and objects are nested more than {max_depth} levels deep") from None
    _check_tree(value, max_depth)
    return value


def _check_tree(value: Any, max_depth: int) -> None:
    """Refuse lone surrogates (in names and strings), naming where, and nesting deeper than ``max_depth``;
    without recursion."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _refuse_lone_surrogate(item, path, "the text")
        elif isinstance(item, dict):
            _refuse_too_deep(path, max_depth)
            for key, child in item.items():
                _refuse_lone_surrogate(key, path, "the name")
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            _refuse_too_deep(path, max_depth)
            stack.extend((child, (*path, index)) for index, child in enumerate(item))


def _refuse_lone_surrogate(text: str, path: tuple[str | int, ...], what: str) -> None:
    if LONE_SURROGATE.search(text):
        where = f"at {path_text(path)}: " if path else ""
        raise JSONTextError(
            f"{where}{what} {shortened(text)} holds a lone surrogate escape such as \\ud800, which is not a character"
        )


def _refuse_too_deep(path: tuple[str | int, ...], max_depth: int) -> None:
    if len(path) >= max_depth:
        raise JSONTextError(f"arrays and objects are nested more than {max_depth} levels deep")
