"""The trial matching engine on small studies built here (issue 13): the reading of a registry study, each
criterion, the age limits at their boundaries and the verdict. The study JSON has the API v2 shape."""

from __future__ import annotations

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
) -> TrialPatient:
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
