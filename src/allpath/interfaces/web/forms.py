"""The patient record form: every field of patient record v1, to and from HTML form values.

The form adds nothing of its own to the record. An empty input is an absent field (never a default), a
number that does not read as a number is passed on as the text that was typed so that
``parse_record`` rejects it with the same message the JSON API gives, and each ``FieldProblem`` is
shown beside the input whose name is its record path (``wbc_per_ul``, ``response.day8_blood_mrd_pct``,
``relapses[0].sites``, ``exposures.courses[0].date``). Lists of objects (relapses, the courses and radiation
given) are rows of inputs that the page adds one at a time; empty rows are dropped.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from starlette.datastructures import FormData

from allpath.domain import limits
from allpath.domain.record import (
    EXPOSURE_DRUGS,
    GENETIC_TOKENS,
    PHENOTYPES,
    PREDISPOSITION_TOKENS,
    RADIATION_SITES,
    RELAPSE_SITES,
    ROUTES,
    parse_record,
)
from allpath.errors import FieldProblem, RecordError
from allpath.knowledge.loader import KnowledgeBase

Kind = Literal["text", "number", "date", "choice", "yesno", "tokens"]

DISPLAY_NAME = "display_name"
DISPLAY_NAME_MAX = 200
RESPONSE_FIELDS = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
# A number typed into a form is at most this long (a count with decimals and an exponent fits many times).
_NUMBER_MAX_CHARS = 40
_PREDISPOSITION_LABELS = {
    "neurofibromatosis_1": "neurofibromatosis type 1",
    "bloom": "Bloom syndrome",
    "fanconi_anemia": "Fanconi anemia",
    "ataxia_telangiectasia": "ataxia-telangiectasia",
    "li_fraumeni": "Li-Fraumeni syndrome (TP53)",
    "cmmrd": "constitutional mismatch repair deficiency (CMMRD)",
}
_PHENOTYPE_LABELS = {
    "normal": "normal metabolizer",
    "intermediate": "intermediate metabolizer",
    "possible_intermediate": "possible intermediate metabolizer",
    "poor": "poor metabolizer",
    "indeterminate": "indeterminate",
}
_RADIATION_LABELS = {
    "cranial": "cranial (brain)",
    "craniospinal": "craniospinal (brain and spine)",
    "chest": "chest (including the heart)",
    "testicular": "testicular",
    "total_body": "total body",
}
_SITE_LABELS = {
    "bone_marrow": "bone marrow",
    "cns": "brain and spinal cord (CNS)",
    "testis": "testis",
    "other": "other",
}


def dom_id(prefix: str, name: str) -> str:
    """An HTML id for a record path (ids stay usable as CSS selectors: no dots or brackets)."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


@dataclass(frozen=True)
class FormField:
    name: str  # the record path, which is also the input's name and the FieldProblem's field
    label: str
    kind: Kind
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    required: bool = False

    @property
    def input_id(self) -> str:
        return dom_id("f", self.name)

    @property
    def hint_id(self) -> str:
        return dom_id("h", self.name)

    @property
    def error_id(self) -> str:
        return dom_id("e", self.name)


@dataclass(frozen=True)
class Section:
    title: str
    hint: str
    fields: tuple[FormField, ...]


def _yesno(name: str, label: str, hint: str = "") -> FormField:
    return FormField(name, label, "yesno", hint, (("", "not recorded"), ("true", "yes"), ("false", "no")))


def _phenotype(name: str, label: str) -> FormField:
    choices = (("", "not recorded"), *((p, _PHENOTYPE_LABELS.get(p, p.replace("_", " "))) for p in PHENOTYPES))
    return FormField(name, label, "choice", "As the laboratory reports it (CPIC terms).", choices)


def _limit_hint(limit: limits.Limit, extra: str = "") -> str:
    text = "Expected " + limit.describe() + "."
    return f"{text} {extra}".strip()


