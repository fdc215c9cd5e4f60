"""Why one record changed group between two knowledge versions (issue 15, item 3): the rules whose verdict on the
record differs between the versions, the thresholds inside them that now fall on the other side of the record's
value, and the rules that decide the group in each version.

The record is re-assessed with the per-patient engine under both versions; each version's rules are evaluated over
that version's facts (the derived facts such as the disease state and the risk group come from that version), so a
rule that moved only because another group moved says so ("follows from the risk group") instead of naming a
threshold that did not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from allpath.domain.limits import number
from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment, Factor
from allpath.engine.columnar.fallback import scheme_results
from allpath.engine.facts import build_facts
from allpath.knowledge.cite import Cite
from allpath.knowledge.conditions import All, AnyOf, Compare, Condition, Fact, Not
from allpath.knowledge.loader import KnowledgeBase

OPERATOR_WORDS = {"lt": "below", "le": "at most", "gt": "above", "ge": "at least"}
"""A comparison in the words of a threshold ("at least 50,000 per microliter")."""
_SCHEME_COLUMNS = ("risk_group", "cog_risk_group", "relapse_risk_group")
RULE_COLUMNS = ("disease_state", *_SCHEME_COLUMNS, "relapse_timing")
"""The group columns decided by rules of the knowledge base (the provisional columns follow missing inputs)."""


@dataclass(frozen=True)
class ThresholdChange:
    """A comparison of a rule whose number (or sense) changed and now falls on the other side of the record's value."""

    fact: str
    fact_label: str
    value: str  # the record's value, as a person reads it
    before: str  # e.g. "at least 50,000 per microliter"
    after: str
    before_threshold: float
    after_threshold: float
    before_operator: str  # lt, le, gt or ge (OPERATOR_WORDS)
    after_operator: str
    unit: str | None  # the input's unit, as the knowledge base writes it
    reading: object  # the record's value itself (a number, yes/no, codes), for a report in another language


@dataclass(frozen=True)
class RuleChange:
    """A rule whose verdict on the record differs between the versions, and what made it differ."""

    rule_id: str
    held_before: bool | None  # None: unknown (an input is missing) or the rule is not in that version
    holds_after: bool | None
    thresholds: tuple[ThresholdChange, ...]
    follows_from: tuple[str, ...]  # derived facts (another group) that differ between the versions
    only_in: str | None  # "old" or "new" when the rule exists in one version only
    citation: str

    @property
    def reason(self) -> str:
        """The cause in plain words."""
        if self.only_in == "new":
            return f"rule {self.rule_id} is new in the new version"
        if self.only_in == "old":
            return f"rule {self.rule_id} is no longer in the new version"
        if self.thresholds:
            return "; ".join(
                f"rule {self.rule_id}: {t.fact_label} {t.value}, threshold {t.before} before, {t.after} now"
                for t in self.thresholds
            )
        if self.follows_from:
            return f"rule {self.rule_id} follows from the {', '.join(self.follows_from)}, which changed"
        return f"rule {self.rule_id}: its condition differs between the versions"


@dataclass(frozen=True)
class DecidingRule:
    """A rule that decides a record's group in one version, with the values it read and where it is written."""

    rule_id: str
    explanation: str
    citation: str
    confidence: str
    inputs: tuple[tuple[str, str], ...]  # (fact label, value) pairs
    readings: tuple[tuple[str, str, object, str | None], ...]  # (fact, its label, the value itself, its unit)


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    condition: Condition
    cite: Cite


@dataclass(frozen=True)
class Version:
    """One knowledge version's view of a record: its facts (derived ones included) and its assessment."""

    kb: KnowledgeBase
    facts: dict[str, Fact]
    assessment: Assessment


def version_of(kb: KnowledgeBase, record: PatientRecord, assessment: Assessment) -> Version:
    """The facts ``assess`` builds for ``record`` under ``kb``, with the disease state, populations and the risk
    groups that version derives."""
    facts = build_facts(record)
    scheme_results(kb, record, assessment["disease_state"], facts)
    return Version(kb, facts, assessment)


def _rules(kb: KnowledgeBase, column: str) -> dict[str, _Rule]:
    if column == "disease_state":
        return {spec.id: _Rule(spec.id, condition, spec.cite) for spec, condition in kb.disease_states}
    if column == "relapse_timing":
        return {spec.id: _Rule(spec.id, condition, spec.cite) for spec, condition in kb.relapse_timing.rules}
    if column == "populations":  # each population's condition is the rule that puts a record in it
        return {p.spec.id: _Rule(p.spec.id, p.condition, p.spec.cite) for p in kb.populations}
    scheme = getattr(kb, column)
    return {rule.spec.id: _Rule(rule.spec.id, rule.condition, rule.spec.cite) for rule in scheme.rules}


def _citation(kb: KnowledgeBase, cite: Cite) -> str:
    document = kb.sources[cite.source].document if cite.source in kb.sources else cite.source
    return f'{document}, "{cite.section}"'


