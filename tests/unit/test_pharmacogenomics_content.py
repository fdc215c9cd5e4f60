"""The shipped thiopurine rules: every CPIC rule of pharmacogenomics.yaml, checked against clinical-facts.md §9.

Content tests (a shipped share, fixed dose, cut-off or advice changes: they fail here). How the engine reads
any such rule is tested on fixture rules in test_pharmacogenomics_logic.py.

§9 sources: CPIC 2018 update (Relling, Clin Pharmacol Ther 2019;105:1095, PMID 30447069; PMC6576267 T3 for
NUDT15), the CPIC update of March 2024 (PMID 38230823) for TPMT IM + NUDT15 IM, and UF Health summaries of
CPIC for thioguanine ([M]).
"""

from __future__ import annotations

import pytest

from allpath.domain.record_model import Pharmacogenomics
from allpath.domain.vocabulary import PHENOTYPES
from allpath.engine.pharmacogenomics import Adjustment, Refusal, adjust
from allpath.knowledge.loader import KnowledgeBase

FACTS_9 = "9. CPIC thiopurines: TPMT and NUDT15"
MP, TG = "mercaptopurine", "thioguanine"


def genotype(tpmt: str | None, nudt15: str | None) -> Pharmacogenomics:
    return Pharmacogenomics(tpmt=tpmt, nudt15=nudt15)  # type: ignore[arg-type]


def adjusted(kb: KnowledgeBase, drug: str, tpmt: str, nudt15: str, normal: float) -> Adjustment:
    result = adjust(kb, drug, genotype(tpmt, nudt15), normal)
    assert isinstance(result, Adjustment), result
    return result


def refused(kb: KnowledgeBase, drug: str, tpmt: str | None, nudt15: str | None, normal: float) -> Refusal:
    result = adjust(kb, drug, genotype(tpmt, nudt15), normal)
    assert isinstance(result, Refusal), result
    return result


def cites_facts_9(result: Adjustment) -> None:
    assert result.evidence
    assert all(e["section"] == FACTS_9 for e in result.evidence)


# ---- mercaptopurine ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normal", [75, 60, 25])
def test_mp_normal_normal_full_dose_cpic_2018(kb: KnowledgeBase, normal: float) -> None:
    # §9 "NM (both genes): normal start, e.g. 75 mg/m²/d; allow ≥2 weeks to steady state" [H].
    result = adjusted(kb, MP, "normal", "normal", normal)
    assert result.rule == "pgx.mercaptopurine.normal"
    assert (result.share_low, result.share_high) == (1, 1)
    assert result.per_m2_day_low == result.per_m2_day_high == normal
    assert result.frequency == "daily"
    assert result.confidence == "high"
    cites_facts_9(result)


@pytest.mark.parametrize(
    ("tpmt", "nudt15"),
    [
        ("intermediate", "normal"),
        ("possible_intermediate", "normal"),
        ("normal", "intermediate"),
        ("normal", "possible_intermediate"),
    ],
)
@pytest.mark.parametrize("normal", [75, 80])
def test_mp_one_intermediate_30_to_80_percent_cpic_2018(
    kb: KnowledgeBase, tpmt: str, nudt15: str, normal: float
) -> None:
    # §9 "TPMT or NUDT15 IM / possible IM: start at 30–80% of normal if the normal dose is ≥75 mg/m²/d" (Strong).
    # §9 "possible intermediate (treated as IM)".
    result = adjusted(kb, MP, tpmt, nudt15, normal)
    assert result.rule == "pgx.mercaptopurine.one_intermediate"
    assert (result.share_low, result.share_high) == (0.3, 0.8)
    assert result.per_m2_day_low == pytest.approx(0.3 * normal)
    assert result.per_m2_day_high == pytest.approx(0.8 * normal)
    assert result.frequency == "daily"
    assert result.confidence == "high"
    cites_facts_9(result)
    if "possible_intermediate" in (tpmt, nudt15):
        assert any(e["reference"] == "CPIC phenotype definitions" for e in result.evidence), "treat-as shown"


