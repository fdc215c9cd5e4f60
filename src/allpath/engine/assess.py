"""The assessment: from a validated patient record and a knowledge base to an explained, cited answer.

``assess`` is pure: the same record and knowledge base always give the same assessment, and nothing is
read or written. The output follows the assessment contract of design.md and extends it compatibly.
"""

from __future__ import annotations

from allpath import __version__
from allpath.domain.record_model import PatientRecord
from allpath.domain.results import (
    Assessment,
    DiseaseState,
    Factor,
    NotCoveredNote,
    Relapse,
    TimingBasis,
)
from allpath.engine.explain import inputs_seen, source_of
from allpath.engine.facts import build_facts
from allpath.engine.guidance import diagnostic_tests, follow_up, prognostic_factors, workup
from allpath.engine.plan import build_plan
from allpath.engine.prepared import Prepared, fresh_factor, prepared
from allpath.engine.schemes import SchemeResult, evaluate_scheme
from allpath.engine.warnings import input_warnings
from allpath.knowledge.compiled import Note, Scheme
from allpath.knowledge.conditions import NO_FACTS, Fact, Facts, PartialSet
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import CounselingRule


def _scheme_factors(prep: Prepared, scheme: Scheme, result: SchemeResult, facts: Facts) -> list[Factor]:
    heads = prep.factors
    name = scheme.spec.id
    decisive = {id(rule) for rule in result.decisive_rules}  # by identity: a Rule compares by value
    out = [
        fresh_factor(heads[name, id(rule)], inputs_seen(rule.condition, facts), id(rule) in decisive)
        for rule in result.applied
    ]
    out.extend(_note_factors(prep, name, result.notes, facts))
    return out


def _note_factors(prep: Prepared, scheme: str, notes: tuple[Note, ...], facts: Facts) -> list[Factor]:
    heads = prep.factors
    return [fresh_factor(heads[scheme, id(note)], inputs_seen(note.condition, facts)) for note in notes]


def _comparison(kb: KnowledgeBase, risk: SchemeResult, cog: SchemeResult) -> Factor | None:
    """Explain a difference between the source summary's group and the COG group, if there is one."""
    if risk.group is None or cog.group is None:
        return None
    if kb.text.scheme_correspondence[cog.group] == risk.group:
        return None
    risk_labels = kb.risk_group.spec.labels
    cog_labels = kb.cog_risk_group.spec.labels
    risk_why = " ".join(r.spec.explanation for r in risk.decisive_rules)
    cog_why = " ".join(r.spec.explanation for r in cog.decisive_rules)
    explanation = (
        f"The two classifications differ. The source summary's three groups give {risk_labels[risk.group]}: "
        f"{risk_why} The finer COG classification gives {cog_labels[cog.group]}: {cog_why} "
        "Both are shown; neither is forced into the other."
    )
    first = (cog.decisive_rules or risk.decisive_rules)[0]
    return {
        "id": kb.text.scheme_comparison_id,
        "scheme": "comparison",
        "effect": f"risk_group={risk.group}; cog_risk_group={cog.group}",
        "explanation": explanation,
        "plain": None,
        "confidence": "high"
        if all(r.confidence == "H" for r in risk.decisive_rules + cog.decisive_rules)
        else "moderate",
        "inputs": {},
        "source": source_of(kb, first.spec.cite),
        "compares": [r.spec.id for r in risk.decisive_rules + cog.decisive_rules],
    }


def _populations(
    kb: KnowledgeBase, prep: Prepared, facts: Facts
) -> tuple[PartialSet, list[str], list[Factor], frozenset[str]]:
    """The populations fact, the child's populations in the knowledge's order, their factors and what is open."""
    members: list[str] = []
    unknown: dict[str, frozenset[str]] = {}
    factors: list[Factor] = []
    missing: frozenset[str] = NO_FACTS
    heads = prep.factors
    for pop in kb.populations:
        outcome = pop.condition.check(facts)
        if outcome is True:
            members.append(pop.spec.id)
            factors.append(fresh_factor(heads["populations", id(pop)], inputs_seen(pop.condition, facts)))
        elif outcome is not False:
            unknown[pop.spec.id] = outcome
            missing = missing | outcome
    return PartialSet(frozenset(members), unknown), members, factors, missing


