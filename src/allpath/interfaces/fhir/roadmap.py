"""The treatment roadmap as a proposed FHIR R4 CarePlan: the dated phases and the response tests."""

from __future__ import annotations

from collections.abc import Mapping

from allpath.domain.results import Checkpoint, Roadmap, RoadmapPhase
from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import (
    DISCLAIMER,
    Reference,
    Resource,
    citation,
    citation_extension,
    decimal,
    evidence_extensions,
    local_cc,
    period,
    reference,
    sources_text,
    versions,
    words,
)
from allpath.interfaces.fhir.narrative import with_narrative


def _phase_length(phase: RoadmapPhase) -> str:
    if not phase.get("length_known", True):
        return "length not given in the sources"
    weeks, cycle_weeks = phase.get("weeks"), phase.get("cycle_weeks")
    length = f"{decimal(weeks):g} weeks" if weeks else ""
    if cycle_weeks:
        length = f"{decimal(cycle_weeks):g}-week cycles" + (
            f" (about {phase['cycles']})" if phase.get("cycles") else ""
        )
    if phase.get("until") == "total_duration":
        length += (", " if length else "") + "until the end of therapy"
    return length


def _phase_activity(order: int, phase: RoadmapPhase) -> Resource:
    label = str(phase.get("label") or phase["id"])
    length = _phase_length(phase)
    text = label + (f": {length}." if length else ".")
    drugs = [
        f"{d.get('drug')} ({words(d.get('route') or 'route not given')}): {d.get('schedule') or 'schedule not given'}"
        for d in phase.get("drugs") or []
    ]
    if drugs:
        text += " Drugs: " + "; ".join(drugs) + "."
    if phase.get("length_basis"):
        text += f" {phase['length_basis']}."
    if phase.get("confidence"):
        text += f" Confidence: {phase['confidence']}."
    sources = sources_text(phase.get("evidence"))
    if sources:
        text += f" Sources: {sources}."
    detail: Resource = {
        "code": local_cc("roadmap_phase", str(phase["id"]), label),
        "status": "not-started",
        "description": text,
    }
    dates = period(phase.get("start"), phase.get("end"))
    if dates:
        detail["scheduledPeriod"] = dates
    elif length:
        detail["scheduledString"] = length
    extensions: list[Resource] = [{"url": c.extension_url("phase-order"), "valueInteger": order}]
    if phase.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(phase["confidence"])})
    extensions += evidence_extensions(phase.get("evidence"))
    detail["extension"] = extensions
    return {"detail": detail}


def _checkpoint_activity(checkpoint: Checkpoint) -> Resource:
    label = str(checkpoint.get("label") or checkpoint["id"])
    text = f"{label}."
    if checkpoint.get("purpose"):
        text += f" {checkpoint['purpose']}"
    if checkpoint.get("input"):
        text += f" Record field: {checkpoint['input']}" + (" (recorded)." if checkpoint.get("result_known") else ".")
    sources = sources_text(checkpoint.get("evidence"))
    if sources:
        text += f" Sources: {sources}."
    detail: Resource = {
        "kind": "ServiceRequest",
        "code": local_cc("checkpoint", str(checkpoint["id"]), label),
        "status": "completed" if checkpoint.get("result_known") else "not-started",
        "description": text,
    }
    if checkpoint.get("date"):
        detail["scheduledPeriod"] = {"start": str(checkpoint["date"]), "end": str(checkpoint["date"])}
    elif checkpoint.get("day") is not None and checkpoint.get("phase"):
        detail["scheduledString"] = f"day {checkpoint['day']} of {words(checkpoint['phase'])}"
    extensions = evidence_extensions(checkpoint.get("evidence"))
    if extensions:
        detail["extension"] = extensions
    return {"detail": detail}


def _regimen_notes(roadmap: Roadmap) -> list[dict[str, str]]:
    """The regimen with its source and evidence, and whether the plan is dated; or that there is no roadmap."""
    regimen = roadmap.get("regimen")
    if not regimen:
        return [{"text": "No roadmap for this child."}]
    text = f"Regimen: {regimen.get('label', regimen.get('id'))}."
    if regimen.get("source"):
        text += f" Source: {citation(regimen['source'])}."
    sources = sources_text(regimen.get("evidence"))
    if sources:
        text += f" Evidence: {sources}."
    notes = [{"text": text}]
    if roadmap.get("start_date"):
        notes.append({"text": f"First day of treatment: {roadmap['start_date']}; dates assume no delays."})
    else:
        notes.append({"text": "Not dated: the first day of treatment is not known."})
    return notes


def _note(note: Mapping[str, object] | str) -> dict[str, str]:
    if isinstance(note, Mapping):
        confidence = f" ({note['confidence']} confidence)" if note.get("confidence") else ""
        return {"text": f"Note{confidence}: {note.get('text', '')}"}
    return {"text": str(note)}


def _roadmap_notes(roadmap: Roadmap) -> list[dict[str, str]]:
    notes = _regimen_notes(roadmap)
    notes += [{"text": f"Not covered: {reason}"} for reason in roadmap.get("not_covered") or [] if reason]
    if roadmap.get("missing"):
        notes.append({"text": "Waiting for: " + ", ".join(str(m) for m in roadmap["missing"])})
    end_of_therapy = roadmap.get("end_of_therapy")
    if end_of_therapy and end_of_therapy.get("rule"):
        notes.append({"text": f"End of therapy: {end_of_therapy.get('date') or 'not dated'}. {end_of_therapy['rule']}"})
    notes += [_note(note) for note in roadmap.get("notes") or []]
    return notes


def roadmap_care_plan(roadmap: Roadmap, patient_ref: Reference, condition_ref: Reference | None = None) -> Resource:
    """The treatment roadmap (``allpath.engine.roadmap.build_roadmap``) as a proposed CarePlan.

    The plan's period runs from the first day of treatment to the end of therapy; each phase is an activity
    in its order with its dates as ``scheduledPeriod`` (or its length in words when undated) and its drugs,
    routes and schedules in the description; each response test (checkpoint) is an activity on its day.
    Dates assume no delays. A child without a regimen gets a plan without activities that says why.
    """
    regimen = roadmap.get("regimen")
    title = "allpath treatment roadmap"
    if regimen and regimen.get("label"):
        title += f": {regimen['label']}"
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "category": [c.concept_cc("treatment_roadmap")],
        "title": title + " (decision support)",
        "description": str(roadmap.get("disclaimer") or DISCLAIMER),
        "subject": reference(patient_ref),
    }
    extensions = versions(roadmap)
    extensions.append({"url": c.extension_url("provisional"), "valueBoolean": bool(roadmap.get("provisional"))})
    extensions += citation_extension(regimen.get("source") if regimen else None)
    resource["extension"] = extensions
    end = roadmap.get("end_of_therapy")
    dates = period(roadmap.get("start_date"), end.get("date") if end else None)
    if dates:
        resource["period"] = dates
    if condition_ref is not None:
        resource["addresses"] = [reference(condition_ref)]
    activities = [_phase_activity(i, phase) for i, phase in enumerate(roadmap.get("phases") or [], start=1)]
    activities += [_checkpoint_activity(checkpoint) for checkpoint in roadmap.get("checkpoints") or []]
    if activities:
        resource["activity"] = activities
    resource["note"] = _roadmap_notes(roadmap)
    return with_narrative(resource)
