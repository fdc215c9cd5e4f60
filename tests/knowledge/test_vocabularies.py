"""The record's vocabularies (``domain/vocabulary.py``) agree with the knowledge data.

The domain imports nothing of the knowledge base, so its ``Literal`` types are written out; these tests fail
as soon as one of them and the YAML that speaks of the same things differ (a token added on one side only).
"""

from __future__ import annotations

from typing import get_args

import pytest

from allpath.domain import vocabulary as v
from allpath.domain.record_model import PatientRecord
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import CounselingFile


def test_genetic_tokens_are_the_tokens_of_genetics_yaml(kb: KnowledgeBase) -> None:
    assert list(v.GENETIC_TOKENS) == [token.id for token in kb.genetics.tokens]


def test_predisposition_tokens_are_the_syndromes_of_counseling_yaml(kb: KnowledgeBase) -> None:
    counseling = kb.files["counseling.yaml"]
    assert isinstance(counseling, CounselingFile)
    assert list(v.PREDISPOSITION_TOKENS) == [syndrome.id for syndrome in counseling.syndromes]


def test_relapse_sites_are_the_sites_the_family_report_names(kb: KnowledgeBase) -> None:
    assert list(v.RELAPSE_SITES) == list(kb.text.relapse_site_labels)


def test_recordable_drugs_are_the_dosed_drugs_and_the_anthracyclines_of_survivorship(kb: KnowledgeBase) -> None:
    anthracyclines = kb.therapy.survivorship.anthracyclines
    known = set(kb.therapy.drugs) | {e.drug for e in anthracyclines.equivalence} | set(anthracyclines.not_covered)
    assert set(v.EXPOSURE_DRUGS) == known


def test_the_phenotype_that_is_treated_as_another_is_a_phenotype(kb: KnowledgeBase) -> None:
    pgx = kb.therapy.pgx
    assert set(pgx.treat_as) | set(pgx.treat_as.values()) <= set(v.PHENOTYPES)


@pytest.mark.parametrize(
    ("group", "vocabulary"),
    [
        ("genetics", v.GENETIC_TOKENS),
        ("predisposition", v.PREDISPOSITION_TOKENS),
        ("relapse_site", v.RELAPSE_SITES),
        ("phenotype", v.PHENOTYPES),
        ("drug", v.EXPOSURE_DRUGS),
        ("route", v.ROUTES),
        ("radiation_site", v.RADIATION_SITES),
    ],
)
def test_every_token_has_its_fhir_codes_and_no_more(kb: KnowledgeBase, group: str, vocabulary: tuple[str, ...]) -> None:
    assert list(kb.fhir_codes.values[group]) == list(vocabulary)


def test_the_record_fields_with_a_coded_value_use_the_fhir_tokens(kb: KnowledgeBase) -> None:
    cns = PatientRecord.model_fields["cns_status"].annotation
    assert list(kb.fhir_codes.values["cns_status"]) == list(get_args(get_args(cns)[0]))
