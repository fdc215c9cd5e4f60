"""The survivorship plan: from the child's exposures (recorded, or planned by the roadmap), the late effects
to watch for and the follow-up screening with its start date and interval, each with its evidence and
confidence; explicit "not covered" items where the sources are not verified.

Rules are evaluated in three-valued logic over the exposure measures: an unknown measure (a course without
its dose) leaves a rule open, makes the plan provisional and names the missing data.
"""

from __future__ import annotations

from datetime import date

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import (
    AlternativeFactor,
    Roadmap,
    ScreeningStart,
    Strength,
    SurvivorshipItem,
    SurvivorshipNote,
    SurvivorshipPlan,
)
from allpath.engine import exposures as ex
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of, source_of
from allpath.engine.roadmap import add_years
from allpath.knowledge.compiled import confidence_of
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.therapy_schema import ScreeningRule


def survivorship_plan(record: PatientRecord, kb: KnowledgeBase, roadmap: Roadmap | None) -> SurvivorshipPlan:
    """The plan for ``record``: recorded exposures when the record has any, else the roadmap's plan."""
    if record.exposures is not None and (record.exposures.courses or record.exposures.radiation):
        exposures = ex.recorded(record, kb)
    elif roadmap is not None and roadmap["regimen"] is not None:
        exposures = ex.planned(record, roadmap, roadmap["regimen"]["id"], kb)
    else:
        exposures = ex.Exposures("none")
    spec = kb.therapy.survivorship
    total, parts, anthracycline_not_covered = ex.doxorubicin_equivalent(kb, exposures)
    facts = ex.measures(kb, record, exposures, total)
    # An anthracycline without a verified doxorubicin equivalent (idarubicin, epirubicin) still harms the heart.
    facts["anthracycline_without_equivalent"] = bool(anthracycline_not_covered)
    end_of_therapy = record.end_of_therapy_date or _roadmap_end(roadmap)

    items: list[SurvivorshipItem] = []
    open_rules: list[str] = []
    strength_given = False
    for rule in kb.therapy.screening:
        verdict = rule.condition.evaluate(facts)
        if verdict.value is None:
            open_rules.append(rule.spec.id)
        if verdict.value is not True:
            continue
        if _is_cardiac_strength(kb, rule.spec):
            if strength_given:
                continue  # one strength of heart surveillance: the first that holds (rules go strongest first)
            strength_given = True
        items.append(_item(kb, record, rule.spec, facts, exposures, end_of_therapy))
    if not strength_given:
        # Heart radiation alone: PanCare gives an echocardiogram frequency where IGHG gives no strength.
        frequency_only = _frequency_only_item(kb, record, facts, exposures, end_of_therapy)
        if frequency_only is not None:
            items.append(frequency_only)
    missing = list(dict.fromkeys(exposures.missing))
    if open_rules and not missing and not anthracycline_not_covered:
        missing.append("exposures (to decide: " + ", ".join(open_rules) + ")")
    if exposures.basis == "none":
        missing.append("exposures")
    if record.birth_date is None and any(item["start"] and "not_before" in item["start"] for item in items):
        missing.append("birth_date")  # the checks start at an age: their dates need the birth date
    not_covered: list[SurvivorshipNote] = [
        {"id": spec.anthracyclines.not_covered_id, "text": text, "evidence": []} for text in anthracycline_not_covered
    ]
    not_covered += [{"id": n.id, "text": n.text, "evidence": evidence_of(kb, n.evidence)} for n in spec.not_covered]
    return {
        "basis": exposures.basis,
        "exposures": {
            "doxorubicin_equivalent_mg_per_m2": round(total, 2) if total is not None else None,
            "anthracyclines": parts,
            "alternative_factors": _alternatives(kb, exposures, total),
            "chest_radiation_gy": exposures.chest_radiation_gy,
            "cranial_radiation_gy": exposures.cranial_radiation_gy,
            "drugs": sorted(exposures.received),
            "last_cardiotoxic_exposure": exposures.last_cardiotoxic.isoformat() if exposures.last_cardiotoxic else None,
        },
        "end_of_therapy_date": end_of_therapy.isoformat() if end_of_therapy else None,
        "items": items,
        "not_covered": not_covered,
        "provisional": bool(missing),
        "missing": missing,
        "notes": exposures.notes,
        "source": source_of(kb, spec.cite),
        "disclaimer": kb.text.disclaimer,
    }


def _roadmap_end(roadmap: Roadmap | None) -> date | None:
    end = roadmap["end_of_therapy"] if roadmap is not None else None
    if end is not None and end["date"]:
        return date.fromisoformat(end["date"])
    return None


