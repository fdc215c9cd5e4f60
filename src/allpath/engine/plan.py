"""Build the treatment plan: phases, and therapies and drugs merged from every applicable element.

A child in several groups (say very high risk, Philadelphia chromosome-positive and CNS disease) gets
every element that applies. Elements naming the same therapy or drug are merged into one entry that
shows the strongest certainty and lists every element as a reason; the elements themselves (explanation,
citation, evidence) are stated once under ``plan.elements``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from allpath.domain.results import (
    MergedEntry,
    NotCoveredNote,
    PendingElement,
    Plan,
    PlanDrug,
    PlanTherapy,
    WithheldTherapy,
)
from allpath.domain.results import PlanElement as AppliedElement
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of, source_of
from allpath.engine.prepared import ElementParts, Prepared, prepared
from allpath.knowledge.checks import Outcome
from allpath.knowledge.compiled import PlanElement
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import Certainty, Confidence

Reasons = list[tuple[PlanElement, Certainty]]
_LIMIT = 1024  # plans kept per knowledge base; beyond it a plan is built each time (never wrong)
E = TypeVar("E", bound=Mapping[str, object])  # an entry of a plan (a TypedDict)


def _lead(rank: dict[str, int], reasons: Reasons) -> tuple[PlanElement, Certainty, Confidence]:
    """The element and certainty that lead a merged entry, and the entry's confidence."""
    if len(reasons) == 1:
        element, certainty = reasons[0]
        return element, certainty, element.confidence
    # The strongest certainty leads; ties keep knowledge-file order, so output is deterministic.
    element, certainty = min(reasons, key=lambda r: rank[r[1]])
    return element, certainty, "H" if any(e.confidence == "H" for e, _ in reasons) else "M"


def _merged(
    prep: Prepared, kb: KnowledgeBase, entries: dict[str, Reasons], rank: dict[str, int]
) -> list[tuple[str, MergedEntry]]:
    """Each therapy's or drug's code and what its merged entry carries besides its head, in the knowledge's order
    (``rank``): the one builder of therapies and of drugs."""
    out: list[tuple[str, MergedEntry]] = []
    for code in sorted(entries, key=rank.__getitem__):
        reasons = entries[code]
        element, certainty, confidence = _lead(prep.certainty_rank, reasons)
        out.append(
            (
                code,
                {
                    "certainty": certainty,
                    "certainty_meaning": kb.certainty_meaning[certainty],
                    "confidence": CONFIDENCE_WORDS[confidence],
                    "source": prep.element_sources[element.spec.id],
                    "reasons": [{"element": e.spec.id, "certainty": c} for e, c in reasons],
                },
            )
        )
    return out


def build_plan(kb: KnowledgeBase, facts: Facts, input_fields: dict[str, str]) -> Plan:
    """The plan for one child. ``input_fields`` maps input facts to record paths (for ``waiting_for``).

    The plan follows from which elements hold or wait (and on what), which guards hold and whether the child is
    newly diagnosed: the plan of each such combination is built once, and every child gets a fresh copy of it.
    """
    prep = prepared(kb)
    found: list[tuple[ElementParts, Outcome]] = []
    for parts, check in prep.plan_gated.select(facts):
        outcome = True if check is None else check(facts)
        if outcome is not False:
            found.append((parts, outcome))
    guards = tuple(guard.requires.check(facts) for guard in kb.plan_guards)
    newly = facts.get("disease_state") == "newly_diagnosed"
    if input_fields != prep.reported_fields:  # a later relapse's record paths: built for this child alone
        return fresh_plan(_build(prep, kb, found, guards, input_fields, newly))
    key = (newly, guards, tuple([(parts.index, outcome) for parts, outcome in found]))
    plan = prep.plans.get(key)
    if plan is None:
        plan = _build(prep, kb, found, guards, input_fields, newly)
        if len(prep.plans) < _LIMIT:
            prep.plans[key] = plan
    return fresh_plan(plan)


def fresh_plan(plan: Plan) -> Plan:
    """A copy of a plan that shares nothing with it."""
    return {
        "phases": _fresh(plan["phases"], "source"),
        "therapies": _fresh(plan["therapies"], "source", listed="reasons"),
        "drugs": _fresh(plan["drugs"], "source", listed="reasons"),
        "elements": _fresh(plan["elements"], "source", listed="evidence"),
        "not_covered": _fresh(plan["not_covered"], "source"),
        "pending": _fresh(plan["pending"], "would_add", "waiting_for"),
        "withheld": _fresh(plan["withheld"], "elements", "source", listed="evidence"),
    }


