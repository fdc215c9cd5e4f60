"""Turn applied knowledge into the explained, cited pieces of an assessment."""

from __future__ import annotations

from typing import Any

from allpath.knowledge import schema as s
from allpath.knowledge.conditions import Condition, Facts
from allpath.knowledge.loader import KnowledgeBase

CONFIDENCE_WORDS = {"H": "high", "M": "moderate"}


def source_of(kb: KnowledgeBase, cite: s.Cite) -> dict[str, str]:
    """A citation as it appears in output: ``{"document": ..., "section": ...}``."""
    return {"document": kb.document(cite.source), "section": cite.section}


def evidence_of(kb: KnowledgeBase, evidence: list[s.Evidence]) -> list[dict[str, str]]:
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
    inputs: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """One explained factor: what it did, why, on which inputs, and where it is written."""
    item: dict[str, Any] = {
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
    item.update(extra)
    return item


def inputs_seen(condition: Condition, facts: Facts) -> dict[str, Any]:
    """The known input values a condition looked at."""
    out: dict[str, Any] = {}
    for name in sorted(condition.facts_used()):
        value = facts.get(name)
        if value is not None:
            out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out