def _shown(kb: KnowledgeBase, fact: str, value: object) -> str:
    """A fact's value as a person reads it, with its unit."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        spec = kb.inputs.get(fact)
        return number(value) + (f" {spec.unit}" if spec is not None and spec.unit else "")
    if isinstance(value, frozenset | list | tuple):
        return ", ".join(sorted(str(item) for item in value)) or "none"
    return str(value).replace("_", " ")


def _unit(kb: KnowledgeBase, fact: str) -> str | None:
    spec = kb.inputs.get(fact)
    return spec.unit if spec is not None and spec.unit else None


def _label(kb: KnowledgeBase, fact: str) -> str:
    spec = kb.inputs.get(fact)
    return spec.label if spec is not None else fact.replace("_", " ")


def _paired_comparisons(before: Condition, after: Condition) -> Iterator[tuple[Compare, Compare]]:
    """The comparisons at the same place of two conditions of the same shape."""
    if isinstance(before, Compare) and isinstance(after, Compare):
        if before.fact == after.fact:
            yield before, after
    elif isinstance(before, All | AnyOf) and type(before) is type(after):
        assert isinstance(after, All | AnyOf)
        if len(before.parts) == len(after.parts):
            for old_part, new_part in zip(before.parts, after.parts, strict=True):
                yield from _paired_comparisons(old_part, new_part)
    elif isinstance(before, Not) and isinstance(after, Not):
        yield from _paired_comparisons(before.part, after.part)


def _threshold_changes(old: Version, new: Version, before: Condition, after: Condition) -> tuple[ThresholdChange, ...]:
    found: list[ThresholdChange] = []
    for was, now in _paired_comparisons(before, after):
        if (was.op, was.threshold) == (now.op, now.threshold):
            continue
        if was.evaluate(old.facts).value == now.evaluate(new.facts).value:
            continue  # the record's value is on the same side of both thresholds: not what moved it
        unit = _unit(new.kb, was.fact)
        suffix = f" {unit}" if unit else ""
        found.append(
            ThresholdChange(
                fact=was.fact,
                fact_label=_label(new.kb, was.fact),
                value=_shown(new.kb, was.fact, new.facts.get(was.fact)),
                before=f"{OPERATOR_WORDS[was.op]} {number(was.threshold)}{suffix}",
                after=f"{OPERATOR_WORDS[now.op]} {number(now.threshold)}{suffix}",
                before_threshold=was.threshold,
                after_threshold=now.threshold,
                before_operator=was.op,
                after_operator=now.op,
                unit=unit,
                reading=new.facts.get(was.fact),
            )
        )
    return tuple(found)


def _derived_changes(old: Version, new: Version, facts: frozenset[str]) -> tuple[str, ...]:
    derived = old.kb.derived_facts | new.kb.derived_facts
    return tuple(
        name.replace("_", " ")
        for name in sorted(facts)
        if name in derived and old.facts.get(name) != new.facts.get(name)
    )


def rule_changes(old: Version, new: Version, column: str) -> tuple[RuleChange, ...]:
    """The rules of ``column`` whose verdict on the record differs between the two versions, in rule order."""
    before, after = _rules(old.kb, column), _rules(new.kb, column)
    changes: list[RuleChange] = []
    for rule_id in [*before, *(i for i in after if i not in before)]:
        was, now = before.get(rule_id), after.get(rule_id)
        held = was.condition.evaluate(old.facts).value if was else None
        holds = now.condition.evaluate(new.facts).value if now else None
        if held == holds and was is not None and now is not None:
            continue
        if was is None or now is None:
            if not (held or holds):
                continue  # a rule added or removed that does not hold for this record moves nothing
            only = "new" if was is None else "old"
            cite = (now or was).cite  # type: ignore[union-attr]  # one of them exists
            changes.append(RuleChange(rule_id, held, holds, (), (), only, _citation(new.kb, cite)))
            continue
        changes.append(
            RuleChange(
                rule_id,
                held,
                holds,
                _threshold_changes(old, new, was.condition, now.condition),
                _derived_changes(old, new, was.condition.facts_used() | now.condition.facts_used()),
                None,
                _citation(new.kb, now.cite),
            )
        )
    return tuple(changes)


def _deciding_factors(assessment: Assessment, column: str) -> list[Factor]:
    mine = [f for f in assessment["factors"] if f["scheme"] == column]
    if column in _SCHEME_COLUMNS:
        return [f for f in mine if f.get("decides")]
    return [f for f in mine if f["effect"].startswith(f"{column}=")]


def deciding_rules(version: Version, column: str) -> tuple[DecidingRule, ...]:
    """The rules that decide ``column`` in this version (none when the group is empty)."""
    return tuple(
        DecidingRule(
            rule_id=f["id"],
            explanation=f["explanation"],
            citation=f'{f["source"]["document"]}, "{f["source"]["section"]}"',
            confidence=f["confidence"],
            inputs=tuple(
                (_label(version.kb, name), _shown(version.kb, name, value)) for name, value in f["inputs"].items()
            ),
            readings=tuple(
                (name, _label(version.kb, name), value, _unit(version.kb, name)) for name, value in f["inputs"].items()
            ),
        )
        for f in _deciding_factors(version.assessment, column)
    )