def record_sections(kb: KnowledgeBase) -> tuple[Section, ...]:
    """The sections of the record form, in the order a diagnosis unfolds."""
    genetics_labels = {t.id: t.label for t in kb.genetics.tokens}
    mrd_hint = _limit_hint(limits.MRD_PCT, "Leave empty until the result is in.")
    return (
        Section(
            "Patient",
            "Leave a field empty when it is not known: an empty field is listed as missing, never guessed.",
            (
                FormField(
                    DISPLAY_NAME, "Name shown in allpath", "text", "Shown to the care team and family.", (), True
                ),
                FormField("id", "Record identifier (optional)", "text", "Your own identifier for this record."),
                FormField("sex", "Sex", "choice", "", (("", "not recorded"), ("female", "female"), ("male", "male"))),
                FormField("age_years", "Age at diagnosis (years)", "number", _limit_hint(limits.AGE_YEARS)),
                FormField(
                    "birth_date",
                    "Date of birth",
                    "date",
                    "Instead of the age: with the date of diagnosis it gives the age. Removed from research exports.",
                ),
                FormField(
                    "diagnosis_date",
                    "Date of diagnosis",
                    "date",
                    "With the date of birth it gives the age at diagnosis.",
                ),
                FormField("weight_kg", "Weight (kg)", "number", _limit_hint(limits.WEIGHT_KG)),
                FormField("height_cm", "Height (cm)", "number", _limit_hint(limits.HEIGHT_CM)),
                _yesno("down_syndrome", "Down syndrome"),
                FormField(
                    "predisposition_syndromes",
                    "Inherited conditions that raise the risk of ALL",
                    "tokens",
                    "Tick none when none is known: for this field no entry means none reported.",
                    tuple((t, _PREDISPOSITION_LABELS.get(t, t.replace("_", " "))) for t in PREDISPOSITION_TOKENS),
                ),
            ),
        ),
        Section(
            "Diagnosis",
            "Results of the diagnostic work-up.",
            (
                FormField(
                    "immunophenotype",
                    "Lineage (immunophenotype)",
                    "choice",
                    "",
                    (("", "not recorded"), ("B", "B cell"), ("T", "T cell")),
                ),
                FormField(
                    "wbc_per_ul",
                    "White blood cell count at diagnosis (cells per microliter)",
                    "number",
                    _limit_hint(limits.WBC_PER_UL, "For 12.5 x 10^9/L enter 12500."),
                ),
                FormField(
                    "genetics",
                    "Genetic changes of the leukemia cells",
                    "tokens",
                    "Tick none while the results are pending; tick \u201cno recurrent change found\u201d when the "
                    "tests found none.",
                    tuple((t, genetics_labels.get(t, t)) for t in GENETIC_TOKENS),
                ),
                FormField(
                    "cns_status",
                    "CNS status (diagnostic lumbar puncture)",
                    "choice",
                    "",
                    (("", "not recorded"), ("CNS1", "CNS1"), ("CNS2", "CNS2"), ("CNS3", "CNS3")),
                ),
                _yesno("testicular_involvement", "Testicular involvement at diagnosis", "Not for girls."),
                _yesno("steroid_pretreatment", "Steroids given before the diagnostic work-up"),
            ),
        ),
        Section(
            "Treatment",
            "The dates place the phases, response tests and end of treatment on a calendar; the TPMT and NUDT15 "
            "results set the starting doses of mercaptopurine and thioguanine.",
            (
                FormField(
                    "treatment_start_date",
                    "Treatment start date",
                    "date",
                    "The first day of induction. Without it the roadmap has no dates.",
                ),
                FormField(
                    "end_of_therapy_date",
                    "End-of-therapy date",
                    "date",
                    "The last day of treatment, once it is known; the follow-up after treatment counts from it.",
                ),
                _phenotype("pharmacogenomics.tpmt", "TPMT phenotype"),
                _phenotype("pharmacogenomics.nudt15", "NUDT15 phenotype"),
            ),
        ),
        Section(
            "Response to treatment",
            "Minimal residual disease (MRD) in percent of cells.",
            (
                FormField("response.day8_blood_mrd_pct", "Day 8 blood MRD (%)", "number", mrd_hint),
                FormField(
                    "response.end_of_induction_marrow_mrd_pct",
                    "End-of-induction bone marrow MRD (%)",
                    "number",
                    mrd_hint,
                ),
                _yesno("response.end_of_induction_remission", "Remission at the end of induction"),
                FormField("response.end_of_consolidation_mrd_pct", "End-of-consolidation MRD (%)", "number", mrd_hint),
            ),
        ),
        Section(
            "Refractory disease",
            "",
            (_yesno("refractory", "Refractory (no response to the first treatment)"),),
        ),
    )


