"""Errors that allpath reports to its callers.

Every error about input names the field, the value that was given and what is allowed, because the
person reading it has to fix the record without reading our code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of a patient record."""

    field: str
    value: Any
    allowed: str

    def message(self) -> str:
        shown = _show(self.value)
        return f"{self.field}: {shown} is not allowed; {self.allowed}"


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


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON numbers are read as floats; show -5 as it was typed, not -5.0
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
