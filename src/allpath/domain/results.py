"""The typed results of the engine: assessment, plan, roadmap, doses, survivorship plan, care overview and the
explanation of a change between two assessments.

They are TypedDicts, not classes with behaviour: a result stays the plain JSON-shaped dict the engine has always
returned (so every output is byte-identical and nothing is converted on the way out), while strict mypy checks
every key at every seam and pydantic or FastAPI turn the same declarations into validators and OpenAPI
schemas. Each one is closed (``extra="forbid"``): tests/unit/test_results.py validates the golden outputs and
the example patients' results against these types in strict mode, so a key the engine adds or drops fails
there until it is declared here.

Vocabularies that the knowledge base defines (risk groups, populations, therapy codes, drug names, topics) are
plain ``str``: they belong to the data, and a ``Literal`` here would copy clinical vocabulary into code. A
``Literal`` is used only for the closed sets the engine itself produces (a dose line's status, a test's status,
confidence words) or that the record contract fixes (the disease state).
"""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

_CLOSED = ConfigDict(extra="forbid")

DiseaseState = Literal["newly_diagnosed", "relapsed", "refractory"]
ConfidenceWord = Literal["high", "moderate"]
"""A knowledge confidence tag (H, M) as a reader sees it."""
Certainty = Literal["always", "usually", "may", "sometimes", "considered", "studied"]
FactValue = bool | int | float | str | list[str]
"""A known input value as shown in output (a set becomes a sorted list)."""


# ---- Provenance ---------------------------------------------------------------------------------------------


@with_config(_CLOSED)
class Source(TypedDict):
    """Where a rule is written: the document and a heading of it."""

    document: str
    section: str


@with_config(_CLOSED)
class EvidenceRef(TypedDict):
    """A deeper fact behind a rule: its document, section, reference and confidence."""

    document: str
    section: str
    reference: str
    confidence: ConfidenceWord


@with_config(_CLOSED)
class NotCoveredNote(TypedDict):
    """Something the sources do not cover for this child, said explicitly."""

    id: str
    explanation: str
    source: Source


# ---- The assessment -----------------------------------------------------------------------------------------


@with_config(_CLOSED)
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


@with_config(_CLOSED)
class WorkupTest(TypedDict):
    """A test that would provide missing inputs."""

    test: str
    label: str
    purpose: str
    provides: list[str]
    source: Source


TestStatus = Literal["missing", "upcoming", "recorded", "not needed now", "not part of the record"]


@with_config(_CLOSED)
class DiagnosticTest(TypedDict):
    """A diagnostic test of the knowledge base and where this child stands with it."""

    test: str
    label: str
    purpose: str
    provides: list[str]
    status: TestStatus
    source: Source


@with_config(_CLOSED)
class PlanPhase(TypedDict):
    id: str
    name: str
    order: int
    goal: str
    source: Source


@with_config(_CLOSED)
class PlanReason(TypedDict):
    """A plan element that named a therapy or drug, with the certainty it gave."""

    element: str
    certainty: Certainty


@with_config(_CLOSED)
class _MergedEntry(TypedDict):
    """What every merged therapy or drug of a plan carries: the strongest certainty and every reason."""

    certainty: Certainty
    certainty_meaning: str
    confidence: ConfidenceWord
    source: Source
    reasons: list[PlanReason]


@with_config(_CLOSED)
class PlanTherapy(_MergedEntry):
    code: str
    label: str
    plain: str


DrugClass = Literal["chemotherapy", "targeted_therapy", "immunotherapy"]
# "class" is a Python keyword: the functional form declares it; PlanDrug adds the other keys.
_DrugClassKey = TypedDict("_DrugClassKey", {"class": DrugClass})


@with_config(_CLOSED)
class PlanDrug(_DrugClassKey, _MergedEntry):
    name: str
    label: str
    note: NotRequired[str]


@with_config(_CLOSED)
class PlanElement(TypedDict):
    """A plan element that applied, stated once; therapies and drugs refer to it by id."""

    id: str
    explanation: str
    confidence: ConfidenceWord
    source: Source
    evidence: NotRequired[list[EvidenceRef]]


@with_config(_CLOSED)
class PendingElement(TypedDict):
    """A plan element (or guard) that would add therapies or drugs once the inputs it waits for are known."""

    id: str
    would_add: list[str]
    waiting_for: list[str]
    explanation: str


@with_config(_CLOSED)
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


