"""Record to form: the value of every input for a record, and each problem placed under the input it belongs to."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from allpath.errors import FieldProblem
from allpath.interfaces.web.forms.fields import (
    DISPLAY_NAME,
    EXPOSURE_LISTS,
    RELAPSES,
    ROW_LISTS,
    FormField,
    RowList,
    dom_id,
    record_sections,
)
from allpath.interfaces.web.forms.local import problem_message
from allpath.knowledge.loader import KnowledgeBase

# What an input shows: its text, or the tokens ticked in a group of check boxes.
ShownValue: TypeAlias = str | list[str]


def shown_number(value: object) -> str:
    """A stored number as it is typed back into the form: 8500 not 8500.0, 0.00001 not 1e-05."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _shown(field: FormField, value: object) -> ShownValue:
    if value is None:
        return [] if field.kind == "tokens" else ""
    if field.kind == "tokens":
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.kind == "number":
        return shown_number(value)
    return str(value)


def form_values(kb: KnowledgeBase, record: Mapping[str, object], display_name: str = "") -> dict[str, ShownValue]:
    """The value of every input for ``record`` (a stored record, or one just submitted)."""
    values: dict[str, ShownValue] = {DISPLAY_NAME: display_name}
    for section in record_sections(kb):
        for field in section.fields:
            if field.name == DISPLAY_NAME:
                continue
            if "." in field.name:
                group, key = field.name.split(".", 1)
                found = record.get(group)
                value = found.get(key) if isinstance(found, Mapping) else None
            else:
                value = record.get(field.name)
            values[field.name] = _shown(field, value)
    for rows in ROW_LISTS.values():
        for index, item in enumerate(list_rows(record, rows)):
            for field in rows.fields(index):
                values[field.name] = _shown(field, item.get(field.name.rsplit(".", 1)[1]))
    return values


def list_rows(record: Mapping[str, object], rows: RowList = RELAPSES) -> list[Mapping[str, object]]:
    """The elements of one of the record's lists (as objects; anything else as an empty one)."""
    found: object = record
    for part in rows.path.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    if not isinstance(found, Sequence) or isinstance(found, str):
        return []
    return [r if isinstance(r, Mapping) else {} for r in found]


def relapse_rows(record: Mapping[str, object]) -> list[Mapping[str, object]]:
    return list_rows(record, RELAPSES)


@dataclass(frozen=True)
class Problem:
    field: str  # the input it belongs to, or "" for a problem of the record as a whole
    message: str
    anchor: str  # the id to link to from the error summary


def place_problems(problems: Sequence[FieldProblem], names: set[str]) -> tuple[dict[str, list[str]], list[Problem]]:
    """Each problem's message under the input it belongs to, and the list for the error summary, in the
    language of the page being built (``use_locale``).

    A problem of a list element (``genetics[1]``, ``relapses[0].sites[2]``) belongs to the list's input;
    one that no input shows (``record``) is listed in the summary only.
    """
    by_field: dict[str, list[str]] = {}
    summary: list[Problem] = []
    for problem in problems:
        target = problem.field
        while target not in names and re.search(r"\[\d+\]$", target):
            target = re.sub(r"\[\d+\]$", "", target)
        message = problem_message(problem)  # in the page's language (the API's words in English)
        if target in names:
            by_field.setdefault(target, []).append(message)
            summary.append(Problem(target, message, dom_id("f", target)))
        else:
            summary.append(Problem("", message, "record-errors"))
    return by_field, summary


def field_names(kb: KnowledgeBase, relapse_count: int, row_counts: Mapping[str, int] | None = None) -> set[str]:
    """Every input's name: the sections', ``relapse_count`` relapse rows' and, for the other lists (by
    kind), as many rows as ``row_counts`` says (one each by default)."""
    names = {f.name for s in record_sections(kb) for f in s.fields}
    counts = {"relapse": relapse_count} | {r.kind: 1 for r in EXPOSURE_LISTS} | dict(row_counts or {})
    for kind, count in counts.items():
        for index in range(count):
            names |= {f.name for f in ROW_LISTS[kind].fields(index)}
    return names
