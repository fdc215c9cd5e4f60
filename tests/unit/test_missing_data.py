"""Missing inputs: the answer becomes null or provisional and says what is missing, never a default."""

from __future__ import annotations

from tests.conftest import complete_b_all, run


def test_complete_record_is_not_provisional() -> None:
    result = run(complete_b_all())
    assert result["provisional"] is False
    assert result["missing"] == []
    assert result["workup"] == []


def test_missing_wbc_under_10_leaves_the_group_null() -> None:
    result = run(complete_b_all(wbc_per_ul=None))
    assert result["risk_group"] is None
    assert result["cog_risk_group"] is None
    assert result["provisional"] is True
    assert "wbc_per_ul" in result["missing"]
    assert any(w["test"] == "cbc" and "wbc_per_ul" in w["provides"] for w in result["workup"])


def test_missing_wbc_does_not_matter_for_the_source_group_from_age_10() -> None:
    result = run(complete_b_all(age_years=12.0, wbc_per_ul=None))
    assert result["risk_group"] == "high"
    assert result["cog_risk_group"] == "high"  # age alone makes it NCI high risk
    assert "wbc_per_ul" not in result["missing"]


def test_missing_age_leaves_the_group_null_even_with_a_high_count() -> None:
    result = run(complete_b_all(age_years=None, wbc_per_ul=80_000))
    assert result["risk_group"] is None
    assert "age_years" in result["missing"]


def test_missing_age_does_not_matter_once_a_very_high_feature_is_known() -> None:
    result = run(complete_b_all(age_years=None, genetics=["KMT2A_rearranged"]))
    assert result["risk_group"] == "very_high"


def test_missing_genetics_keeps_the_group_but_makes_it_provisional() -> None:
    result = run(complete_b_all(genetics=None))
    assert result["risk_group"] == "standard"
    assert result["provisional"] is True
    assert "genetics" in result["missing"]
    assert any(w["test"] == "genetic_tests" for w in result["workup"])


def test_missing_response_keeps_the_group_provisional_and_lists_the_marrow_test() -> None:
    record = complete_b_all()
    del record["response"]
    result = run(record)
    assert result["risk_group"] == "standard"
    assert result["provisional"] is True
    assert {"response", "response.end_of_induction_marrow_mrd_pct"} <= set(result["missing"])
    assert any(w["test"] == "marrow_end_of_induction" for w in result["workup"])


def test_end_of_consolidation_mrd_is_upcoming_not_missing() -> None:
    result = run(complete_b_all())
    assert "response.end_of_consolidation_mrd_pct" in result["upcoming"]
    assert "response.end_of_consolidation_mrd_pct" not in result["missing"]


def test_missing_lineage_leaves_t_cell_membership_open() -> None:
    result = run(complete_b_all(immunophenotype=None))
    assert "immunophenotype" in result["missing"]
    assert "t_cell" not in result["populations"]
    assert result["cog_risk_group"] is None


def test_testicular_involvement_is_not_asked_for_girls() -> None:
    record = complete_b_all(sex="female", testicular_involvement=None)
    assert "testicular_involvement" not in run(record)["missing"]


def test_missing_genetics_shows_the_pending_targeted_therapy_for_ph_positive() -> None:
    pending = run(complete_b_all(genetics=None))["plan"]["pending"]
    assert any("genetics" in p["waiting_for"] for p in pending)


def test_an_infant_needs_no_white_count_for_the_group() -> None:
    result = run(complete_b_all(age_years=0.5, wbc_per_ul=None))
    assert result["risk_group"] == "very_high"
    assert "wbc_per_ul" not in result["missing"]