def _item(
    kb: KnowledgeBase,
    record: PatientRecord,
    spec: ScreeningRule,
    facts: Facts,
    exposures: ex.Exposures,
    end_of_therapy: date | None,
) -> SurvivorshipItem:
    confidence = confidence_of(spec.confidence, spec.evidence)
    evidence = list(spec.evidence)
    interval = spec.interval_years
    start: ScreeningStart | None = None
    if spec.topic == kb.therapy.survivorship.cardiac_frequency.topic and spec.test:
        frequency = kb.therapy.survivorship.cardiac_frequency
        chosen = next((r for r in kb.therapy.cardiac_frequency if r.condition.evaluate(facts).value is True), None)
        if chosen is not None:
            interval = chosen.spec.interval_years
            evidence += chosen.spec.evidence
        evidence += frequency.start_evidence
        years = frequency.start_within_years_after_exposure
        after = exposures.last_cardiotoxic
        start = {
            "no_later_than": add_years(after, years).isoformat() if after else None,
            "rule": kb.text.survivorship_start.after_exposure.format(years=f"{years:g}"),
            "after": after.isoformat() if after else None,
        }
    elif spec.start_age_years is not None:
        earliest = add_years(record.birth_date, spec.start_age_years.earliest) if record.birth_date else None
        latest = add_years(record.birth_date, spec.start_age_years.latest) if record.birth_date else None
        start = {
            "not_before": earliest.isoformat() if earliest else None,
            "no_later_than": latest.isoformat() if latest else None,
            "rule": kb.text.survivorship_start.between_ages.format(
                earliest=f"{spec.start_age_years.earliest:g}", latest=f"{spec.start_age_years.latest:g}"
            ),
            "after": None,
        }
    return {
        "id": spec.id,
        "topic": spec.topic,
        "late_effect": spec.late_effect,
        "test": spec.test,
        "strength": spec.strength,
        "interval_years": interval,
        "start": start,
        "schedule_not_covered": spec.schedule_not_covered or (spec.test is not None and interval is None),
        "not_covered": spec.not_covered,
        "explanation": spec.explanation,
        "confidence": CONFIDENCE_WORDS[confidence],
        "evidence": evidence_of(kb, evidence),
        "end_of_therapy_date": end_of_therapy.isoformat() if end_of_therapy else None,
    }


def _alternatives(kb: KnowledgeBase, exposures: ex.Exposures, total: float | None) -> list[AlternativeFactor]:
    """The total under each other published factor, and whether it would change the surveillance strength."""
    out: list[AlternativeFactor] = []
    base_strength = _cardiac_strength(kb, total, exposures)
    for alternative in kb.therapy.survivorship.anthracyclines.alternatives:
        if alternative.drug not in exposures.anthracycline_mg_per_m2:
            continue
        other, _, _ = ex.doxorubicin_equivalent(kb, exposures, {alternative.drug: alternative.factor})
        strength = _cardiac_strength(kb, other, exposures)
        out.append(
            {
                "label": alternative.label,
                "drug": alternative.drug,
                "factor": alternative.factor,
                "doxorubicin_equivalent_mg_per_m2": round(other, 2) if other is not None else None,
                "changes_surveillance": strength != base_strength,
                "surveillance": strength,
                "evidence": evidence_of(kb, alternative.evidence),
            }
        )
    return out


def _is_cardiac_strength(kb: KnowledgeBase, spec: ScreeningRule) -> bool:
    return bool(spec.topic == kb.therapy.survivorship.cardiac_frequency.topic and spec.strength)


def _frequency_only_item(
    kb: KnowledgeBase,
    record: PatientRecord,
    facts: Facts,
    exposures: ex.Exposures,
    end_of_therapy: date | None,
) -> SurvivorshipItem | None:
    """The echocardiogram item of a PanCare frequency rule that holds when no IGHG strength rule does; the
    late effect and test are those of the heart rules, the id, explanation and evidence the frequency rule's."""
    chosen = next((r for r in kb.therapy.cardiac_frequency if r.condition.evaluate(facts).value is True), None)
    template = next((r.spec for r in kb.therapy.screening if _is_cardiac_strength(kb, r.spec) and r.spec.test), None)
    if chosen is None or template is None:
        return None
    spec = template.model_copy(
        update={
            "id": chosen.spec.id,
            "strength": None,
            "confidence": confidence_of(None, chosen.spec.evidence),
            "explanation": chosen.spec.explanation,
            "evidence": [],  # _item adds the frequency rule's evidence and the start rule's
        }
    )
    return _item(kb, record, spec, facts, exposures, end_of_therapy)


def _cardiac_strength(kb: KnowledgeBase, total: float | None, exposures: ex.Exposures) -> Strength | None:
    facts = {"doxorubicin_equivalent_mg_per_m2": total, "chest_radiation_gy": exposures.chest_radiation_gy}
    for rule in kb.therapy.screening:
        if _is_cardiac_strength(kb, rule.spec):
            if rule.condition.evaluate(facts).value is True:
                return rule.spec.strength
    return None