def relapse_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of relapse number ``index + 1`` (relapses are listed oldest first)."""
    prefix = f"relapses[{index}]"
    return (
        FormField(
            f"{prefix}.months_from_diagnosis",
            "Months from diagnosis",
            "number",
            _limit_hint(limits.RELAPSE_MONTHS),
        ),
        FormField(
            f"{prefix}.sites",
            "Sites",
            "tokens",
            "At least one.",
            tuple((s, _SITE_LABELS.get(s, s)) for s in RELAPSE_SITES),
        ),
        FormField(
            f"{prefix}.end_of_block1_mrd_pct",
            "MRD after the first block of relapse treatment (%)",
            "number",
            _limit_hint(limits.MRD_PCT, "Optional."),
        ),
    )


def course_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of administered course number ``index + 1`` (``exposures.courses[index]``)."""
    prefix = f"exposures.courses[{index}]"
    return (
        FormField(
            f"{prefix}.drug",
            "Drug",
            "choice",
            "",
            (("", "choose a drug"), *((d, d) for d in EXPOSURE_DRUGS)),
        ),
        FormField(f"{prefix}.date", "Date given", "date"),
        FormField(
            f"{prefix}.dose_mg_per_m2",
            "Dose (mg/m2)",
            "number",
            _limit_hint(limits.COURSE_DOSE_MG_PER_M2, "Needed for anthracyclines (the heart follow-up)."),
        ),
        FormField(f"{prefix}.dose_mg", "Dose (mg)", "number", _limit_hint(limits.COURSE_DOSE_MG, "Optional.")),
        FormField(
            f"{prefix}.route",
            "Route",
            "choice",
            "",
            (("", "not recorded"), *((r, r) for r in ROUTES)),
        ),
    )


def radiation_fields(index: int) -> tuple[FormField, ...]:
    """The inputs of radiation course number ``index + 1`` (``exposures.radiation[index]``)."""
    prefix = f"exposures.radiation[{index}]"
    return (
        FormField(
            f"{prefix}.site",
            "Site",
            "choice",
            "",
            (("", "choose a site"), *((r, _RADIATION_LABELS.get(r, r)) for r in RADIATION_SITES)),
        ),
        FormField(f"{prefix}.dose_gy", "Total dose (Gy)", "number", _limit_hint(limits.RADIATION_GY)),
        FormField(f"{prefix}.date", "Date it ended", "date", "Optional."),
    )


@dataclass(frozen=True)
class RowList:
    """A repeatable group of inputs, one row per element of a list of the record (added with htmx)."""

    kind: str  # in the URL of the empty-row fragment: /patients/<kind>-row
    path: str  # the record path of the list
    legend: str  # a row's legend: "<legend> <n>"
    add_label: str
    make: Callable[[int], tuple[FormField, ...]]

    def fields(self, index: int) -> tuple[FormField, ...]:
        return self.make(index)

    @property
    def key(self) -> re.Pattern[str]:
        return re.compile(re.escape(self.path) + r"\[(\d+)\]\.(\w+)")


RELAPSES = RowList("relapse", "relapses", "Relapse", "Add another relapse", relapse_fields)
COURSES = RowList("course", "exposures.courses", "Course", "Add a course", course_fields)
RADIATION = RowList("radiation", "exposures.radiation", "Radiation", "Add radiation", radiation_fields)
EXPOSURE_LISTS = (COURSES, RADIATION)
ROW_LISTS = {r.kind: r for r in (RELAPSES, *EXPOSURE_LISTS)}


# ---- form -> record -----------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str) -> Any:
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


def _value(form: FormData, field: FormField) -> Any:
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


