"""The patient record form: every field of patient record v1, to and from HTML form values.

The form adds nothing of its own to the record. An empty input is an absent field (never a default), a
number that does not read as a number is passed on as the text that was typed so that
``parse_record`` rejects it with the same message the JSON API gives, and each ``FieldProblem`` is
shown beside the input whose name is its record path (``wbc_per_ul``, ``response.day8_blood_mrd_pct``,
``relapses[0].sites``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from starlette.datastructures import FormData

from allpath.domain import limits
from allpath.domain.record import GENETIC_TOKENS, PREDISPOSITION_TOKENS, RELAPSE_SITES
from allpath.errors import FieldProblem
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
_RELAPSE_KEY = re.compile(r"relapses\[(\d+)\]\.(\w+)")
_PREDISPOSITION_LABELS = {
    "neurofibromatosis_1": "neurofibromatosis type 1",
    "bloom": "Bloom syndrome",
    "fanconi_anemia": "Fanconi anemia",
    "ataxia_telangiectasia": "ataxia-telangiectasia",
    "li_fraumeni": "Li-Fraumeni syndrome (TP53)",
    "cmmrd": "constitutional mismatch repair deficiency (CMMRD)",
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


# ---- form -> record -----------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str) -> Any:
    """An int or float when the text is a plain number; otherwise the text itself, for the validator."""
    if _INTEGER.fullmatch(raw):
        return int(raw)
    if _NUMBER.fullmatch(raw):
        return float(raw)
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
    response: dict[str, Any] = {}
    for section in record_sections(kb):
        for field in section.fields:
            if field.name == DISPLAY_NAME:
                continue
            value = _value(form, field)
            if value is None:
                continue
            if field.name.startswith("response."):
                response[field.name.split(".", 1)[1]] = value
            else:
                record[field.name] = value
    if response:
        record["response"] = response
    if (
        previous is not None
        and previous.get("predisposition_syndromes") == []
        and "predisposition_syndromes" not in record
    ):
        record["predisposition_syndromes"] = []
    relapses = _relapses_from(form)
    if relapses:
        record["relapses"] = relapses
    return record


def relapse_rows_used(form: FormData) -> list[int]:
    """The form's relapse rows that hold anything, in order: row ``used[i]`` becomes ``relapses[i]``."""
    indices = sorted({int(m.group(1)) for key in form.keys() if (m := _RELAPSE_KEY.fullmatch(str(key)))})
    return [i for i in indices if any(_value(form, f) is not None for f in relapse_fields(i))]


def in_form_rows(problems: Sequence[FieldProblem], used: Sequence[int]) -> list[FieldProblem]:
    """Problems of ``relapses[i]`` renamed to the form row they came from (unused rows are skipped)."""

    def rename(field: str) -> str:
        match = re.match(r"relapses\[(\d+)\]", field)
        if match is None or int(match.group(1)) >= len(used):
            return field
        return f"relapses[{used[int(match.group(1))]}]" + field[match.end() :]

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
    response = record.get("response")
    response = response if isinstance(response, Mapping) else {}
    for section in record_sections(kb):
        for field in section.fields:
            if field.name == DISPLAY_NAME:
                continue
            if field.name.startswith("response."):
                value = response.get(field.name.split(".", 1)[1])
            else:
                value = record.get(field.name)
            values[field.name] = _shown(field, value)
    for index, relapse in enumerate(relapse_rows(record)):
        for field in relapse_fields(index):
            values[field.name] = _shown(field, relapse.get(field.name.rsplit(".", 1)[1]))
    return values


def relapse_rows(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    relapses = record.get("relapses")
    if not isinstance(relapses, Sequence) or isinstance(relapses, str):
        return []
    return [r if isinstance(r, Mapping) else {} for r in relapses]


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


def field_names(kb: KnowledgeBase, relapse_count: int) -> set[str]:
    names = {f.name for s in record_sections(kb) for f in s.fields}
    for index in range(relapse_count):
        names |= {f.name for f in relapse_fields(index)}
    return names
