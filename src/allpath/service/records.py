"""Use cases on a patient record given by the caller (nothing is stored): the assessment, the roadmap, the
doses of one phase, the survivorship plan, the care overview that gathers them, and the data of the FHIR
second-opinion package.

Each view is stamped here, once, with the versions that made it: ``record_id`` first, then the view, then
``knowledge_version`` and ``engine_version`` (the order the JSON outputs have always had). With a unit of
work (the API) the act is audited in it, after the answer is made and only when there is one; without (the
command line, CDS Hooks) nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pydantic import with_config

from allpath import __version__
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.domain.results import (
    Assessment,
    CareOverview,
    DoseRefusal,
    PhaseDoses,
    Roadmap,
    SurvivorshipPlan,
)
from allpath.domain.results.common import CLOSED
from allpath.domain.results.trials import TrialSearch
from allpath.engine.assess import assess
from allpath.engine.doses import DoseError, phase_doses
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.knowledge.loader import KnowledgeBase

if TYPE_CHECKING:  # the command line runs without a database: SQLAlchemy is not imported for it
    from allpath.service.unit_of_work import UnitOfWork

RecordInput = PatientRecord | Mapping[str, object]
"""A record as the caller has it: already validated (``PatientRecord``) or as JSON, validated here."""


@with_config(CLOSED)
class RoadmapView(Roadmap):
    """A roadmap with the record it is of and the versions that made it."""

    record_id: str | None
    knowledge_version: str
    engine_version: str


@with_config(CLOSED)
class DosesView(PhaseDoses):
    """The doses of one phase with the record they are of and the versions that made them."""

    record_id: str | None
    knowledge_version: str
    engine_version: str


@with_config(CLOSED)
class SurvivorshipView(SurvivorshipPlan):
    """A survivorship plan with the record it is of and the versions that made it."""

    record_id: str | None
    knowledge_version: str
    engine_version: str


@dataclass(frozen=True)
class PackageData:
    """What the FHIR second-opinion package of a record holds: the record as given, its assessment, roadmap
    and survivorship plan, and for a stored patient the trial search of its trials to ask about (None for a
    record given by the caller; the translation to a Bundle is ``allpath.interfaces.fhir.package``)."""

    record: dict[str, object]
    assessment: Assessment
    roadmap: RoadmapView
    survivorship: SurvivorshipView
    trials: TrialSearch | None = None


def checked(record: RecordInput, start: date | None = None) -> PatientRecord:
    """The validated record (``RecordError`` naming each field otherwise); ``start`` replaces the treatment
    start date of a record given as JSON before it is validated (a validated record already has its own)."""
    if isinstance(record, PatientRecord):
        if start is not None:
            raise ValueError("give the start with a record as JSON: it is validated with the record")
        return record
    if start is not None:
        record = {**record, "treatment_start_date": start.isoformat()}
    return parse_record(dict(record))


def _versions(kb: KnowledgeBase) -> dict[str, str]:
    return {"knowledge_version": kb.version, "engine_version": __version__}


def stamped_assessment(record: PatientRecord, kb: KnowledgeBase) -> Assessment:
    """The assessment of a validated record, labelled with the knowledge and engine versions that made it."""
    result = assess(record, kb)
    result.update(_versions(kb))  # type: ignore[typeddict-item]  # both keys are declared; same values, same order
    return result


def _roadmap_view(record: PatientRecord, roadmap: Roadmap, kb: KnowledgeBase) -> RoadmapView:
    return {"record_id": record.id, **roadmap, **_versions(kb)}  # type: ignore[typeddict-item]


def _survivorship_view(record: PatientRecord, plan: SurvivorshipPlan, kb: KnowledgeBase) -> SurvivorshipView:
    return {"record_id": record.id, **plan, **_versions(kb)}  # type: ignore[typeddict-item]


def _audit(uow: UnitOfWork | None, action: str, resource: str = "record") -> None:
    if uow is not None:
        uow.audit(action, resource, detail="stateless")


def assess_record(kb: KnowledgeBase, record: RecordInput, uow: UnitOfWork | None = None) -> Assessment:
    """Assess one record (``allpath assess``, ``POST /api/assess``). ``RecordError`` for an invalid record
    (then nothing is audited: the caller answers with the fields)."""
    result = stamped_assessment(checked(record), kb)
    _audit(uow, "assess")
    return result


def roadmap_of(record: PatientRecord, kb: KnowledgeBase, assessment: Assessment | None = None) -> RoadmapView:
    """The roadmap of a validated record (of ``assessment`` when the caller has it, else a fresh one)."""
    assessment = assessment if assessment is not None else stamped_assessment(record, kb)
    return _roadmap_view(record, build_roadmap(record, assessment, kb), kb)


def record_roadmap(
    kb: KnowledgeBase, record: RecordInput, *, start: date | None = None, uow: UnitOfWork | None = None
) -> RoadmapView:
    """The treatment roadmap of one record: regimen, phases with dates (from ``start`` or the record's
    treatment start date), checkpoints, end of therapy."""
    result = roadmap_of(checked(record, start), kb)
    _audit(uow, "roadmap")
    return result


def doses_of(
    record: PatientRecord,
    kb: KnowledgeBase,
    roadmap: Roadmap,
    phase: str,
    *,
    regimen: str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    on: date | None = None,
) -> DosesView:
    """The doses of one phase: of the child's regimen (``roadmap``'s) unless one is named, on the phase's
    planned start unless a day is given. ``DoseError`` names the input when they cannot be calculated."""
    chosen = roadmap["regimen"]
    if regimen is None:
        if chosen is None:
            why = "; ".join(r for r in roadmap["not_covered"] if r) or (
                "the regimen is not known until these inputs are known: " + ", ".join(roadmap["missing"])
            )
            known = ", ".join(r.id for r in kb.therapy.regimens.regimens)
            raise DoseError("regimen", f"there is no regimen for this child ({why}); name one ({known})")
        regimen = chosen["id"]
    if on is None and chosen is not None and chosen["id"] == regimen:
        start = next((p["start"] for p in roadmap["phases"] if p["id"] == phase), None)
        on = date.fromisoformat(start) if start else None
    doses = phase_doses(record, kb, regimen, phase, weight_kg=weight_kg, height_cm=height_cm, on=on)
    return {"record_id": record.id, **doses, **_versions(kb)}  # type: ignore[typeddict-item]


def record_doses(
    kb: KnowledgeBase,
    record: RecordInput,
    phase: str,
    *,
    regimen: str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    on: date | None = None,
    uow: UnitOfWork | None = None,
) -> DosesView:
    """The doses of one phase for one record (see ``doses_of``); ``DoseError`` names the input that is
    missing or wrong (then nothing is audited)."""
    parsed = checked(record)
    result = doses_of(
        parsed, kb, roadmap_of(parsed, kb), phase, regimen=regimen, weight_kg=weight_kg, height_cm=height_cm, on=on
    )
    _audit(uow, "doses")
    return result


def survivorship_of(record: PatientRecord, kb: KnowledgeBase, roadmap: Roadmap | None = None) -> SurvivorshipView:
    """The survivorship plan of a validated record (from its roadmap's planned exposures when nothing was
    recorded as given)."""
    roadmap = roadmap if roadmap is not None else roadmap_of(record, kb)
    return _survivorship_view(record, survivorship_plan(record, kb, roadmap), kb)


def record_survivorship(kb: KnowledgeBase, record: RecordInput, uow: UnitOfWork | None = None) -> SurvivorshipView:
    """The survivorship plan of one record."""
    result = survivorship_of(checked(record), kb)
    _audit(uow, "survivorship")
    return result


def care_overview(
    kb: KnowledgeBase,
    record: RecordInput,
    *,
    assessment: Assessment | None = None,
    start: date | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> CareOverview:
    """The care overview of one record: the roadmap, the doses of every phase of the child's regimen (each
    phase's doses, or why they cannot be calculated) and the survivorship plan."""
    parsed = checked(record)
    assessment = assessment if assessment is not None else stamped_assessment(parsed, kb)
    roadmap = build_roadmap(parsed, assessment, kb, start)
    doses: list[PhaseDoses | DoseRefusal] = []
    regimen = roadmap["regimen"]
    if regimen is not None:
        for phase in roadmap["phases"]:
            on = date.fromisoformat(phase["start"]) if phase["start"] else None
            try:
                doses.append(
                    phase_doses(parsed, kb, regimen["id"], phase["id"], weight_kg=weight_kg, height_cm=height_cm, on=on)
                )
            except DoseError as error:
                problem = {"field": error.field, "message": error.message}
                doses.append({"regimen": regimen["id"], "phase": phase["id"], "error": problem})  # type: ignore[typeddict-item]
    return {
        "record_id": parsed.id,
        "roadmap": roadmap,
        "doses": doses,
        "survivorship": survivorship_plan(parsed, kb, roadmap),
        **_versions(kb),  # type: ignore[typeddict-item]
        "disclaimer": kb.text.disclaimer,
    }


def package_of(
    record: Mapping[str, object], parsed: PatientRecord, kb: KnowledgeBase, assessment: Assessment
) -> PackageData:
    """The second-opinion package data of a validated record and its assessment."""
    roadmap = roadmap_of(parsed, kb, assessment)
    return PackageData(dict(record), assessment, roadmap, survivorship_of(parsed, kb, roadmap))


def record_package(kb: KnowledgeBase, record: Mapping[str, object], uow: UnitOfWork | None = None) -> PackageData:
    """The data of the second-opinion package of one record given as JSON (``RecordError`` if invalid)."""
    parsed = checked(record)
    result = package_of(record, parsed, kb, stamped_assessment(parsed, kb))
    _audit(uow, "second_opinion")
    return result
