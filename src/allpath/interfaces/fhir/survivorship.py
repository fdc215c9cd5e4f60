"""The survivorship plan as a proposed FHIR R4 CarePlan: one activity per follow-up item."""

from __future__ import annotations

from allpath.domain.results import ScreeningStart, SurvivorshipItem, SurvivorshipPlan
from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import (
    DISCLAIMER,
    NOT_COVERED_NOTE,
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

SURVIVORSHIP_BASIS_WORDS = {
    "recorded": "the treatment recorded as given",
    "planned": "the treatment planned by the roadmap",
    "none": "no treatment known (no exposures recorded and no roadmap)",
}


def _late_effect(item: SurvivorshipItem) -> str:
    return str(item.get("late_effect") or words(item.get("topic") or item["id"]))


def _start(item: SurvivorshipItem) -> tuple[ScreeningStart | None, str | None, str | None]:
    """The screening start, and its first and last dates (None when not known)."""
    start = item.get("start")
    if not start:
        return None, None, None
    return start, start.get("not_before"), start.get("no_later_than")


def _item_text(item: SurvivorshipItem) -> str:
    """The follow-up item in words: the test, how often, from when; or that the sources do not cover it."""
    if item.get("not_covered"):
        return f"Not covered by allpath's sources: {item.get('explanation', '')}".strip()
    test = item.get("test")
    label = str(test) if test else f"follow-up of {_late_effect(item)}"
    interval = item.get("interval_years")
    start, not_before, no_later_than = _start(item)
    text = label[:1].upper() + label[1:]
    if interval:
        text += f" every {decimal(interval):g} years" if interval != 1 else " every year"
    if item.get("strength"):
        text += f" ({words(item['strength'])})"
    text += "."
    if start and start.get("rule"):
        dates = [f"not before {not_before}"] if not_before else []
        if no_later_than:
            dates.append(f"no later than {no_later_than}")
        text += f" First: {start['rule']}" + (f" ({', '.join(dates)})" if dates else "") + "."
    if item.get("schedule_not_covered"):
        text += " The screening schedule is not covered by allpath's sources."
    if item.get("explanation"):
        text += f" {item['explanation']}"
    return text


def _description(item: SurvivorshipItem) -> str:
    text = _item_text(item) + f" Late effect: {_late_effect(item)}."
    if item.get("confidence"):
        text += f" Confidence: {item['confidence']}."
    sources = sources_text(item.get("evidence"))
    if sources:
        text += f" Sources: {sources}."
    return text


def _schedule(item: SurvivorshipItem) -> Resource:
    """When the follow-up happens: a repeating Timing, the first period, or the start rule in words."""
    interval = item.get("interval_years")
    start, not_before, no_later_than = _start(item)
    if interval:
        repeat: Resource = {"frequency": 1, "period": decimal(interval), "periodUnit": "a"}
        if not_before:
            repeat["boundsPeriod"] = {"start": str(not_before)}
        return {"scheduledTiming": {"repeat": repeat}}
    if not_before:
        return {"scheduledPeriod": period(not_before, no_later_than)}
    if no_later_than:
        return {"scheduledString": f"no later than {no_later_than}"}
    if start and start.get("rule"):
        return {"scheduledString": str(start["rule"])}
    return {}


def _item_extensions(item: SurvivorshipItem) -> list[Resource]:
    _, not_before, no_later_than = _start(item)
    extensions: list[Resource] = []
    if not item.get("not_covered") and (not_before or no_later_than):
        extensions.append({"url": c.extension_url("first-due"), "valuePeriod": period(not_before, no_later_than)})
    if item.get("strength"):
        extensions.append({"url": c.extension_url("strength"), "valueCode": str(item["strength"])})
    if item.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(item["confidence"])})
    return extensions + evidence_extensions(item.get("evidence"))


