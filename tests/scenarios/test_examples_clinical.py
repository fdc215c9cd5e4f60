"""Clinically expected key values of the example patients.

The expectations are worked out by hand from the knowledge files (src/allpath/knowledge/data/*.yaml) and
the source sections they cite, not copied from the engine's output:

- risk_groups.yaml: standard (age 1 to <10 and WBC <50,000), high (age >= 10, WBC >= 50,000, CNS3,
  testicular involvement, steroid pretreatment under 10, T-cell), very high (infant, hypodiploidy <44,
  BCR::ABL1, KMT2A, end-of-induction MRD >= 0.01%, induction failure); the highest floor wins.
- cog_risk_groups.yaml: AALL08B1 (clinical-facts 2a), B-ALL aged 1 or older only.
- relapse.yaml: early below 36 months when the marrow is involved, below 18 months for an isolated
  extramedullary relapse; AALL1331 first-relapse groups (clinical-facts 5).
- plan.yaml: the therapies and drugs each group and population adds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from allpath.domain.results import Assessment
from tests.conftest import EXAMPLES, run


@pytest.fixture(scope="module")
def example() -> Any:
    cache: dict[str, Assessment] = {}

    def assess_example(stem: str) -> Assessment:
        if stem not in cache:
            cache[stem] = run(json.loads((EXAMPLES / f"{stem}.json").read_text(encoding="utf-8")))
        return cache[stem]

    return assess_example


def therapies(a: dict[str, Any]) -> dict[str, str]:
    """Therapy code -> certainty."""
    return {t["code"]: t["certainty"] for t in a["plan"]["therapies"]}


def drugs(a: dict[str, Any]) -> dict[str, str]:
    """Drug name -> certainty."""
    return {d["name"]: d["certainty"] for d in a["plan"]["drugs"]}


def _element_id(reason: dict[str, Any]) -> str:
    # A reason names its plan element as "element" (with the element stated once under plan.elements);
    # earlier outputs gave the whole element under "id".
    return str(reason["element"] if "element" in reason else reason["id"])


def therapy_reasons(a: dict[str, Any], code: str) -> set[str]:
    """The plan elements that put therapy ``code`` in the plan."""
    return {_element_id(r) for t in a["plan"]["therapies"] if t["code"] == code for r in t["reasons"]}


def factor_ids(a: dict[str, Any]) -> set[str]:
    return {f["id"] for f in a["factors"]}


NEWLY_DIAGNOSED_PHASES = ["remission_induction", "consolidation_intensification", "maintenance"]
HIGH_RISK_BACKBONE = {"vincristine", "asparaginase", "daunorubicin", "cytarabine", "methotrexate", "mercaptopurine"}


# ---- Newly diagnosed ---------------------------------------------------------------------------------------


def test_complete_standard_risk_record_is_standard_and_cog_low_and_final(example: Any) -> None:
    a = example("standard_risk")
    assert a["disease_state"] == "newly_diagnosed"
    assert a["risk_group"] == "standard"
    # NCI standard risk + ETV6::RUNX1 + day 8 blood MRD < 0.01% + day 29 marrow MRD < 0.01%
    assert a["cog_risk_group"] == "low"
    assert a["provisional"] is False
    assert a["missing"] == []
    assert a["upcoming"] == []  # end-of-consolidation MRD is recorded too
    assert a["populations"] == []
    assert [p["id"] for p in a["plan"]["phases"]] == NEWLY_DIAGNOSED_PHASES
    t = therapies(a)
    assert t["combination_chemotherapy"] == "always"
    assert t["intrathecal_chemotherapy"] == "always"
    for not_for_standard_risk in ("high_dose_systemic_chemotherapy", "cns_radiation", "stem_cell_transplant"):
        assert not_for_standard_risk not in t
    assert "daunorubicin" not in drugs(a)  # 3-drug standard-risk induction
    assert a["relapse"] is None


def test_age_from_birth_and_diagnosis_dates_places_a_7_year_old_in_standard_risk(example: Any) -> None:
    a = example("age_from_dates")  # born 2017-03-14, diagnosed 2024-09-02: 7.47 years
    assert a["risk_group"] == "standard"
    assert a["cog_risk_group"] == "low"  # double trisomy 4 and 10 is favourable
    assert "age_years" not in a["missing"]
    standard = next(f for f in a["factors"] if f["id"] == "risk.nci.standard")
    assert standard["inputs"]["age_years"] == pytest.approx(7.47, abs=0.01)


def test_age_10_or_older_is_high_risk_with_prednisone_induction(example: Any) -> None:
    a = example("high_risk_age")
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "high"  # NCI high risk, younger than 13, end-of-induction MRD negative
    assert "risk.nci.high_age" in factor_ids(a)
    d = drugs(a)
    assert HIGH_RISK_BACKBONE <= d.keys()
    assert "prednisone" in d  # aged 10 or older in high-risk induction (AALL0232)
    assert therapies(a)["high_dose_systemic_chemotherapy"] == "always"


def test_white_count_of_50000_or_more_is_high_risk(example: Any) -> None:
    a = example("high_risk_wbc")
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "high"
    assert "risk.nci.high_wbc" in factor_ids(a)
    assert "prednisone" not in drugs(a)  # younger than 10


def test_slow_response_with_positive_end_of_induction_mrd_is_very_high_risk(example: Any) -> None:
    a = example("very_high_mrd")
    assert a["risk_group"] == "very_high"
    assert a["cog_risk_group"] == "very_high"  # NCI standard, neutral genetics, day 29 MRD >= 0.01%
    assert "risk.response.eoi_mrd" in factor_ids(a)
    # A poor response in remission after standard-risk induction: a donor transplant may be done.
    assert therapies(a)["stem_cell_transplant"] == "may"
    assert "plan.standard.poor_response_in_remission" in therapy_reasons(a, "stem_cell_transplant")


def test_kmt2a_rearrangement_is_very_high_risk_in_both_classifications(example: Any) -> None:
    a = example("very_high_kmt2a")
    assert a["risk_group"] == "very_high"
    assert a["cog_risk_group"] == "very_high"
    assert {"risk.genetics.very_high_verified", "cog.very_high.unfavorable_genetics"} <= factor_ids(a)
    assert therapies(a)["stem_cell_transplant"] == "considered"  # benefit in first remission unclear


def test_infant_is_very_high_risk_with_no_cog_group_and_an_infant_plan(example: Any) -> None:
    a = example("infant")
    assert a["populations"] == ["infant"]
    assert a["risk_group"] == "very_high"
    assert a["cog_risk_group"] is None  # COG four groups are for children aged 1 or older
    assert "cog.note.not_for_infants" in factor_ids(a)
    t = therapies(a)
    assert t["high_dose_systemic_chemotherapy"] == "always"
    assert t["stem_cell_transplant"] == "considered"
    assert drugs(a)["blinatumomab"] == "may"  # KMT2A-rearranged infant B-ALL (van der Sluis 2023)
    assert "vincristine" not in drugs(a)  # the older-child backbone is not used for infants
    assert "plan.infant.drugs_not_covered" in {n["id"] for n in a["not_covered"]}


def test_adolescent_is_high_risk_but_cog_very_high_and_the_difference_is_explained(example: Any) -> None:
    a = example("adolescent")
    assert a["populations"] == ["adolescent_young_adult"]
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "very_high"  # NCI high risk at 13 or older, whatever the MRD
    assert "compare.risk_group_vs_cog" in factor_ids(a)
    assert therapies(a)["high_dose_systemic_chemotherapy"] == "always"
    assert "prednisone" in drugs(a)


def test_t_cell_all_is_high_risk_without_a_cog_group_and_may_get_nelarabine(example: Any) -> None:
    a = example("t_cell")
    assert a["populations"] == ["t_cell"]
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] is None
    assert "cog.note.not_for_t_cell" in factor_ids(a)
    assert drugs(a)["nelarabine"] == "may"
    t = therapies(a)
    assert t["combination_chemotherapy"] == "always"
    assert t["high_dose_systemic_chemotherapy"] == "always"


def test_down_syndrome_does_not_change_the_risk_group(example: Any) -> None:
    a = example("down_syndrome")
    assert a["populations"] == ["down_syndrome"]
    assert a["risk_group"] == "standard"
    # NCI standard, neutral genetics, day 8 blood MRD below 1%, day 29 MRD negative
    assert a["cog_risk_group"] == "average"
    assert "risk.note.down_syndrome" in factor_ids(a)


def test_ph_positive_plan_includes_targeted_therapy_with_imatinib_or_dasatinib(example: Any) -> None:
    a = example("ph_positive")
    assert a["populations"] == ["ph_positive"]
    assert a["risk_group"] == "very_high"
    assert a["cog_risk_group"] == "very_high"
    assert therapies(a)["targeted_therapy"] == "always"
    assert {"imatinib", "dasatinib"} <= drugs(a).keys()
    assert "stem_cell_transplant" in therapies(a)  # with or without a donor transplant


def test_cns3_at_diagnosis_is_high_risk_with_stronger_cns_directed_therapy(example: Any) -> None:
    a = example("cns3")
    assert a["populations"] == ["cns_disease"]
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "high"
    t = therapies(a)
    assert t["intrathecal_chemotherapy"] == "always"
    assert "cns_radiation" in t
    assert "plan.cns_disease" in therapy_reasons(a, "cns_radiation")


def test_testicular_disease_is_high_risk_and_may_get_testicular_radiation(example: Any) -> None:
    a = example("testicular")
    assert a["populations"] == ["testicular_disease"]
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "high"
    t = therapies(a)
    assert t["high_dose_systemic_chemotherapy"] == "always"
    assert t["testicular_radiation"] == "sometimes"


def test_child_in_several_populations_gets_every_population_plan(example: Any) -> None:
    a = example("multi_population")
    assert a["populations"] == ["adolescent_young_adult", "ph_positive", "cns_disease"]
    assert a["risk_group"] == "very_high"
    assert a["cog_risk_group"] == "very_high"
    assert therapies(a)["targeted_therapy"] == "always"
    assert {"imatinib", "dasatinib", "prednisone"} <= drugs(a).keys()
    reasons = {_element_id(r) for t in a["plan"]["therapies"] for r in t["reasons"]}
    assert {"plan.adolescent_young_adult", "plan.ph_positive", "plan.cns_disease", "plan.very_high.core"} <= reasons


def test_steroid_pretreatment_under_10_raises_standard_counts_to_high_risk(example: Any) -> None:
    a = example("steroid_pretreatment")
    assert a["risk_group"] == "high"
    assert a["cog_risk_group"] == "high"  # counts as NCI high risk, younger than 13, MRD negative
    steroid = next(f for f in a["factors"] if f["id"] == "risk.steroid_pretreatment")
    assert steroid["confidence"] == "moderate"


def test_li_fraumeni_syndrome_recommends_genetic_counseling(example: Any) -> None:
    a = example("li_fraumeni")
    assert a["genetic_counseling_recommended"] is True
    assert "counseling.predisposition" in factor_ids(a)
    assert a["risk_group"] == "very_high"  # hypodiploidy below 44 chromosomes


def test_record_with_missing_data_is_provisional_and_says_what_is_missing(example: Any) -> None:
    a = example("missing_data")
    assert a["risk_group"] == "standard"  # age and count decide the group at diagnosis
    assert a["provisional"] is True
    assert {"genetics", "cns_status", "response.end_of_induction_marrow_mrd_pct"} <= set(a["missing"])
    assert a["cog_risk_group"] is None  # its inputs (genetics, MRD) are missing
    assert a["workup"]
    assert a["genetic_counseling_recommended"] is False


# ---- Refractory and relapsed -------------------------------------------------------------------------------


def test_refractory_b_all_has_no_frontline_risk_group_and_lists_car_t(example: Any) -> None:
    a = example("refractory")
    assert a["disease_state"] == "refractory"
    assert a["risk_group"] is None
    assert a["cog_risk_group"] is None
    assert a["relapse"] is None
    assert a["plan"]["phases"] == []
    assert therapies(a)["car_t_cell_therapy"] == "may"  # approved for refractory B-ALL up to 25 years
    assert {"tisagenlecleucel", "inotuzumab ozogamicin"} <= drugs(a).keys()


def test_early_isolated_marrow_relapse_is_high_risk_with_blinatumomab_and_transplant(example: Any) -> None:
    a = example("relapse_marrow_early")
    r = a["relapse"]
    assert a["disease_state"] == "relapsed"
    assert r["number"] == 1
    assert r["sites"] == ["bone_marrow"]
    assert r["timing"] == "early"  # 22 months, below the 36-month marrow cut-off
    assert r["timing_basis"]["early_below_months"] == 36
    assert r["risk_group"] == "high"
    assert "stem_cell_transplant" in therapies(a)
    assert drugs(a)["blinatumomab"] == "may"
    assert therapies(a)["car_t_cell_therapy"] == "studied"  # first relapse: outside the approved use


def test_late_marrow_relapse_without_block1_mrd_has_no_relapse_risk_group_yet(example: Any) -> None:
    a = example("relapse_marrow_late")
    r = a["relapse"]
    assert r["timing"] == "late"  # 48 months
    assert r["risk_group"] is None  # low or intermediate depends on MRD after block 1
    assert a["provisional"] is True
    assert a["missing"] == ["relapses[0].end_of_block1_mrd_pct"]


def test_late_marrow_relapse_with_block1_mrd_of_0_1_percent_or_more_is_intermediate_risk(example: Any) -> None:
    a = example("relapse_late_block1_mrd")
    r = a["relapse"]
    assert r["timing"] == "late"
    assert r["risk_group"] == "intermediate"
    assert a["provisional"] is False
    assert drugs(a)["blinatumomab"] == "may"


def test_isolated_cns_relapse_plan_includes_cranial_radiation(example: Any) -> None:
    a = example("relapse_isolated_cns")
    r = a["relapse"]
    assert r["sites"] == ["cns"]
    assert r["isolated_extramedullary"] is True
    assert r["timing"] == "early"  # 14 months, below the 18-month extramedullary cut-off
    assert r["timing_basis"]["early_below_months"] == 18
    assert r["risk_group"] == "high"
    t = therapies(a)
    assert {"cns_radiation", "intrathecal_chemotherapy", "combination_chemotherapy", "stem_cell_transplant"} <= t.keys()
    assert "plan.relapse.isolated_cns" in therapy_reasons(a, "cns_radiation")
    assert "blinatumomab" not in drugs(a)  # listed for relapse in the marrow


def test_late_isolated_testicular_relapse_with_low_block1_mrd_is_low_risk(example: Any) -> None:
    a = example("relapse_isolated_testis")
    r = a["relapse"]
    assert r["sites"] == ["testis"]
    assert r["timing"] == "late"  # 40 months, the 18-month extramedullary cut-off
    assert r["risk_group"] == "low"
    t = therapies(a)
    assert {"combination_chemotherapy", "testicular_radiation"} <= t.keys()
    assert "cns_radiation" not in t


def test_combined_marrow_and_cns_relapse_uses_the_marrow_cut_off(example: Any) -> None:
    a = example("relapse_combined")
    r = a["relapse"]
    assert r["combined"] is True
    assert r["sites"] == ["bone_marrow", "cns"]
    assert r["timing"] == "early"  # 30 months: late for an isolated CNS relapse, early when the marrow is involved
    assert r["risk_group"] == "high"
    assert {"cns_radiation", "intrathecal_chemotherapy", "stem_cell_transplant"} <= therapies(a).keys()
    assert "blinatumomab" in drugs(a)


def test_second_relapse_has_no_relapse_risk_group_and_car_t_is_within_its_approved_use(example: Any) -> None:
    a = example("relapse_second")
    r = a["relapse"]
    assert r["number"] == 2
    assert r["risk_group"] is None
    assert "relapse.note.later_relapse" in {n["id"] for n in a["not_covered"]}
    assert therapies(a)["car_t_cell_therapy"] == "may"
    assert drugs(a)["tisagenlecleucel"] == "may"


def test_t_cell_relapse_is_high_risk_even_when_late_and_has_no_b_cell_directed_agents(example: Any) -> None:
    a = example("relapse_t_cell")
    r = a["relapse"]
    assert r["timing"] == "late"
    assert r["risk_group"] == "high"  # any T-cell first relapse
    assert {"blinatumomab", "inotuzumab ozogamicin", "tisagenlecleucel"}.isdisjoint(drugs(a).keys())
    assert "car_t_cell_therapy" not in therapies(a)
    assert "plan.relapse_refractory.not_b_cell" in {n["id"] for n in a["not_covered"]}
