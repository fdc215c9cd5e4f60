"""Use cases on stored patients: add a patient, store a new record version (with its assessment, the change
explanation and the audit entry), and the views of a stored patient.

Every view of a stored patient is made from a fresh assessment of the latest record version under the running
knowledge base (``latest``); the stored assessments are the history. ``Latest.about`` labels an answer with
the patient, its version and, when the stored assessment of that version was made under another knowledge
version, that knowledge version, so that the reader knows the answer was made afresh under new knowledge.

Every use case audits itself in the unit of work: ``read`` of ``resource`` when it answers, the same with
``outcome="invalid"`` when it cannot (the record no longer validates, a dose or a calendar cannot be made),
then re-raises for the interface to answer. Access to the patient (who may see it) is checked before, by
the caller (the HTTP kernel's ``patient_for``), and is audited there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from allpath.domain.record_model import PatientRecord
from allpath.domain.results import Assessment, CareOverview
from allpath.domain.results.trials import TrialSearch
from allpath.engine.diff import explain_changes
from allpath.errors import InputError, RecordError
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.records import (
    DosesView,
    PackageData,
    RoadmapView,
    SurvivorshipView,
    care_overview,
    checked,
    doses_of,
    package_of,
    roadmap_of,
    stamped_assessment,
    survivorship_of,
)
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import patients
from allpath.storage import tables as t
from allpath.storage.patients import Stored

if TYPE_CHECKING:
    from allpath.service.trial_search import TrialSearchOptions

T = TypeVar("T")


def _acting(uow: UnitOfWork) -> t.User:
    if uow.actor is None:
        raise PermissionError("storing a record needs an account to act")
    return uow.actor


def create_patient(
    uow: UnitOfWork, kb: KnowledgeBase, display_name: str, record: Mapping[str, object], *, detail: str = ""
) -> Stored:
    """Add a patient of the actor's care team: validate the record, assess it, store it as version 1 with its
    assessment, and audit ``create patient`` (``detail``: where it came from, e.g. ``web``). An invalid record
    is audited as ``invalid`` and raises ``RecordError``; nothing is stored."""
    try:
        parsed = checked(record)
    except RecordError:
        uow.audit("create", "patient", outcome="invalid", detail=detail)
        raise
    assessment = stamped_assessment(parsed, kb)
    patient, version = patients.add_patient(uow.session, _acting(uow), display_name, record)
    row = patients.add_assessment(uow.session, version, assessment, [])
    uow.audit("create", "patient", patient.id, detail=detail)
    return Stored(patient, version, row)


def store_version(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    record: Mapping[str, object],
    display_name: str | None = None,
    *,
    detail: str = "",
) -> Stored:
    """Store ``record`` as the patient's next version (renaming the patient when ``display_name`` is given)
    with its assessment and what changed since the previous version, each change with its reasons; audit
    ``update patient`` with the new version number (and ``detail`` in brackets). An invalid record is audited
    as ``invalid`` and raises ``RecordError``; nothing is stored. Earlier versions stay as they were."""
    try:
        parsed = checked(record)
    except RecordError:
        uow.audit("update", "patient", patient.id, outcome="invalid", detail=detail)
        raise
    # Assessed before the patient row is locked: concurrent updates of one patient wait for the lock only
    # while the rows are written.
    assessment = stamped_assessment(parsed, kb)
    previous, version = patients.add_version(uow.session, _acting(uow), patient, record, display_name)
    before = patients.assessment_of(uow.session, previous)
    # The stored result is the JSON of an assessment this layer made (``stamped_assessment``).
    earlier = cast(Assessment, before.result) if before is not None else None
    changes = explain_changes(kb, previous.record, earlier, version.record, assessment)
    row = patients.add_assessment(uow.session, version, assessment, changes)
    uow.audit("update", "patient", patient.id, detail=f"version {version.version}" + (f" ({detail})" if detail else ""))
    return Stored(patient, version, row)


# ---- views of a stored patient -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Latest:
    """The latest record version of a stored patient, assessed afresh under the running knowledge base, and
    the assessment stored with that version (its history)."""

    patient: t.Patient
    version: t.PatientVersion
    record: PatientRecord
    assessment: Assessment
    stored: t.Assessment

    @property
    def knowledge_changed(self) -> bool:
        """Whether the stored assessment of this version was made under another knowledge version."""
        return self.stored.knowledge_version != self.assessment["knowledge_version"]

    def about(self) -> dict[str, object]:
        """What an answer about this patient is of: the patient, the record version and, when the knowledge
        has changed since that version was stored, the knowledge version of the stored assessment."""
        label: dict[str, object] = {"patient_id": self.patient.id, "patient_version": self.version.version}
        if self.knowledge_changed:
            label["stored_knowledge_version"] = self.stored.knowledge_version
        return label


@dataclass(frozen=True)
class PatientAnswer(Generic[T]):
    """A view of a stored patient (``result``) and what it is of (``latest``)."""

    latest: Latest
    result: T


def latest(uow: UnitOfWork, kb: KnowledgeBase, patient: t.Patient, *, start: date | None = None) -> Latest:
    """The latest record version of a patient, assessed afresh (``start`` replaces its treatment start date);
    ``RecordError`` when the stored record no longer validates. Not audited: the views that use it are."""
    version = patients.current_version(uow.session, patient)
    record = checked(version.record, start)
    return Latest(
        patient, version, record, stamped_assessment(record, kb), patients.latest_assessment(uow.session, patient)
    )


def _view(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    resource: str,
    make: Callable[[Latest], T],
    *,
    detail: str | Callable[[T], str],
    refusal_detail: str | None,
    start: date | None = None,
) -> PatientAnswer[T]:
    """Make one view of the latest record version, auditing ``read resource`` (``invalid`` when it cannot be
    made: the refusal names the field unless ``refusal_detail`` is given)."""
    try:
        now = latest(uow, kb, patient, start=start)
        result = make(now)
    except (RecordError, InputError) as error:
        field = error.field if isinstance(error, InputError) else "record"
        uow.audit(
            "read", resource, patient.id, outcome="invalid", detail=field if refusal_detail is None else refusal_detail
        )
        raise
    uow.audit("read", resource, patient.id, detail=detail(result) if callable(detail) else detail)
    return PatientAnswer(now, result)


def patient_roadmap(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    *,
    start: date | None = None,
    resource: str = "roadmap",
    detail: str = "json",
    refusal_detail: str | None = None,
) -> PatientAnswer[RoadmapView]:
    """The treatment roadmap of the patient's latest record (dated from ``start`` when given)."""

    def make(now: Latest) -> RoadmapView:
        return roadmap_of(now.record, kb, now.assessment)

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail, start=start)


