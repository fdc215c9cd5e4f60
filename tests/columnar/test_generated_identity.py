"""Identity over generated records (issue 15): every output column of the columnar stratifier equals the
per-patient engine's, on records drawn by hypothesis (shrinking to a minimal failing table) and on 100,000
seeded records."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allpath.domain.cohort_table import records_table
from allpath.engine.columnar import Stratifier
from allpath.engine.columnar.fallback import per_patient
from allpath.knowledge.loader import KnowledgeBase
from tests.columnar.identity import RecordGenerator, engine_answer, mismatches, parsed, reference
from tests.property.strategies import PROPERTY_SETTINGS, valid_records

GENERATED = 100_000


# A table of up to 40 records per example: fewer, larger examples than the other property tests.
TABLES = settings(PROPERTY_SETTINGS, max_examples=max(PROPERTY_SETTINGS.max_examples // 4, 10))


@TABLES
@given(st.lists(st.one_of(valid_records(), valid_records(complete=True)), min_size=1, max_size=40))
def test_hypothesis_records_get_the_per_patient_answer_in_every_column(
    stratifier: Stratifier, kb: KnowledgeBase, drawn: list[dict[str, Any]]
) -> None:
    records = parsed(drawn)
    assert mismatches(stratifier.stratify(records_table(records)), records, kb) == []


def test_the_engine_parts_give_the_answer_of_assess(kb: KnowledgeBase) -> None:
    """The cheaper reference of the 100,000-record test is the answer ``assess`` gives."""
    records = parsed(RecordGenerator(kb, seed=3).records(2_000))
    assert reference(records, kb, engine_answer) == reference(records, kb, per_patient)


def test_the_generator_reaches_every_group_and_state(stratifier: Stratifier, kb: KnowledgeBase) -> None:
    result = stratifier.stratify(records_table(parsed(RecordGenerator(kb, seed=5).records(5_000))))
    assert set(result["disease_state"].unique()) == {"newly_diagnosed", "relapsed", "refractory"}
    assert set(result["risk_group"].drop_nulls().unique()) == set(kb.risk_group.spec.order)
    assert set(result["cog_risk_group"].drop_nulls().unique()) == set(kb.cog_risk_group.spec.order)
    assert set(result["relapse_risk_group"].drop_nulls().unique()) == set(kb.relapse_risk_group.spec.order)
    assert set(result["relapse_timing"].drop_nulls().unique()) == {"early", "late"}
    assert result["risk_group_provisional"].any() and result["cog_risk_group_provisional"].any()
    assert result["risk_group_upcoming"].list.len().max() == 1  # end-of-consolidation MRD, still to come


@pytest.mark.slow
def test_100000_seeded_records_get_the_per_patient_answer_in_every_column(
    stratifier: Stratifier, kb: KnowledgeBase
) -> None:
    records = parsed(RecordGenerator(kb, seed=20261202).records(GENERATED))
    result = stratifier.stratify(records_table(records))
    assert result.height == GENERATED and result["fallback"].sum() == 0
    assert mismatches(result, records, kb, engine_answer) == []
