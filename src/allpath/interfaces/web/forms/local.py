"""The record form in the page's language (issue 14): its labels, hints and choices, and the problems of a
record as a person reads them.

The form's words are marked in ``fields`` and translated here, inside the page's ``use_locale``; an English
page gets the very same objects and messages. A record's problems come from the domain in English (they are
the JSON API's ``message``s, which stay English); a page in another language says each one again from its
parts: the field's label from the language's own label table, the refused value with its numbers written the
language's way, and what is allowed from the catalog (a range is written again from its ``Limit``). A
sentence the catalog does not know yet stays English rather than being guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from babel.numbers import format_decimal

from allpath.domain import limits
from allpath.domain.labels import field_label
from allpath.errors import ABSENT, FieldProblem
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, marked
from allpath.interfaces.i18n.labels import local_field_label
from allpath.interfaces.web.forms.checks import DISPLAY_NAME_ALLOWED, TEXT_ALLOWED
from allpath.interfaces.web.forms.fields import DISPLAY_NAME_MAX, FormField, RowList, Section

# The units of the record's limits (``limits.Limit.unit``), marked for the catalog; a test keeps them in step.
LIMIT_UNITS = (
    marked("years (age at diagnosis)"),
    marked("cells per microliter"),
    marked("kilograms"),
    marked("centimeters"),
    marked("percent (share of cells that are leukemia cells)"),
    marked("months from diagnosis"),
    marked("milligrams per square meter"),
    marked("milligrams"),
    marked("gray (total dose of the course)"),
    marked("kg/m2 (body mass index)"),
)
_AT_MOST = marked("a number of %(unit)s, at least %(low)s and at most %(high)s")
_BELOW = marked("a number of %(unit)s, at least %(low)s and below %(high)s")
_EXPECTED = marked("expected %(range)s")
_HINT = marked("Expected %(range)s.")
_WBC_IN_THOUSANDS = marked(
    "expected %(range)s; this looks like a count in 10^9/L (thousands per microliter): if so, enter %(count)s "
    "cells per microliter"
)
_REQUIRED = "this field is required; "
_PROBLEM = marked("%(label)s: %(value)s is not allowed; %(allowed)s")
_DATES = {"earliest": limits.EARLIEST_DATE.isoformat(), "latest": limits.LATEST_DATE.isoformat()}
# Sentences of the domain with values in them, as (marked sentence, its values); the values are the same in
# every language (ISO dates, a count of characters).
_WITH_VALUES: tuple[tuple[str, dict[str, str]], ...] = (
    (marked("expected an ISO date (YYYY-MM-DD) from %(earliest)s to %(latest)s"), _DATES),
    (
        marked("expected the ISO date (YYYY-MM-DD) of the first day of induction, from %(earliest)s to %(latest)s"),
        _DATES,
    ),
    (
        marked("expected the ISO date (YYYY-MM-DD) of the last day of treatment, from %(earliest)s to %(latest)s"),
        _DATES,
    ),
    (DISPLAY_NAME_ALLOWED, {"most": str(DISPLAY_NAME_MAX)}),
)
# Sentences of the domain that end with the record's own words to choose from (kept as the record spells them).
_FROM_CHOICES = (
    marked("expected a list of tokens from: %(choices)s"),
    marked("expected a non-empty list of sites from: %(choices)s"),
    marked("expected a phenotype from: %(choices)s"),
    marked("expected a drug from: %(choices)s"),
    marked("expected a route from: %(choices)s"),
    marked("expected a site from: %(choices)s"),
)
# Sentences of the domain without values: the catalog translates them as they are.
FIXED_SENTENCES = (
    marked("expected true or false"),
    marked('expected "female" or "male"'),
    marked('expected "B" or "T"'),
    marked('expected "CNS1", "CNS2" or "CNS3"'),
    marked("a date on or after the date of birth"),
    marked("a date on or after the date of diagnosis"),
    marked("a date on or after the first day of treatment"),
    marked('only possible when sex is "male" (sex is "female")'),
    marked('only possible when sex is "male"'),
    marked('"testis" only when sex is "male"'),
    TEXT_ALLOWED,
)
_LIMITS = tuple(value for value in vars(limits).values() if isinstance(value, limits.Limit))


def _english() -> bool:
    return current_locale() == DEFAULT_LOCALE


def local_number(value: float) -> str:
    """A number written the current language's way, every digit kept (0,00001 not 0)."""
    return format_decimal(value, locale=current_locale(), decimal_quantization=False)