@with_config(_CLOSED)
class Plan(TypedDict):
    """The treatment plan: phases, therapies and drugs merged from every applicable element."""

    phases: list[PlanPhase]
    therapies: list[PlanTherapy]
    drugs: list[PlanDrug]
    elements: list[PlanElement]
    not_covered: list[NotCoveredNote]
    pending: list[PendingElement]
    withheld: list[WithheldTherapy]


@with_config(_CLOSED)
class TimingBasis(TypedDict):
    """The early/late cut-off that applied to a relapse, and how sure it is."""

    basis: str
    label: str
    early_below_months: float
    confidence: ConfidenceWord
    source: Source


@with_config(_CLOSED)
class Relapse(TypedDict):
    """The latest relapse: number, sites, timing and the relapse risk group."""

    number: int
    sites: list[str]
    months_from_diagnosis: float
    age_at_relapse_years: float | None
    combined: bool
    isolated_extramedullary: bool
    timing: Literal["early", "late"] | None
    timing_basis: TimingBasis | None
    risk_group: str | None
    risk_group_label: str | None
    risk_group_meaning: str | None
    risk_group_at_diagnosis: str | None


@with_config(_CLOSED)
class InputWarning(TypedDict):
    """A value accepted but worth a second look, or inputs that contradict each other (design.md)."""

    code: str
    field: str
    message: str


@with_config(_CLOSED)
class PrognosticFactor(TypedDict):
    id: str
    label: str
    values: dict[str, FactValue]
    recorded: bool
    source: Source


@with_config(_CLOSED)
class FollowUpItem(TypedDict):
    id: str
    text: str
    source: Source


@with_config(_CLOSED)
class FollowUp(TypedDict):
    follow_up: list[FollowUpItem]
    late_effects: list[FollowUpItem]
    cautions: list[FollowUpItem]
    not_covered: list[FollowUpItem]


@with_config(_CLOSED)
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


# ---- The roadmap --------------------------------------------------------------------------------------------


@with_config(_CLOSED)
class RoadmapRegimen(TypedDict):
    id: str
    label: str
    source: Source
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class PhaseDrugLine(TypedDict):
    drug: str
    route: str
    schedule: str


@with_config(_CLOSED)
class RoadmapPhase(TypedDict):
    """A phase of the regimen, dated when its start and length are known (ISO dates)."""

    id: str
    label: str
    source_phase: str
    weeks: float | None
    cycle_weeks: float | None
    until: Literal["total_duration"] | None
    length_basis: str | None
    length_known: bool
    start: str | None
    end: str | None
    confidence: ConfidenceWord
    drugs: list[PhaseDrugLine]
    evidence: list[EvidenceRef]
    cycles: NotRequired[int]
    """A phase that lasts until the end of therapy, dated, with cycles: how many cycles it holds."""


@with_config(_CLOSED)
class Checkpoint(TypedDict):
    """A response checkpoint (an MRD measurement) and its date, when the phase is dated."""

    id: str
    label: str
    phase: str
    day: int | Literal["end"]
    date: str | None
    input: str
    result_known: bool
    purpose: str
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class EndOfTherapy(TypedDict):
    date: str | None
    rule: str
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class RoadmapNote(TypedDict):
    id: str
    text: str
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class Roadmap(TypedDict):
    """The treatment roadmap: the regimen that fits (or why none), its phases, checkpoints and end of therapy."""

    regimen: RoadmapRegimen | None
    not_covered: list[str]
    provisional: bool
    missing: list[str]
    start_date: str | None
    phases: list[RoadmapPhase]
    checkpoints: list[Checkpoint]
    end_of_therapy: EndOfTherapy | None
    notes: list[RoadmapNote]
    disclaimer: str


# ---- Doses --------------------------------------------------------------------------------------------------


@with_config(_CLOSED)
class BodySurfaceArea(TypedDict):
    m2: float
    formula: str
    explanation: str
    not_covered: str
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class DoseTable(TypedDict):
    """The table a dose was read from: the regimen's per-m2 doses or the age-based intrathecal table."""

    id: str
    label: str
    column: str
    serves: list[str]


Frequency = Literal["daily", "three_times_weekly"]


@with_config(_CLOSED)
class DoseAdjustment(TypedDict):
    """A thiopurine starting-dose adjustment for the TPMT and NUDT15 phenotypes."""

    rule: str
    share_of_normal: list[float]
    mg_per_m2_day: list[float]
    frequency: Frequency
    explanation: str
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]


DoseKind = Literal["per_m2", "intrathecal_single_agent", "intrathecal_triple"]


