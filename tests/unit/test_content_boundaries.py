"""Content tests on the shipped knowledge base: its clinical rules at their boundaries, each pair straddling
one threshold of the shipped data. A reviewed change of a threshold changes these tests with it; the engine
logic that reads any threshold is tested on fixture knowledge in test_engine_logic.py."""

from __future__ import annotations

from typing import Any

import pytest

from allpath.domain.results import Relapse, TimingBasis
from tests.conftest import complete_b_all, run


@pytest.mark.parametrize(
    ("age", "group"),
    [(0.99, "very_high"), (1.0, "standard"), (9.99, "standard"), (10.0, "high")],
)
def test_age_boundaries_of_the_three_risk_groups(age: float, group: str) -> None:
    assert run(complete_b_all(age_years=age))["risk_group"] == group


@pytest.mark.parametrize(("wbc", "group"), [(49_999, "standard"), (50_000, "high")])
def test_wbc_of_exactly_50000_counts_as_high_risk(wbc: int, group: str) -> None:
    assert run(complete_b_all(wbc_per_ul=wbc))["risk_group"] == group


@pytest.mark.parametrize(("mrd", "group"), [(0.0099, "standard"), (0.01, "very_high")])
def test_end_of_induction_mrd_of_exactly_0_01_pct_is_a_slow_response(mrd: float, group: str) -> None:
    assert run(complete_b_all(end_of_induction_marrow_mrd_pct=mrd))["risk_group"] == group


@pytest.mark.parametrize(("mrd", "group"), [(0.0099, "standard"), (0.01, "very_high")])
def test_end_of_consolidation_mrd_boundary(mrd: float, group: str) -> None:
    assert run(complete_b_all(end_of_consolidation_mrd_pct=mrd))["risk_group"] == group


@pytest.mark.parametrize(("mrd", "cog"), [(0.0099, "low"), (0.01, "high")])
def test_cog_favourable_genetics_eoi_mrd_boundary(mrd: float, cog: str) -> None:
    record = complete_b_all(genetics=["ETV6::RUNX1"], end_of_induction_marrow_mrd_pct=mrd)
    assert run(record)["cog_risk_group"] == cog


@pytest.mark.parametrize(("day8", "cog"), [(0.0099, "low"), (0.01, "average")])
def test_cog_favourable_genetics_day8_boundary(day8: float, cog: str) -> None:
    record = complete_b_all(genetics=["ETV6::RUNX1"], day8_blood_mrd_pct=day8)
    assert run(record)["cog_risk_group"] == cog


@pytest.mark.parametrize(("day8", "cog"), [(0.99, "average"), (1.0, "high")])
def test_cog_neutral_genetics_day8_boundary_at_1_pct(day8: float, cog: str) -> None:
    assert run(complete_b_all(day8_blood_mrd_pct=day8))["cog_risk_group"] == cog


@pytest.mark.parametrize(("age", "cog"), [(12.99, "high"), (13.0, "very_high")])
def test_cog_nci_high_risk_age_13_boundary(age: float, cog: str) -> None:
    result = run(complete_b_all(age_years=age))
    assert result["risk_group"] == "high"
    assert result["cog_risk_group"] == cog


@pytest.mark.parametrize(("age", "cog"), [(0.99, None), (1.0, "average")])
def test_cog_group_only_from_age_1(age: float, cog: str | None) -> None:
    assert run(complete_b_all(age_years=age))["cog_risk_group"] == cog


@pytest.mark.parametrize(("age", "member"), [(14.99, False), (15.0, True)])
def test_adolescent_young_adult_from_age_15(age: float, member: bool) -> None:
    assert ("adolescent_young_adult" in run(complete_b_all(age_years=age))["populations"]) is member


def _relapse_of(record: dict[str, Any]) -> Relapse:
    relapse = run(record)["relapse"]
    assert relapse is not None, "a relapsed record has a relapse section"
    return relapse


def _timing(relapse: Relapse) -> TimingBasis:
    assert relapse["timing_basis"] is not None
    return relapse["timing_basis"]


def _relapse(months: float, sites: list[str], **extra: float) -> dict[str, object]:
    return complete_b_all(relapses=[{"months_from_diagnosis": months, "sites": sites, **extra}])


@pytest.mark.parametrize(("months", "timing"), [(35.99, "early"), (36.0, "late")])
def test_marrow_relapse_timing_cut_off_at_36_months(months: float, timing: str) -> None:
    relapse = _relapse_of(_relapse(months, ["bone_marrow"]))
    assert relapse["timing"] == timing
    assert _timing(relapse)["early_below_months"] == 36
    assert _timing(relapse)["confidence"] == "moderate"


@pytest.mark.parametrize(("months", "timing"), [(17.99, "early"), (18.0, "late")])
def test_isolated_extramedullary_relapse_timing_cut_off_at_18_months(months: float, timing: str) -> None:
    relapse = _relapse_of(_relapse(months, ["cns"]))
    assert relapse["timing"] == timing
    assert _timing(relapse)["basis"] == "isolated_extramedullary"


def test_combined_relapse_uses_the_marrow_cut_off() -> None:
    relapse = _relapse_of(_relapse(30, ["bone_marrow", "cns"]))
    assert relapse["combined"] is True
    assert relapse["timing"] == "early"
    assert relapse["risk_group"] == "high"


@pytest.mark.parametrize(("mrd", "group"), [(0.0999, "low"), (0.1, "intermediate")])
def test_late_relapse_risk_group_by_end_of_block1_mrd(mrd: float, group: str) -> None:
    relapse = _relapse_of(_relapse(40, ["bone_marrow"], end_of_block1_mrd_pct=mrd))
    assert relapse["risk_group"] == group


def test_birthday_on_the_day_of_diagnosis_gives_a_whole_age() -> None:
    record = complete_b_all(age_years=None, birth_date="2014-03-15", diagnosis_date="2024-03-15")
    assert run(record)["risk_group"] == "high"
    record = complete_b_all(age_years=None, birth_date="2014-03-16", diagnosis_date="2024-03-15")
    assert run(record)["risk_group"] == "standard"


@pytest.mark.parametrize(("age", "car_t"), [(24.0, "may"), (25.5, None)])
def test_approved_car_t_use_stops_above_age_25(age: float, car_t: str | None) -> None:
    record = complete_b_all(age_years=age, refractory=True)
    therapies = {t["code"]: t["certainty"] for t in run(record)["plan"]["therapies"]}
    assert therapies.get("car_t_cell_therapy") == car_t
