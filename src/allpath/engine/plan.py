"""Build the treatment plan: phases, and therapies and drugs merged from every applicable element.

A child in several groups (say very high risk, Philadelphia chromosome-positive and CNS disease) gets
every element that applies. Elements naming the same therapy or drug are merged into one entry that
shows the strongest certainty and lists every element as a reason; the elements themselves (explanation,
citation, evidence) are stated once under ``plan.elements``.
"""

from __future__ import annotations

from allpath.domain.results import (
    NotCoveredNote,
    PendingElement,
    Plan,
    PlanDrug,
    PlanPhase,
    PlanTherapy,
    WithheldTherapy,
)
from allpath.domain.results import PlanElement as AppliedElement
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of, source_of
from allpath.engine.prepared import Prepared, fresh_element, prepared
from allpath.knowledge.compiled import PlanElement
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import Certainty, Confidence


def _lead(
    rank: dict[str, int], reasons: list[tuple[PlanElement, Certainty]]
) -> tuple[PlanElement, Certainty, Confidence]:
    """The element and certainty that lead a merged entry, and the entry's confidence."""
    if len(reasons) == 1:
        element, certainty = reasons[0]
        return element, certainty, element.confidence
    # The strongest certainty leads; ties keep knowledge-file order, so output is deterministic.
    element, certainty = min(reasons, key=lambda r: rank[r[1]])
    return element, certainty, "H" if any(e.confidence == "H" for e, _ in reasons) else "M"


def _therapies(
    prep: Prepared, kb: KnowledgeBase, entries: dict[str, list[tuple[PlanElement, Certainty]]]
) -> list[PlanTherapy]:
    """Each therapy's entry, built in one step from its prepared head, in the knowledge's order."""
    out: list[PlanTherapy] = []
    for code in sorted(entries, key=prep.therapy_rank.__getitem__):
        reasons = entries[code]
        element, certainty, confidence = _lead(prep.certainty_rank, reasons)
        out.append(
            {
                **prep.therapy_heads[code],
                "certainty": certainty,
                "certainty_meaning": kb.certainty_meaning[certainty],
                "confidence": CONFIDENCE_WORDS[confidence],
                "source": prep.element_sources[element.spec.id].copy(),
                "reasons": [{"element": e.spec.id, "certainty": c} for e, c in reasons],
            }
        )
    return out


def _drugs(
    prep: Prepared, kb: KnowledgeBase, entries: dict[str, list[tuple[PlanElement, Certainty]]]
) -> list[PlanDrug]:
    """Each drug's entry, as ``_therapies``."""
    out: list[PlanDrug] = []
    for name in sorted(entries, key=prep.drug_rank.__getitem__):
        reasons = entries[name]
        element, certainty, confidence = _lead(prep.certainty_rank, reasons)
        out.append(
            {
                **prep.drug_heads[name],
                "certainty": certainty,
                "certainty_meaning": kb.certainty_meaning[certainty],
                "confidence": CONFIDENCE_WORDS[confidence],
                "source": prep.element_sources[element.spec.id].copy(),
                "reasons": [{"element": e.spec.id, "certainty": c} for e, c in reasons],
            }
        )
    return out


def build_plan(kb: KnowledgeBase, facts: Facts, input_fields: dict[str, str]) -> Plan:
    """The plan for one child. ``input_fields`` maps input facts to record paths (for ``waiting_for``)."""
    prep = prepared(kb)
    therapies: dict[str, list[tuple[PlanElement, Certainty]]] = {}
    drugs: dict[str, list[tuple[PlanElement, Certainty]]] = {}
    not_covered: list[NotCoveredNote] = []
    pending: list[PendingElement] = []
    applied: list[AppliedElement] = []
    for parts in prep.plan:
        outcome = parts.check(facts)
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
                    {"id": element.spec.id, "explanation": element.spec.explanation, "source": parts.source.copy()}
                )
        elif outcome is not False and parts.would_add:
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

    withheld = _apply_guards(kb, facts, therapies, input_fields, pending)
    contributing = {element.spec.id for reasons in (*therapies.values(), *drugs.values()) for element, _ in reasons}
    elements = [fresh_element(item) for item in applied if item["id"] in contributing]
    therapy_list = _therapies(prep, kb, therapies)
    drug_list = _drugs(prep, kb, drugs)
    phases: list[PlanPhase] = []
    if facts.get("disease_state") == "newly_diagnosed":
        phases = [{**p, "source": p["source"].copy()} for p in prep.phases]
    return {
        "phases": phases,
        "therapies": therapy_list,
        "drugs": drug_list,
        "elements": elements,
        "not_covered": not_covered,
        "pending": pending,
        "withheld": withheld,
    }


def _apply_guards(
    kb: KnowledgeBase,
    facts: Facts,
    therapies: dict[str, list[tuple[PlanElement, Certainty]]],
    input_fields: dict[str, str],
    pending: list[PendingElement],
) -> list[WithheldTherapy]:
    """Take guarded therapies out of the plan unless their guard holds; say what was withheld and why.

    A guard whose input is unknown withholds too (it never lets a therapy through on a guess), and the
    plan waits for the input.
    """
    withheld: list[WithheldTherapy] = []
    for guard in kb.plan_guards:
        outcome = guard.requires.check(facts)
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
