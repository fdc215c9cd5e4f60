"""Helpers of the columnar identity tests: a cheap seeded record generator and the per-row comparison with the
per-patient engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from random import Random
from typing import Any

import polars as pl

from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.domain.vocabulary import GENETIC_TOKENS, PREDISPOSITION_TOKENS, RELAPSE_SITES
from allpath.engine.columnar.fallback import OUTPUT_SCHEMA, RowAnswer, per_patient, scheme_paths, scheme_results
from allpath.engine.facts import build_facts
from allpath.engine.grid import boundary_values
from allpath.engine.schemes import evaluate_scheme
from allpath.knowledge.loader import KnowledgeBase

FINDINGS = tuple(t for t in GENETIC_TOKENS if t != "none_detected")


def _probes(kb: KnowledgeBase, name: str, extra: Sequence[float]) -> list[float]:
    """The grid's boundary probes of an input (each threshold and one step below it) and a few other values."""
    return sorted({float(v) for v in boundary_values(kb)[name]} | {float(v) for v in extra})


class RecordGenerator:
    """Seeded, varied, valid records with the knowledge base's thresholds over-represented and any input absent.

    Values come from small sets: the thresholds, one step below them (``engine.grid.boundary_values``) and a
    few typical values.
    """

    def __init__(self, kb: KnowledgeBase, seed: int) -> None:
        self.rng = Random(seed)
        self.ages = _probes(kb, "age_years", (0.5, 4, 14.99, 15, 17))
        self.wbc = _probes(kb, "wbc_per_ul", (8000, 120000))
        self.mrd = {
            name: _probes(kb, name, (0, 5))
            for name in ("day8_blood_mrd_pct", "end_of_induction_marrow_mrd_pct", "end_of_consolidation_mrd_pct")
        }
        self.favorable = sorted(kb.genetics.sets["cog_favorable"])
        self.months = [6.0, 17.9, 18.0, 24.0, 35.9, 36.0, 60.0]

    def _maybe(self, chance: float = 0.8) -> bool:
        return self.rng.random() < chance

    def _response(self) -> dict[str, Any]:
        response: dict[str, Any] = {name: self.rng.choice(values) for name, values in self.mrd.items() if self._maybe()}
        if self._maybe():
            response["end_of_induction_remission"] = self.rng.random() < 0.9
        return response

    def _relapses(self, female: bool) -> list[dict[str, Any]]:
        relapses = []
        months = 0.0
        sites = [s for s in RELAPSE_SITES if not (female and s == "testis")]
        for _ in range(self.rng.choice((1, 1, 1, 2, 3))):
            months = months + self.rng.choice(self.months)
            relapse: dict[str, Any] = {}
            if self._maybe(0.9):
                relapse["months_from_diagnosis"] = months
            if self._maybe(0.9):
                relapse["sites"] = self.rng.sample(sites, self.rng.choice((1, 1, 2)))
            if self._maybe(0.6):
                relapse["end_of_block1_mrd_pct"] = self.rng.choice((0.001, 0.0999, 0.1, 2.0))
            relapses.append(relapse)
        return relapses

    def _standard_risk_profile(self) -> dict[str, Any]:
        """Inputs of a child at NCI standard risk with favourable genetics, where the COG low group lies."""
        rng = self.rng
        return {
            "age_years": rng.choice([a for a in self.ages if 1 <= a < 10]),  # NCI standard-risk ages
            "wbc_per_ul": min(self.wbc),
            "immunophenotype": "B",
            "genetics": [rng.choice(self.favorable)],
            "cns_status": "CNS1",
            "steroid_pretreatment": False,
            "response": {name: rng.choice(values[:3]) for name, values in self.mrd.items()}
            | {"end_of_induction_remission": True},
        }

    def record(self) -> dict[str, Any]:
        rng = self.rng
        # A third of the records give every input (the COG groups need all of them); the rest lose any input.
        presence = 1.0 if rng.random() < 0.3 else 0.8
        record: dict[str, Any] = {}
        female = rng.random() < 0.45
        if self._maybe(0.95):
            record["sex"] = "female" if female else "male"
        choices: dict[str, Any] = {
            "age_years": lambda: rng.choice(self.ages),
            "wbc_per_ul": lambda: rng.choice(self.wbc),
            "immunophenotype": lambda: rng.choice(("B", "B", "B", "T")),
            "genetics": lambda: (
                ["none_detected"] if rng.random() < 0.2 else rng.sample(FINDINGS, rng.choice((1, 1, 2)))
            ),
            "cns_status": lambda: rng.choice(("CNS1", "CNS1", "CNS2", "CNS3")),
            "testicular_involvement": lambda: False if female else rng.random() < 0.1,
            "down_syndrome": lambda: rng.random() < 0.1,
            "predisposition_syndromes": lambda: rng.sample(PREDISPOSITION_TOKENS, rng.choice((0, 0, 1))),
            "steroid_pretreatment": lambda: rng.random() < 0.1,
            "weight_kg": lambda: rng.choice((9.5, 20.0, 45.0)),
            "id": lambda: f"synthetic-{rng.randrange(10**9)}",
            "response": self._response,
        }
        for name, draw in choices.items():
            if self._maybe(presence):
                record[name] = draw()
        if presence == 1.0 and rng.random() < 0.3:
            record.update(self._standard_risk_profile())
        if presence < 1 and rng.random() < 0.35:
            record["relapses"] = self._relapses(female)
        if presence < 1 and rng.random() < 0.2:
            record["refractory"] = rng.random() < 0.3
        return record

    def records(self, n: int) -> list[dict[str, Any]]:
        return [self.record() for _ in range(n)]


