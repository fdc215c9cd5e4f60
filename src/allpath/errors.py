"""Errors that allpath reports to its callers.

Every error about input names the field, the value that was given and what is allowed, because the
person reading it has to fix the record without reading our code.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of a patient record."""

    field: str
    value: Any
    allowed: str

    def message(self, *, with_key: bool = False) -> str:
        """What a person reads: the field by its label (``domain/labels.yaml``), the value, what is allowed.
        Software reads ``field`` (the record path) instead. ``with_key`` adds the key in the JSON file, for
        the command line, whose user edits that file and has to find the key in it."""
        from allpath.domain.labels import field_label  # here: the domain package imports this module

        shown = _show(self.value)
        named = (
            f"{field_label(self.field)} (key {self.field} in the record)"
            if with_key and self.field != "record"
            else field_label(self.field)
        )
        return f"{named}: {shown} is not allowed; {self.allowed}"

    def shown_value(self) -> Any:
        """The value as an error answer may quote it: shortened, JSON-safe (see ``shown_value``)."""
        return shown_value(self.value)


class RecordError(ValueError):
    """A patient record is invalid. Nothing was assessed or stored."""

    def __init__(self, problems: list[FieldProblem], where: str = "") -> None:
        self.problems = problems
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__("\n".join(prefix + p.message() for p in problems))

    @property
    def fields(self) -> list[str]:
        return [p.field for p in self.problems]


class KnowledgeError(ValueError):
    """The knowledge base is malformed (schema, references or citations)."""


ABSENT: Any = object()
"""Stands for a value that was not given at all (a required field left out)."""


SHOWN_CHARS = 80
"""The longest a quoted value gets in a message: enough to recognise it, never a whole body echoed back."""


def _bounded_repr() -> reprlib.Repr:
    # reprlib stops at a few items and characters, so that showing a huge value costs no more than a small one.
    shown = reprlib.Repr()
    shown.maxstring = SHOWN_CHARS - 2
    shown.maxother = SHOWN_CHARS
    shown.maxlist = shown.maxtuple = shown.maxset = 6
    shown.maxdict = 4
    shown.maxlevel = 2
    return shown


_REPR = _bounded_repr()


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return "(a number too large to show)"  # repr of a huge integer is slow, and fails beyond 4,300 digits
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON numbers are read as floats; show -5 as it was typed, not -5.0
    text = _as_json(_REPR.repr(value))
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


_PY_WORDS = re.compile(r"\b(True|False|None)\b|'((?:[^'\\]|\\.)*)'")


def _as_json(text: str) -> str:
    """A bounded Python repr written the way the record was typed (JSON): true, false, null, "text"."""
    words = {"True": "true", "False": "false", "None": "null"}
    return _PY_WORDS.sub(lambda m: words[m.group(1)] if m.group(1) else f'"{m.group(2)}"', text)


def shown_value(value: Any) -> Any:
    """A value to quote in a JSON error answer: small values as they are, anything else shortened to text.

    Never more than about ``SHOWN_CHARS`` characters, and always something JSON can carry (no NaN).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value.bit_length() <= 53:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= SHOWN_CHARS and _storable(value):
        return value
    if isinstance(value, list | tuple) and len(value) <= 12:
        items = [shown_value(item) for item in value]
        if all(item is None or isinstance(item, bool | int | float | str) for item in items):
            if sum(len(str(item)) + 2 for item in items) <= SHOWN_CHARS:
                return items
    text = _show(value)
    return text if _storable(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def marked(message: str) -> str:
    """Marks a message below the interfaces for the translation catalog (``scripts/i18n`` extracts
    ``marked(...)``): nothing translates here; an interface translates the message where a person reads it."""
    return message


class InputError(ValueError):
    """An answer cannot be made from these inputs (a dose calculation, a calendar): ``field`` names the input
    that is missing or wrong, ``message`` says why in plain words. ``template`` and ``params`` are the message
    before its values were put in (``template % params == message``), for an interface that writes it in
    another language; without them the message is its own template."""

    def __init__(
        self, field: str, message: str, *, template: str | None = None, params: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.template = template if template is not None else message
        self.params: dict[str, str] = dict(params or {})
