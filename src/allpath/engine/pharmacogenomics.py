"""Thiopurine starting-dose adjustments for TPMT and NUDT15 phenotypes (CPIC rules of the knowledge base).

An adjustment is a share of the normal dose (a range when the guideline gives one), sometimes with a
different frequency, or a fixed dose per square meter. It never raises a dose: a fixed dose above the
normal dose is held to the normal dose. Missing or indeterminate phenotypes, and combinations that no rule
covers, are refused with the reason; the caller must not fall back to the normal dose.
"""

from __future__ import annotations

from dataclasses import dataclass

from allpath.domain.record_model import Pharmacogenomics
from allpath.domain.results import ConfidenceWord, DoseAdjustment, EvidenceRef, Frequency
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of
from allpath.knowledge.compiled import confidence_of
from allpath.knowledge.loader import KnowledgeBase

GENES = ("tpmt", "nudt15")


@dataclass(frozen=True)
class Adjustment:
    rule: str
    share_low: float
    share_high: float
    per_m2_day_low: float  # the adjusted daily dose per square meter (before body surface area)
    per_m2_day_high: float
    frequency: Frequency
    explanation: str
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]

    def as_dict(self) -> DoseAdjustment:
        return {
            "rule": self.rule,
            "share_of_normal": [self.share_low, self.share_high],
            "mg_per_m2_day": [self.per_m2_day_low, self.per_m2_day_high],
            "frequency": self.frequency,
            "explanation": self.explanation,
            "confidence": self.confidence,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Refusal:
    reason: str
    missing: tuple[str, ...] = ()
    evidence: tuple[EvidenceRef, ...] = ()


def applies_to(kb: KnowledgeBase, drug: str) -> bool:
    return drug in kb.therapy.pgx_drugs


def adjust(
    kb: KnowledgeBase, drug: str, genotype: Pharmacogenomics | None, normal_mg_per_m2_day: float
) -> Adjustment | Refusal:
    """The starting-dose adjustment of ``drug`` for these phenotypes, or why none can be given."""
    rules = kb.therapy.pgx_drugs[drug]
    pgx = kb.therapy.pgx
    phenotypes = {gene: getattr(genotype, gene, None) if genotype else None for gene in GENES}
    missing = tuple(f"pharmacogenomics.{gene}" for gene, value in phenotypes.items() if value is None)
    if missing:
        return Refusal(
            f"{drug} needs the TPMT and NUDT15 results before a starting dose can be given "
            f"(missing: {', '.join(missing)}).",
            missing,
        )
    indeterminate = [gene for gene, value in phenotypes.items() if value == "indeterminate"]
    if indeterminate:
        advice = [pgx.indeterminate_advice[gene] for gene in indeterminate]  # type: ignore[index]
        return Refusal(
            " ".join(a.text for a in advice),
            evidence=tuple(e for a in advice for e in evidence_of(kb, a.evidence)),
        )
    facts = {gene: pgx.treat_as.get(str(value), value) for gene, value in phenotypes.items()} | {
        "normal_dose_mg_per_m2_day": normal_mg_per_m2_day
    }
    for rule in rules.rules:
        if rule.condition.evaluate(facts).value is True:
            spec = rule.spec
            if spec.share is not None:
                low, high = spec.share
                dose_low, dose_high = normal_mg_per_m2_day * low, normal_mg_per_m2_day * high
            else:
                assert spec.fixed_mg_per_m2_day is not None
                fixed = min(spec.fixed_mg_per_m2_day, normal_mg_per_m2_day)  # never above the normal dose
                dose_low = dose_high = fixed
                low = high = fixed / normal_mg_per_m2_day
            treated_as = any(str(value) in pgx.treat_as for value in phenotypes.values())
            evidence = spec.evidence + (pgx.treat_as_evidence if treated_as else [])
            return Adjustment(
                rule=spec.id,
                share_low=low,
                share_high=high,
                per_m2_day_low=dose_low,
                per_m2_day_high=dose_high,
                frequency=spec.frequency or "daily",
                explanation=spec.explanation,
                confidence=CONFIDENCE_WORDS[confidence_of(spec.confidence, spec.evidence)],
                evidence=evidence_of(kb, evidence),
            )
    intermediate = "intermediate" in facts.values() and "poor" not in facts.values()
    key = "intermediate_low_start" if intermediate and "intermediate_low_start" in rules.spec.not_covered else "other"
    return Refusal(rules.spec.not_covered[key])