@with_config(_CLOSED)
class DoseLine(TypedDict):
    """One drug line of a phase: the dose, or why it is refused (``status``, ``refusal``, ``missing``)."""

    drug: str
    label: str
    route: str
    per: Literal["per dose", "per day", "per week"]
    schedule: str
    unit: str
    status: Literal["ok", "refused"]
    refusal: str | None
    missing: list[str]
    basis: str | None
    calculated: float | None
    dose: float | None
    dose_range: list[float] | None
    frequency: Frequency | None
    cap: float | None
    capped: bool
    round_to: float
    adjustment: DoseAdjustment | None
    kind: DoseKind
    table: DoseTable | None
    text: str | None
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]
    table_note: NotRequired[str]
    refusal_evidence: NotRequired[list[EvidenceRef]]
    cap_explanation: NotRequired[str | None]


@with_config(_CLOSED)
class PhaseDoses(TypedDict):
    """The doses of one phase of a regimen for one child."""

    regimen: str
    phase: str
    phase_label: str
    weight_kg: float
    height_cm: float
    body_surface_area: BodySurfaceArea
    age_years: float | None
    age_basis: str | None
    lines: list[DoseLine]
    refused: list[DoseLine]
    disclaimer: str


@with_config(_CLOSED)
class DoseProblem(TypedDict):
    """The input a dose calculation needs, named, and what is wrong with it."""

    field: str
    message: str


@with_config(_CLOSED)
class DoseRefusal(TypedDict):
    """A phase whose doses cannot be calculated, with the input that is needed."""

    regimen: str
    phase: str
    error: DoseProblem


# ---- Survivorship -------------------------------------------------------------------------------------------

Strength = Literal["recommended", "reasonable", "may_be_reasonable"]


@with_config(_CLOSED)
class AnthracyclinePart(TypedDict):
    drug: str
    mg_per_m2: float | None
    factor: float
    doxorubicin_equivalent_mg_per_m2: float | None
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class AlternativeFactor(TypedDict):
    """The total under another published factor, and whether it would change the surveillance."""

    label: str | None
    drug: str
    factor: float
    doxorubicin_equivalent_mg_per_m2: float | None
    changes_surveillance: bool
    surveillance: Strength | None
    evidence: list[EvidenceRef]


@with_config(_CLOSED)
class ExposureSummary(TypedDict):
    """The treatment exposures the survivorship rules read (``None``: unknown, never zero)."""

    doxorubicin_equivalent_mg_per_m2: float | None
    anthracyclines: list[AnthracyclinePart]
    alternative_factors: list[AlternativeFactor]
    chest_radiation_gy: float | None
    cranial_radiation_gy: float | None
    drugs: list[str]
    last_cardiotoxic_exposure: str | None


@with_config(_CLOSED)
class ScreeningStart(TypedDict):
    """When a screening starts: after the last cardiotoxic exposure, or between two ages (``not_before``)."""

    no_later_than: str | None
    rule: str
    after: str | None
    not_before: NotRequired[str | None]


@with_config(_CLOSED)
class SurvivorshipItem(TypedDict):
    """A late effect to watch for and its screening: test, strength, interval and start."""

    id: str
    topic: str
    late_effect: str
    test: str | None
    strength: Strength | None
    interval_years: float | None
    start: ScreeningStart | None
    schedule_not_covered: bool
    not_covered: bool
    explanation: str
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]
    end_of_therapy_date: str | None


@with_config(_CLOSED)
class SurvivorshipNote(TypedDict):
    id: str
    text: str
    evidence: list[EvidenceRef]


ExposureBasis = Literal["recorded", "planned", "none"]


@with_config(_CLOSED)
class SurvivorshipPlan(TypedDict):
    """The survivorship plan: exposures, late effects with their screening, and what is not covered."""

    basis: ExposureBasis
    exposures: ExposureSummary
    end_of_therapy_date: str | None
    items: list[SurvivorshipItem]
    not_covered: list[SurvivorshipNote]
    provisional: bool
    missing: list[str]
    notes: list[str]
    source: Source
    disclaimer: str


# ---- The care overview and the change explanation -----------------------------------------------------------


@with_config(_CLOSED)
class CareOverview(TypedDict):
    """Roadmap, the doses of every phase (or why they cannot be calculated) and the survivorship plan."""

    record_id: str | None
    roadmap: Roadmap
    doses: list[PhaseDoses | DoseRefusal]
    survivorship: SurvivorshipPlan
    knowledge_version: str
    disclaimer: str


@with_config(_CLOSED)
class Change(TypedDict):
    """One change between two assessments of the same patient, with the new results that explain it."""

    field: str
    before: str | bool | None
    after: str | bool | None
    because: list[str]
    message: str
    fields: NotRequired[list[str]]
    """The ``record`` change: the record paths that changed."""