def patient_calendar(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    to_calendar: Callable[[RoadmapView, str], T],
    *,
    start: date | None = None,
    resource: str = "roadmap",
    detail: str = "ics",
    refusal_detail: str | None = None,
) -> PatientAnswer[T]:
    """The patient's roadmap as a calendar: ``to_calendar(roadmap, patient_id)`` is the interface's
    translator (``allpath.interfaces.ics``); an ``InputError`` it raises (no regimen, no dates) is audited as
    a refusal and re-raised."""

    def make(now: Latest) -> T:
        return to_calendar(roadmap_of(now.record, kb, now.assessment), patient.id)

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail, start=start)


def patient_doses(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    phase: str,
    *,
    regimen: str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    on: date | None = None,
    resource: str = "doses",
    refusal_detail: str | None = None,
) -> PatientAnswer[DosesView]:
    """The doses of one phase from the patient's latest record (``DoseError`` names the input); the audit
    entry names the regimen and phase (ids of the knowledge base, never record values)."""

    def make(now: Latest) -> DosesView:
        roadmap = roadmap_of(now.record, kb, now.assessment)
        return doses_of(
            now.record, kb, roadmap, phase, regimen=regimen, weight_kg=weight_kg, height_cm=height_cm, on=on
        )

    def detail(result: DosesView) -> str:
        return f"{result['regimen']}/{result['phase']}"

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail)


def patient_survivorship(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    *,
    resource: str = "survivorship",
    detail: str = "json",
    refusal_detail: str | None = None,
) -> PatientAnswer[SurvivorshipView]:
    """The survivorship plan from the patient's latest record."""

    def make(now: Latest) -> SurvivorshipView:
        return survivorship_of(now.record, kb, roadmap_of(now.record, kb, now.assessment))

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail)


def patient_care_overview(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    *,
    resource: str = "care_overview",
    detail: str = "",
    refusal_detail: str | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
) -> PatientAnswer[CareOverview]:
    """The care overview (roadmap, doses of every phase, survivorship plan) of the patient's latest record,
    with the fresh assessment it was made from (``latest.assessment``): the web page of a patient and the
    family report show both."""

    def make(now: Latest) -> CareOverview:
        return care_overview(kb, now.record, assessment=now.assessment, weight_kg=weight_kg, height_cm=height_cm)

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail)


def patient_package(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: t.Patient,
    *,
    resource: str = "second_opinion",
    detail: str = "",
    refusal_detail: str | None = None,
    trials: TrialSearchOptions | None = None,
    today: date | None = None,
) -> PatientAnswer[PackageData]:
    """The data of the FHIR second-opinion package of the patient's latest record, with the trials to ask
    about when the trial registry holds studies: the trial search of ``trials`` (default: open studies, no
    place) on ``today`` (default: the server's date), audited as ``search trials`` of the patient."""

    def make(now: Latest) -> PackageData:
        package = package_of(now.version.record, now.record, kb, now.assessment)
        found = _trials_to_ask_about(uow, kb, now, trials, today or date.today())
        return replace(package, trials=found) if found is not None else package

    return _view(uow, kb, patient, resource, make, detail=detail, refusal_detail=refusal_detail)


def _trials_to_ask_about(
    uow: UnitOfWork, kb: KnowledgeBase, now: Latest, options: TrialSearchOptions | None, today: date
) -> TrialSearch | None:
    """The trial search of the package, or None when the registry holds no study (nothing is searched then)."""
    from allpath.service.trial_search import TrialSearchOptions, search_trials  # it builds on this module
    from allpath.storage import trials as registry

    if not registry.study_count(uow.session):
        return None
    options = options or TrialSearchOptions()
    return search_trials(uow, kb, now.record, now.assessment, options, today, resource_id=now.patient.id)
