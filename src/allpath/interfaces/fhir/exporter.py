"""Patient record and its results -> FHIR R4 resources (JSON dicts), one module per resource kind:

- ``bundle.record_to_bundle``: a collection Bundle (Patient, Conditions, Observations, MedicationAdministrations,
  Procedures) that ``import_bundle`` reads back to the same record.
- ``assessment.risk_observation``: the assessment's risk groups as an mCODE ALL risk assessment Observation.
- ``assessment.care_plan``: the plan as a CarePlan with one contained CarePlan per phase and one activity per
  therapy and drug, each with its certainty and citation.
- ``roadmap.roadmap_care_plan``: the treatment roadmap as a CarePlan with the dated phases and response tests.
- ``survivorship.survivorship_care_plan``: the survivorship plan as a CarePlan with one activity per follow-up
  item.
- ``second_opinion_bundle`` (here): all of the above in one collection Bundle.

The functions build plain dicts and do no I/O; identifiers are derived from the content (uuid5), so the same
input always gives the same output. Values are copied, never logged.
"""

from __future__ import annotations

from collections.abc import Mapping

from allpath.domain.results import Assessment, Roadmap, SurvivorshipPlan
from allpath.interfaces.fhir.assessment import care_plan, risk_observation
from allpath.interfaces.fhir.bundle import entry_url, patient_references, record_bundle_entries, record_to_bundle
from allpath.interfaces.fhir.elements import Resource
from allpath.interfaces.fhir.roadmap import roadmap_care_plan
from allpath.interfaces.fhir.survivorship import survivorship_care_plan

__all__ = [
    "care_plan",
    "patient_references",
    "record_to_bundle",
    "risk_observation",
    "roadmap_care_plan",
    "second_opinion_bundle",
    "survivorship_care_plan",
]


def second_opinion_bundle(
    record: Mapping[str, object],
    assessment: Assessment,
    survivorship: SurvivorshipPlan | None = None,
    roadmap: Roadmap | None = None,
) -> Resource:
    """The record's resources, the risk assessment Observation and the CarePlan in one collection Bundle;
    with the roadmap CarePlan when a ``roadmap`` with a regimen is given, and the survivorship CarePlan when a
    ``survivorship`` plan is given that rests on treatment (recorded exposures or the roadmap's regimen)."""
    entries = record_bundle_entries(record)
    patient, condition = patient_references(record)

    def add(role: str, resource: Resource) -> None:
        entries.append({"fullUrl": entry_url(record, role), "resource": resource})

    diagnosis = record.get("diagnosis_date")
    # The risk groups are those of the disease diagnosed on that date; the record dates nothing later.
    add("risk-assessment", risk_observation(assessment, patient, condition, str(diagnosis) if diagnosis else None))
    add("care-plan", care_plan(assessment, patient, condition))
    if roadmap is not None and roadmap.get("regimen"):
        add("roadmap", roadmap_care_plan(roadmap, patient, condition))
    if survivorship is not None and survivorship.get("basis") in ("recorded", "planned"):
        add("survivorship", survivorship_care_plan(survivorship, patient, condition))
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
