"""A part of the knowledge base the compiler refuses goes to the per-patient engine, for the rows it can affect,
and the result says so.

The fixture knowledge bases are the bundled one with one rule's condition widened by a condition the columnar
compiler refuses: ``{fact: genetics, eq: iAMP21}`` compares a set of findings with one word, which the
per-patient engine evaluates (never true for a known list, unknown for an absent one) and which has no exact
columnar form.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from allpath.domain.cohort_table import records_table
from allpath.domain.record_model import PatientRecord
from allpath.engine.columnar import compile_stratifier
from allpath.knowledge.compiled import Scheme
from allpath.knowledge.conditions import AnyOf, Equals
from allpath.knowledge.loader import KnowledgeBase
from tests.columnar.identity import RecordGenerator, mismatches, parsed

REFUSED = Equals("genetics", "iAMP21")


def _widened(scheme: Scheme) -> Scheme:
    first, *rest = scheme.rules
    return replace(scheme, rules=(replace(first, condition=AnyOf((first.condition, REFUSED))), *rest))


@pytest.fixture(scope="module")
def records(kb: KnowledgeBase) -> list[PatientRecord]:
    return parsed(RecordGenerator(kb, seed=11).records(600))


def test_a_refused_relapse_rule_sends_only_the_relapsed_rows_to_the_per_patient_engine(
    kb: KnowledgeBase,
    records: list[PatientRecord],
) -> None:
    fixture = replace(kb, relapse_risk_group=_widened(kb.relapse_risk_group))
    stratifier = compile_stratifier(fixture)
    assert [r.part for r in stratifier.refused] == ["relapse_risk_group"]
    assert "genetics" in stratifier.refused[0].reason
    result = stratifier.stratify(records_table(records))
    relapsed = result["disease_state"] == "relapsed"
    assert result["fallback"].to_list() == relapsed.to_list()
    assert 0 < result["fallback"].sum() < len(records)
    assert result["row"].to_list() == list(range(1, len(records) + 1))  # the input order is kept
    assert mismatches(result, records, fixture) == []


def test_a_refused_risk_rule_sends_every_row_to_the_per_patient_engine(
    kb: KnowledgeBase,
    records: list[PatientRecord],
) -> None:
    fixture = replace(kb, risk_group=_widened(kb.risk_group))
    stratifier = compile_stratifier(fixture)
    assert [r.part for r in stratifier.refused] == ["risk_group"]
    result = stratifier.stratify(records_table(records))
    assert result["fallback"].all()
    assert mismatches(result, records, fixture) == []


def test_the_bundled_knowledge_compiles_whole(kb: KnowledgeBase, records: list[PatientRecord]) -> None:
    stratifier = compile_stratifier(kb)
    assert stratifier.refused == ()
    assert stratifier.stratify(records_table(records)).select(pl.col("fallback").any()).item() is False


def test_a_refused_population_sends_every_row_to_the_per_patient_engine(
    kb: KnowledgeBase, records: list[PatientRecord]
) -> None:
    first, *rest = kb.populations
    widened = replace(first, condition=AnyOf((first.condition, REFUSED)))
    fixture = replace(kb, populations=(widened, *rest))
    stratifier = compile_stratifier(fixture)
    assert [r.part for r in stratifier.refused] == ["populations"]
    result = stratifier.stratify(records_table(records))
    assert result["fallback"].all()
    assert mismatches(result, records, fixture) == []