def _tokens(facts: Facts, name: str) -> frozenset[str]:
    """A token-set fact (an absent one is the empty set)."""
    value = facts[name]
    if value is None:
        return frozenset()
    if isinstance(value, frozenset):
        return value
    raise TypeError(f"the fact {name} is not a set of tokens")


def _number(facts: Facts, name: str) -> float | None:
    """A numeric fact, or None when absent."""
    value = facts[name]
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise TypeError(f"the fact {name} is not a number")


def _count(facts: Facts, name: str) -> int:
    """A whole-number fact that is present (the relapse section exists only when a relapse is recorded)."""
    value = facts[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"the fact {name} is not a whole number")


def _relapse(
    kb: KnowledgeBase, prep: Prepared, facts: Facts, dx_risk: SchemeResult
) -> tuple[Relapse, list[Factor], SchemeResult]:
    timing_value = None
    factors: list[Factor] = []
    for rule, condition in kb.relapse_timing.rules:
        if condition.check(facts) is True:
            timing_value = rule.value
            head = prep.factors["relapse_timing", id(rule)]
            factors.append(fresh_factor(head, inputs_seen(condition, facts)))
            break
    basis: TimingBasis | None = None
    for cutoff in kb.relapse_timing.cutoffs:
        if cutoff.condition.check(facts) is True:
            basis = {
                "basis": cutoff.spec.basis,
                "label": cutoff.spec.label,
                "early_below_months": cutoff.early_below_months,
                "confidence": "moderate" if kb.relapse_timing.spec.confidence == "M" else "high",
                "source": source_of(kb, kb.relapse_timing.rules[0][0].cite),
            }
            break
    result = evaluate_scheme(kb.relapse_risk_group, facts)
    factors.extend(_scheme_factors(prep, kb.relapse_risk_group, result, facts))
    # A relapse read from an EHR's diagnosis may lack its sites or time: they stay unknown (never guessed).
    known_sites = facts["relapse_sites"] is not None
    sites = _tokens(facts, "relapse_sites") if known_sites else frozenset()
    age_at_relapse = _number(facts, "age_at_latest_event_years")
    section: Relapse = {
        "number": _count(facts, "relapse_number"),
        "sites": sorted(sites),
        "months_from_diagnosis": _number(facts, "relapse_months_from_diagnosis"),
        "age_at_relapse_years": None if age_at_relapse is None else round(age_at_relapse, 2),
        "combined": ("bone_marrow" in sites and len(sites) > 1) if known_sites else None,
        "isolated_extramedullary": ("bone_marrow" not in sites) if known_sites else None,
        "timing": timing_value,
        "timing_basis": basis,
        "risk_group": result.group,
        "risk_group_label": kb.relapse_risk_group.spec.labels.get(result.group or "", None),
        "risk_group_meaning": kb.text.relapse_risk_meaning.get(result.group or "", None),
        "risk_group_at_diagnosis": dx_risk.group,
    }
    return section, factors, result


def _counseling(kb: KnowledgeBase, prep: Prepared, facts: Facts) -> tuple[bool, list[Factor]]:
    applied = [note for note in kb.counseling if note.condition.check(facts) is True]
    recommending = [n for n in applied if isinstance(n.spec, CounselingRule) and n.spec.recommends]
    # A statement that counselling is not flagged is shown only when no rule recommends it.
    shown_notes = tuple(recommending or applied)
    factors = _note_factors(prep, "genetic_counseling", shown_notes, facts)
    for item in factors:
        item["effect"] = "genetic_counseling=" + ("recommended" if recommending else "not flagged")
    return bool(recommending), factors


def _input_fields(prep: Prepared, record: PatientRecord) -> dict[str, str]:
    """Input facts whose absence is reported, mapped to their record paths."""
    latest = len(record.relapses or ()) - 1  # a relapse field is of the latest relapse, as record_field says
    if latest <= 0:
        return dict(prep.reported_fields)
    index = f"relapses[{latest}]"
    return {
        name: field.replace("relapses[]", index) if field.startswith("relapses[]") else field
        for name, field in prep.reported_inputs
    }


def _disease_state(kb: KnowledgeBase, prep: Prepared, facts: dict[str, Fact]) -> tuple[DiseaseState, Factor]:
    for rule, condition in kb.disease_states:
        if condition.check(facts) is True:
            explained = fresh_factor(prep.factors["disease_state", id(rule)], inputs_seen(condition, facts))
            facts["disease_state"] = rule.value
            return rule.value, explained
    raise AssertionError("disease_state.yaml must cover every record")  # pragma: no cover