def local_range(limit: limits.Limit) -> str:
    words = _AT_MOST if limit.high_inclusive else _BELOW
    shown = {"unit": gettext(limit.unit), "low": local_number(limit.low), "high": local_number(limit.high)}
    return gettext(words) % shown


def local_allowed(allowed: str) -> str:
    """What a problem says is allowed, in the current language (unchanged in English, or when not known)."""
    if _english():
        return allowed
    if allowed.startswith(_REQUIRED):
        return gettext(marked("this field is required; %(allowed)s")) % {
            "allowed": local_allowed(allowed[len(_REQUIRED) :])
        }
    for limit in _LIMITS:
        expected = "expected " + limit.describe()
        if allowed == expected:
            return gettext(_EXPECTED) % {"range": local_range(limit)}
        prefix, _, suffix = _WBC_IN_THOUSANDS.partition("%(count)s")
        english_prefix = prefix % {"range": limit.describe()}
        if allowed.startswith(english_prefix) and allowed.endswith(suffix):
            typed = allowed[len(english_prefix) : len(allowed) - len(suffix)].replace(",", "")
            if typed.replace(".", "", 1).isdigit():
                return gettext(_WBC_IN_THOUSANDS) % {"range": local_range(limit), "count": local_number(float(typed))}
    for sentence, values in _WITH_VALUES:
        if allowed == sentence % values:
            return gettext(sentence) % values
    for sentence in _FROM_CHOICES:
        head = sentence.split("%(choices)s", 1)[0]
        if allowed.startswith(head):
            return gettext(sentence) % {"choices": allowed[len(head) :]}
    return gettext(allowed)


def _local_value(problem: FieldProblem, english: str) -> str:
    """The refused value as the English message quotes it, with a number written the language's way."""
    value = problem.value
    if value is ABSENT:
        return gettext(marked("(absent)"))
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and abs(value) < 1e15:
        return local_number(value)
    return english


def problem_message(problem: FieldProblem) -> str:
    """What a person reads about one problem: the domain's English sentence, or the same in the page's language."""
    english = problem.message()
    if _english():
        return english
    # The English is "<label>: <value> is not allowed; <allowed>" (FieldProblem.message): its quoted value is
    # what lies between, bounded and written as the record was typed.
    head, tail = f"{field_label(problem.field)}: ", f" is not allowed; {problem.allowed}"
    quoted = english[len(head) : len(english) - len(tail)] if english.startswith(head) else str(problem.value)
    return gettext(_PROBLEM) % {
        "label": local_field_label(problem.field),
        "value": _local_value(problem, quoted),
        "allowed": local_allowed(problem.allowed),
    }


def local_field(field: FormField) -> FormField:
    if _english():
        return field
    hint = gettext(field.hint)
    if field.limit is not None:
        hint = " ".join(
            part for part in (gettext(_HINT) % {"range": local_range(field.limit)}, gettext(field.note)) if part
        )
    choices = tuple((value, gettext(label)) for value, label in field.choices)
    return replace(field, label=gettext(field.label), hint=hint, choices=choices)


def local_fields(fields: Iterable[FormField]) -> tuple[FormField, ...]:
    return tuple(local_field(field) for field in fields)


def local_sections(sections: Iterable[Section]) -> tuple[Section, ...]:
    return tuple(
        Section(gettext(section.title), gettext(section.hint), local_fields(section.fields)) for section in sections
    )


def local_rows(rows: RowList) -> RowList:
    """A list of rows with its legend and button in the current language (its inputs: ``local_fields``)."""
    return replace(rows, legend=gettext(rows.legend), add_label=gettext(rows.add_label))
