"""The per-patient engine for the rows the columnar plan cannot answer, and the reference the identity tests use.

A row is turned back into its ``PatientRecord`` and assessed by ``engine.assess.assess``; the per-scheme
missing facts (which an assessment merges into one list) are read from ``engine.schemes.evaluate_scheme``
over the same facts, in the same order as ``assess`` builds them.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from allpath.domain.record_model import PatientRecord
from allpath.engine.assess import assess
from allpath.engine.facts import build_facts, record_field
from allpath.engine.schemes import SchemeResult, evaluate_scheme
from allpath.knowledge.conditions import Fact, PartialSet
from allpath.knowledge.loader import KnowledgeBase

OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "disease_state": pl.String(),
    "risk_group": pl.String(),
    "risk_group_provisional": pl.Boolean(),
    "risk_group_missing": pl.List(pl.String()),
    "risk_group_upcoming": pl.List(pl.String()),
    "cog_risk_group": pl.String(),
    "cog_risk_group_provisional": pl.Boolean(),
    "cog_risk_group_missing": pl.List(pl.String()),
    "cog_risk_group_upcoming": pl.List(pl.String()),
    "populations": pl.List(pl.String()),
    "relapse_timing": pl.String(),
    "relapse_risk_group": pl.String(),
}
"""The stratification columns, the same for the columnar plan and the per-patient engine."""

RowAnswer = dict[str, str | bool | list[str] | None]


def record_of(row: Mapping[str, object]) -> PatientRecord:
    """The validated record a cohort row holds (the row number and unknown columns left out)."""
    fields = {name: row[name] for name in PatientRecord.model_fields if name in row}
    return PatientRecord.model_validate(fields)


def _populations(kb: KnowledgeBase, facts: Mapping[str, Fact]) -> PartialSet:
    members: set[str] = set()
    unknown: dict[str, frozenset[str]] = {}
    for population in kb.populations:
        verdict = population.condition.evaluate(facts)
        if verdict.value is True:
            members.add(population.spec.id)
        elif verdict.value is None:
            unknown[population.spec.id] = verdict.missing
    return PartialSet(frozenset(members), unknown)


def scheme_paths(kb: KnowledgeBase, record: PatientRecord, result: SchemeResult) -> tuple[list[str], list[str]]:
    fields = {
        name: path
        for name in kb.inputs
        if kb.inputs[name].absent == "missing" and (path := record_field(kb, name, record)) is not None
    }
    open_facts = [name for name in fields if name in result.missing]
    missing = [fields[n] for n in open_facts if kb.inputs[n].timepoint not in kb.upcoming_timepoints]
    upcoming = [fields[n] for n in open_facts if kb.inputs[n].timepoint in kb.upcoming_timepoints]
    if record.response is None and any(m.startswith("response.") for m in missing):
        missing.insert(0, "response")
    return missing, upcoming


def scheme_results(
    kb: KnowledgeBase, record: PatientRecord, state: str, facts: dict[str, Fact] | None = None
) -> tuple[SchemeResult, SchemeResult]:
    """Both risk schemes over the facts ``assess`` builds (``facts`` is filled in as it does)."""
    facts = build_facts(record) if facts is None else facts
    facts["disease_state"] = state
    facts["populations"] = _populations(kb, facts)
    risk = evaluate_scheme(kb.risk_group, facts)
    at_diagnosis = (
        risk
        if state == "newly_diagnosed"
        else evaluate_scheme(kb.risk_group, {**facts, "disease_state": "newly_diagnosed"})
    )
    facts["risk_group"] = risk.group
    facts["risk_group_at_diagnosis"] = at_diagnosis.group
    return risk, evaluate_scheme(kb.cog_risk_group, facts)


def per_patient(record: PatientRecord, kb: KnowledgeBase) -> RowAnswer:
    """The stratification columns of one record, from the per-patient engine."""
    assessment = assess(record, kb)
    risk, cog = scheme_results(kb, record, assessment["disease_state"])
    risk_missing, risk_upcoming = scheme_paths(kb, record, risk)
    cog_missing, cog_upcoming = scheme_paths(kb, record, cog)
    relapse = assessment["relapse"]
    return {
        "disease_state": assessment["disease_state"],
        "risk_group": assessment["risk_group"],
        "risk_group_provisional": bool(risk_missing),
        "risk_group_missing": risk_missing,
        "risk_group_upcoming": risk_upcoming,
        "cog_risk_group": assessment["cog_risk_group"],
        "cog_risk_group_provisional": bool(cog_missing),
        "cog_risk_group_missing": cog_missing,
        "cog_risk_group_upcoming": cog_upcoming,
        "populations": assessment["populations"],
        "relapse_timing": relapse["timing"] if relapse else None,
        "relapse_risk_group": relapse["risk_group"] if relapse else None,
    }


def per_patient_frame(rows: list[dict[str, object]], kb: KnowledgeBase) -> pl.DataFrame:
    """The stratification columns of cohort rows, one per-patient assessment each."""
    answers = [per_patient(record_of(row), kb) for row in rows]
    return pl.DataFrame(answers, schema=OUTPUT_SCHEMA) if answers else pl.DataFrame(schema=OUTPUT_SCHEMA)
