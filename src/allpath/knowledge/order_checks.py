"""The order-check rules of ``order_checks.yaml`` compiled for the CDS dose checks: one pattern per drug and
the conditions of the populations that get no calculated dose."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from allpath.errors import KnowledgeError
from allpath.knowledge.conditions import Condition
from allpath.knowledge.order_checks_schema import CheckedDrug, OrderChecksFile


def _any_of(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass(frozen=True)
class OrderChecks:
    spec: OrderChecksFile
    drugs: Mapping[str, CheckedDrug]
    names: Mapping[str, re.Pattern[str]]
    not_checked: re.Pattern[str]
    no_calculated_dose: tuple[Condition, ...]

    def named_drug(self, text: str) -> str | None:
        """The checked drug that lower-case ``text`` names, when exactly one does."""
        named = [drug for drug, pattern in self.names.items() if pattern.search(text)]
        return named[0] if len(named) == 1 else None

    def excluded(self, text: str) -> bool:
        """Whether lower-case ``text`` names a product that is never checked."""
        return self.not_checked.search(text) is not None

    def calculates_dose(self, age_years: float | None) -> bool:
        """False for a child of a population without calculated doses (an unknown age excludes nobody)."""
        if age_years is None:
            return True
        facts = {"age_years": age_years}
        return not any(condition.evaluate(facts).value is True for condition in self.no_calculated_dose)


def compile_order_checks(
    spec: OrderChecksFile, populations: Mapping[str, Condition], dosed_drugs: frozenset[str]
) -> OrderChecks:
    """Compile and cross-check: every drug has a dose table (drugs.yaml), every population exists."""
    problems = [
        f"order_checks.yaml: {d.drug!r} has no dose table in drugs.yaml"
        for d in spec.drugs
        if d.drug not in dosed_drugs
    ]
    problems += [
        f"order_checks.yaml: unknown population {name!r}"
        for name in spec.no_calculated_dose.populations
        if name not in populations
    ]
    if len({d.drug for d in spec.drugs}) != len(spec.drugs):
        problems.append("order_checks.yaml: a drug is listed twice")
    if problems:
        raise KnowledgeError("\n".join(problems))
    return OrderChecks(
        spec=spec,
        drugs={d.drug: d for d in spec.drugs},
        names={d.drug: _any_of(d.names) for d in spec.drugs},
        not_checked=_any_of(spec.not_checked.names),
        no_calculated_dose=tuple(populations[name] for name in spec.no_calculated_dose.populations),
    )
