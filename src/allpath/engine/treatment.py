"""One entry point for the treatment views of a child: roadmap, doses of every phase of the regimen, and the
survivorship plan (used by the CLI, the API and the web app)."""

from __future__ import annotations

from datetime import date

from allpath.domain.record import PatientRecord
from allpath.domain.results import Assessment, CareOverview, DoseRefusal, PhaseDoses
from allpath.engine.assess import assess
from allpath.engine.doses import DoseError, phase_doses
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.knowledge.loader import KnowledgeBase


def treatment_overview(
    record: PatientRecord,
    kb: KnowledgeBase,
    *,
    assessment: Assessment | None = None,
    start: date | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> CareOverview:
    """Roadmap, doses by phase (each phase's doses, or why they cannot be calculated) and survivorship plan."""
    assessment = assessment if assessment is not None else assess(record, kb)
    roadmap = build_roadmap(record, assessment, kb, start)
    doses: list[PhaseDoses | DoseRefusal] = []
    regimen = roadmap["regimen"]
    if regimen is not None:
        for phase in roadmap["phases"]:
            on = date.fromisoformat(phase["start"]) if phase["start"] else None
            try:
                doses.append(
                    phase_doses(record, kb, regimen["id"], phase["id"], weight_kg=weight_kg, height_cm=height_cm, on=on)
                )
            except DoseError as error:
                doses.append(
                    {
                        "regimen": regimen["id"],
                        "phase": phase["id"],
                        "error": {"field": error.field, "message": error.message},
                    }
                )
    return {
        "record_id": record.id,
        "roadmap": roadmap,
        "doses": doses,
        "survivorship": survivorship_plan(record, kb, roadmap),
        "knowledge_version": kb.version,
        "disclaimer": kb.text.disclaimer,
    }