def record_from_form(kb: KnowledgeBase, form: FormData, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The patient record a submitted form describes (not yet validated).

    ``previous`` is the stored record being edited: an explicitly empty list of inherited conditions is
    kept as it was, so that saving an unchanged form stores an unchanged record.
    """
    record: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}  # response, pharmacogenomics: objects of the record
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
    exposures = {}
    for rows in EXPOSURE_LISTS:
        items = _items_from(form, rows)
        if items:
            exposures[rows.path.split(".", 1)[1]] = items
    if exposures:
        record["exposures"] = exposures
    return record


_LIST_ENTRY = re.compile(r"(\[\d+\])+$")
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# How many times a record is validated again without the fields already found wrong (each pass can only
# find more problems once the values that stopped the one before are set aside).
_REVALIDATE_PASSES = 6


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


def record_problems(record: Mapping[str, Any]) -> list[FieldProblem]:
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


def _relapses_from(form: FormData) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index in relapse_rows_used(form):
        months, sites, block1 = (_value(form, f) for f in relapse_fields(index))
        relapse: dict[str, Any] = {}
        if months is not None:
            relapse["months_from_diagnosis"] = months
        relapse["sites"] = sites or []
        if block1 is not None:
            relapse["end_of_block1_mrd_pct"] = block1
        out.append(relapse)
    return out


def _items_from(form: FormData, rows: RowList) -> list[dict[str, Any]]:
    """The elements of a list of objects (courses, radiation): the filled inputs of each used row."""
    out: list[dict[str, Any]] = []
    for index in rows_used(form, rows):
        item: dict[str, Any] = {}
        for field in rows.fields(index):
            value = _value(form, field)
            if value is not None:
                item[field.name.rsplit(".", 1)[1]] = value
        out.append(item)
    return out


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
        return FieldProblem(
            DISPLAY_NAME, name, f"a name of 1 to {DISPLAY_NAME_MAX} characters is required, without control characters"
        )
    return None


def text_problems(record: Mapping[str, Any], path: str = "") -> list[FieldProblem]:
    """Text in the record that could not be stored or shown (control characters), by record path."""
    problems: list[FieldProblem] = []
    for key, value in record.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, str) and not _printable(value):
            problems.append(FieldProblem(where, value, "text without control characters"))
        elif isinstance(value, Mapping):
            problems.extend(text_problems(value, where))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    problems.extend(text_problems(item, f"{where}[{i}]"))
                elif isinstance(item, str) and not _printable(item):
                    problems.append(FieldProblem(f"{where}[{i}]", item, "text without control characters"))
    return problems


# ---- record -> form -----------------------------------------------------------------------------------


def shown_number(value: Any) -> str:
    """A stored number as it is typed back into the form: 8500 not 8500.0, 0.00001 not 1e-05."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _shown(field: FormField, value: Any) -> Any:
    if value is None:
        return [] if field.kind == "tokens" else ""
    if field.kind == "tokens":
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.kind == "number":
        return shown_number(value)
    return str(value)


def form_values(kb: KnowledgeBase, record: Mapping[str, Any], display_name: str = "") -> dict[str, Any]:
    """The value of every input for ``record`` (a stored record, or one just submitted)."""
    values: dict[str, Any] = {DISPLAY_NAME: display_name}
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


def list_rows(record: Mapping[str, Any], rows: RowList = RELAPSES) -> list[Mapping[str, Any]]:
    """The elements of one of the record's lists (as objects; anything else as an empty one)."""
    found: Any = record
    for part in rows.path.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    if not isinstance(found, Sequence) or isinstance(found, str):
        return []
    return [r if isinstance(r, Mapping) else {} for r in found]


def relapse_rows(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list_rows(record, RELAPSES)


# ---- problems -> inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    field: str  # the input it belongs to, or "" for a problem of the record as a whole
    message: str
    anchor: str  # the id to link to from the error summary


def place_problems(problems: Sequence[FieldProblem], names: set[str]) -> tuple[dict[str, list[str]], list[Problem]]:
    """Each problem's message under the input it belongs to, and the list for the error summary.

    A problem of a list element (``genetics[1]``, ``relapses[0].sites[2]``) belongs to the list's input;
    one that no input shows (``record``) is listed in the summary only.
    """
    by_field: dict[str, list[str]] = {}
    summary: list[Problem] = []
    for problem in problems:
        target = problem.field
        while target not in names and re.search(r"\[\d+\]$", target):
            target = re.sub(r"\[\d+\]$", "", target)
        message = problem.message()
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