def _survivorship_activity(item: SurvivorshipItem) -> Resource:
    """One follow-up item: the test (or the late effect to watch), its interval as a Timing, the first date,
    the late effect as the reason, and confidence, strength and citations as extensions and in words."""
    test = item.get("test")
    label = str(test) if test else f"follow-up of {_late_effect(item)}"
    not_covered = bool(item.get("not_covered"))
    detail: Resource = {
        "kind": "ServiceRequest",
        "code": local_cc("survivorship", str(item["id"]), label),
        "reasonCode": [{"text": _late_effect(item)}],
        "status": "not-started",
        "description": _description(item),
    }
    if not not_covered:
        detail.update(_schedule(item))
    extensions = _item_extensions(item)
    if extensions:
        detail["extension"] = extensions
    activity: Resource = {"detail": detail}
    if not_covered:
        activity["progress"] = [{"text": NOT_COVERED_NOTE}]
    elif item.get("schedule_not_covered"):
        activity["progress"] = [{"text": f"the screening schedule is {NOT_COVERED_NOTE}"}]
    return activity


def _survivorship_basis(survivorship: SurvivorshipPlan) -> str:
    basis = str(survivorship.get("basis") or "none")
    text = f"Based on: {SURVIVORSHIP_BASIS_WORDS.get(basis, basis)}."
    exposures = survivorship.get("exposures")
    total = exposures.get("doxorubicin_equivalent_mg_per_m2") if exposures else None
    if total is not None:
        text += f" Anthracyclines: {decimal(total):g} mg/m2 doxorubicin equivalent."
    radiation = []
    if exposures:
        for site, gray in (
            ("chest", exposures.get("chest_radiation_gy")),
            ("cranial", exposures.get("cranial_radiation_gy")),
        ):
            if gray is not None:
                radiation.append(f"{site} {decimal(gray):g} Gy")
    if radiation:
        text += " Radiation: " + ", ".join(radiation) + "."
    if exposures and exposures.get("drugs"):
        text += " Medicines: " + ", ".join(str(d) for d in exposures["drugs"]) + "."
    if survivorship.get("end_of_therapy_date"):
        text += f" End of therapy: {survivorship['end_of_therapy_date']}."
    return text


def _survivorship_notes(survivorship: SurvivorshipPlan) -> list[dict[str, str]]:
    notes = [{"text": _survivorship_basis(survivorship)}]
    for entry in survivorship.get("not_covered") or []:
        text = f"Not covered by allpath's sources: {entry.get('text', '')}"
        sources = sources_text(entry.get("evidence"))
        notes.append({"text": text + (f" Sources: {sources}." if sources else "")})
    if survivorship.get("missing"):
        notes.append({"text": "Provisional, waiting for: " + ", ".join(str(m) for m in survivorship["missing"])})
    notes += [{"text": str(note)} for note in survivorship.get("notes") or []]
    if survivorship.get("source"):
        notes.append({"text": f"Source: {citation(survivorship['source'])}."})
    return notes


def survivorship_care_plan(
    survivorship: SurvivorshipPlan, patient_ref: Reference, condition_ref: Reference | None = None
) -> Resource:
    """The survivorship plan (``allpath.engine.survivorship.survivorship_plan``) as a proposed CarePlan.

    One activity per follow-up item: the test as its code, the interval as ``scheduledTiming`` ("every N
    years": period N, periodUnit ``a``), the first date as ``scheduledPeriod`` (or ``scheduledString`` when
    only "no later than" is known, and always in the ``first-due`` extension), the late effect as
    ``reasonCode``, and confidence, strength and citations as extensions and in the description. Items that
    allpath's sources do not cover are activities with a progress note saying so; the plan's own gaps, the
    exposures it rests on and what is still missing are notes.
    """
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "category": [c.concept_cc("survivorship_care_plan")],
        "title": "allpath survivorship plan: follow-up after treatment (decision support)",
        "description": str(survivorship.get("disclaimer") or DISCLAIMER),
        "subject": reference(patient_ref),
    }
    extensions = versions(survivorship)
    extensions.append({"url": c.extension_url("provisional"), "valueBoolean": bool(survivorship.get("provisional"))})
    if survivorship.get("basis"):
        extensions.append({"url": c.extension_url("exposure-basis"), "valueCode": str(survivorship["basis"])})
    extensions += citation_extension(survivorship.get("source"))
    resource["extension"] = extensions
    if survivorship.get("end_of_therapy_date"):
        resource["period"] = {"start": str(survivorship["end_of_therapy_date"])}
    if condition_ref is not None:
        resource["addresses"] = [reference(condition_ref)]
    activities = [_survivorship_activity(item) for item in survivorship.get("items") or []]
    if activities:
        resource["activity"] = activities
    resource["note"] = _survivorship_notes(survivorship)
    return with_narrative(resource)
