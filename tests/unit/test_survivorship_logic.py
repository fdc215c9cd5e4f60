"""How the survivorship plan (``allpath.engine.survivorship``) reads its rules, on a fixture survivorship.yaml.

The fixture (``survivorship_base``) keeps the shape of the shipped file but states its own numbers and names:
daunorubicin counts 0.5 of doxorubicin (one alternative factor, 0.7); heart surveillance is "recommended" from
200 mg/m2 (or 40 Gy, or 80 mg/m2 with 20 Gy), "reasonable" from 80, "may be reasonable" below; an
echocardiogram every 3 years from 200 mg/m2 or 25 Gy, every 6 years from 80 mg/m2 or 12 Gy, the first within
1 year; dexamethasone from age 8 raises the osteonecrosis item; boys after cyclophosphamide are checked every
2 years from 9 to 13. The heart topic is called ``cardio`` and the anthracycline note has a fixture id. These
tests prove the logic (equivalents, the first strength that holds, the frequency, start dates, unknowns);
test_survivorship_content.py checks the shipped thresholds and the golden plans.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import SurvivorshipItem, SurvivorshipPlan
from allpath.engine.survivorship import survivorship_plan
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.builders import knowledge, present, shipped

TOPIC = "cardio"
NOTE_ID = "fixture.not_covered.anthracycline"
DATES = ("2016-10-03", "2016-10-10", "2016-10-17", "2017-02-06")
CHEST_DATE = "2017-03-31"
FREQUENCY_RULE_OF = {3: "surv.cardiac.every_2_years", 6: "surv.cardiac.every_5_years"}


def _by_id(rules: list[dict[str, Any]], rule_id: str) -> dict[str, Any]:
    return next(rule for rule in rules if rule["id"] == rule_id)


def _dox(op: str, value: float) -> dict[str, Any]:
    return {"fact": "doxorubicin_equivalent_mg_per_m2", op: value}


def _chest(op: str, value: float) -> dict[str, Any]:
    return {"fact": "chest_radiation_gy", op: value}


def fixture_survivorship(start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fixture file, written over ``start`` (default: the shipped file), whose texts and citations it keeps."""
    content = copy.deepcopy(start) if start is not None else shipped("survivorship")
    anthracyclines = content["anthracyclines"]
    for entry in anthracyclines["equivalence"]:
        entry["factor"] = {"doxorubicin": 1, "daunorubicin": 0.5, "mitoxantrone": 8}[entry["drug"]]
    anthracyclines["alternatives"] = [{**anthracyclines["alternatives"][0], "drug": "daunorubicin", "factor": 0.7}]
    anthracyclines["not_covered_id"] = NOTE_ID
    rules = content["screening"]
    for rule in rules:
        if rule["topic"] == content["cardiac_frequency"]["topic"]:
            rule["topic"] = TOPIC
    _by_id(rules, "surv.cardiac.recommended")["when"] = {
        "any": [_dox("ge", 200), _chest("ge", 40), {"all": [_dox("ge", 80), _chest("ge", 20)]}]
    }
    _by_id(rules, "surv.cardiac.reasonable")["when"] = {"all": [_dox("ge", 80), _dox("lt", 200)]}
    _by_id(rules, "surv.cardiac.may_be_reasonable")["when"] = {"all": [_dox("gt", 0), _dox("lt", 80)]}
    _by_id(rules, "surv.dexamethasone_age10_osteonecrosis")["when"] = {
        "all": [{"fact": "dexamethasone", "eq": True}, {"fact": "age_at_first_dexamethasone_years", "ge": 8}]
    }
    boys = _by_id(rules, "surv.cyclophosphamide_male")
    boys["interval_years"], boys["start_age_years"] = 2, {"earliest": 9, "latest": 13}
    frequency = content["cardiac_frequency"]
    frequency["topic"], frequency["start_within_years_after_exposure"] = TOPIC, 1
    every_3, every_6 = frequency["rules"]
    every_3.update(interval_years=3, when={"any": [_dox("ge", 200), _chest("ge", 25)]})
    every_6.update(
        interval_years=6,
        when={"any": [{"all": [_dox("ge", 80), _dox("lt", 200)]}, {"all": [_chest("ge", 12), _chest("lt", 25)]}]},
    )
    return content


