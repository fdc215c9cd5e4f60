"""How the thiopurine adjustment (``allpath.engine.pharmacogenomics``) reads its rules, on fixture rules.

The fixture pharmacogenomics.yaml (``pgx_base``) adjusts one drug, mercaptopurine, with rules of this file's
choosing: both normal, the full dose; TPMT poor, a fifth three times a week; NUDT15 poor, a fixed 7 mg/m2 a
day; one intermediate, 40 to 90 % when the normal dose is at least 50 mg/m2 a day. Shares, fixed doses and
the cut-off differ from the shipped CPIC rules, so these tests prove the logic (the first rule that holds,
shares of the normal dose, a fixed dose never above it, treat-as, refusals); test_pharmacogenomics_content.py
checks the shipped rules against clinical-facts.md §9.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from allpath.domain.record_model import Pharmacogenomics
from allpath.domain.vocabulary import PHENOTYPES
from allpath.engine.pharmacogenomics import Adjustment, Refusal, adjust, applies_to
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.builders import knowledge, shipped

MP, TG = "mercaptopurine", "thioguanine"
CUT_OFF = 50  # the fixture's lowest normal dose (mg/m2 a day) for the intermediate rule
LOW_START = "Fixture: this phase starts below the cut-off of the intermediate rule."
OTHER = "Fixture: no rule for this combination."


def _rule(rule_id: str, when: dict[str, Any], evidence: list[Any], **dose: Any) -> dict[str, Any]:
    return {"id": rule_id, "when": when, "explanation": f"Fixture rule {rule_id}.", "evidence": evidence, **dose}


def _both(tpmt: str, nudt15: str) -> dict[str, Any]:
    return {"all": [{"fact": "tpmt", "eq": tpmt}, {"fact": "nudt15", "eq": nudt15}]}


def fixture_pharmacogenomics(start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fixture file, written over ``start`` (default: the shipped file), whose citations and advice it keeps."""
    content = copy.deepcopy(start) if start is not None else shipped("pharmacogenomics")
    evidence = content["drugs"][0]["rules"][0]["evidence"]
    one_intermediate = {
        "all": [
            {"any": [_both("intermediate", "normal"), _both("normal", "intermediate")]},
            {"fact": "normal_dose_mg_per_m2_day", "ge": CUT_OFF},
        ]
    }
    content["drugs"] = [
        {
            "drug": MP,
            "rules": [
                _rule("fixture.normal", _both("normal", "normal"), evidence, share=[1, 1]),
                _rule(
                    "fixture.tpmt_poor",
                    _both("poor", "normal"),
                    evidence,
                    share=[0.2, 0.2],
                    frequency="three_times_weekly",
                ),
                _rule("fixture.nudt15_poor", _both("normal", "poor"), evidence, fixed_mg_per_m2_day=7, confidence="M"),
                _rule("fixture.one_intermediate", one_intermediate, evidence, share=[0.4, 0.9]),
            ],
            "not_covered": {"intermediate_low_start": LOW_START, "other": OTHER},
        }
    ]
    return content


@pytest.fixture(scope="module")
def pgx_base() -> KnowledgeBase:
    return knowledge(pharmacogenomics=fixture_pharmacogenomics())


def genotype(tpmt: str | None, nudt15: str | None) -> Pharmacogenomics:
    return Pharmacogenomics(tpmt=tpmt, nudt15=nudt15)  # type: ignore[arg-type]


def adjusted(kb: KnowledgeBase, tpmt: str, nudt15: str, normal: float) -> Adjustment:
    result = adjust(kb, MP, genotype(tpmt, nudt15), normal)
    assert isinstance(result, Adjustment), result
    return result


def refused(kb: KnowledgeBase, tpmt: str | None, nudt15: str | None, normal: float) -> Refusal:
    result = adjust(kb, MP, genotype(tpmt, nudt15), normal)
    assert isinstance(result, Refusal), result
    return result


def test_the_fixture_rules_are_not_the_shipped_ones(pgx_base: KnowledgeBase) -> None:
    ship = load_knowledge()
    fixture_shares = {r.share for r in pgx_base.therapy.pgx_drugs[MP].spec.rules}
    shipped_shares = {r.share for r in ship.therapy.pgx_drugs[MP].spec.rules}
    assert fixture_shares - {(1, 1), None} and not (fixture_shares - {(1, 1), None}) & shipped_shares


def test_only_the_drugs_with_rules_are_adjusted(pgx_base: KnowledgeBase) -> None:
    assert applies_to(pgx_base, MP)
    assert not applies_to(pgx_base, TG)  # shipped with rules; the fixture has none for it
    assert not applies_to(pgx_base, "vincristine")


@pytest.mark.parametrize("normal", [60, 35])
def test_a_share_multiplies_the_normal_dose(pgx_base: KnowledgeBase, normal: float) -> None:
    result = adjusted(pgx_base, "poor", "normal", normal)
    assert result.rule == "fixture.tpmt_poor"
    assert (result.share_low, result.share_high) == (0.2, 0.2)
    assert result.per_m2_day_low == result.per_m2_day_high == pytest.approx(0.2 * normal)
    assert result.frequency == "three_times_weekly"
    assert result.as_dict()["mg_per_m2_day"] == [result.per_m2_day_low, result.per_m2_day_high]


