"""The trial matching engine on small studies built here (issue 13): the reading of a registry study, each
criterion, the age limits at their boundaries and the verdict. The study JSON has the API v2 shape."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cache
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results.trials import StatusFilter, TrialMatch
from allpath.domain.trials import parse_age_limit, parse_registry_date, parse_studies, parse_study
from allpath.engine.assess import assess
from allpath.engine.trial_age import age_on
from allpath.engine.trials import TrialMatcher, TrialPatient, trial_patient, verdict_of
from allpath.knowledge.loader import load_knowledge
from tests.builders import record

ON = date(2026, 12, 1)


@cache
def _matcher() -> TrialMatcher:
    return TrialMatcher(load_knowledge().trials)


def study_json(
    *,
    title: str = "Chemotherapy for Newly Diagnosed B Acute Lymphoblastic Leukemia",
    official: str | None = None,
    conditions: tuple[str, ...] = ("B Acute Lymphoblastic Leukemia",),
    keywords: tuple[str, ...] = (),
    status: str | None = "RECRUITING",
    minimum: str | None = "1 Year",
    maximum: str | None = "21 Years",
    sex: str | None = "ALL",
    purpose: str | None = "TREATMENT",
) -> dict[str, Any]:
    eligibility: dict[str, Any] = {"eligibilityCriteria": "Inclusion Criteria: as written by the sponsor."}
    for key, value in (("minimumAge", minimum), ("maximumAge", maximum), ("sex", sex)):
        if value is not None:
            eligibility[key] = value
    identification: dict[str, Any] = {"nctId": "NCT00000001", "briefTitle": title}
    if official:
        identification["officialTitle"] = official
    status_module: dict[str, Any] = {"lastUpdatePostDateStruct": {"date": "2025-01-31"}}
    if status is not None:
        status_module["overallStatus"] = status
    return {
        "protocolSection": {
            "identificationModule": identification,
            "statusModule": status_module,
            "conditionsModule": {"conditions": list(conditions), "keywords": list(keywords)},
            "designModule": {"designInfo": {"primaryPurpose": purpose}},
            "eligibilityModule": eligibility,
        }
    }


def child(
    *,
    birth: date | None = date(2018, 5, 20),
    age_years: float | None = None,
    diagnosis: date | None = None,
    on: date = ON,
    sex: str | None = "female",
    lineage: str | None = "B",
    state: str = "newly_diagnosed",
    relapse_number: int | None = None,
    genetics: frozenset[str] | None = frozenset({"none_detected"}),
    down_syndrome: bool | None = False,
    populations: frozenset[str] = frozenset(),
    risk: str | None = "standard",
) -> TrialPatient:
    labels = {"standard": "standard risk", "high": "high risk", "very_high": "very high risk"}
    return TrialPatient(
        age=age_on(on, birth_date=birth, age_at_diagnosis=age_years, diagnosis_date=diagnosis),
        sex=sex,
        lineage=lineage,
        disease_state=state,  # type: ignore[arg-type]
        relapse_number=relapse_number,
        genetics=genetics,
        down_syndrome=down_syndrome,
        populations=populations,
        known_inputs=frozenset({"age_years"}) if birth or age_years is not None else frozenset(),
        risk_group=risk,
        risk_group_label=labels.get(risk or ""),
    )


def match(patient: TrialPatient, *, wanted: StatusFilter = "any", **study: Any) -> TrialMatch:
    return _matcher().match(parse_study(study_json(**study)), patient, wanted)


def outcome(result: TrialMatch, criterion: str) -> set[str]:
    return {c["outcome"] for c in result["criteria"] if c["criterion"] == criterion}


# ---- reading the registry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("1 Year", 1, "years"),
        ("21 Years", 21, "years"),
        ("6 Months", 6, "months"),
        ("4 Weeks", 4, "weeks"),
        ("365 Days", 365, "days"),
        ("72 Hours", 72, "hours"),
        ("30 Minutes", 30, "minutes"),
        (" 2 years ", 2, "years"),
    ],
)
def test_age_limits_read(text: str, amount: int, unit: str) -> None:
    limit = parse_age_limit(text)
    assert limit is not None and (limit.amount, limit.unit) == (amount, unit)


@pytest.mark.parametrize("text", ["N/A", "", "about 5 years", "5", "-1 Year", "1.5 Years", None])
def test_age_limits_that_are_no_limit(text: str | None) -> None:
    assert parse_age_limit(text) is None


def test_registry_dates() -> None:
    assert parse_registry_date("2025-11-17") == date(2025, 11, 17)
    assert parse_registry_date("2025-11") == date(2025, 11, 1)
    assert parse_registry_date("2025-02-30") is None
    assert parse_registry_date("17 Nov 2025") is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "text",
        [],
        {},
        {"protocolSection": None},
        {
            "protocolSection": {
                "identificationModule": "x",
                "eligibilityModule": [],
                "conditionsModule": {"conditions": "ALL"},
            }
        },
        {
            "protocolSection": {
                "contactsLocationsModule": {"locations": [None, 3, {"geoPoint": {"lat": True, "lon": 2}}]}
            }
        },
    ],
)
def test_a_broken_study_reads_as_empty_fields(raw: object) -> None:
    study = parse_study(raw)
    assert study.nct_id is None and study.conditions == () and study.eligibility.minimum_age is None
    assert all(site.geo_point is None for site in study.locations)


def test_a_site_without_coordinates_is_kept() -> None:
    raw = study_json()
    raw["protocolSection"]["contactsLocationsModule"] = {
        "locations": [
            {"facility": "A", "city": "Omaha", "country": "United States", "geoPoint": {"lat": 41.26, "lon": -95.93}},
            {"facility": "B", "country": "Japan"},
            {"facility": "C", "geoPoint": {"lat": 91.0, "lon": 0.0}},  # off the globe: no coordinates
        ]
    }
    sites = parse_study(raw).locations
    assert [s.facility for s in sites] == ["A", "B", "C"]
    assert sites[0].geo_point is not None and sites[1].geo_point is None and sites[2].geo_point is None


def test_pages_and_lists_of_studies() -> None:
    one = study_json()
    assert len(parse_studies({"studies": [one, one, "junk"]})) == 2
    assert len(parse_studies([one])) == 1
    assert len(parse_studies(one)) == 1
    assert parse_studies({"nextPageToken": "x"}) == []


# ---- age at the search date, at the boundaries ------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 12, 1), "met"),  # the 25th birthday: exactly the maximum
        (date(2026, 11, 30), "met"),  # the last day of being 25
        (date(2026, 12, 1), "not_met"),  # the 26th birthday: one day past
    ],
)
def test_maximum_in_years(on: date, expected: str) -> None:
    result = match(child(birth=date(2000, 12, 1), on=on), minimum="N/A", maximum="25 Years")
    assert outcome(result, "age") == {expected}


@pytest.mark.parametrize(("days", "expected"), [(365, "met"), (366, "not_met")])
def test_maximum_in_days(days: int, expected: str) -> None:
    birth = date(2026, 1, 1)
    on = date.fromordinal(birth.toordinal() + days)
    assert outcome(match(child(birth=birth, on=on), minimum="0 Days", maximum="365 Days"), "age") == {expected}


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (date(2026, 1, 31), date(2026, 7, 30), "not_met"),
        (date(2026, 1, 31), date(2026, 7, 31), "met"),
        (date(2026, 8, 31), date(2027, 2, 28), "met"),  # 6 months end on the last day of a shorter month
        (date(2026, 8, 31), date(2027, 2, 27), "not_met"),
    ],
)
def test_minimum_in_months(birth: date, on: date, expected: str) -> None:
    assert outcome(match(child(birth=birth, on=on), minimum="6 Months", maximum="N/A"), "age") == {expected}


@pytest.mark.parametrize(("days", "expected"), [(27, "not_met"), (28, "met")])
def test_minimum_in_weeks(days: int, expected: str) -> None:
    birth = date(2026, 3, 1)
    on = date.fromordinal(birth.toordinal() + days)
    assert outcome(match(child(birth=birth, on=on), minimum="4 Weeks", maximum=None), "age") == {expected}


@pytest.mark.parametrize(("days", "expected"), [(0, "not_met"), (1, "met")])
def test_minimum_in_days(days: int, expected: str) -> None:
    birth = date(2026, 3, 1)
    on = date.fromordinal(birth.toordinal() + days)
    assert outcome(match(child(birth=birth, on=on), minimum="1 Day", maximum=None), "age") == {expected}


def test_a_newborn_meets_a_minimum_of_zero_days() -> None:
    assert outcome(match(child(birth=ON), minimum="0 Days", maximum="365 Days"), "age") == {"met"}


def test_age_from_age_at_diagnosis_and_the_time_since() -> None:
    # 9.0 at diagnosis two years ago: about 11 now, clearly within 1 to 21 years.
    far = child(birth=None, age_years=9.0, diagnosis=date(2024, 12, 1))
    assert outcome(match(far), "age") == {"met"}
    # 20.99 at diagnosis, diagnosed today: the child may be 20 or already 21 by a rounding: not guessed.
    near = child(birth=None, age_years=21.99, diagnosis=ON)
    result = match(near)
    assert outcome(result, "age") == {"unknown"} and result["verdict"] == "possibly"
    assert "about" in (next(c for c in result["criteria"] if c["criterion"] == "age")["patient_value"] or "")


def test_age_unknown_is_said() -> None:
    result = match(child(birth=None))
    assert outcome(result, "age") == {"unknown"} and result["verdict"] == "possibly"
    assert outcome(match(child(birth=None), minimum="N/A", maximum=None), "age") == {"met"}


def test_an_unreadable_age_limit_is_unknown_not_ignored() -> None:
    assert outcome(match(child(), maximum="eighteen years"), "age") == {"unknown"}


# ---- the other criteria -----------------------------------------------------------------------------------


def test_sex() -> None:
    assert outcome(match(child(sex="male"), sex="FEMALE"), "sex") == {"not_met"}
    assert outcome(match(child(sex="female"), sex="FEMALE"), "sex") == {"met"}
    assert outcome(match(child(sex=None), sex="MALE"), "sex") == {"unknown"}
    assert outcome(match(child(sex=None), sex=None), "sex") == {"met"}


@pytest.mark.parametrize(
    ("status", "wanted", "expected"),
    [
        ("RECRUITING", "recruiting", "met"),
        ("NOT_YET_RECRUITING", "recruiting", "not_met"),
        ("NOT_YET_RECRUITING", "open", "met"),
        ("ENROLLING_BY_INVITATION", "open", "met"),
        ("ACTIVE_NOT_RECRUITING", "open", "not_met"),
        ("COMPLETED", "any", "met"),
        (None, "open", "unknown"),
    ],
)
def test_status_filter(status: str | None, wanted: StatusFilter, expected: str) -> None:
    assert outcome(match(child(), wanted=wanted, status=status), "status") == {expected}


def test_disease() -> None:
    lymphoma = match(child(), title="Therapy for Lymphoblastic Lymphoma", conditions=("T Lymphoblastic Lymphoma",))
    assert outcome(lymphoma, "disease") == {"not_met"}
    # "all" in lower case is the English word, not the disease.
    vague = match(child(), title="A study for all children with cancer", conditions=("Cancer",))
    assert outcome(vague, "disease") == {"unknown"}
    assert outcome(match(child(), title="CAR T Cells in Pediatric ALL Patients", conditions=()), "disease") == {"met"}


def test_lineage() -> None:
    t_study: dict[str, Any] = {"title": "Newly Diagnosed T-ALL", "conditions": ("T Acute Lymphoblastic Leukemia",)}
    assert outcome(match(child(lineage="B"), **t_study), "lineage") == {"not_met"}
    assert outcome(match(child(lineage=None), **t_study), "lineage") == {"unknown"}
    both = match(child(lineage="T"), conditions=("B Acute Lymphoblastic Leukemia", "T Acute Lymphoblastic Leukemia"))
    assert outcome(both, "lineage") == {"met"}


def test_disease_state() -> None:
    relapse: dict[str, Any] = {
        "title": "Blinatumomab in Relapsed B-ALL",
        "conditions": ("Recurrent B Acute Lymphoblastic Leukemia",),
    }
    assert outcome(match(child(), **relapse), "disease_state") == {"not_met"}
    assert outcome(match(child(state="relapsed", relapse_number=1), **relapse), "disease_state") == {"met"}
    # Refractory disease is not relapse: the study's text must say whether it takes it.
    assert outcome(match(child(state="refractory"), **relapse), "disease_state") == {"unknown"}
    both: dict[str, Any] = {"title": "Inotuzumab in Relapsed or Refractory B-ALL"}
    assert outcome(match(child(state="refractory"), **both), "disease_state") == {"met"}
    assert outcome(match(child(state="relapsed", relapse_number=1)), "disease_state") == {"not_met"}  # frontline


def test_first_relapse_only() -> None:
    first: dict[str, Any] = {"title": "Blinatumomab in First Relapse of B-ALL"}
    assert outcome(match(child(state="relapsed", relapse_number=1), **first), "disease_state") == {"met"}
    assert outcome(match(child(state="relapsed", relapse_number=2), **first), "disease_state") == {"not_met"}
    assert outcome(match(child(state="relapsed", relapse_number=None), **first), "disease_state") == {"unknown"}


def test_a_state_word_in_another_disease_says_nothing_about_all() -> None:
    # NCI condition lists: "Recurrent ... Acute Myeloid Leukemia" does not make a study one for relapsed ALL.
    study: dict[str, Any] = {
        "title": "Antibiotics During Therapy for Acute Leukemia",
        "conditions": ("Acute Lymphoblastic Leukemia", "Recurrent Childhood Acute Myeloid Leukemia"),
    }
    assert outcome(match(child(), **study), "disease_state") == {"unknown"}
    assert outcome(match(child(), purpose="SUPPORTIVE_CARE", **study), "disease_state") == {"met"}


def test_required_subgroup() -> None:
    ph: dict[str, Any] = {"title": "Imatinib in Newly Diagnosed Philadelphia Chromosome Positive ALL"}
    assert outcome(match(child(genetics=frozenset({"BCR::ABL1"})), **ph), "subgroup") == {"met"}
    assert outcome(match(child(), **ph), "subgroup") == {"not_met"}
    assert outcome(match(child(genetics=None), **ph), "subgroup") == {"unknown"}
    # "Ph+ or Ph-like": a child without BCR::ABL1 may have Ph-like ALL, which the record does not say.
    either: dict[str, Any] = {"title": "Dasatinib for Ph+ or ABL-Class Ph-Like B-ALL"}
    assert outcome(match(child(), **either), "subgroup") == {"unknown"}


def test_a_subtype_in_the_condition_list_does_not_make_a_study_for_it() -> None:
    listed: dict[str, Any] = {"conditions": ("B Acute Lymphoblastic Leukemia", "Philadelphia Chromosome Positive")}
    assert outcome(match(child(), **listed), "subgroup") == set()
    # and for a Ph+ child it is not read as taking Ph+ either: the entry does not say.
    assert outcome(match(child(genetics=frozenset({"BCR::ABL1"})), **listed), "subgroup") == {"unknown"}


def test_down_syndrome_named_in_the_conditions() -> None:
    named: dict[str, Any] = {"conditions": ("B Acute Lymphoblastic Leukemia", "Down Syndrome")}
    assert outcome(match(child(down_syndrome=True), **named), "subgroup") == {"met"}
    assert outcome(match(child(down_syndrome=True)), "subgroup") == {"unknown"}
    assert outcome(match(child(down_syndrome=None), **named), "subgroup") == set()


def test_verdict() -> None:
    result = match(child())
    assert result["verdict"] == "eligible" and all(c["outcome"] == "met" for c in result["criteria"])
    assert result["eligibility_text"] == "Inclusion Criteria: as written by the sponsor."
    assert verdict_of([]) == "eligible"
    assert match(child(sex="male"), sex="FEMALE")["verdict"] == "not_eligible"


def test_the_patient_from_a_built_record() -> None:
    patient = parse_record(record(age_years=None, birth_date="2019-02-28", diagnosis_date="2026-11-02", sex="female"))
    seen = trial_patient(patient, assess(patient, load_knowledge()), ON)
    assert seen.disease_state == "newly_diagnosed" and seen.lineage == "B" and seen.sex == "female"
    assert seen.age is not None and seen.age.basis == "birth_date"
    assert match(seen)["verdict"] == "eligible"


# ---- the risk group of newly diagnosed ALL ------------------------------------------------------------------


def risks(title: str, **study: Any) -> frozenset[str]:
    return _matcher().read(parse_study(study_json(title=title, **study))).risk_groups


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Chemotherapy in Newly Diagnosed Standard Risk B-ALL", {"standard"}),
        ("Chemotherapy in Newly Diagnosed Standard-Risk B-ALL", {"standard"}),
        ("Inotuzumab in Newly Diagnosed High-Risk B-ALL", {"high"}),
        ("Inotuzumab in Newly Diagnosed High Risk B-ALL", {"high"}),
        # "Very high risk" is its own group, never also "high risk".
        ("Blinatumomab in Newly Diagnosed Very High Risk B-ALL", {"very_high"}),
        ("Blinatumomab in Newly Diagnosed Very High-Risk B-ALL", {"very_high"}),
        ("Blinatumomab in Newly Diagnosed Very-High-Risk B-ALL", {"very_high"}),
        ("Newly Diagnosed High-Risk and Very High-Risk B-ALL", {"high", "very_high"}),
        ("Newly Diagnosed Standard and High Risk ALL", {"high"}),  # "Standard" alone names no group
        ("Newly Diagnosed Standard-Risk or High-Risk ALL", {"standard", "high"}),
        # Whole words: "every" is not "very", "higher risk" is not "high risk".
        ("Newly Diagnosed ALL at Every High Risk Site", {"high"}),
        ("Newly Diagnosed ALL at Higher Risk of Infection", set()),
        # Only for newly diagnosed disease and no other state: a relapse risk group is another scheme.
        ("Blinatumomab in High Risk First Relapse B-ALL", set()),
        ("Newly Diagnosed or Relapsed High-Risk B-ALL", set()),
        ("High-Risk B-ALL", set()),  # no state named: the setting of the words is not known
    ],
)
def test_the_risk_group_a_study_names(title: str, expected: set[str]) -> None:
    assert risks(title) == expected


def test_risk_words_are_read_in_keywords_and_all_conditions_not_in_other_diseases() -> None:
    assert risks("Newly Diagnosed B-ALL", keywords=("standard risk",)) == {"standard"}
    assert risks("Newly Diagnosed B-ALL", conditions=("High-Risk B Acute Lymphoblastic Leukemia",)) == {"high"}
    other = ("B Acute Lymphoblastic Leukemia", "High Risk Neuroblastoma")
    assert risks("Newly Diagnosed B-ALL", conditions=other) == set()


STANDARD: dict[str, Any] = {"title": "Chemotherapy in Newly Diagnosed Standard Risk B-ALL"}
HIGH: dict[str, Any] = {"title": "Inotuzumab in Newly Diagnosed High-Risk B-ALL"}
VERY_HIGH: dict[str, Any] = {"title": "Blinatumomab in Newly Diagnosed Very High Risk B-ALL"}


@pytest.mark.parametrize(
    ("risk", "study", "expected"),
    [
        ("standard", STANDARD, "met"),
        ("high", STANDARD, "not_met"),
        ("very_high", STANDARD, "not_met"),
        ("standard", HIGH, "not_met"),
        ("high", HIGH, "met"),
        ("very_high", HIGH, "unknown"),  # some high-risk studies take very high risk: their text says
        ("standard", VERY_HIGH, "unknown"),  # very high risk is often set by the response, after entry
        ("high", VERY_HIGH, "unknown"),
        ("very_high", VERY_HIGH, "met"),
        (None, STANDARD, "unknown"),
        (None, HIGH, "unknown"),
    ],
)
def test_risk_group_criterion(risk: str | None, study: dict[str, Any], expected: str) -> None:
    result = match(child(risk=risk), **study)
    assert outcome(result, "risk_group") == {expected}
    found = next(c for c in result["criteria"] if c["criterion"] == "risk_group")
    assert found["explanation"].startswith("The study is for ")
    if risk is not None:
        assert f"the child's risk group is {found['patient_value']}" in found["explanation"]


def test_a_t_cell_child_is_not_compared_with_a_study_risk_group() -> None:
    # The NCI groups are for B-cell ALL; a T-ALL study's standard risk comes from the response (AALL1231).
    t_study: dict[str, Any] = {
        "title": "Chemotherapy in Newly Diagnosed Standard-Risk T-Cell Acute Lymphoblastic Leukemia"
    }
    result = match(child(lineage="T", risk="high"), **t_study)
    assert outcome(result, "risk_group") == {"unknown"} and outcome(result, "lineage") == {"met"}
    assert "own rules" in next(c for c in result["criteria"] if c["criterion"] == "risk_group")["explanation"]
    assert outcome(match(child(lineage=None, risk="high"), **STANDARD), "risk_group") == {"not_met"}


def test_no_risk_criterion_when_the_study_names_no_risk_group() -> None:
    assert outcome(match(child(risk="high")), "risk_group") == set()
    assert match(child(risk="high"))["verdict"] == "eligible"


def test_a_child_not_newly_diagnosed_has_no_frontline_risk_group() -> None:
    result = match(child(state="refractory", risk=None), **HIGH)
    found = next(c for c in result["criteria"] if c["criterion"] == "risk_group")
    assert found["outcome"] == "unknown" and "only for newly diagnosed" in found["explanation"]


@pytest.mark.parametrize(
    ("age_years", "wbc", "standard", "high"),
    [
        (9.9, 49_999, "met", "not_met"),  # NCI standard risk: 1 to under 10 years, count under 50,000
        (10.0, 49_999, "not_met", "met"),  # age 10: high risk
        (9.9, 50_000, "not_met", "met"),  # a count of exactly 50,000: high risk
        (1.0, 10_000, "met", "not_met"),  # the first birthday: standard risk
        (None, 10_000, "unknown", "unknown"),
        (5.0, None, "unknown", "unknown"),
    ],
)
def test_risk_group_from_the_assessment_at_its_boundaries(
    age_years: float | None, wbc: int | None, standard: str, high: str
) -> None:
    patient = parse_record(record(age_years=age_years, wbc_per_ul=wbc))
    seen = trial_patient(patient, assess(patient, load_knowledge()), ON)
    assert outcome(match(seen, **STANDARD), "risk_group") == {standard}
    assert outcome(match(seen, **HIGH), "risk_group") == {high}


def test_down_syndrome_as_another_way_into_a_risk_group_study() -> None:
    either: dict[str, Any] = {"title": "Newly Diagnosed Standard Risk or Down Syndrome B-ALL"}
    assert outcome(match(child(risk="high", down_syndrome=True), **either), "risk_group") == {"met"}
    assert outcome(match(child(risk="high", down_syndrome=False), **either), "risk_group") == {"not_met"}
    assert outcome(match(child(risk="high", down_syndrome=None), **either), "risk_group") == {"unknown"}
    assert outcome(match(child(risk="standard", down_syndrome=None), **either), "risk_group") == {"met"}
    # Only a title's "or Down syndrome" opens the study: a condition list naming it does not.
    listed: dict[str, Any] = {**STANDARD, "conditions": ("B Acute Lymphoblastic Leukemia", "Down Syndrome")}
    assert outcome(match(child(risk="high", down_syndrome=True), **listed), "risk_group") == {"not_met"}


def test_a_relapse_study_without_a_relapse_number_says_its_text_may_limit_it() -> None:
    result = match(child(state="relapsed", relapse_number=1), title="CAR T Cells in Relapsed B-ALL")
    state = next(c for c in result["criteria"] if c["criterion"] == "disease_state")
    assert state["outcome"] == "met" and "eligibility text" in state["explanation"]
    assert result["verdict"] == "eligible"


# ---- one matcher shared by searches -----------------------------------------------------------------------


def _studies_for_searches() -> list[Any]:
    titles = (
        "Chemotherapy in Newly Diagnosed Standard Risk B-ALL",
        "Inotuzumab in Newly Diagnosed High-Risk B-ALL",
        "Blinatumomab in First Relapse of B-ALL",
        "Imatinib in Newly Diagnosed Philadelphia Chromosome Positive ALL",
        "Newly Diagnosed Standard Risk or Down Syndrome B-ALL",
    )
    limits = (("1 Year", "9 Years"), ("1 Year", "21 Years"), ("10 Years", "30 Years"))
    return [
        parse_study(study_json(title=title, minimum=low, maximum=high, status=status))
        for title in titles
        for low, high in limits
        for status in ("RECRUITING", "COMPLETED")
    ]


def _two_children() -> tuple[TrialPatient, TrialPatient]:
    young = child(birth=date(2021, 8, 14), risk="standard")
    older = child(birth=date(2012, 1, 1), risk="high", genetics=frozenset({"BCR::ABL1"}), down_syndrome=True)
    return young, older


def test_two_searches_interleaved_each_keep_their_own_criteria() -> None:
    studies = _studies_for_searches()
    young, older = _two_children()
    alone = {who: [_matcher().search(who, "open").match(s) for s in studies] for who in (young, older)}
    assert alone[young] != alone[older]
    shared = TrialMatcher(load_knowledge().trials)
    first, second = shared.search(young, "open"), shared.search(older, "recruiting")
    mixed: dict[str, list[TrialMatch]] = {"young": [], "older": []}
    for study in studies:  # one study for one child, then for the other, on the same matcher
        mixed["young"].append(first.match(study))
        mixed["older"].append(second.match(study))
    assert mixed["young"] == alone[young]
    assert mixed["older"] == [_matcher().search(older, "recruiting").match(s) for s in studies]


def test_searches_in_threads_on_one_matcher_need_no_lock() -> None:
    studies = _studies_for_searches() * 40
    young, older = _two_children()
    shared = TrialMatcher(load_knowledge().trials)
    readings = [shared.read(s) for s in studies]
    expected = {who: [_matcher().search(who, "any").match(s) for s in studies] for who in (young, older)}

    def run(who: TrialPatient) -> list[TrialMatch]:
        search = shared.search(who, "any")
        return [search.match(s, r) for s, r in zip(studies, readings, strict=True)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(who, pool.submit(run, who)) for who in (young, older) * 4]
        for who, future in futures:
            assert future.result() == expected[who]


def test_studies_of_one_kind_share_their_numbers_and_others_do_not() -> None:
    reader = TrialMatcher(load_knowledge().trials)
    same = [
        reader.read(parse_study(study_json(title="Chemotherapy in Newly Diagnosed Standard Risk B-ALL", maximum=age)))
        for age in ("9 Years", "21 Years")  # the age limits are not words: the same kind
    ]
    assert same[0].kinds == same[1].kinds and same[0].kind == same[1].kind
    other = reader.read(parse_study(study_json(title="Chemotherapy in Newly Diagnosed High Risk B-ALL")))
    assert other.kinds[3] != same[0].kinds[3]  # only the risk group differs
    assert other.kinds[:3] == same[0].kinds[:3] and other.kind != same[0].kind


def test_a_reading_of_another_matcher_is_read_again() -> None:
    # Kinds are numbered by the reader: a reading from another matcher must not pick another study's criteria.
    first, second = TrialMatcher(load_knowledge().trials), TrialMatcher(load_knowledge().trials)
    standard = parse_study(study_json(title="Chemotherapy in Newly Diagnosed Standard Risk B-ALL"))
    high = parse_study(study_json(title="Inotuzumab in Newly Diagnosed High-Risk B-ALL"))
    second.read(standard)  # the second matcher numbers the standard-risk study's kinds first
    search = second.search(child(risk="standard"), "any")
    assert outcome(search.match(standard), "risk_group") == {"met"}
    # The first matcher gives the high-risk study the numbers the second gave the standard-risk one.
    foreign = first.read(high)
    assert foreign.kind == second.read(standard).kind
    assert outcome(search.match(high, foreign), "risk_group") == {"not_met"}