def classify(record: PatientRecord, kb: KnowledgeBase) -> tuple[SchemeResult, SchemeResult, list[str]]:
    """Only the two risk classifications and the record fields that could still change them."""
    facts = build_facts(record)
    prep = prepared(kb)
    _disease_state(kb, prep, facts)
    risk = evaluate_scheme(kb.risk_group, facts)
    facts["risk_group"] = risk.group
    cog = evaluate_scheme(kb.cog_risk_group, facts)
    fields = _input_fields(prep, record)
    open_facts = risk.missing | cog.missing
    return risk, cog, [fields[n] for n in fields if n in open_facts]


def assess(record: PatientRecord, kb: KnowledgeBase) -> Assessment:
    """Assess one validated patient record against the knowledge base ``kb``."""
    facts = build_facts(record)
    prep = prepared(kb)  # read once: each helper is given it
    fields = _input_fields(prep, record)
    state, state_factor = _disease_state(kb, prep, facts)
    factors: list[Factor] = [state_factor]

    populations, members, population_factors, population_missing = _populations(kb, prep, facts)
    facts["populations"] = populations

    risk = evaluate_scheme(kb.risk_group, facts)
    dx_risk = (
        risk
        if state == "newly_diagnosed"
        else evaluate_scheme(kb.risk_group, {**facts, "disease_state": "newly_diagnosed"})
    )
    facts["risk_group"] = risk.group
    facts["risk_group_at_diagnosis"] = dx_risk.group
    cog = evaluate_scheme(kb.cog_risk_group, facts)

    factors.extend(_scheme_factors(prep, kb.risk_group, risk, facts))
    factors.extend(_scheme_factors(prep, kb.cog_risk_group, cog, facts))
    comparison = _comparison(kb, risk, cog)
    if comparison:
        factors.append(comparison)
    factors.extend(population_factors)

    relapse = None
    relapse_missing: frozenset[str] = NO_FACTS
    if state == "relapsed":
        relapse, relapse_factors, relapse_result = _relapse(kb, prep, facts, dx_risk)
        factors.extend(relapse_factors)
        relapse_missing = relapse_result.missing

    plan = build_plan(kb, facts, fields)
    facts["plan_therapies"] = frozenset(t["code"] for t in plan["therapies"])
    counseling, counseling_factors = _counseling(kb, prep, facts)
    factors.extend(counseling_factors)

    plan_missing = {m for p in plan["pending"] for m in p["waiting_for"]}
    open_facts = risk.missing | cog.missing | relapse_missing | population_missing
    missing_facts = [name for name in fields if name in open_facts or fields[name] in plan_missing]
    missing = [fields[n] for n in missing_facts if kb.inputs[n].timepoint not in kb.upcoming_timepoints]
    upcoming = [fields[n] for n in missing_facts if kb.inputs[n].timepoint in kb.upcoming_timepoints]
    if record.response is None and any(m.startswith("response.") for m in missing):
        missing.insert(0, "response")
    not_covered: list[NotCoveredNote] = [
        {"id": f["id"], "explanation": f["explanation"], "source": f["source"]}
        for f in factors
        if f["effect"] == "not covered"
    ]

    return {
        "record_id": record.id,
        "disease_state": state,
        "risk_group": risk.group,
        "risk_group_label": kb.risk_group.spec.labels.get(risk.group or "", None),
        "risk_group_meaning": kb.text.risk_group_meaning[risk.group or "none"] if state == "newly_diagnosed" else None,
        "cog_risk_group": cog.group,
        "cog_risk_group_label": kb.cog_risk_group.spec.labels.get(cog.group or "", None),
        "provisional": bool(missing),
        "missing": missing,
        "upcoming": upcoming,
        "workup": workup(kb, [n for n in missing_facts if fields[n] in missing], fields),
        "diagnostic_tests": diagnostic_tests(kb, facts, fields, missing, upcoming),
        "populations": members,  # in the knowledge's order
        "factors": factors,
        "plan": plan,
        "relapse": relapse,
        "genetic_counseling_recommended": counseling,
        "warnings": input_warnings(kb, facts),
        "prognostic_factors": prognostic_factors(kb, facts, state),
        "follow_up": follow_up(kb, facts),
        "not_covered": not_covered + plan["not_covered"],
        "disclaimer": kb.text.disclaimer,
        "knowledge_version": kb.version,
        "engine_version": __version__,
    }
