"""The assessment as FHIR R4: its risk groups as an mCODE ALL risk assessment Observation, its plan as a
proposed CarePlan (decision support, not an order)."""

from __future__ import annotations

from allpath.domain.results import Assessment, PendingElement, PlanDrug, PlanPhase, PlanTherapy
from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import (
    DISCLAIMER,
    Reference,
    Resource,
    absent,
    category,
    citation,
    citation_extension,
    component,
    effective,
    reference,
    versions,
)
from allpath.interfaces.fhir.narrative import with_narrative

PERFORMER = {"display": "allpath decision support (software; the care team reviews every result)"}
"""Who made the risk assessment (mCODE must-support ``performer``): allpath, named in words. R4 lets a
performer be a Practitioner, PractitionerRole, Organization, CareTeam, Patient or RelatedPerson, none of which
software is, so the reference carries the display alone (no resource is claimed)."""


def _risk_components(assessment: Assessment, waiting: bool) -> list[Resource]:
    """Disease state, COG group and (for a relapse) the relapse risk group, with local codes."""
    state = assessment.get("disease_state") or "newly_diagnosed"
    components = [component("disease_state", {"valueCodeableConcept": c.value_cc("disease_state", state)})]
    cog = assessment.get("cog_risk_group")
    cog_value = (
        {"valueCodeableConcept": c.value_cc("cog_risk_group", cog)}
        if cog
        else absent("temp-unknown" if waiting else "not-applicable")
    )
    components.append(component("cog_risk_group", cog_value))
    relapse = assessment.get("relapse")
    if relapse:
        group = relapse.get("risk_group")
        value = {"valueCodeableConcept": c.value_cc("relapse_risk_group", group)} if group else absent("temp-unknown")
        components.append(component("relapse_risk_group", value))
    return components


def _risk_notes(assessment: Assessment) -> list[dict[str, str]]:
    """Each factor with its citation, what is missing, and the disclaimer."""
    notes = []
    for factor in assessment.get("factors") or []:
        text = f"{factor.get('id')}: {factor.get('explanation', '')}"
        if factor.get("confidence"):
            text += f" (confidence: {factor['confidence']})"
        if factor.get("source"):
            text += f" Source: {citation(factor['source'])}."
        notes.append({"text": text})
    if assessment.get("missing"):
        notes.append({"text": "Missing inputs that could change this assessment: " + ", ".join(assessment["missing"])})
    if assessment.get("disclaimer"):
        notes.append({"text": str(assessment["disclaimer"])})
    return notes


def risk_observation(
    assessment: Assessment,
    patient_ref: Reference,
    condition_ref: Reference | None = None,
    effective_date: str | None = None,
) -> Resource:
    """The assessment's risk groups as an Observation of the mCODE ALL risk assessment profile.

    ``value``: the source's group (standard/high from the mCODE value set, very high local), or a
    dataAbsentReason; ``component``: disease state, COG group, relapse risk group (local codes). Status
    ``final`` only when the assessment is not provisional. Factor citations are notes. ``effective``: the date
    the assessment refers to (the package gives the diagnosis date), or the data-absent-reason ``unknown``;
    ``performer``: allpath in words.
    """
    state = assessment.get("disease_state") or "newly_diagnosed"
    provisional = bool(assessment.get("provisional"))
    waiting = provisional and state == "newly_diagnosed"
    resource: Resource = {
        "resourceType": "Observation",
        "meta": {"profile": [c.MCODE["all_risk_assessment"]]},
        "extension": [
            *versions(assessment),
            {"url": c.extension_url("provisional"), "valueBoolean": provisional},
        ],
        "status": "preliminary" if provisional else "final",
        "category": category("exam"),
        "code": c.concept_cc("all_risk_assessment"),
        "subject": reference(patient_ref),
    }
    if condition_ref is not None:
        resource["focus"] = [reference(condition_ref)]
    resource.update(effective(effective_date))
    resource["performer"] = [dict(PERFORMER)]
    group = assessment.get("risk_group")
    if group:
        resource["valueCodeableConcept"] = c.value_cc("risk_group", group)
    else:
        resource.update(absent("temp-unknown" if waiting else "not-applicable"))
    resource["component"] = _risk_components(assessment, waiting)
    notes = _risk_notes(assessment)
    if notes:
        resource["note"] = notes
    return with_narrative(resource)


# ---- the plan -------------------------------------------------------------------------------------------