@pytest.fixture(scope="module")
def base() -> KnowledgeBase:
    return knowledge(survivorship=fixture_survivorship())


def survivor(
    courses: Sequence[tuple[str, float | None]] = (), chest_gy: float | None = None, **fields: Any
) -> dict[str, Any]:
    """A boy born 2010-01-01, diagnosed 2015-01-01, treatment ended 2017-06-01, with courses (drug, mg/m2)
    on the days of DATES and chest radiation on CHEST_DATE."""
    given: list[dict[str, Any]] = []
    for day, (drug, dose) in zip(DATES, courses, strict=False):
        given.append({"drug": drug, "date": day, "route": "intravenous"})
        if dose is not None:
            given[-1]["dose_mg_per_m2"] = dose
    exposures: dict[str, Any] = {"courses": given}
    if chest_gy is not None:
        exposures["radiation"] = [{"site": "chest", "dose_gy": chest_gy, "date": CHEST_DATE}]
    return {
        "sex": "male",
        "birth_date": "2010-01-01",
        "diagnosis_date": "2015-01-01",
        "end_of_therapy_date": "2017-06-01",
        "exposures": exposures,
        **fields,
    }


def plan_of(kb: KnowledgeBase, record: dict[str, Any]) -> SurvivorshipPlan:
    return survivorship_plan(parse_record(record), kb, None)


def heart(result: SurvivorshipPlan) -> SurvivorshipItem | None:
    found = [item for item in result["items"] if item["topic"] == TOPIC]
    assert len(found) <= 1, f"one heart item at most, got {[i['id'] for i in found]}"
    return found[0] if found else None


def item_ids(result: SurvivorshipPlan) -> set[str]:
    return {item["id"] for item in result["items"]}


def test_the_fixture_thresholds_are_not_the_shipped_ones(base: KnowledgeBase) -> None:
    ship = load_knowledge()
    for kb in (base, ship):
        assert kb.therapy.survivorship.cardiac_frequency.topic == (TOPIC if kb is base else "heart")
    factors = {e.drug: e.factor for e in base.therapy.survivorship.anthracyclines.equivalence}
    shipped_factors = {e.drug: e.factor for e in ship.therapy.survivorship.anthracyclines.equivalence}
    assert factors["daunorubicin"] != shipped_factors["daunorubicin"]
    assert [r.interval_years for r in base.therapy.survivorship.cardiac_frequency.rules] != [
        r.interval_years for r in ship.therapy.survivorship.cardiac_frequency.rules
    ]


# ---- anthracycline equivalents --------------------------------------------------------------------------------


def test_each_anthracycline_counts_with_its_knowledge_base_factor(base: KnowledgeBase) -> None:
    result = plan_of(base, survivor([("daunorubicin", 60), ("daunorubicin", 60), ("doxorubicin", 30)]))
    exposures = result["exposures"]
    assert exposures["doxorubicin_equivalent_mg_per_m2"] == 90  # 120 x 0.5 + 30
    parts = {
        p["drug"]: (p["mg_per_m2"], p["factor"], p["doxorubicin_equivalent_mg_per_m2"])
        for p in exposures["anthracyclines"]
    }
    assert parts == {"daunorubicin": (120, 0.5, 60), "doxorubicin": (30, 1, 30)}


@pytest.mark.parametrize(("daunorubicin", "changes"), [(150, True), (100, False)])
def test_an_alternative_factor_says_when_it_would_change_the_surveillance(
    base: KnowledgeBase, daunorubicin: float, changes: bool
) -> None:
    # 150 x 0.5 = 75 (may be reasonable); x 0.7 = 105 (reasonable). 100 x 0.5 = 50 and x 0.7 = 70: both below 80.
    exposures = plan_of(base, survivor([("daunorubicin", daunorubicin)]))["exposures"]
    [alternative] = exposures["alternative_factors"]
    assert alternative["factor"] == 0.7
    assert alternative["doxorubicin_equivalent_mg_per_m2"] == pytest.approx(daunorubicin * 0.7)
    assert alternative["changes_surveillance"] is changes


