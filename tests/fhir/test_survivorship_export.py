"""The survivorship plan and the treatment roadmap as CarePlans, and the second-opinion package that holds them:
valid R4 (fhir.resources R4B models), one activity per follow-up item with its test, interval, first date, late
effect, confidence and citations; the roadmap's dated phases; included only when there is treatment to follow."""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given

from allpath.domain.record import parse_record
from allpath.domain.results import SurvivorshipPlan
from allpath.engine.assess import assess
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.interfaces.fhir import (
    import_bundle,
    patient_references,
    record_to_bundle,
    roadmap_care_plan,
    second_opinion_bundle,
    survivorship_care_plan,
)
from allpath.interfaces.fhir.codes import LOCAL_SYSTEM, extension_url
from allpath.interfaces.fhir.package import second_opinion
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import record_package
from tests.conftest import EXAMPLES, GOLDEN
from tests.fhir.conftest import as_json
from tests.fhir.test_export import validate_every_entry
from tests.fhir.test_round_trip import extended_records
from tests.property.strategies import PROPERTY_SETTINGS

SURVIVORSHIP_CATEGORY = "survivorship-care-plan"
ROADMAP_CATEGORY = "treatment-roadmap"


def _golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "survivorship" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _example(name: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    record.update(changes)
    return record


def _plan_of(record: dict[str, Any], kb: KnowledgeBase) -> SurvivorshipPlan:
    parsed = parse_record(record)
    return survivorship_plan(parsed, kb, build_roadmap(parsed, assess(parsed, kb), kb))


def _extensions(element: dict[str, Any], name: str) -> list[Any]:
    found = []
    for extension in element.get("extension", []):
        if extension["url"] == extension_url(name):
            found.append(next(v for k, v in extension.items() if k.startswith("value") or k == "extension"))
    return found


def _care_plans(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The bundle's CarePlans by category code ("" for the assessment's plan, which has none)."""
    plans = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "CarePlan":
            category = resource.get("category", [{"coding": [{"code": ""}]}])[0]["coding"][0]["code"]
            plans[category] = resource
    return plans


def _valid(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


# ---- the survivorship CarePlan ---------------------------------------------------------------------------


def test_each_follow_up_item_is_an_activity_with_test_interval_first_date_and_citations(kb: KnowledgeBase) -> None:
    case = _golden("cyclophosphamide_boy")
    plan = _plan_of(case["record"], kb)
    assert plan["items"] == case["survivorship"]["items"]  # the golden file is the engine's answer
    resource = as_json(survivorship_care_plan(plan, "Patient/p", "Condition/c"))
    _valid(resource)
    assert resource["status"] == "draft" and resource["intent"] == "proposal"
    assert resource["category"][0]["coding"][0] == {
        "system": LOCAL_SYSTEM,
        "code": SURVIVORSHIP_CATEGORY,
        "display": "Survivorship care plan (follow-up after treatment)",
    }
    assert resource["period"] == {"start": "2018-09-01"}  # follow-up counts from the end of therapy
    assert resource["addresses"] == [{"reference": "Condition/c"}]
    assert _extensions(resource, "exposure-basis") == ["recorded"]
    assert _extensions(resource, "provisional") == [False]
    (item,) = plan["items"]
    (activity,) = resource["activity"]
    detail = activity["detail"]
    assert detail["code"]["coding"][0]["code"] == f"survivorship.{item['id']}"
    assert detail["code"]["text"] == item["test"] == "pubertal development check"
    assert detail["reasonCode"] == [{"text": item["late_effect"]}]
    assert detail["status"] == "not-started"
    # once a year from age 10; the first check between age 10 and 12
    assert detail["scheduledTiming"]["repeat"] == {
        "frequency": 1,
        "period": 1,
        "periodUnit": "a",
        "boundsPeriod": {"start": "2022-03-15"},
    }
    assert _extensions(detail, "first-due") == [{"start": "2022-03-15", "end": "2024-03-15"}]
    assert _extensions(detail, "confidence") == ["high"]
    assert _extensions(detail, "strength") == ["recommended"]
    citations = [{e["url"]: e["valueString"] for e in parts} for parts in _extensions(detail, "citation")]
    assert citations == [
        {k: v for k, v in evidence.items() if k in ("document", "section", "reference")}
        for evidence in item["evidence"]
    ]
    for evidence in item["evidence"]:
        assert evidence["section"] in detail["description"] and evidence["reference"] in detail["description"]
    assert "every year" in detail["description"] and "2024-03-15" in detail["description"]
    notes = " ".join(n["text"] for n in resource["note"])
    assert "Based on: the treatment recorded as given." in notes
    assert "Not covered by allpath's sources: Schedules for thinking-and-learning" in notes


def test_an_interval_in_years_and_a_first_date_no_later_than(kb: KnowledgeBase) -> None:
    case = _golden("daunorubicin_500")
    resource = as_json(survivorship_care_plan(case["survivorship"], "Patient/p"))
    _valid(resource)
    (activity,) = resource["activity"]
    detail = activity["detail"]
    assert detail["code"]["text"] == "echocardiogram"
    assert detail["scheduledTiming"] == {"repeat": {"frequency": 1, "period": 2, "periodUnit": "a"}}
    assert _extensions(detail, "first-due") == [{"end": "2019-02-13"}]
    assert "no later than 2019-02-13" in detail["description"]
    assert "every 2 years" in detail["description"]
    assert _extensions(detail, "strength") == ["recommended"]


def test_without_an_interval_the_first_date_is_the_schedule(kb: KnowledgeBase) -> None:
    """A plan "may be reasonable" has no interval in the sources: only the first echocardiogram is dated."""
    case = _golden("daunorubicin_150")
    resource = as_json(survivorship_care_plan(case["survivorship"], "Patient/p"))
    _valid(resource)
    (activity,) = resource["activity"]
    assert "scheduledTiming" not in activity["detail"]
    assert activity["detail"]["scheduledString"] == "no later than 2018-10-17"
    assert activity["progress"] == [{"text": "the screening schedule is not covered by allpath's sources"}]


def test_items_outside_the_sources_are_activities_marked_not_covered(kb: KnowledgeBase) -> None:
    case = _golden("cyclophosphamide_girl")
    resource = as_json(survivorship_care_plan(case["survivorship"], "Patient/p"))
    _valid(resource)
    (activity,) = resource["activity"]
    detail = activity["detail"]
    assert detail["status"] == "not-started"
    assert activity["progress"] == [{"text": "not covered by allpath's sources"}]
    assert detail["description"].startswith("Not covered by allpath's sources:")
    assert not any(key.startswith("scheduled") for key in detail)


def test_a_provisional_plan_names_what_it_waits_for(kb: KnowledgeBase) -> None:
    case = _golden("doxorubicin_course_without_dose")
    resource = as_json(survivorship_care_plan(case["survivorship"], "Patient/p"))
    _valid(resource)
    assert _extensions(resource, "provisional") == [True]
    notes = [n["text"] for n in resource["note"]]
    assert "Provisional, waiting for: exposures.courses[1].dose_mg_per_m2" in notes


def test_every_golden_survivorship_plan_exports_as_valid_r4(kb: KnowledgeBase) -> None:
    for path in sorted((GOLDEN / "survivorship").glob("*.json")):
        plan = json.loads(path.read_text(encoding="utf-8"))["survivorship"]
        resource = as_json(survivorship_care_plan(plan, "Patient/p", "Condition/c"))
        _valid(resource)
        assert len(resource.get("activity", [])) == len(plan["items"]), path.name


# ---- the roadmap CarePlan --------------------------------------------------------------------------------


def test_the_roadmap_is_a_care_plan_with_dated_phases_and_checkpoints(kb: KnowledgeBase) -> None:
    record = _example("standard_risk", treatment_start_date="2026-01-05")
    parsed = parse_record(record)
    roadmap = build_roadmap(parsed, assess(parsed, kb), kb)
    resource = as_json(roadmap_care_plan(roadmap, "Patient/p", "Condition/c"))
    _valid(resource)
    assert resource["category"][0]["coding"][0]["code"] == ROADMAP_CATEGORY
    end, regimen = roadmap["end_of_therapy"], roadmap["regimen"]
    assert end is not None and regimen is not None
    assert resource["period"] == {"start": "2026-01-05", "end": end["date"]}
    assert regimen["label"] in resource["title"]
    details = [a["detail"] for a in resource["activity"]]
    phases = details[: len(roadmap["phases"])]
    for order, (detail, phase) in enumerate(zip(phases, roadmap["phases"], strict=True), start=1):
        assert detail["code"]["coding"][0]["code"] == f"roadmap_phase.{phase['id']}"
        assert detail["scheduledPeriod"] == {"start": phase["start"], "end": phase["end"]}
        assert _extensions(detail, "phase-order") == [order]
        for drug in phase["drugs"]:
            assert drug["drug"] in detail["description"]
    checkpoints = details[len(roadmap["phases"]) :]
    assert [d["code"]["text"] for d in checkpoints] == [c["label"] for c in roadmap["checkpoints"]]
    for detail, checkpoint in zip(checkpoints, roadmap["checkpoints"], strict=True):
        assert detail["scheduledPeriod"] == {"start": checkpoint["date"], "end": checkpoint["date"]}
        assert detail["status"] == ("completed" if checkpoint["result_known"] else "not-started")
    assert any("dates assume no delays" in n["text"] for n in resource["note"])


def test_an_undated_roadmap_gives_lengths_in_words(kb: KnowledgeBase) -> None:
    parsed = parse_record(_example("high_risk_age"))
    roadmap = build_roadmap(parsed, assess(parsed, kb), kb)
    resource = as_json(roadmap_care_plan(roadmap, "Patient/p"))
    _valid(resource)
    assert "period" not in resource
    first = resource["activity"][0]["detail"]
    assert "scheduledPeriod" not in first and first["scheduledString"] == "4 weeks"
    assert any("Not dated" in n["text"] for n in resource["note"])


# ---- the second-opinion package ------------------------------------------------------------------------


def test_the_package_holds_the_roadmap_and_the_survivorship_plan(kb: KnowledgeBase) -> None:
    record = _example("standard_risk", treatment_start_date="2026-01-05")
    bundle = as_json(second_opinion(record, kb))
    validate_every_entry(bundle)
    plans = _care_plans(bundle)
    assert set(plans) == {"", ROADMAP_CATEGORY, SURVIVORSHIP_CATEGORY}
    patient_url, condition_url = patient_references(record)
    assert {e["fullUrl"] for e in bundle["entry"]} >= {patient_url, condition_url}
    for plan in plans.values():
        assert plan["subject"] == {"reference": patient_url}
        assert plan["addresses"] == [{"reference": condition_url}]
    assert _extensions(plans[SURVIVORSHIP_CATEGORY], "exposure-basis") == ["planned"]
    assert _extensions(plans[ROADMAP_CATEGORY], "knowledge-version") == [kb.version]
    # the package still reads back to the record
    assert import_bundle(bundle).record == record


def test_recorded_exposures_give_a_survivorship_plan_without_a_regimen(kb: KnowledgeBase) -> None:
    record = _golden("cyclophosphamide_boy")["record"]  # no age or white count: no regimen
    bundle = as_json(second_opinion(record, kb))
    validate_every_entry(bundle)
    assert set(_care_plans(bundle)) == {"", SURVIVORSHIP_CATEGORY}


def test_no_regimen_and_no_exposures_means_no_extra_care_plans(kb: KnowledgeBase) -> None:
    record = {"age_years": 4}
    package = record_package(kb, record)
    assessment, roadmap, survivorship = package.assessment, package.roadmap, package.survivorship
    assert roadmap["regimen"] is None and survivorship["basis"] == "none"
    bundle = as_json(second_opinion_bundle(record, assessment, survivorship=survivorship, roadmap=roadmap))
    assert set(_care_plans(bundle)) == {""}
    # the old two-argument form is unchanged
    assert second_opinion_bundle(record, assessment) == bundle
    record_entries = as_json(record_to_bundle(record))["entry"]
    assert bundle["entry"][: len(record_entries)] == record_entries


@PROPERTY_SETTINGS
@given(extended_records())
def test_every_package_is_valid_r4(kb: KnowledgeBase, record: dict[str, Any]) -> None:
    validate_every_entry(second_opinion(record, kb))
