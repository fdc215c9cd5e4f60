"""Form to record: the patient record a submitted form describes (not yet validated).

An empty input is an absent field (never a default); a number that does not read as a number is passed on as
the text that was typed, so that ``parse_record`` rejects it with the same message the JSON API gives. Empty
rows of a list are dropped.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from starlette.datastructures import FormData

from allpath.errors import FieldProblem
from allpath.interfaces.web.forms.fields import (
    DISPLAY_NAME,
    EXPOSURE_LISTS,
    RELAPSES,
    FormField,
    RowList,
    record_sections,
    relapse_fields,
)
from allpath.knowledge.loader import KnowledgeBase

# What one input gives the record: a number (or the text typed, when it does not read as one), a yes/no, a
# word, the tokens ticked; None for an empty input (the field is absent).
InputValue: TypeAlias = int | float | bool | str | list[str] | None

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
# A number typed into a form is at most this long (a count with decimals and an exponent fits many times).
_NUMBER_MAX_CHARS = 40


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str) -> int | float | str:
    """An int or float when the text is a plain, finite number; otherwise the text itself, for the validator
    (which then quotes it as typed: "1e309", "nan" and "inf" are words here, never a float that JSON cannot
    carry)."""
    if len(raw) > _NUMBER_MAX_CHARS:
        return raw  # no measurement is this long; int() of thousands of digits is slow, and fails past 4,300
    if _INTEGER.fullmatch(raw):
        whole = int(raw)
        return whole if abs(whole) <= sys.float_info.max else raw
    if _NUMBER.fullmatch(raw):
        value = float(raw)
        return value if math.isfinite(value) else raw
    return raw


def _value(form: FormData, field: FormField) -> InputValue:
    """The record value of one input, or ``None`` when the input is empty (the field is absent)."""
    if field.kind == "tokens":
        chosen = [v for v in form.getlist(field.name) if isinstance(v, str) and v]
        return chosen or None
    raw = _text(form, field.name)
    if raw == "":
        return None
    if field.kind == "number":
        return _number(raw)
    if field.kind == "yesno":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def display_name_from(form: FormData) -> str:
    return _text(form, DISPLAY_NAME)


def record_from_form(
    kb: KnowledgeBase, form: FormData, previous: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The patient record a submitted form describes (not yet validated).

    ``previous`` is the stored record being edited: an explicitly empty list of inherited conditions is
    kept as it was, so that saving an unchanged form stores an unchanged record.
    """
    record: dict[str, object] = {}
    groups: dict[str, dict[str, object]] = {}  # response, pharmacogenomics: objects of the record
    for section in record_sections(kb):
        for field in section.fields:
            if field.name == DISPLAY_NAME:
                continue
            value = _value(form, field)
            if value is None:
                continue
            if "." in field.name:
                group, key = field.name.split(".", 1)
                groups.setdefault(group, {})[key] = value
            else:
                record[field.name] = value
    record.update(groups)
    if (
        previous is not None
        and previous.get("predisposition_syndromes") == []
        and "predisposition_syndromes" not in record
    ):
        record["predisposition_syndromes"] = []
    relapses = _relapses_from(form)
    if relapses:
        record["relapses"] = relapses
    exposures: dict[str, list[dict[str, object]]] = {}
    for rows in EXPOSURE_LISTS:
        items = _items_from(form, rows)
        if items:
            exposures[rows.path.split(".", 1)[1]] = items
    if exposures:
        record["exposures"] = exposures
    return record


def rows_used(form: FormData, rows: RowList = RELAPSES) -> list[int]:
    """The form's rows of a list that hold anything, in order: row ``used[i]`` becomes element ``i``."""
    return [i for i in rows_on_screen(form, rows) if any(_value(form, f) is not None for f in rows.fields(i))]


def rows_on_screen(form: FormData, rows: RowList) -> list[int]:
    """The indices of every row of a list that the submitted form holds, empty or not."""
    return sorted({int(m.group(1)) for key in form.keys() if (m := rows.key.fullmatch(str(key)))})


def relapse_rows_used(form: FormData) -> list[int]:
    """The form's relapse rows that hold anything, in order: row ``used[i]`` becomes ``relapses[i]``."""
    return rows_used(form, RELAPSES)


def in_form_rows(problems: Sequence[FieldProblem], used: Sequence[int], path: str = "relapses") -> list[FieldProblem]:
    """Problems of ``<path>[i]`` renamed to the form row they came from (unused rows are skipped)."""
    pattern = re.compile(re.escape(path) + r"\[(\d+)\]")

    def rename(field: str) -> str:
        match = pattern.match(field)
        if match is None or int(match.group(1)) >= len(used):
            return field
        return f"{path}[{used[int(match.group(1))]}]" + field[match.end() :]

    return [FieldProblem(rename(p.field), p.value, p.allowed) for p in problems]


def _relapses_from(form: FormData) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for index in relapse_rows_used(form):
        months, sites, block1 = (_value(form, f) for f in relapse_fields(index))
        relapse: dict[str, object] = {}
        if months is not None:
            relapse["months_from_diagnosis"] = months
        relapse["sites"] = sites or []
        if block1 is not None:
            relapse["end_of_block1_mrd_pct"] = block1
        out.append(relapse)
    return out


def _items_from(form: FormData, rows: RowList) -> list[dict[str, object]]:
    """The elements of a list of objects (courses, radiation): the filled inputs of each used row."""
    out: list[dict[str, object]] = []
    for index in rows_used(form, rows):
        item: dict[str, object] = {}
        for field in rows.fields(index):
            value = _value(form, field)
            if value is not None:
                item[field.name.rsplit(".", 1)[1]] = value
        out.append(item)
    return out