def test_mp_one_intermediate_at_75_gives_22_5_to_60(kb: KnowledgeBase) -> None:
    # §9: at 75 mg/m2/d the 30–80 % range is 22.5–60 mg/m2/d ("e.g., 25–60 mg/m²/d").
    result = adjusted(kb, MP, "intermediate", "normal", 75)
    assert (result.per_m2_day_low, result.per_m2_day_high) == pytest.approx((22.5, 60))


@pytest.mark.parametrize("normal", [74.9, 60, 25])
@pytest.mark.parametrize(("tpmt", "nudt15"), [("intermediate", "normal"), ("normal", "possible_intermediate")])
def test_mp_one_intermediate_below_75_not_covered_cpic_2018(
    kb: KnowledgeBase, normal: float, tpmt: str, nudt15: str
) -> None:
    # §9: the 30–80 % rule applies "if the normal dose is ≥75 mg/m²/d"; HR consolidation (60) and HR interim
    # maintenance (25) start lower, and the sources give no rule for them: refused, never the normal dose.
    result = refused(kb, MP, tpmt, nudt15, normal)
    assert "75 mg/m2" in result.reason
    assert result.missing == ()


@pytest.mark.parametrize("pair", [("intermediate", "intermediate"), ("possible_intermediate", "intermediate")])
def test_mp_both_intermediate_20_to_50_percent_cpic_2024(kb: KnowledgeBase, pair: tuple[str, str]) -> None:
    # §9 "TPMT IM + NUDT15 IM: start at 20–50% of normal (CPIC update of March 2024, PMID 38230823)".
    result = adjusted(kb, MP, *pair, 75)
    assert result.rule == "pgx.mercaptopurine.both_intermediate"
    assert (result.share_low, result.share_high) == (0.2, 0.5)
    assert (result.per_m2_day_low, result.per_m2_day_high) == pytest.approx((15, 37.5))
    assert result.confidence == "high"
    assert any("38230823" in e["reference"] for e in result.evidence)


@pytest.mark.parametrize("normal", [75, 60, 25])
def test_mp_tpmt_poor_tenth_three_times_weekly_cpic_2018(kb: KnowledgeBase, normal: float) -> None:
    # §9 "TPMT PM, malignancy: reduce daily dose 10-fold and give 3×/week instead of daily; allow 4–6 weeks" [H].
    result = adjusted(kb, MP, "poor", "normal", normal)
    assert result.rule == "pgx.mercaptopurine.tpmt_poor"
    assert (result.share_low, result.share_high) == (0.1, 0.1)
    assert result.per_m2_day_high == pytest.approx(normal / 10)
    assert result.frequency == "three_times_weekly"
    assert result.confidence == "high"
    cites_facts_9(result)


def test_mp_nudt15_poor_10_mg_per_m2_moderate_cpic_2018_t3(kb: KnowledgeBase) -> None:
    # §9 "NUDT15 PM, malignancy: start 10 mg/m²/d and adjust" [M] (table excerpt cut off).
    result = adjusted(kb, MP, "normal", "poor", 75)
    assert result.rule == "pgx.mercaptopurine.nudt15_poor"
    assert result.per_m2_day_low == result.per_m2_day_high == 10
    assert result.share_high == pytest.approx(10 / 75)
    assert result.frequency == "daily"
    assert result.confidence == "moderate"
    assert any(e["confidence"] == "moderate" for e in result.evidence)


@pytest.mark.parametrize("normal", [25, 10, 8, 2.5])
def test_mp_nudt15_poor_never_above_a_lower_normal_dose(kb: KnowledgeBase, normal: float) -> None:
    # pharmacogenomics.yaml: no adjustment may raise a dose; 10 mg/m2/d is held to a normal dose below it.
    result = adjusted(kb, MP, "normal", "poor", normal)
    assert result.per_m2_day_high == min(10, normal)
    assert result.per_m2_day_high <= normal
    assert result.share_high <= 1


