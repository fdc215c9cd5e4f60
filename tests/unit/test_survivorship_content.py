"""The shipped survivorship rules: the plan on both sides of every threshold of survivorship.yaml
(clinical-facts.md §10), and the golden plans of ``tests/golden/survivorship/``.

Content tests (a shipped threshold, factor or interval changes: they fail here). How the engine reads any such
rule is tested on a fixture survivorship.yaml in test_survivorship_logic.py.

Rows checked (clinical-facts §10):
* IGHG, Armenian, Lancet Oncol 2015, Table 4: surveillance "recommended" for anthracycline >= 250 mg/m2, chest
  RT >= 35 Gy, or >= 100 mg/m2 + >= 15 Gy; "reasonable" for 100 to < 250 mg/m2; "may be reasonable" < 100.
* PanCare / IGHG: echocardiogram every 2 years for >= 250 mg/m2 or heart RT >= 30 Gy; every 5 years for 100 to
  < 250 mg/m2 or RT 15 to < 30 Gy; the first no later than 2 years after cardiotoxic therapy.
* IGHG expert panel: daunorubicin x 0.6; Feijen JCO 2015: 0.45; old COG substitution rules: 1:1.
* IGHG male gonadotoxicity: pubertal monitoring at least yearly, from age 10 and no later than 12.
* JACLS ALL2004 / AALL0232: osteonecrosis risk highest with dexamethasone at age >= 10.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import SurvivorshipItem, SurvivorshipPlan
from allpath.errors import RecordError
from tests.builders import present
from tests.conftest import ROOT
from tests.golden.survivorship_cases import GOLDEN_SURVIVORSHIP, cases, golden_path, plan, render

REGENERATE = "run `python tests/golden/regenerate.py` and review the diff (git diff tests/golden/survivorship)"
HEART = "heart"
CASES = cases()


def plan_of(name: str) -> SurvivorshipPlan:
    return plan(CASES[name])


def heart_items(result: SurvivorshipPlan) -> list[SurvivorshipItem]:
    return [item for item in result["items"] if item["topic"] == HEART]


def heart(result: SurvivorshipPlan) -> SurvivorshipItem | None:
    found = heart_items(result)
    assert len(found) <= 1, f"one heart surveillance item at most, got {[i['id'] for i in found]}"
    return found[0] if found else None


def item_ids(result: SurvivorshipPlan) -> set[str]:
    return {item["id"] for item in result["items"]}


# ---- golden plans ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_survivorship_plan(name: str) -> None:
    path = golden_path(name)
    assert path.is_file(), f"{path.relative_to(ROOT)} does not exist: {REGENERATE}"
    expected = json.loads(path.read_text(encoding="utf-8"))
    actual = json.loads(render(name))
    assert actual["record"] == expected["record"], f"the case's record changed: {REGENERATE}"
    assert actual["survivorship"] == expected["survivorship"], f"{name}: the plan changed: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == render(name), f"{name}: formatting differs: {REGENERATE}"


def test_no_stale_golden_plans() -> None:
    on_disk = {p.stem for p in GOLDEN_SURVIVORSHIP.glob("*.json")}
    assert on_disk == set(CASES), REGENERATE


# ---- IGHG strength and PanCare frequency by cumulative doxorubicin ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "total", "strength", "interval"),
    [
        ("doxorubicin_99_9", 99.9, "may_be_reasonable", None),  # IGHG "May be reasonable: <100 mg/m²"; no frequency
        ("doxorubicin_100", 100.0, "reasonable", 5),  # IGHG "Reasonable: 100 to <250"; PanCare 100 to <250 -> 5 y
        ("doxorubicin_249_9", 249.9, "reasonable", 5),
        ("doxorubicin_250", 250.0, "recommended", 2),  # IGHG "recommended: ≥250"; PanCare ≥250 -> every 2 years
    ],
)
def test_ighg_strength_and_pancare_frequency_by_doxorubicin(
    name: str, total: float, strength: str, interval: int | None
) -> None:
    result = plan_of(name)
    assert result["basis"] == "recorded"
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] == total
    item = heart(result)
    assert item is not None
    assert item["test"] == "echocardiogram"
    assert item["strength"] == strength
    assert item["interval_years"] == interval
    assert item["schedule_not_covered"] is (interval is None)
    assert item["confidence"] == "high"
    references = {e["reference"] for e in item["evidence"]}
    assert "IGHG, Armenian, Lancet Oncol 2015, Table 4" in references
    if interval is not None:
        assert "PanCare / IGHG cardiac surveillance" in references
    assert result["provisional"] is False


def test_first_echocardiogram_no_later_than_two_years_after_the_last_anthracycline() -> None:
    # PanCare: "start no later than 2 years after cardiotoxic therapy". Last course of doxorubicin_100: 2017-02-06.
    item = heart(plan_of("doxorubicin_100"))
    assert item is not None
    assert present(item["start"])["after"] == "2017-02-06"
    assert present(item["start"])["no_later_than"] == "2019-02-06"
    assert item["end_of_therapy_date"] == "2018-09-01"


# ---- daunorubicin factors: IGHG 0.6 against 0.45 (Feijen 2015) and 1:1 (old COG) ---------------------------------


@pytest.mark.parametrize(
    ("name", "total", "strength", "alternatives"),
    [
        # daunorubicin 150: 0.6 -> 90 (may be reasonable); 1:1 -> 150 would be "reasonable"
        ("daunorubicin_150", 90.0, "may_be_reasonable", {0.45: (67.5, False), 1.0: (150.0, True)}),
        # daunorubicin 200: 0.6 -> 120 (reasonable); 0.45 -> 90 would be "may be reasonable"
        ("daunorubicin_200", 120.0, "reasonable", {0.45: (90.0, True), 1.0: (200.0, False)}),
        # daunorubicin 300: 0.6 -> 180 (reasonable); 1:1 -> 300 would be "recommended"
        ("daunorubicin_300", 180.0, "reasonable", {0.45: (135.0, False), 1.0: (300.0, True)}),
        # daunorubicin 500: 0.6 -> 300 (recommended); 0.45 -> 225 would be "reasonable"
        ("daunorubicin_500", 300.0, "recommended", {0.45: (225.0, True), 1.0: (500.0, False)}),
    ],
)
def test_daunorubicin_factor_ighg_0_6_and_alternatives(
    name: str, total: float, strength: str, alternatives: dict[float, tuple[float, bool]]
) -> None:
    result = plan_of(name)
    exposures = result["exposures"]
    assert exposures["doxorubicin_equivalent_mg_per_m2"] == total
    [part] = exposures["anthracyclines"]
    assert (part["drug"], part["factor"]) == ("daunorubicin", 0.6)  # IGHG expert panel "daunorubicin ×0.6"
    item = heart(result)
    assert item is not None and item["strength"] == strength
    found = {
        a["factor"]: (a["doxorubicin_equivalent_mg_per_m2"], a["changes_surveillance"])
        for a in exposures["alternative_factors"]
    }
    assert found == alternatives
    for alternative in exposures["alternative_factors"]:
        assert alternative["evidence"], "each published factor names its source"
        assert (alternative["surveillance"] != strength) is alternative["changes_surveillance"]


# ---- chest radiation: IGHG >= 35 Gy recommended; PanCare 15 to < 30 Gy every 5 years, >= 30 Gy every 2 years ----


@pytest.mark.parametrize(
    ("name", "gy", "strength", "interval"),
    [
        ("chest_rt_14_9", 14.9, None, None),  # below every threshold: no heart surveillance item
        ("chest_rt_15", 15.0, None, 5),  # PanCare "RT 15 to <30 Gy → every 5 years" (IGHG gives no strength alone)
        ("chest_rt_29_9", 29.9, None, 5),
        ("chest_rt_30", 30.0, None, 2),  # PanCare "heart RT ≥30 Gy → every 2 years"
        ("chest_rt_34_9", 34.9, None, 2),
        ("chest_rt_35", 35.0, "recommended", 2),  # IGHG "chest RT ≥35 Gy" -> recommended
    ],
)
def test_chest_radiation_thresholds(name: str, gy: float, strength: str | None, interval: int | None) -> None:
    result = plan_of(name)
    assert result["exposures"]["chest_radiation_gy"] == gy
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 0
    item = heart(result)
    if interval is None:
        assert item is None
        return
    assert item is not None
    assert item["test"] == "echocardiogram"
    assert item["strength"] == strength
    assert item["interval_years"] == interval
    assert item["schedule_not_covered"] is False
    assert present(item["start"])["after"] == "2017-03-31"  # the radiation is the last cardiotoxic exposure
    assert present(item["start"])["no_later_than"] == "2019-03-31"
    assert any(e["reference"] == "PanCare / IGHG cardiac surveillance" for e in item["evidence"])


def test_combined_100_mg_and_15_gy_is_recommended_once() -> None:
    # IGHG "or ≥100 mg/m² + ≥15 Gy" -> recommended; PanCare: 100 to <250 and 15 to <30 Gy -> every 5 years.
    result = plan_of("doxorubicin_100_chest_rt_15")
    item = heart(result)
    assert item is not None
    assert item["id"] == "surv.cardiac.recommended"
    assert item["strength"] == "recommended"
    assert item["interval_years"] == 5


def test_just_under_100_mg_with_15_gy_is_not_the_combination() -> None:
    # 99.9 mg/m2 + 15 Gy: not the IGHG combination; "may be reasonable" for the anthracycline, and the
    # PanCare radiation row (15 to <30 Gy) gives the frequency: every 5 years.
    item = heart(plan_of("doxorubicin_99_9_chest_rt_15"))
    assert item is not None
    assert item["strength"] == "may_be_reasonable"
    assert item["interval_years"] == 5


@pytest.mark.parametrize("name", sorted(CASES))
def test_at_most_one_heart_item_in_every_case(name: str) -> None:
    heart(plan_of(name))


# ---- cyclophosphamide: IGHG male gonadotoxicity --------------------------------------------------------------


def test_cyclophosphamide_boy_pubertal_checks_from_10_to_12() -> None:
    # "Pubertal monitoring at least yearly, starting no later than age 12 and no earlier than 10"; born 2012-03-15.
    result = plan_of("cyclophosphamide_boy")
    [item] = [i for i in result["items"] if i["id"] == "surv.cyclophosphamide_male"]
    assert item["test"] == "pubertal development check"
    assert item["strength"] == "recommended"
    assert item["interval_years"] == 1
    assert present(item["start"])["not_before"] == date(2022, 3, 15).isoformat()
    assert present(item["start"])["no_later_than"] == date(2024, 3, 15).isoformat()
    assert item["not_covered"] is False
    assert item["confidence"] == "high"
    assert "surv.cyclophosphamide_female" not in item_ids(result)


def test_cyclophosphamide_girl_not_covered() -> None:
    result = plan_of("cyclophosphamide_girl")
    [item] = [i for i in result["items"] if i["id"] == "surv.cyclophosphamide_female"]
    assert item["not_covered"] is True
    assert item["test"] is None and item["interval_years"] is None
    assert "surv.cyclophosphamide_male" not in item_ids(result)


# ---- dexamethasone from age 10: osteonecrosis (JACLS ALL2004; AALL0232) -------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [("dexamethasone_from_9_9", False), ("dexamethasone_from_10", True)])
def test_dexamethasone_from_age_10_osteonecrosis(name: str, expected: bool) -> None:
    result = plan_of(name)
    ids = item_ids(result)
    assert "surv.corticosteroids" in ids  # any steroid: osteonecrosis and cataracts ([M])
    assert ("surv.dexamethasone_age10_osteonecrosis" in ids) is expected
    if expected:
        [item] = [i for i in result["items"] if i["id"] == "surv.dexamethasone_age10_osteonecrosis"]
        assert item["confidence"] == "high"
        assert item["schedule_not_covered"] is True


# ---- unknowns: idarubicin and a course without its dose -----------------------------------------------------------


def test_idarubicin_not_covered_and_total_unknown() -> None:
    # IGHG panel: "no ratio for epirubicin or idarubicin": the total is unknown, never zero.
    result = plan_of("idarubicin")
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] is None
    assert any("idarubicin" in n["text"] for n in result["not_covered"])
    # Still a heart follow-up item: an echocardiogram, the first no later than 2 years after the last dose
    # (PanCare/IGHG), with its strength and frequency said to be not covered rather than left out.
    item = next(i for i in result["items"] if i["id"] == "surv.cardiac.anthracycline_without_equivalent")
    assert item["topic"] == "heart" and item["test"] == "echocardiogram"
    assert item["strength"] is None and item["interval_years"] is None
    assert item["schedule_not_covered"] is True
    assert present(item["start"])["after"] == "2016-10-17" and present(item["start"])["no_later_than"] == "2018-10-17"
    assert "not covered" in item["explanation"]
    # Not provisional: no further data would settle it; the gap is in the sources, said as "not covered".
    assert result["provisional"] is False
    assert result["missing"] == []


def test_course_without_dose_is_provisional_and_names_the_field() -> None:
    result = plan_of("doxorubicin_course_without_dose")
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] is None
    assert result["provisional"] is True
    assert result["missing"] == ["exposures.courses[1].dose_mg_per_m2"]
    assert heart(result) is None  # 25 mg/m2 + unknown: any strength is possible


# ---- planned exposures of the example patients -----------------------------------------------------------------


def test_planned_standard_risk_doxorubicin_75_may_be_reasonable() -> None:
    # clinical-facts §8 "SR doxorubicin 75 mg/m²" -> IGHG "<100 mg/m²: may be reasonable", no frequency.
    result = plan_of("planned_standard_risk")
    assert result["basis"] == "planned"
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 75
    item = heart(result)
    assert item is not None
    assert item["strength"] == "may_be_reasonable"
    assert item["interval_years"] is None
    assert result["end_of_therapy_date"] is not None  # from the roadmap's total-duration rule


@pytest.mark.parametrize("name", ["planned_high_risk_wbc", "planned_high_risk_age"])
def test_planned_high_risk_135_reasonable_every_5_years(name: str) -> None:
    # clinical-facts §8 "HR daunorubicin 100 + doxorubicin 75": 100 x 0.6 + 75 = 135 mg/m2 -> IGHG "reasonable",
    # PanCare "100 to <250 mg/m² → every 5 years".
    result = plan_of(name)
    exposures = result["exposures"]
    assert result["basis"] == "planned"
    parts = {
        p["drug"]: (p["mg_per_m2"], p["factor"], p["doxorubicin_equivalent_mg_per_m2"])
        for p in exposures["anthracyclines"]
    }
    assert parts == {"daunorubicin": (100, 0.6, 60), "doxorubicin": (75, 1, 75)}
    assert exposures["doxorubicin_equivalent_mg_per_m2"] == 135
    item = heart(result)
    assert item is not None
    assert item["strength"] == "reasonable"
    assert item["interval_years"] == 5
    assert not any(a["changes_surveillance"] for a in exposures["alternative_factors"])  # 120 and 175: reasonable


def test_dexamethasone_course_before_the_birth_date_is_refused_by_the_record() -> None:
    # A course dated before the birth date is a typing mistake: the record itself refuses it, naming the field.
    record = {
        "birth_date": "2015-01-01",
        "exposures": {"courses": [{"drug": "dexamethasone", "date": "2014-06-01", "dose_mg_per_m2": 6}]},
    }
    with pytest.raises(RecordError) as caught:
        parse_record(record)
    assert caught.value.problems[0].field == "exposures.courses[0].date"
    assert "date of birth" in caught.value.problems[0].allowed
