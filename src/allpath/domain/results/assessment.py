"""The assessment of a patient record (with its plan and relapse section) and the explanation of a change
between two assessments."""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import with_config
from typing_extensions import TypedDict

from allpath.domain.results.common import (
    CLOSED,
    Certainty,
    ConfidenceWord,
    DiseaseState,
    EvidenceRef,
    FactValue,
    NotCoveredNote,
    Source,
)


@with_config(CLOSED)
class Factor(TypedDict):
    """One explained factor: what it did (``effect``), why, on which inputs, and where it is written."""

    id: str
    scheme: str
    effect: str
    explanation: str
    plain: str | None
    confidence: ConfidenceWord
    inputs: dict[str, FactValue]
    source: Source
    evidence: NotRequired[list[EvidenceRef]]
    decides: NotRequired[bool]
    """Risk-scheme rules: whether this rule is at the final group (it decided it)."""
    compares: NotRequired[list[str]]
    """The comparison of the two risk classifications: the ids of the deciding rules of both."""


@with_config(CLOSED)
class WorkupTest(TypedDict):
    """A test that would provide missing inputs."""

    test: str
    label: str
    purpose: str
    provides: list[str]
    source: Source


TestStatus = Literal["missing", "upcoming", "recorded", "not needed now", "not part of the record"]


@with_config(CLOSED)
class DiagnosticTest(TypedDict):
    """A diagnostic test of the knowledge base and where this child stands with it."""

    test: str
    label: str
    purpose: str
    provides: list[str]
    status: TestStatus
    source: Source


@with_config(CLOSED)
class PlanPhase(TypedDict):
    id: str
    name: str
    order: int
    goal: str
    source: Source


@with_config(CLOSED)
class PlanReason(TypedDict):
    """A plan element that named a therapy or drug, with the certainty it gave."""

    element: str
    certainty: Certainty


@with_config(CLOSED)
class MergedEntry(TypedDict):
    """What every merged therapy or drug of a plan carries: the strongest certainty and every reason."""

    certainty: Certainty
    certainty_meaning: str
    confidence: ConfidenceWord
    source: Source
    reasons: list[PlanReason]


@with_config(CLOSED)
class PlanTherapy(MergedEntry):
    code: str
    label: str
    plain: str


DrugClass = Literal["chemotherapy", "targeted_therapy", "immunotherapy"]
# "class" is a Python keyword: the functional form declares it; PlanDrug adds the other keys.
_DrugClassKey = TypedDict("_DrugClassKey", {"class": DrugClass})


@with_config(CLOSED)
class PlanDrug(_DrugClassKey, MergedEntry):
    name: str
    label: str
    note: NotRequired[str]


@with_config(CLOSED)
class PlanElement(TypedDict):
    """A plan element that applied, stated once; therapies and drugs refer to it by id."""

    id: str
    explanation: str
    confidence: ConfidenceWord
    source: Source
    evidence: NotRequired[list[EvidenceRef]]


@with_config(CLOSED)
class PendingElement(TypedDict):
    """A plan element (or guard) that would add therapies or drugs once the inputs it waits for are known."""

    id: str
    would_add: list[str]
    waiting_for: list[str]
    explanation: str


@with_config(CLOSED)
class WithheldTherapy(TypedDict):
    """A therapy taken out of the plan because its guard does not hold (or is unknown)."""

    code: str
    label: str
    guard: str
    elements: list[str]
    explanation: str
    plain: str | None
    source: Source
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class Plan(TypedDict):
    """The treatment plan: phases, therapies and drugs merged from every applicable element."""

    phases: list[PlanPhase]
    therapies: list[PlanTherapy]
    drugs: list[PlanDrug]
    elements: list[PlanElement]
    not_covered: list[NotCoveredNote]
    pending: list[PendingElement]
    withheld: list[WithheldTherapy]


@with_config(CLOSED)
class TimingBasis(TypedDict):
    """The early/late cut-off that applied to a relapse, and how sure it is."""

    basis: str
    label: str
    early_below_months: float
    confidence: ConfidenceWord
    source: Source


@with_config(CLOSED)
class Relapse(TypedDict):
    """The latest relapse: number, sites, timing and the relapse risk group."""

    number: int
    sites: list[str]  # empty when the sites are not known (then combined and isolated_extramedullary are None)
    months_from_diagnosis: float | None  # None when the time of the relapse is not known
    age_at_relapse_years: float | None
    combined: bool | None
    isolated_extramedullary: bool | None
    timing: Literal["early", "late"] | None
    timing_basis: TimingBasis | None
    risk_group: str | None
    risk_group_label: str | None
    risk_group_meaning: str | None
    risk_group_at_diagnosis: str | None


@with_config(CLOSED)
class InputWarning(TypedDict):
    """A value accepted but worth a second look, or inputs that contradict each other (design.md)."""

    code: str
    field: str
    message: str


@with_config(CLOSED)
class PrognosticFactor(TypedDict):
    id: str
    label: str
    values: dict[str, FactValue]
    recorded: bool
    source: Source


@with_config(CLOSED)
class FollowUpItem(TypedDict):
    id: str
    text: str
    source: Source


@with_config(CLOSED)
class FollowUp(TypedDict):
    follow_up: list[FollowUpItem]
    late_effects: list[FollowUpItem]
    cautions: list[FollowUpItem]
    not_covered: list[FollowUpItem]


@with_config(CLOSED)
class Assessment(TypedDict):
    """The assessment of one patient record (design.md, "Assessment")."""

    record_id: str | None
    disease_state: DiseaseState
    risk_group: str | None
    risk_group_label: str | None
    risk_group_meaning: str | None
    cog_risk_group: str | None
    cog_risk_group_label: str | None
    provisional: bool
    missing: list[str]
    upcoming: list[str]
    workup: list[WorkupTest]
    diagnostic_tests: list[DiagnosticTest]
    populations: list[str]
    factors: list[Factor]
    plan: Plan
    relapse: Relapse | None
    genetic_counseling_recommended: bool
    warnings: list[InputWarning]
    prognostic_factors: list[PrognosticFactor]
    follow_up: FollowUp
    not_covered: list[NotCoveredNote]
    disclaimer: str
    knowledge_version: str
    engine_version: str


@with_config(CLOSED)
class Change(TypedDict):
    """One change between two assessments of the same patient, with the new results that explain it."""

    field: str
    before: str | bool | None
    after: str | bool | None
    because: list[str]
    message: str
    fields: NotRequired[list[str]]
    """The ``record`` change: the record paths that changed."""
