"""Turn applied knowledge into the explained, cited pieces of an assessment."""

from __future__ import annotations

from allpath.domain.results import ConfidenceWord, EvidenceRef, Factor, FactValue, Source
from allpath.knowledge import schema as s
from allpath.knowledge.conditions import Condition, Facts
from allpath.knowledge.loader import KnowledgeBase

CONFIDENCE_WORDS: dict[s.Confidence, ConfidenceWord] = {"H": "high", "M": "moderate"}


def source_of(kb: KnowledgeBase, cite: s.Cite) -> Source:
    """A citation as it appears in output: ``{"document": ..., "section": ...}``."""
    return {"document": kb.document(cite.source), "section": cite.section}


def evidence_of(kb: KnowledgeBase, evidence: list[s.Evidence]) -> list[EvidenceRef]:
    return [
        {
            "document": kb.document(e.source),
            "section": e.section,
            "reference": e.reference,
            "confidence": CONFIDENCE_WORDS[e.confidence],
        }
        for e in evidence
    ]


def factor(
    kb: KnowledgeBase,
    *,
    id: str,
    scheme: str,
    effect: str,
    explanation: str,
    plain: str | None,
    cite: s.Cite,
    evidence: list[s.Evidence],
    confidence: s.Confidence,
    inputs: dict[str, FactValue],
    decides: bool | None = None,
) -> Factor:
    """One explained factor: what it did, why, on which inputs, and where it is written; ``decides`` for a
    rule of a risk scheme (whether it is at the final group)."""
    item: Factor = {
        "id": id,
        "scheme": scheme,
        "effect": effect,
        "explanation": explanation,
        "plain": plain,
        "confidence": CONFIDENCE_WORDS[confidence],
        "inputs": inputs,
        "source": source_of(kb, cite),
    }
    if evidence:
        item["evidence"] = evidence_of(kb, evidence)
    if decides is not None:
        item["decides"] = decides
    return item


def inputs_seen(condition: Condition, facts: Facts) -> dict[str, FactValue]:
    """The known input values a condition looked at."""
    out: dict[str, FactValue] = {}
    for name in condition.reads:
        value = facts.get(name)
        if value is not None:
            out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out
