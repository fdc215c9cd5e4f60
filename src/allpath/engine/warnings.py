"""Warnings on an assessment: values accepted but worth a second look, and inputs that contradict each other.

The rules and their wording are data (``knowledge/data/warnings.yaml``); this module only evaluates them.
A warning changes nothing in the assessment.
"""

from __future__ import annotations

from allpath.domain.limits import number
from allpath.domain.results import InputWarning
from allpath.engine.prepared import prepared
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase


def _filled(message: str, value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return message.format(value=number(value), value_x1000=number(value * 1000))
    return message.format(value=value, value_x1000=value)


def input_warnings(kb: KnowledgeBase, facts: Facts) -> list[InputWarning]:
    """The warnings whose condition holds for these facts, as ``{code, field, message}`` (design.md)."""
    found: list[InputWarning] = []
    for warning in kb.warnings:
        if warning.condition.check(facts) is True:
            spec = warning.spec
            value = facts.get(prepared(kb).fact_of_field.get(spec.field, spec.field))
            found.append({"code": spec.code, "field": spec.field, "message": _filled(spec.message, value)})
    return found