# ---- thioguanine ([M]: UF Health summaries of CPIC) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tpmt", "nudt15", "rule", "share", "frequency", "row"),
    [
        ("normal", "normal", "pgx.thioguanine.normal", (1, 1), "daily", "Normal start: 40–60 mg/m²/d"),
        ("poor", "normal", "pgx.thioguanine.tpmt_poor", (0.1, 0.1), "three_times_weekly", "TPMT PM: 10-fold, 3×/week"),
        ("normal", "poor", "pgx.thioguanine.nudt15_poor", (0.25, 0.25), "daily", "NUDT15 PM: 25% of normal"),
        (
            "intermediate",
            "normal",
            "pgx.thioguanine.one_intermediate",
            (0.5, 0.8),
            "daily",
            "TPMT or NUDT15 IM: 50–80%",
        ),
        ("possible_intermediate", "normal", "pgx.thioguanine.one_intermediate", (0.5, 0.8), "daily", "IM: 50–80%"),
        ("normal", "intermediate", "pgx.thioguanine.one_intermediate", (0.5, 0.8), "daily", "IM: 50–80%"),
    ],
)
def test_thioguanine_rows_uf_health_cpic_moderate(
    kb: KnowledgeBase,
    tpmt: str,
    nudt15: str,
    rule: str,
    share: tuple[float, float],
    frequency: str,
    row: str,
) -> None:
    # §9 "Thioguanine (UF Health summaries of CPIC). [M]": every row carries moderate confidence.
    normal = 60  # SR delayed intensification: thioguanine 60 mg/m²/d (§6)
    result = adjusted(kb, TG, tpmt, nudt15, normal)
    assert result.rule == rule, row
    assert (result.share_low, result.share_high) == share, row
    assert (result.per_m2_day_low, result.per_m2_day_high) == pytest.approx((share[0] * normal, share[1] * normal))
    assert result.frequency == frequency, row
    assert result.confidence == "moderate", row
    cites_facts_9(result)


@pytest.mark.parametrize(
    "pair", [("intermediate", "intermediate"), ("poor", "poor"), ("poor", "intermediate"), ("intermediate", "poor")]
)
def test_thioguanine_uncovered_combinations(kb: KnowledgeBase, pair: tuple[str, str]) -> None:
    result = refused(kb, TG, *pair, 60)
    assert "thioguanine" in result.reason


# ---- results that give no starting dose -----------------------------------------------------------------------


@pytest.mark.parametrize("drug", [MP, TG])
def test_indeterminate_tpmt_advises_measuring_enzyme_activity_cpic_2020(kb: KnowledgeBase, drug: str) -> None:
    # §9 "TPMT indeterminate → consider measuring red-cell TPMT activity" (April 2020 addition).
    result = refused(kb, drug, "indeterminate", "normal", 75)
    assert "TPMT enzyme activity" in result.reason
    assert "monitoring" not in result.reason
    assert [e["section"] for e in result.evidence] == [FACTS_9]


@pytest.mark.parametrize("drug", [MP, TG])
def test_indeterminate_nudt15_advises_close_monitoring_cpic_2020(kb: KnowledgeBase, drug: str) -> None:
    # §9 "NUDT15 indeterminate → monitor closely".
    result = refused(kb, drug, "normal", "indeterminate", 75)
    assert "close monitoring" in result.reason
    assert "enzyme activity" not in result.reason
    assert [e["section"] for e in result.evidence] == [FACTS_9]


@pytest.mark.parametrize(
    "pair",
    [
        ("poor", "intermediate"),
        ("intermediate", "poor"),
        ("poor", "possible_intermediate"),
        ("poor", "poor"),
    ],
)
def test_mp_poor_with_intermediate_or_poor_not_covered(kb: KnowledgeBase, pair: tuple[str, str]) -> None:
    # §9 gives no row for a PM combined with another reduced-function gene: not covered, not the normal dose.
    result = refused(kb, MP, *pair, 75)
    assert result.reason == kb.therapy.pgx_drugs[MP].spec.not_covered["other"]
    assert result.missing == ()


def test_every_phenotype_pair_has_an_answer(kb: KnowledgeBase) -> None:
    """All 25 pairs x both drugs give an adjustment or a refusal with a reason; none raises a dose."""
    for drug in (MP, TG):
        for tpmt in PHENOTYPES:
            for nudt15 in PHENOTYPES:
                result = adjust(kb, drug, genotype(tpmt, nudt15), 75)
                if isinstance(result, Refusal):
                    assert result.reason
                else:
                    assert result.per_m2_day_high <= 75
                    assert result.share_low <= result.share_high <= 1
