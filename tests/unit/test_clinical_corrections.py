"""The clinical corrections of issue 10, each at its boundary (clinical-facts.md §2a, §3, §7, §10, §10b, §10c)."""

from __future__ import annotations

from typing import Any

import pytest

from allpath.domain.results import Assessment
from tests.conftest import complete_b_all, run


def therapies(assessment: Assessment) -> dict[str, str]:
    return {t["code"]: t["certainty"] for t in assessment["plan"]["therapies"]}


# ---- §3 / §10c: T-ALL end-of-consolidation MRD cut-off 0.1 % (inclusive) -------------------------------------


@pytest.mark.parametrize(("mrd", "group"), [(0.0099, "high"), (0.01, "high"), (0.099, "high"), (0.1, "very_high")])
def test_t_all_end_of_consolidation_mrd_cut_off_is_0_1_pct(mrd: float, group: str) -> None:
    # T-ALL is high risk by lineage; EOC MRD >= 0.1 % makes it very high (AALL1231). The B-ALL 0.01 % does not apply.
    record = complete_b_all(immunophenotype="T", end_of_consolidation_mrd_pct=mrd)
    assessment = run(record)
    assert assessment["risk_group"] == group
    decided = {f["id"] for f in assessment["factors"] if f["effect"] == "risk_group=very_high"}
    assert decided == ({"risk.response.eoc_mrd_t_cell"} if group == "very_high" else set())


@pytest.mark.parametrize(("mrd", "group"), [(0.0099, "standard"), (0.01, "very_high"), (0.099, "very_high")])
def test_b_all_end_of_consolidation_mrd_cut_off_stays_0_01_pct(mrd: float, group: str) -> None:
    assert run(complete_b_all(end_of_consolidation_mrd_pct=mrd))["risk_group"] == group


# ---- §2a: TCF3::PBX1 is neutral; the relapse-trial list does not classify newly diagnosed children ----------


@pytest.mark.parametrize("token", ["TCF3::PBX1", "TCF3::HLF"])
def test_tcf3_fusions_do_not_raise_a_group_at_diagnosis(token: str) -> None:
    base = run(complete_b_all())
    fused = run(complete_b_all(genetics=[token]))
    assert (fused["risk_group"], fused["cog_risk_group"]) == (base["risk_group"], base["cog_risk_group"])
    assert (fused["risk_group"], fused["cog_risk_group"]) == ("standard", "average")
    assert "stem_cell_transplant" not in therapies(fused)
    assert "cns_radiation" not in therapies(fused)


def test_tcf3_pbx1_is_explained_as_neutral_with_a_cns_relapse_note() -> None:
    assessment = run(complete_b_all(genetics=["TCF3::PBX1"]))
    note = next(f for f in assessment["factors"] if f["id"] == "risk.note.tcf3_pbx1")
    assert note["effect"] == "note" and "does not raise the risk group" in note["explanation"]
    assert "CNS relapses" in note["explanation"]
    assert note["confidence"] == "high"


def test_tcf3_hlf_is_said_to_be_not_covered() -> None:
    assessment = run(complete_b_all(genetics=["TCF3::HLF"]))
    assert {"risk.note.tcf3_hlf", "cog.note.tcf3_hlf"} <= {n["id"] for n in assessment["not_covered"]}


# ---- §10c: no cranial or CNS radiation under age 1, whatever population brings it in -------------------------

RADIATION_RECORDS: dict[str, dict[str, Any]] = {
    # One record for each plan element that offers radiation to the brain, at the age under test.
    "cns_disease": {"cns_status": "CNS3"},
    "t_cell": {"immunophenotype": "T"},
    "down_syndrome": {"down_syndrome": True},
    "high_risk": {"wbc_per_ul": 60_000},
    "very_high_risk": {"genetics": ["KMT2A_rearranged"]},
}


@pytest.mark.parametrize("population", sorted(RADIATION_RECORDS))
@pytest.mark.parametrize(("age", "allowed"), [(0.99, False), (1.0, True)])
def test_no_brain_radiation_before_the_first_birthday(population: str, age: float, allowed: bool) -> None:
    assessment = run(complete_b_all(age_years=age, **RADIATION_RECORDS[population]))
    assert ("cns_radiation" in therapies(assessment)) is allowed
    withheld = {w["code"]: w for w in assessment["plan"]["withheld"]}
    if allowed:
        assert withheld == {}
    else:
        assert withheld["cns_radiation"]["guard"] == "plan.guard.no_cns_radiation_under_1"
        assert withheld["cns_radiation"]["elements"]  # names the elements that would have brought it in
        # An element that only offered the radiation is not listed as applied.
        applied = {e["id"] for e in assessment["plan"]["elements"]}
        assert not applied & {"plan.high.cns_radiation", "plan.very_high.cns_radiation"}