def test_an_anthracycline_without_a_factor_leaves_the_total_unknown_under_the_knowledge_base_note_id(
    base: KnowledgeBase,
) -> None:
    result = plan_of(base, survivor([("idarubicin", 10)]))
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] is None
    notes = [n for n in result["not_covered"] if n["id"] == NOTE_ID]
    assert len(notes) == 1 and "idarubicin" in notes[0]["text"]
    item = present(heart(result))
    assert item["id"] == "surv.cardiac.anthracycline_without_equivalent"
    assert (item["strength"], item["interval_years"], item["schedule_not_covered"]) == (None, None, True)


def test_a_course_without_its_dose_makes_the_plan_provisional(base: KnowledgeBase) -> None:
    result = plan_of(base, survivor([("doxorubicin", 25), ("doxorubicin", None)]))
    assert result["exposures"]["doxorubicin_equivalent_mg_per_m2"] is None
    assert result["provisional"] is True
    assert result["missing"] == ["exposures.courses[1].dose_mg_per_m2"]
    assert heart(result) is None  # 25 + unknown: any strength is possible


# ---- heart surveillance: the first strength that holds, and the frequency --------------------------------------


@pytest.mark.parametrize(
    ("total", "strength", "interval"),
    [
        (79.9, "may_be_reasonable", None),
        (80, "reasonable", 6),
        (199.9, "reasonable", 6),
        (200, "recommended", 3),
    ],
)
def test_strength_and_frequency_change_exactly_at_the_knowledge_base_thresholds(
    base: KnowledgeBase, total: float, strength: str, interval: int | None
) -> None:
    result = plan_of(base, survivor([("doxorubicin", total)]))
    item = present(heart(result))
    assert (item["strength"], item["interval_years"]) == (strength, interval)
    assert item["schedule_not_covered"] is (interval is None)


@pytest.mark.parametrize(
    ("gy", "strength", "interval"),
    [(11.9, None, None), (12, None, 6), (24.9, None, 6), (25, None, 3), (39.9, None, 3), (40, "recommended", 3)],
)
def test_radiation_alone_gives_the_frequency_rule_when_no_strength_holds(
    base: KnowledgeBase, gy: float, strength: str | None, interval: int | None
) -> None:
    item = heart(plan_of(base, survivor(chest_gy=gy)))
    if interval is None:
        assert item is None
        return
    item = present(item)
    assert (item["strength"], item["interval_years"]) == (strength, interval)
    if strength is None:  # the frequency rule's own item (the fixture keeps the shipped rule ids)
        assert item["id"] == FREQUENCY_RULE_OF[interval]


def test_a_combination_rule_gives_one_item_with_the_strongest_strength(base: KnowledgeBase) -> None:
    item = present(heart(plan_of(base, survivor([("doxorubicin", 80)], chest_gy=20))))
    assert (item["id"], item["strength"], item["interval_years"]) == ("surv.cardiac.recommended", "recommended", 6)


def test_the_first_echocardiogram_is_due_within_the_knowledge_base_years_of_the_last_exposure(
    base: KnowledgeBase,
) -> None:
    # Last doxorubicin on 2016-10-10; the fixture's first echocardiogram is due within 1 year.
    item = present(heart(plan_of(base, survivor([("doxorubicin", 100), ("doxorubicin", 100)]))))
    assert present(item["start"])["after"] == "2016-10-10"
    assert present(item["start"])["no_later_than"] == "2017-10-10"
    assert item["end_of_therapy_date"] == "2017-06-01"


def test_the_heart_topic_is_read_from_the_knowledge_base(base: KnowledgeBase) -> None:
    # The same exposure gives the heart item under the topic each base names, with the same strength.
    record = survivor([("doxorubicin", 125), ("doxorubicin", 125)])
    shipped_item = next(i for i in plan_of(load_knowledge(), record)["items"] if i["topic"] == "heart")
    fixture_item = present(heart(plan_of(base, record)))
    assert shipped_item["strength"] == fixture_item["strength"] == "recommended"