def test_a_rule_without_a_frequency_is_daily_and_takes_its_confidence_from_the_evidence(
    pgx_base: KnowledgeBase,
) -> None:
    result = adjusted(pgx_base, "normal", "normal", 60)
    assert (result.rule, result.per_m2_day_high, result.frequency, result.confidence) == (
        "fixture.normal",
        60,
        "daily",
        "high",
    )


@pytest.mark.parametrize(("normal", "expected"), [(60, 7), (7, 7), (5, 5), (2.5, 2.5)])
def test_a_fixed_dose_is_never_above_the_normal_dose(pgx_base: KnowledgeBase, normal: float, expected: float) -> None:
    result = adjusted(pgx_base, "normal", "poor", normal)
    assert result.per_m2_day_low == result.per_m2_day_high == expected
    assert result.share_high == pytest.approx(expected / normal)
    assert result.confidence == "moderate"  # the rule says M


@pytest.mark.parametrize(("normal", "covered"), [(CUT_OFF - 0.1, False), (CUT_OFF, True), (75, True)])
def test_a_rule_on_the_normal_dose_follows_the_knowledge_base_cut_off(
    pgx_base: KnowledgeBase, normal: float, covered: bool
) -> None:
    if covered:
        result = adjusted(pgx_base, "intermediate", "normal", normal)
        assert (result.per_m2_day_low, result.per_m2_day_high) == pytest.approx((0.4 * normal, 0.9 * normal))
    else:
        assert refused(pgx_base, "intermediate", "normal", normal).reason == LOW_START


def test_a_treated_as_phenotype_takes_the_rule_of_the_other_and_shows_why(pgx_base: KnowledgeBase) -> None:
    as_is = adjusted(pgx_base, "intermediate", "normal", 60)
    treated = adjusted(pgx_base, "possible_intermediate", "normal", 60)
    assert treated.rule == as_is.rule == "fixture.one_intermediate"
    assert len(treated.evidence) == len(as_is.evidence) + 1  # the treat-as evidence is added


def test_a_combination_without_a_rule_is_refused_with_the_knowledge_base_reason(pgx_base: KnowledgeBase) -> None:
    result = refused(pgx_base, "poor", "poor", 60)
    assert (result.reason, result.missing) == (OTHER, ())


def test_indeterminate_results_give_the_advice_of_each_gene(pgx_base: KnowledgeBase) -> None:
    advice = pgx_base.therapy.pgx.indeterminate_advice
    both = refused(pgx_base, "indeterminate", "indeterminate", 60)
    assert both.reason == f"{advice['tpmt'].text} {advice['nudt15'].text}"
    assert len(both.evidence) == 2
    assert refused(pgx_base, "normal", "indeterminate", 60).reason == advice["nudt15"].text


def test_indeterminate_beats_a_poor_result(pgx_base: KnowledgeBase) -> None:
    # An indeterminate gene is never read as normal: a poor partner gives no dose either.
    result = refused(pgx_base, "poor", "indeterminate", 60)
    assert result.reason == pgx_base.therapy.pgx.indeterminate_advice["nudt15"].text


@pytest.mark.parametrize(
    ("tpmt", "nudt15", "missing"),
    [
        (None, "normal", ("pharmacogenomics.tpmt",)),
        ("normal", None, ("pharmacogenomics.nudt15",)),
        (None, None, ("pharmacogenomics.tpmt", "pharmacogenomics.nudt15")),
    ],
)
def test_missing_phenotype_refused_naming_the_field(
    pgx_base: KnowledgeBase, tpmt: str | None, nudt15: str | None, missing: tuple[str, ...]
) -> None:
    result = refused(pgx_base, tpmt, nudt15, 60)
    assert result.missing == missing
    for field in missing:
        assert field in result.reason


def test_no_genotype_at_all_refused(pgx_base: KnowledgeBase) -> None:
    result = adjust(pgx_base, MP, None, 60)
    assert isinstance(result, Refusal)
    assert result.missing == ("pharmacogenomics.tpmt", "pharmacogenomics.nudt15")


def test_every_phenotype_pair_gets_an_answer_that_never_raises_the_dose(pgx_base: KnowledgeBase) -> None:
    for tpmt in PHENOTYPES:
        for nudt15 in PHENOTYPES:
            result = adjust(pgx_base, MP, genotype(tpmt, nudt15), 60)
            if isinstance(result, Refusal):
                assert result.reason
            else:
                assert result.per_m2_day_high <= 60


def _answers(kb: KnowledgeBase) -> list[Adjustment | Refusal]:
    return [
        adjust(kb, MP, genotype(tpmt, nudt15), normal)
        for tpmt in PHENOTYPES
        for nudt15 in PHENOTYPES
        for normal in (CUT_OFF - 1, 60)
    ]


def test_editing_a_shipped_rule_in_a_copy_leaves_the_fixture_answers_alone(pgx_base: KnowledgeBase) -> None:
    # Edit the shipped TPMT-poor share (a tenth -> a third) in a copy: the shipped answer
    # moves with it, while the fixture rules written over that copy give every answer of pgx_base.
    edited = shipped("pharmacogenomics")
    for rule in edited["drugs"][0]["rules"]:
        if rule["id"] == "pgx.mercaptopurine.tpmt_poor":
            rule["share"] = [0.3, 0.3]
    for kb, share in ((load_knowledge(), 0.1), (knowledge(pharmacogenomics=edited), 0.3)):
        assert adjusted(kb, "poor", "normal", 75).share_high == share
    assert _answers(knowledge(pharmacogenomics=fixture_pharmacogenomics(edited))) == _answers(pgx_base)
