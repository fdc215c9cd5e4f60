"""The knowledge compiled for the engine: rules, notes and schemes with their conditions compiled, and the
confidence each rule reports. ``loader`` builds them; the engine reads them from the ``KnowledgeBase``."""

from __future__ import annotations

from dataclasses import dataclass

from allpath.errors import KnowledgeError
from allpath.knowledge import schema as s
from allpath.knowledge.conditions import Condition, ConditionCompiler


def confidence_of(explicit: s.Confidence | None, evidence: list[s.Evidence]) -> s.Confidence:
    """The confidence of a rule: never higher than its weakest evidence."""
    if explicit is not None:
        return explicit
    return "M" if any(e.confidence == "M" for e in evidence) else "H"


@dataclass(frozen=True)
class Rule:
    spec: s.RuleSpec
    condition: Condition
    rank: int
    confidence: s.Confidence


@dataclass(frozen=True)
class Note:
    spec: s.NoteSpec
    condition: Condition
    confidence: s.Confidence


@dataclass(frozen=True)
class Scheme:
    spec: s.SchemeSpec
    applies: Condition
    rules: tuple[Rule, ...]
    notes: tuple[Note, ...]
    decisive: frozenset[str] | None  # None: every input is decisive

    def rank(self, group: str) -> int:
        return self.spec.order.index(group)


@dataclass(frozen=True)
class Cutoff:
    spec: s.CutoffSpec
    condition: Condition
    early_below_months: float


@dataclass(frozen=True)
class Timing:
    spec: s.TimingSpec
    rules: tuple[tuple[s.TimingRule, Condition], ...]
    cutoffs: tuple[Cutoff, ...]


@dataclass(frozen=True)
class Population:
    spec: s.PopulationSpec
    condition: Condition
    confidence: s.Confidence


@dataclass(frozen=True)
class PlanElement:
    spec: s.PlanElementSpec
    condition: Condition
    confidence: s.Confidence


@dataclass(frozen=True)
class PlanGuard:
    spec: s.PlanGuardSpec
    requires: Condition


@dataclass(frozen=True)
class Caution:
    spec: s.CautionItem
    condition: Condition


@dataclass(frozen=True)
class InputWarning:
    spec: s.WarningRule
    condition: Condition


def compile_scheme(spec: s.SchemeSpec, compiler: ConditionCompiler, where: str) -> Scheme:
    rules = []
    for rule in spec.rules:
        if rule.group not in spec.order:
            raise KnowledgeError(f"{where}: rule {rule.id} sets unknown group {rule.group!r}")
        rules.append(
            Rule(
                rule,
                compiler.compile(rule.when, f"{where}:{rule.id}"),
                spec.order.index(rule.group),
                confidence_of(rule.confidence, rule.evidence),
            )
        )
    notes = tuple(
        Note(n, compiler.compile(n.when, f"{where}:{n.id}"), confidence_of(n.confidence, n.evidence))
        for n in spec.notes
    )
    decisive = None if spec.decisive == "all" else frozenset(spec.decisive)
    return Scheme(spec, compiler.compile(spec.applies_when, f"{where}:applies_when"), tuple(rules), notes, decisive)
