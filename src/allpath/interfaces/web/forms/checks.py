"""The problems of a record made from a form: all of them at once, the display name's, and text that could not
be stored or shown."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.errors import FieldProblem, RecordError
from allpath.interfaces.i18n import marked
from allpath.interfaces.web.forms.fields import DISPLAY_NAME, DISPLAY_NAME_MAX

_LIST_ENTRY = re.compile(r"(\[\d+\])+$")
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# How many times a record is validated again without the fields already found wrong (each pass can only
# find more problems once the values that stopped the one before are set aside).
_REVALIDATE_PASSES = 6
# What the display name and the record's text allow (a page in another language translates them: forms.local).
DISPLAY_NAME_ALLOWED = marked("a name of 1 to %(most)s characters is required, without control characters")
TEXT_ALLOWED = marked("text without control characters")


def _without(record: Any, path: str) -> Any:
    """A copy of ``record`` without the value at ``path`` (``response.day8_blood_mrd_pct``,
    ``relapses[0].sites``); the record itself when the path does not lead to a value."""
    steps: list[str | int] = [name if name else int(index) for name, index in _PATH_STEP.findall(path)]
    if not steps:
        return record

    def drop(node: Any, rest: list[str | int]) -> Any:
        head, tail = rest[0], rest[1:]
        if isinstance(node, dict) and isinstance(head, str) and head in node:
            copy = dict(node)
            if tail:
                copy[head] = drop(node[head], tail)
            else:
                del copy[head]
            return copy
        if isinstance(node, list) and isinstance(head, int) and 0 <= head < len(node) and tail:
            items = list(node)
            items[head] = drop(node[head], tail)
            return items
        return node

    return drop(record, steps)


def record_problems(record: Mapping[str, object]) -> list[FieldProblem]:
    """Every problem of a record made from a form, all at once.

    ``parse_record`` checks the kinds of the values first and the ranges only of a record whose values are all
    of the right kind, so one word typed into a number box would hide every value out of range. The record
    is therefore validated again without the fields already found wrong, until no new problem turns up."""
    problems: list[FieldProblem] = []
    set_aside: set[str] = set()
    candidate: Any = dict(record)
    for _ in range(_REVALIDATE_PASSES):
        try:
            parse_record(candidate)
        except RecordError as error:
            # A wrong entry of a list (``relapses[0].sites[1]``) sets the whole list aside, so that the next
            # pass does not report the same input again as a list that is now empty.
            fresh = [p for p in error.problems if _LIST_ENTRY.sub("", p.field) not in set_aside]
            for problem in fresh:
                problems.append(problem)
                path = _LIST_ENTRY.sub("", problem.field)
                set_aside.add(path)
                candidate = _without(candidate, path)
            if not fresh:
                # What is left comes from values already set aside (a row without its required fields):
                # set aside the whole field of the record that holds them, already reported.
                before = candidate
                for problem in error.problems:
                    candidate = _without(candidate, problem.field.split(".", 1)[0].split("[", 1)[0])
                if candidate == before:
                    break
            continue
        break
    return problems[: limits.PROBLEMS_MAX_REPORTED]


def _printable(text: str) -> bool:
    """No control characters (a NUL cannot be stored by PostgreSQL) and no unpaired surrogates."""
    if any(ord(c) < 32 and c not in "\t" for c in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name_problem(name: str) -> FieldProblem | None:
    if not name or len(name) > DISPLAY_NAME_MAX or not _printable(name):
        return FieldProblem(DISPLAY_NAME, name, DISPLAY_NAME_ALLOWED % {"most": DISPLAY_NAME_MAX})
    return None


def text_problems(record: Mapping[str, object], path: str = "") -> list[FieldProblem]:
    """Text in the record that could not be stored or shown (control characters), by record path."""
    problems: list[FieldProblem] = []
    for key, value in record.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, str) and not _printable(value):
            problems.append(FieldProblem(where, value, TEXT_ALLOWED))
        elif isinstance(value, Mapping):
            problems.extend(text_problems(value, where))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    problems.extend(text_problems(item, f"{where}[{i}]"))
                elif isinstance(item, str) and not _printable(item):
                    problems.append(FieldProblem(f"{where}[{i}]", item, TEXT_ALLOWED))
    return problems