def reference(
    records: Iterable[PatientRecord],
    kb: KnowledgeBase,
    answer: Callable[[PatientRecord, KnowledgeBase], RowAnswer] = per_patient,
) -> list[RowAnswer]:
    """The per-patient engine's answer of every record."""
    return [answer(record, kb) for record in records]


def mismatches(
    frame: pl.DataFrame,
    records: Sequence[PatientRecord],
    kb: KnowledgeBase,
    answer: Callable[[PatientRecord, KnowledgeBase], RowAnswer] = per_patient,
) -> list[str]:
    """Every output column of every row that differs from the per-patient engine (empty when identical)."""
    columns = frame.select(list(OUTPUT_SCHEMA)).to_dicts()
    found = []
    for index, (got, expected) in enumerate(zip(columns, reference(records, kb, answer), strict=True)):
        for name, value in expected.items():
            if got[name] != value:
                found.append(f"row {index}: {name} is {got[name]!r}, the per-patient engine says {value!r}")
    return found


def parsed(records: Iterable[dict[str, Any]]) -> list[PatientRecord]:
    return [parse_record(r) for r in records]


def engine_answer(record: PatientRecord, kb: KnowledgeBase) -> RowAnswer:
    """The stratification columns from the engine's own parts without the rest of ``assess`` (plan, guidance):
    the disease-state rules, ``evaluate_scheme`` and the populations and relapse conditions, in the order
    ``assess`` evaluates them. Cheaper than ``per_patient``; ``test_generated_identity`` shows both agree."""
    facts = build_facts(record)
    state = next(rule.value for rule, condition in kb.disease_states if condition.evaluate(facts).value is True)
    risk, cog = scheme_results(kb, record, state, facts)
    risk_missing, risk_upcoming = scheme_paths(kb, record, risk)
    cog_missing, cog_upcoming = scheme_paths(kb, record, cog)
    populations = facts["populations"]
    assert isinstance(populations, frozenset)
    timing = relapse_group = None
    if state == "relapsed":
        timing = next((r.value for r, c in kb.relapse_timing.rules if c.evaluate(facts).value is True), None)
        relapse_group = evaluate_scheme(kb.relapse_risk_group, facts).group
    return {
        "disease_state": state,
        "risk_group": risk.group,
        "risk_group_provisional": bool(risk_missing),
        "risk_group_missing": risk_missing,
        "risk_group_upcoming": risk_upcoming,
        "cog_risk_group": cog.group,
        "cog_risk_group_provisional": bool(cog_missing),
        "cog_risk_group_missing": cog_missing,
        "cog_risk_group_upcoming": cog_upcoming,
        "populations": [p.spec.id for p in kb.populations if p.spec.id in populations],
        "relapse_timing": timing,
        "relapse_risk_group": relapse_group,
    }