@pytest.mark.parametrize(("months", "allowed"), [(5.0, False), (6.0, True)])
def test_brain_radiation_after_a_cns_relapse_follows_the_age_at_relapse(months: float, allowed: bool) -> None:
    # Diagnosed at 0.5 years: a relapse 6 months later falls on the first birthday.
    record = complete_b_all(age_years=0.5, relapses=[{"months_from_diagnosis": months, "sites": ["cns"]}])
    assert ("cns_radiation" in therapies(run(record))) is allowed


# ---- §10c: a refractory plan keeps the high-risk chemotherapy; a relapse at any site keeps chemotherapy -------


def test_refractory_plan_is_the_high_risk_chemotherapy_plus_the_refractory_options() -> None:
    record = complete_b_all(refractory=True, response={"end_of_induction_remission": False})
    plan = therapies(run(record))
    assert plan["combination_chemotherapy"] == "always"
    assert plan["intrathecal_chemotherapy"] == "always"
    assert plan["high_dose_systemic_chemotherapy"] == "usually"
    assert {"targeted_therapy", "car_t_cell_therapy", "stem_cell_transplant", "clinical_trial"} <= set(plan)


@pytest.mark.parametrize(
    "sites", [["bone_marrow"], ["cns"], ["testis"], ["other"], ["cns", "testis"], ["other", "cns"]]
)
@pytest.mark.parametrize("months", [6.0, 48.0])
def test_a_relapse_at_any_site_keeps_chemotherapy(sites: list[str], months: float) -> None:
    record = complete_b_all(relapses=[{"months_from_diagnosis": months, "sites": sites}])
    assert "combination_chemotherapy" in therapies(run(record))


# ---- §5: CAR T-cell therapy for a refractory first relapse is its approved use ----------------------------------


@pytest.mark.parametrize(("refractory", "certainty"), [(True, "may"), (False, "studied")])
def test_car_t_for_a_refractory_first_relapse_is_approved_use(refractory: bool, certainty: str) -> None:
    record = complete_b_all(refractory=refractory, relapses=[{"months_from_diagnosis": 20, "sites": ["bone_marrow"]}])
    assessment = run(record)
    assert assessment["disease_state"] == "relapsed"
    assert therapies(assessment)["car_t_cell_therapy"] == certainty


# ---- §10b: hypodiploidy recommends genetic counselling ------------------------------------------------------------


@pytest.mark.parametrize(("genetics", "recommended"), [(["hypodiploidy_lt44"], True), (["none_detected"], False)])
def test_hypodiploidy_recommends_genetic_counselling(genetics: list[str], recommended: bool) -> None:
    assessment = run(complete_b_all(genetics=genetics))
    assert assessment["genetic_counseling_recommended"] is recommended
    counselling = [f for f in assessment["factors"] if f["scheme"] == "genetic_counseling"]
    assert [f["id"] for f in counselling] == (
        ["counseling.hypodiploidy"] if recommended else ["counseling.none_recorded"]
    )
    if recommended:
        assert "TP53" in counselling[0]["explanation"] and "Li-Fraumeni" in counselling[0]["explanation"]


# ---- the TPMT-poor dose line reads as a sentence -------------------------------------------------------------------


def test_tpmt_poor_line_reads_as_a_sentence() -> None:
    from allpath.engine.doses import phase_doses
    from allpath.knowledge.loader import load_knowledge

    child = {
        "age_years": 4.0,
        "weight_kg": 16,
        "height_cm": 104,
        "pharmacogenomics": {"tpmt": "poor", "nudt15": "normal"},
    }
    from allpath.domain.record import parse_record

    result = phase_doses(parse_record(child), load_knowledge(), "b_all_standard_risk", "maintenance")
    line = next(li for li in result["lines"] if li["drug"] == "mercaptopurine")
    assert line["frequency"] == "three_times_weekly"  # the machine value stays for FHIR and CDS
    assert line["text"] == (
        "5.1 mg per dose, three times a week instead of every day; adjusted to the blood counts by the care team."
    )