# ---- other exposures: ages and start dates ---------------------------------------------------------------------


@pytest.mark.parametrize(("first_day", "expected"), [("2017-12-31", False), ("2018-01-01", True)])
def test_the_age_at_the_first_dexamethasone_follows_the_knowledge_base_cut_off(
    base: KnowledgeBase, first_day: str, expected: bool
) -> None:
    record = survivor(end_of_therapy_date="2019-06-01")
    record["exposures"]["courses"] = [{"drug": "dexamethasone", "date": first_day, "dose_mg_per_m2": 6}]
    assert ("surv.dexamethasone_age10_osteonecrosis" in item_ids(plan_of(base, record))) is expected


def test_which_drug_gives_the_first_dose_age_is_read_from_the_knowledge_base() -> None:
    # Name prednisone as the drug of the first-dose age: the age then comes from the first prednisone course.
    content = fixture_survivorship()
    content["exposure_classes"]["first_dose_age_drug"] = "prednisone"
    record = survivor(end_of_therapy_date="2019-06-01")
    record["exposures"]["courses"] = [
        {"drug": "dexamethasone", "date": "2016-01-01", "dose_mg_per_m2": 6},  # age 6
        {"drug": "prednisone", "date": "2018-06-01", "dose_mg_per_m2": 40},  # age 8.4
    ]
    assert "surv.dexamethasone_age10_osteonecrosis" not in item_ids(
        plan_of(knowledge(survivorship=fixture_survivorship()), record)
    )
    assert "surv.dexamethasone_age10_osteonecrosis" in item_ids(plan_of(knowledge(survivorship=content), record))


def test_a_check_from_an_age_starts_on_the_birthdays_of_the_knowledge_base(base: KnowledgeBase) -> None:
    result = plan_of(base, survivor([("cyclophosphamide", 1000)]))
    [item] = [i for i in result["items"] if i["id"] == "surv.cyclophosphamide_male"]
    assert item["interval_years"] == 2
    assert present(item["start"])["not_before"] == "2019-01-01"  # 9th birthday
    assert present(item["start"])["no_later_than"] == "2023-01-01"  # 13th birthday


def test_a_rule_for_the_other_sex_does_not_apply(base: KnowledgeBase) -> None:
    ids = item_ids(plan_of(base, survivor([("cyclophosphamide", 1000)], sex="female")))
    assert "surv.cyclophosphamide_female" in ids and "surv.cyclophosphamide_male" not in ids


# ---- isolation: an edit of a shipped number leaves these answers alone --------------------------------------


def test_editing_shipped_thresholds_in_a_copy_leaves_the_fixture_answers_alone(base: KnowledgeBase) -> None:
    # Edit the shipped IGHG threshold (250 -> 300 mg/m2, "reasonable" up to it) and the daunorubicin factor
    # (0.6 -> 0.9) in a copy:
    # the shipped answer moves with it, and the fixture written over that copy answers as before.
    edited = shipped("survivorship")
    _by_id(edited["screening"], "surv.cardiac.recommended")["when"]["any"][0]["ge"] = 300
    _by_id(edited["screening"], "surv.cardiac.reasonable")["when"]["all"][1]["lt"] = 300
    for entry in edited["anthracyclines"]["equivalence"]:
        if entry["drug"] == "daunorubicin":
            entry["factor"] = 0.9
    record = survivor([("doxorubicin", 250)])
    strengths = {
        name: next(i for i in plan_of(kb, record)["items"] if i["topic"] == "heart")["strength"]
        for name, kb in (("shipped", load_knowledge()), ("edited", knowledge(survivorship=edited)))
    }
    assert strengths == {"shipped": "recommended", "edited": "reasonable"}
    over_edited = knowledge(survivorship=fixture_survivorship(edited))
    records = [survivor([("doxorubicin", total)]) for total in (79.9, 80, 200, 250)] + [
        survivor([("daunorubicin", 150)]),
        survivor(chest_gy=25),
        survivor([("cyclophosphamide", 1000)]),
    ]
    for each in records:
        assert plan_of(over_edited, each) == plan_of(base, each)