def _fresh(entries: list[E], part: str, also: str | None = None, listed: str | None = None) -> list[E]:
    """Copies of a plan's entries that share nothing with them: each entry copied, then put in their places copies
    of its ``part`` and ``also`` (each a dict or a list of words) and of each dict of its list ``listed`` (where
    it has one). Each dict is copied and its inner parts set in their places: about half the time of
    ``{**entry, "source": ...}`` on CPython 3.11. The parts are named one by one rather than as a tuple to loop
    over in each entry: with that loop, copying the 101 plans of the HTTP benchmark's records took about 20 % more
    instructions than with a loop written out for each list, with the parts named about 6 % (callgrind)."""
    out = []
    typed_dicts: list[Any] = entries  # each with those parts
    for entry in typed_dicts:
        copy = entry.copy()
        copy[part] = copy[part].copy()
        if also is not None:
            copy[also] = copy[also].copy()
        if listed in copy:
            copy[listed] = [item.copy() for item in copy[listed]]
        out.append(copy)
    return out


def _build(
    prep: Prepared,
    kb: KnowledgeBase,
    found: list[tuple[ElementParts, Outcome]],
    guards: tuple[Outcome, ...],
    input_fields: dict[str, str],
    newly: bool,
) -> Plan:
    """The plan of the elements that hold or wait (``found``) and of the guards' outcomes; it may share parts with
    the prepared knowledge (``fresh_plan`` copies it)."""
    therapies: dict[str, Reasons] = {}
    drugs: dict[str, Reasons] = {}
    not_covered: list[NotCoveredNote] = []
    pending: list[PendingElement] = []
    applied: list[AppliedElement] = []
    for parts, outcome in found:
        element = parts.element
        if outcome is True:
            if parts.item is not None:
                applied.append(parts.item)
            for code, certainty in parts.therapies:
                therapies.setdefault(code, []).append((element, certainty))
            for name, certainty in parts.drugs:
                drugs.setdefault(name, []).append((element, certainty))
            if element.spec.not_covered:
                not_covered.append(
                    {"id": element.spec.id, "explanation": element.spec.explanation, "source": parts.source}
                )
        elif parts.would_add and outcome is not False:  # (never false here: for the type checker)
            waiting = sorted({input_fields[m] for m in outcome if m in input_fields})
            if waiting:
                pending.append(
                    {
                        "id": element.spec.id,
                        "would_add": list(parts.would_add),
                        "waiting_for": waiting,
                        "explanation": element.spec.explanation,
                    }
                )

    withheld = _apply_guards(kb, guards, therapies, input_fields, pending)
    contributing = {element.spec.id for reasons in (*therapies.values(), *drugs.values()) for element, _ in reasons}
    therapy_heads, drug_heads = prep.therapy_heads, prep.drug_heads
    therapy_list: list[PlanTherapy] = [
        {**therapy_heads[code], **entry} for code, entry in _merged(prep, kb, therapies, prep.therapy_rank)
    ]
    drug_list: list[PlanDrug] = [
        {**drug_heads[name], **entry} for name, entry in _merged(prep, kb, drugs, prep.drug_rank)
    ]
    return {
        "phases": list(prep.phases) if newly else [],
        "therapies": therapy_list,
        "drugs": drug_list,
        "elements": [item for item in applied if item["id"] in contributing],
        "not_covered": not_covered,
        "pending": pending,
        "withheld": withheld,
    }


def _apply_guards(
    kb: KnowledgeBase,
    guards: tuple[Outcome, ...],
    therapies: dict[str, Reasons],
    input_fields: dict[str, str],
    pending: list[PendingElement],
) -> list[WithheldTherapy]:
    """Take guarded therapies out of the plan unless their guard holds; say what was withheld and why.

    A guard whose input is unknown withholds too (it never lets a therapy through on a guess), and the
    plan waits for the input.
    """
    withheld: list[WithheldTherapy] = []
    for guard, outcome in zip(kb.plan_guards, guards, strict=True):
        if outcome is True:
            continue
        for code in guard.spec.therapies:
            reasons = therapies.pop(code, None)
            if not reasons:
                continue
            withheld.append(
                {
                    "code": code,
                    "label": kb.therapies[code].label,
                    "guard": guard.spec.id,
                    "elements": [element.spec.id for element, _ in reasons],
                    "explanation": guard.spec.explanation,
                    "plain": guard.spec.plain,
                    "source": source_of(kb, guard.spec.cite),
                    "evidence": evidence_of(kb, guard.spec.evidence),
                }
            )
            waiting = sorted({input_fields[m] for m in outcome or () if m in input_fields})
            if outcome is not False and waiting:
                pending.append(
                    {
                        "id": guard.spec.id,
                        "would_add": [code],
                        "waiting_for": waiting,
                        "explanation": guard.spec.explanation,
                    }
                )
    return withheld
