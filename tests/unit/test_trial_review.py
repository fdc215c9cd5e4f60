"""Adversarial review of the trial matching (issue 13): children and studies unlike the snapshot's. Each test is
a case where the search gave a wrong or unsafe answer before the review: negated words read as required, other
diseases read as unknown, survivorship studies offered to a child in treatment, relapse numbers beyond the first,
"R/R", a relapse-prevention study read as a relapse study, and titles naming infants among older children."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.trials import trial_patient
from allpath.knowledge.loader import load_knowledge
from tests.builders import record
from tests.unit.test_trial_match import ON, child, match, outcome

INFANT_AGES: dict[str, Any] = {"minimum": "N/A", "maximum": "365 Days"}


def _infant(genetics: frozenset[str]) -> Any:
    return child(birth=date(2026, 5, 1), genetics=genetics, populations=frozenset({"infant"}), risk=None)


# ---- other diseases -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "conditions"),
    [
        ("Chemotherapy for AML", ("Acute Myeloid Leukemia",)),
        ("Newly Diagnosed Acute Myeloid Leukemia in Children", ("Acute Myeloid Leukemia", "Leukemia")),
        ("GEMTUZUMAB IN AML FOR ALL AGES", ("Acute Myeloid Leukemia",)),
        ("Rituximab for B-cell Non-Hodgkin Lymphoma", ("B-cell Non-Hodgkin Lymphoma",)),
        ("Imatinib in Chronic Myeloid Leukemia", ("CML",)),
    ],
)
def test_a_study_of_another_disease_never_fits_a_child_with_all(title: str, conditions: tuple[str, ...]) -> None:
    result = match(child(), title=title, conditions=conditions)
    assert outcome(result, "disease") == {"not_met"}
    assert result["verdict"] == "not_eligible"


@pytest.mark.parametrize(
    ("title", "conditions"),
    [
        ("Study of Leukemia", ("Leukemia",)),
        ("Drug X in Hematologic Malignancies", ("Hematologic Malignancies",)),
        ("Levofloxacin in Children Treated for Acute Leukemia", ("Acute Leukemia",)),
        ("Drug X in Relapsed Leukemia", ("Acute Myeloid Leukemia", "Leukemia")),
    ],
)
def test_leukemia_in_general_is_unknown_not_excluded(title: str, conditions: tuple[str, ...]) -> None:
    assert outcome(match(child(), title=title, conditions=conditions), "disease") == {"unknown"}


def test_all_and_aml_together_is_a_study_for_all() -> None:
    result = match(child(), title="Newly Diagnosed ALL or AML", conditions=("Acute Myeloid Leukemia", "ALL"))
    assert outcome(result, "disease") == {"met"}


# ---- negation -----------------------------------------------------------------------------------------------

PH_POSITIVE = frozenset({"BCR::ABL1"})
PH_NEGATIVE = frozenset({"none_detected"})


@pytest.mark.parametrize(
    "title",
    [
        "Newly Diagnosed BCR-ABL1-negative B-ALL",
        "Newly Diagnosed Ph-negative B-ALL",
        "Newly Diagnosed Philadelphia Chromosome-Negative B-ALL",
        "Newly Diagnosed Non-Ph+ B-ALL",
    ],
)
def test_ph_negative_is_not_read_as_ph_positive(title: str) -> None:
    assert match(child(genetics=PH_NEGATIVE), title=title)["verdict"] == "eligible"
    ph = match(child(genetics=PH_POSITIVE, risk="very_high"), title=title)
    assert outcome(ph, "subgroup") == {"not_met"}
    assert outcome(match(child(genetics=None), title=title), "subgroup") == {"unknown"}


def test_ph_like_is_not_read_as_ph_negative() -> None:
    title = "Newly Diagnosed Ph+ or Ph-like B-ALL"
    assert outcome(match(child(genetics=PH_POSITIVE, risk="very_high"), title=title), "subgroup") == {"met"}


@pytest.mark.parametrize(
    "title", ["Newly Diagnosed Non-Down Syndrome B-ALL", "Newly Diagnosed B-ALL Without Down Syndrome"]
)
def test_non_down_syndrome_excludes_a_child_with_down_syndrome(title: str) -> None:
    assert outcome(match(child(down_syndrome=True), title=title), "subgroup") == {"not_met"}
    assert match(child(down_syndrome=False), title=title)["verdict"] == "eligible"
    assert outcome(match(child(down_syndrome=None), title=title), "subgroup") == {"unknown"}


def test_down_syndrome_named_both_ways_is_named() -> None:
    title = "Newly Diagnosed B-ALL in Children With Down Syndrome and Non-Down Syndrome"
    assert outcome(match(child(down_syndrome=True), title=title), "subgroup") == {"met"}


@pytest.mark.parametrize(
    "title",
    [
        "Infants With Newly Diagnosed ALL Without KMT2A Rearrangement",
        "Infants With Newly Diagnosed ALL Without a KMT2A Rearrangement",
        "Infants With Newly Diagnosed KMT2A-germline ALL",
        "Infants With Newly Diagnosed Non-KMT2A-rearranged ALL",
    ],
)
def test_without_kmt2a_is_not_read_as_kmt2a_required(title: str) -> None:
    kmt2a = match(_infant(frozenset({"KMT2A_rearranged"})), title=title, **INFANT_AGES)
    assert outcome(kmt2a, "subgroup") == {"met", "not_met"}  # infant met, KMT2A excluded
    assert kmt2a["verdict"] == "not_eligible"
    assert match(_infant(PH_NEGATIVE), title=title, **INFANT_AGES)["verdict"] == "eligible"


def test_kmt2a_rearranged_still_required_when_not_negated() -> None:
    title = "Infants With Newly Diagnosed KMT2A-rearranged ALL"
    assert match(_infant(PH_NEGATIVE), title=title, **INFANT_AGES)["verdict"] == "not_eligible"
    assert match(_infant(frozenset({"KMT2A_rearranged"})), title=title, **INFANT_AGES)["verdict"] == "eligible"


def test_a_negated_state_word_is_not_read_as_a_state() -> None:
    result = match(child(), title="Newly Diagnosed and Non-Relapsed B-ALL")
    assert outcome(result, "disease_state") == {"met"}


# ---- infants among older children ---------------------------------------------------------------------------


def test_a_title_naming_infants_and_children_is_not_only_for_infants() -> None:
    title = "Newly Diagnosed ALL in Infants, Children and Adolescents"
    assert match(child(), title=title, minimum="N/A", maximum="21 Years")["verdict"] == "eligible"
    only = match(child(), title="Newly Diagnosed ALL in Infants", minimum="N/A", maximum="21 Years")
    assert outcome(only, "subgroup") == {"not_met"}


# ---- disease state --------------------------------------------------------------------------------------------

RELAPSED: dict[str, Any] = {"state": "relapsed", "risk": None}


@pytest.mark.parametrize(
    ("title", "number", "expected"),
    [
        ("CAR T in Second or Greater Relapse of B-ALL", 1, "not_met"),
        ("CAR T in Second or Greater Relapse of B-ALL", 2, "met"),
        ("CAR T in Second or Greater Relapse of B-ALL", 3, "met"),
        ("CAR T Beyond First Relapse of B-ALL", 1, "not_met"),
        ("CAR T Beyond First Relapse of B-ALL", 2, "met"),
        ("Chemotherapy in Second Relapse of B-ALL", 2, "met"),
        ("Chemotherapy in Second Relapse of B-ALL", 3, "not_met"),
        ("Chemotherapy in First or Second Relapse of B-ALL", 1, "met"),
        ("Chemotherapy in First or Second Relapse of B-ALL", 2, "met"),
        ("Chemotherapy in First or Second Relapse of B-ALL", 3, "not_met"),
        ("Chemotherapy in First Relapse of B-ALL", 1, "met"),
        ("Chemotherapy in First Relapse of B-ALL", 2, "not_met"),
    ],
)
def test_relapse_numbers(title: str, number: int, expected: str) -> None:
    result = match(child(relapse_number=number, **RELAPSED), title=title)
    assert outcome(result, "disease_state") == {expected}


def test_a_relapse_number_the_record_lacks_is_unknown() -> None:
    result = match(child(relapse_number=None, **RELAPSED), title="CAR T in Second or Greater Relapse of B-ALL")
    assert outcome(result, "disease_state") == {"unknown"}


def test_r_slash_r_is_relapsed_or_refractory() -> None:
    title = "CD19 CAR T for R/R B-ALL"
    assert outcome(match(child(), title=title), "disease_state") == {"not_met"}
    assert outcome(match(child(relapse_number=1, **RELAPSED), title=title), "disease_state") == {"met"}
    assert outcome(match(child(state="refractory", risk=None), title=title), "disease_state") == {"met"}


def test_a_study_to_prevent_relapse_is_not_a_relapse_study() -> None:
    result = match(child(), title="Maintenance to Prevent Relapse in B-ALL", purpose="TREATMENT")
    assert outcome(result, "disease_state") == {"unknown"}
    still = match(child(), title="Treatment After Relapse of B-ALL")
    assert outcome(still, "disease_state") == {"not_met"}


@pytest.mark.parametrize("purpose", ["SUPPORTIVE_CARE", "OTHER", "TREATMENT"])
@pytest.mark.parametrize(
    "title",
    ["Late Effects in Survivors of Childhood ALL", "Exercise Program for Acute Lymphoblastic Leukemia Survivors"],
)
def test_a_survivorship_study_is_not_for_a_child_in_treatment(title: str, purpose: str) -> None:
    for patient in (child(), child(relapse_number=1, **RELAPSED), child(state="refractory", risk=None)):
        result = match(patient, title=title, purpose=purpose)
        assert outcome(result, "disease_state") == {"not_met"}
        assert result["verdict"] == "not_eligible"


def test_a_supportive_care_study_during_treatment_still_fits() -> None:
    title = "Levofloxacin to Prevent Infection in Children With Acute Lymphoblastic Leukemia"
    assert match(child(), title=title, purpose="SUPPORTIVE_CARE")["verdict"] == "eligible"


# ---- relapse site -----------------------------------------------------------------------------------------------


def _relapsed(sites: frozenset[str] | None, number: int = 1) -> Any:
    return replace(child(relapse_number=number, **RELAPSED), relapse_sites=sites)


MARROW = frozenset({"bone_marrow"})
CNS = frozenset({"cns"})
TESTIS = frozenset({"testis"})
COMBINED = frozenset({"bone_marrow", "cns"})


@pytest.mark.parametrize(
    ("title", "sites", "expected"),
    [
        ("Treatment of Isolated CNS Relapse of B-ALL", CNS, "met"),
        ("Treatment of Isolated CNS Relapse of B-ALL", MARROW, "not_met"),
        ("Treatment of Isolated CNS Relapse of B-ALL", COMBINED, "not_met"),
        ("Treatment of Isolated CNS Relapse of B-ALL", TESTIS, "not_met"),
        ("Treatment of Isolated CNS Relapse of B-ALL", None, "unknown"),
        ("Treatment of Isolated Testicular Relapse of ALL", TESTIS, "met"),
        ("Treatment of Isolated Testicular Relapse of ALL", CNS, "not_met"),
        ("Isolated Extramedullary Relapse of ALL", CNS, "met"),
        ("Isolated Extramedullary Relapse of ALL", TESTIS, "met"),
        ("Isolated Extramedullary Relapse of ALL", COMBINED, "not_met"),
        ("CAR T for Bone Marrow Relapse of B-ALL", COMBINED, "met"),
        ("CAR T for Bone Marrow Relapse of B-ALL", MARROW, "met"),
        ("CAR T for Bone Marrow Relapse of B-ALL", CNS, "not_met"),
        ("CAR T for Bone Marrow or Isolated Extramedullary Relapse of B-ALL", CNS, "met"),
        ("Blinatumomab in First Relapse of B-ALL", CNS, "met"),  # no site named: not limited by site
    ],
)
def test_the_relapse_site_a_study_names(title: str, sites: frozenset[str] | None, expected: str) -> None:
    assert outcome(match(_relapsed(sites), title=title), "disease_state") == {expected}


def test_a_relapse_site_does_not_hide_a_relapse_number_that_excludes() -> None:
    result = match(_relapsed(CNS, number=2), title="Isolated CNS First Relapse of B-ALL")
    assert outcome(result, "disease_state") == {"not_met"}


def test_the_relapse_sites_come_from_the_assessment() -> None:
    patient = parse_record(
        record(relapses=[{"months_from_diagnosis": 30, "sites": ["cns"]}], age_years=5.0, wbc_per_ul=10_000)
    )
    seen = trial_patient(patient, assess(patient, load_knowledge()), ON)
    assert seen.relapse_sites == CNS
    assert outcome(match(seen, title="Isolated CNS Relapse of B-ALL"), "disease_state") == {"met"}


# ---- Ph-like, negated risk words, titles in capitals ------------------------------------------------------------

PH_LIKE = frozenset({"ph_like"})


def test_a_ph_like_study_is_not_for_a_child_known_to_be_ph_positive_and_unknown_without_the_test() -> None:
    title = "Ruxolitinib With Chemotherapy for Newly Diagnosed Ph-like B-ALL"
    assert outcome(match(child(genetics=PH_LIKE, risk="high"), title=title), "subgroup") == {"met"}
    # A record without Ph-like does not say the child lacks it: its own tests may not have been done.
    assert outcome(match(child(genetics=PH_NEGATIVE), title=title), "subgroup") == {"unknown"}
    assert outcome(match(child(genetics=None), title=title), "subgroup") == {"unknown"}


def test_bcr_abl1_like_is_not_read_as_ph_positive() -> None:
    title = "Newly Diagnosed BCR-ABL1-like B-ALL"
    ph = match(child(genetics=PH_POSITIVE, risk="very_high"), title=title)
    assert "only Philadelphia chromosome-positive (BCR::ABL1)" not in {c["study_value"] for c in ph["criteria"]}
    assert outcome(match(child(genetics=PH_LIKE, risk="high"), title=title), "subgroup") == {"met"}


def test_ph_positive_or_ph_like_takes_either() -> None:
    title = "Newly Diagnosed Philadelphia Chromosome Positive (Ph+) or ABL-Class Ph-Like B-ALL"
    assert outcome(match(child(genetics=PH_POSITIVE, risk="very_high"), title=title), "subgroup") == {"met"}
    assert match(child(genetics=PH_LIKE, risk="high"), title=title)["verdict"] == "possibly"
    assert match(child(genetics=frozenset({"ETV6::RUNX1"})), title=title)["verdict"] == "possibly"


@pytest.mark.parametrize("title", ["Newly Diagnosed Ph-positive B-ALL", "Newly Diagnosed Ph+ B-ALL"])
def test_ph_positive_spelled_out(title: str) -> None:
    assert outcome(match(child(genetics=PH_NEGATIVE), title=title), "subgroup") == {"not_met"}


def test_a_negated_risk_group_is_not_read() -> None:
    result = match(child(risk="standard"), title="Newly Diagnosed Non-High-Risk B-ALL")
    assert outcome(result, "risk_group") == set()
    assert result["verdict"] == "eligible"


def test_a_title_in_capitals_keeps_its_signed_terms() -> None:
    shouted = match(child(), title="NEWLY DIAGNOSED B-ALL IN CHILDREN", conditions=("Leukemia",))
    assert outcome(shouted, "disease") == {"met"}
    assert outcome(shouted, "lineage") == {"met"}
    bare = match(child(), title="A STUDY FOR ALL AGES", conditions=("Acute Myeloid Leukemia",))
    assert outcome(bare, "disease") == {"not_met"}


def test_a_frontline_study_to_reduce_late_effects_is_a_treatment_study() -> None:
    for title in ("Reducing Late Effects in Newly Diagnosed B-ALL", "Less Therapy for Fewer Late Effects in B-ALL"):
        assert outcome(match(child(), title=title), "disease_state") != {"not_met"}


def test_a_study_of_myeloid_leukemia_of_down_syndrome_is_not_for_a_child_with_all() -> None:
    result = match(child(down_syndrome=True), title="Myeloid Leukemia of Down Syndrome", conditions=("AML",))
    assert outcome(result, "disease") == {"not_met"}


@pytest.mark.parametrize(
    "title", ["Newly Diagnosed B-ALL in Children With or Without Down Syndrome", "B-ALL With/Without Down Syndrome"]
)
def test_with_or_without_is_no_negation(title: str) -> None:
    assert outcome(match(child(down_syndrome=True), title=f"Newly Diagnosed {title}"), "subgroup") == {"met"}