def _drug_cc(name: str) -> Resource:
    if name in c.value_tokens("drug"):
        return c.value_cc("drug", name)
    return {"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("drug", name), "display": name}], "text": name}


def _activity(kind: str, concept: Resource, item: PlanTherapy | PlanDrug, label: str) -> Resource:
    certainty = item.get("certainty")
    description = label
    if item.get("plain"):
        description += f": {item.get('plain')}"
    if certainty:
        description += f" Certainty: {certainty}"
        if item.get("certainty_meaning"):
            description += f" ({item['certainty_meaning']})"
        description += "."
    if item.get("source"):
        description += f" Source: {citation(item['source'])}."
    extensions: list[Resource] = []
    if certainty:
        extensions.append({"url": c.extension_url("certainty"), "valueCode": str(certainty)})
    if item.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(item["confidence"])})
    extensions += citation_extension(item.get("source"))
    reasons = [r.get("element") for r in item.get("reasons") or [] if r.get("element")]
    if reasons:
        extensions.append({"url": c.extension_url("plan-elements"), "valueString": ", ".join(reasons)})
    detail: Resource = {"kind": kind, "status": "not-started", "description": description}
    if kind == "MedicationRequest":
        detail["productCodeableConcept"] = concept
    else:
        detail["code"] = concept
    if extensions:
        detail["extension"] = extensions
    return {"detail": detail}


def _phase_plan(phase: PlanPhase, subject: Resource) -> Resource:
    """One phase of the plan as a contained CarePlan with its goal and order (the plan refers to it)."""
    phase_plan: Resource = {
        "resourceType": "CarePlan",
        "id": "phase-" + str(phase["id"]).replace("_", "-"),
        "status": "draft",
        "intent": "proposal",
        "subject": subject,
        "title": str(phase.get("name") or phase["id"]),
        "description": str(phase.get("goal") or phase.get("name") or phase["id"]),
        "category": [{"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("phase", str(phase["id"]))}]}],
    }
    extensions = citation_extension(phase.get("source"))
    if phase.get("order") is not None:
        extensions.insert(0, {"url": c.extension_url("phase-order"), "valueInteger": int(phase["order"])})
    if extensions:
        phase_plan["extension"] = extensions
    return with_narrative(phase_plan)


def _phase_reference(phase_plan: Resource) -> Resource:
    """The plan's reference to one of its contained phases (each contained resource is referred to: dom-3)."""
    target = {"reference": f"#{phase_plan['id']}", "display": str(phase_plan["title"])}
    return {"url": c.extension_url("phase"), "valueReference": target}


def _therapy_activity(therapy: PlanTherapy) -> Resource:
    code = str(therapy["code"])
    label = therapy.get("label", code)
    concept: Resource = {
        "coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("therapy", code), "display": label}],
        "text": label,
    }
    return _activity("ServiceRequest", concept, therapy, str(therapy.get("label") or code))


def _pending_activity(pending: PendingElement) -> Resource:
    description = (
        f"Pending: {pending.get('explanation', '')} Would add: {', '.join(pending.get('would_add') or [])}; "
        f"waiting for: {', '.join(pending.get('waiting_for') or [])}."
    )
    code = {"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("pending", str(pending["id"]))}]}
    return {"detail": {"kind": "ServiceRequest", "code": code, "status": "on-hold", "description": description}}


def care_plan(assessment: Assessment, patient_ref: Reference, condition_ref: Reference | None = None) -> Resource:
    """The assessment's plan as a proposed CarePlan (decision support, not an order).

    Phases are contained CarePlans in their order with their goal, each referred to by the plan's ``phase``
    extension; therapies
    (``ServiceRequest``) and drugs (``MedicationRequest``) are activities, each with its certainty, confidence
    and citation as extensions and in plain words in the description.
    """
    plan = assessment["plan"]
    subject = reference(patient_ref)
    contained = [_phase_plan(phase, subject) for phase in plan.get("phases") or []]
    activities = [_therapy_activity(therapy) for therapy in plan.get("therapies") or []]
    for drug in plan.get("drugs") or []:
        name = str(drug["name"])
        activities.append(_activity("MedicationRequest", _drug_cc(name), drug, str(drug.get("label") or name)))
    activities += [_pending_activity(pending) for pending in plan.get("pending") or []]
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "title": "allpath treatment plan (decision support)",
        "description": str(assessment.get("disclaimer") or DISCLAIMER),
        "subject": subject,
    }
    extensions = versions(assessment) + [_phase_reference(phase_plan) for phase_plan in contained]
    if extensions:
        resource["extension"] = extensions
    if contained:
        resource["contained"] = contained
    if condition_ref is not None:
        resource["addresses"] = [reference(condition_ref)]
    if activities:
        resource["activity"] = activities
    notes = [{"text": f"Not covered: {item.get('explanation', '')}"} for item in plan.get("not_covered") or []]
    if notes:
        resource["note"] = notes
    return with_narrative(resource)
