"""The treatment views of a child: roadmap, the doses of a phase (or why they cannot be calculated), the
survivorship plan, and the care overview that gathers them."""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import with_config
from typing_extensions import TypedDict

from allpath.domain.results.common import CLOSED, ConfidenceWord, EvidenceRef, Source

# ---- The roadmap --------------------------------------------------------------------------------------------


@with_config(CLOSED)
class RoadmapRegimen(TypedDict):
    id: str
    label: str
    source: Source
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class PhaseDrugLine(TypedDict):
    drug: str
    route: str
    schedule: str


@with_config(CLOSED)
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


@with_config(CLOSED)
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


@with_config(CLOSED)
class EndOfTherapy(TypedDict):
    date: str | None
    rule: str
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class RoadmapNote(TypedDict):
    id: str
    text: str
    confidence: ConfidenceWord
    evidence: list[EvidenceRef]


@with_config(CLOSED)
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


@with_config(CLOSED)
class BodySurfaceArea(TypedDict):
    m2: float
    formula: str
    explanation: str
    not_covered: str
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class DoseTable(TypedDict):
    """The table a dose was read from: the regimen's per-m2 doses or the age-based intrathecal table."""

    id: str
    label: str
    column: str
    serves: list[str]


Frequency = Literal["daily", "three_times_weekly"]


@with_config(CLOSED)
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


@with_config(CLOSED)
class DoseLineDraft(TypedDict):
    """A dose line while the engine works it out, before its confidence and evidence are settled."""

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
    table_note: NotRequired[str]
    refusal_evidence: NotRequired[list[EvidenceRef]]
    cap_explanation: NotRequired[str | None]


@with_config(CLOSED)
class DoseLine(DoseLineDraft):
    """One drug line of a phase: the dose, or why it is refused (``status``, ``refusal``, ``missing``)."""

    confidence: ConfidenceWord
    evidence: list[EvidenceRef]


@with_config(CLOSED)
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


@with_config(CLOSED)
class DoseProblem(TypedDict):
    """The input a dose calculation needs, named, and what is wrong with it."""

    field: str
    message: str


@with_config(CLOSED)
class DoseRefusal(TypedDict):
    """A phase whose doses cannot be calculated, with the input that is needed."""

    regimen: str
    phase: str
    error: DoseProblem


# ---- Survivorship -------------------------------------------------------------------------------------------

Strength = Literal["recommended", "reasonable", "may_be_reasonable"]


@with_config(CLOSED)
class AnthracyclinePart(TypedDict):
    drug: str
    mg_per_m2: float | None
    factor: float
    doxorubicin_equivalent_mg_per_m2: float | None
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class AlternativeFactor(TypedDict):
    """The total under another published factor, and whether it would change the surveillance."""

    label: str | None
    drug: str
    factor: float
    doxorubicin_equivalent_mg_per_m2: float | None
    changes_surveillance: bool
    surveillance: Strength | None
    evidence: list[EvidenceRef]


@with_config(CLOSED)
class ExposureSummary(TypedDict):
    """The treatment exposures the survivorship rules read (``None``: unknown, never zero)."""

    doxorubicin_equivalent_mg_per_m2: float | None
    anthracyclines: list[AnthracyclinePart]
    alternative_factors: list[AlternativeFactor]
    chest_radiation_gy: float | None
    cranial_radiation_gy: float | None
    drugs: list[str]
    last_cardiotoxic_exposure: str | None


@with_config(CLOSED)
class ScreeningStart(TypedDict):
    """When a screening starts: after the last cardiotoxic exposure, or between two ages (``not_before``)."""

    no_later_than: str | None
    rule: str
    after: str | None
    not_before: NotRequired[str | None]


@with_config(CLOSED)
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


@with_config(CLOSED)
class SurvivorshipNote(TypedDict):
    id: str
    text: str
    evidence: list[EvidenceRef]


ExposureBasis = Literal["recorded", "planned", "none"]


@with_config(CLOSED)
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


@with_config(CLOSED)
class CareOverview(TypedDict):
    """Roadmap, the doses of every phase (or why they cannot be calculated) and the survivorship plan."""

    record_id: str | None
    roadmap: Roadmap
    doses: list[PhaseDoses | DoseRefusal]
    survivorship: SurvivorshipPlan
    knowledge_version: str
    engine_version: str
    disclaimer: str
