"""Schema of the therapy knowledge files: regimens (roadmaps), drugs (caps and rounding), intrathecal doses,
pharmacogenomic adjustments and survivorship rules. Same rules as ``schema``: unknown keys are errors, every
rule carries evidence, and only confidence ``H`` or ``M`` can be written."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN as _FROZEN
from allpath.knowledge.cite import Cite, Confidence, Evidence

Evidences = list[Evidence]


# ---- regimens.yaml -------------------------------------------------------------------------------------


IntrathecalColumn = Literal["methotrexate", "hydrocortisone", "cytarabine"]


class DoseSpec(BaseModel):
    """A dose: per square meter of body surface area, or from the age-based intrathecal table.

    An age-based dose says which kind of intrathecal treatment the line is: one drug alone
    (``single_agent``) or the three drugs together (``triple``). The two are different doses, so a line is
    only dosed from a table column that serves its kind (see ``intrathecal.yaml``).
    """

    model_config = _FROZEN
    per_m2: float | None = Field(default=None, gt=0)
    by_age: IntrathecalColumn | None = None
    intrathecal: Literal["single_agent", "triple"] | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> DoseSpec:
        if (self.per_m2 is None) == (self.by_age is None):
            raise ValueError("a dose is either per_m2 or by_age")
        if (self.by_age is None) != (self.intrathecal is None):
            raise ValueError("an age-based dose says its intrathecal kind (single_agent or triple), and only it")
        return self


class PhaseDrug(BaseModel):
    model_config = _FROZEN
    drug: str
    route: str
    dose: DoseSpec
    per: Literal["dose", "day", "week"]
    count: int | None = Field(default=None, ge=1)  # administrations in the phase, when the sources give them
    schedule: str
    # A condition on the age at diagnosis (fact ``age_years``, the vocabulary of ``conditions``): the line
    # applies only when it holds (a regimen picks one of two lines by age).
    when: dict[str, object] | None = None
    confidence: Confidence | None = None


class PhaseSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    source_phase: Literal["remission_induction", "consolidation_intensification", "maintenance"]
    weeks: float | None = Field(default=None, gt=0)
    cycle_weeks: float | None = Field(default=None, gt=0)
    until: Literal["total_duration"] | None = None
    length_basis: str | None = None
    confidence: Confidence | None = None
    evidence: Evidences = Field(min_length=1)
    drugs: list[PhaseDrug]


class RegimenSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    setting: str  # the children the regimen is for (settings.yaml); its evidence must speak of them
    risk_groups: list[str] = Field(min_length=1)
    cite: Cite
    evidence: Evidences = Field(min_length=1)
    phases: list[PhaseSpec] = Field(min_length=1)


class RoadmapNote(BaseModel):
    model_config = _FROZEN
    id: str
    when: dict[str, object]  # a condition on the child's populations (fact ``populations``)
    text: str
    confidence: Confidence
    evidence: Evidences = Field(min_length=1)


class Selection(BaseModel):
    model_config = _FROZEN
    excluded_populations: list[str]
    not_covered: dict[str, str]
    notes: list[RoadmapNote] = []


class TotalDuration(BaseModel):
    model_config = _FROZEN
    id: str
    years_from_phase_start: float = Field(gt=0)
    phase: str
    explanation: str
    evidence: Evidences = Field(min_length=1)


class CheckpointSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    phase: str
    day: int | Literal["end"]
    input: str
    purpose: str
    evidence: Evidences = Field(min_length=1)


class RegimensFile(BaseModel):
    model_config = _FROZEN
    selection: Selection
    phase_at_diagnosis: str  # the phase every regimen starts with on the day of diagnosis
    total_duration: TotalDuration
    checkpoints: list[CheckpointSpec]
    regimens: list[RegimenSpec] = Field(min_length=1)


# ---- drugs.yaml --------------------------------------------------------------------------------------------


class BodySurfaceArea(BaseModel):
    model_config = _FROZEN
    id: str
    formula: Literal["mosteller"]
    divisor: float = Field(gt=0)
    explanation: str
    not_covered: str
    evidence: Evidences = Field(min_length=1)


class DrugDosing(BaseModel):
    """How a drug of the roadmaps is dosed: ``label`` is its name in the dose tables."""

    model_config = _FROZEN
    label: str
    unit: Literal["mg", "IU"]
    round_to: float = Field(gt=0)
    cap_per_dose: float | None = Field(default=None, gt=0)
    cap_explanation: str | None = None
    evidence: Evidences = Field(min_length=1)


class DrugEntry(BaseModel):
    """A drug of the one drug table: named by the summary (``cite``, shown in the plan with ``label`` and
    ``note``), dosed by the roadmaps (``dosing``), or both."""

    model_config = _FROZEN
    name: str = Field(pattern=r"^[a-z][a-z0-9 \-]*$")
    drug_class: Literal["chemotherapy", "targeted_therapy", "immunotherapy"] = Field(alias="class")
    label: str | None = None
    note: str | None = None
    cite: Cite | None = None
    dosing: DrugDosing | None = None

    @model_validator(mode="after")
    def _cited_or_dosed(self) -> DrugEntry:
        if self.cite is None and self.dosing is None:
            raise ValueError("a drug cites the summary's section that names it, gives its dosing, or both")
        return self


class DrugDoseSpec(BaseModel):
    """The dosing of one drug as the dose calculator reads it (built from ``DrugEntry.dosing``)."""

    model_config = _FROZEN
    id: str
    label: str
    unit: Literal["mg", "IU"]
    round_to: float = Field(gt=0)
    cap_per_dose: float | None = Field(default=None, gt=0)
    cap_explanation: str | None = None
    evidence: Evidences = Field(min_length=1)


class DrugsFile(BaseModel):
    model_config = _FROZEN
    body_surface_area: BodySurfaceArea
    drugs: list[DrugEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_drug_once(self) -> DrugsFile:
        names = [d.name for d in self.drugs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"each drug once in the table (repeated: {', '.join(repeated)})")
        return self

    def dose_specs(self) -> dict[str, DrugDoseSpec]:
        """The drugs of the roadmaps, by name, with their dosing."""
        return {d.name: DrugDoseSpec(id=d.name, **d.dosing.model_dump()) for d in self.drugs if d.dosing is not None}

    def cited(self) -> dict[str, DrugEntry]:
        """The drugs the summary names (the plan's catalogue), in the order of the table."""
        return {d.name: d for d in self.drugs if d.cite is not None}


# ---- intrathecal.yaml --------------------------------------------------------------------------------------


class AgeBand(BaseModel):
    model_config = _FROZEN
    from_years: float = Field(ge=0)
    label: str
    methotrexate: float = Field(gt=0)
    hydrocortisone: float = Field(gt=0)
    cytarabine: float = Field(gt=0)


class SingleAgentUse(BaseModel):
    """Why one column of the triple-intrathecal table may also dose that drug given alone."""

    model_config = _FROZEN
    explanation: str
    evidence: Evidences = Field(min_length=1)


class IntrathecalFile(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    kind: Literal["triple"]
    confidence: Confidence
    explanation: str
    evidence: Evidences = Field(min_length=1)
    bands: list[AgeBand] = Field(min_length=1)
    # Columns that may also dose a single-agent line, each with its reason. Any other single-agent line is
    # refused with ``single_agent_not_verified``.
    single_agent: dict[IntrathecalColumn, SingleAgentUse] = {}
    single_agent_not_verified: str


# ---- pharmacogenomics.yaml ---------------------------------------------------------------------------------


class PgxRule(BaseModel):
    model_config = _FROZEN
    id: str
    when: dict[str, object]
    share: tuple[float, float] | None = None  # (lowest, highest) share of the normal dose
    fixed_mg_per_m2_day: float | None = Field(default=None, gt=0)
    frequency: Literal["three_times_weekly"] | None = None
    confidence: Confidence | None = None
    explanation: str
    evidence: Evidences = Field(min_length=1)


class PgxDrug(BaseModel):
    model_config = _FROZEN
    drug: str
    rules: list[PgxRule] = Field(min_length=1)
    not_covered: dict[str, str]


class Advice(BaseModel):
    model_config = _FROZEN
    text: str
    evidence: Evidences = Field(min_length=1)


class PharmacogenomicsFile(BaseModel):
    model_config = _FROZEN
    treat_as: dict[str, str]
    treat_as_evidence: Evidences = Field(min_length=1)
    indeterminate_advice: dict[Literal["tpmt", "nudt15"], Advice]
    drugs: list[PgxDrug] = Field(min_length=1)


# ---- survivorship.yaml -------------------------------------------------------------------------------------


class Equivalence(BaseModel):
    model_config = _FROZEN
    drug: str
    factor: float = Field(gt=0)
    label: str | None = None
    evidence: Evidences = Field(min_length=1)


class Anthracyclines(BaseModel):
    model_config = _FROZEN
    equivalence: list[Equivalence] = Field(min_length=1)
    alternatives: list[Equivalence] = []
    not_covered_id: str  # the id of the plan's note for an anthracycline without a factor
    not_covered: dict[str, str]


class StartAge(BaseModel):
    model_config = _FROZEN
    earliest: float
    latest: float


class ScreeningRule(BaseModel):
    model_config = _FROZEN
    id: str
    topic: str
    late_effect: str
    test: str | None = None
    strength: Literal["recommended", "reasonable", "may_be_reasonable"] | None = None
    interval_years: float | None = Field(default=None, gt=0)
    start_age_years: StartAge | None = None
    when: dict[str, object]
    confidence: Confidence | None = None
    schedule_not_covered: bool = False
    not_covered: bool = False
    explanation: str
    evidence: Evidences = Field(min_length=1)


class FrequencyRule(BaseModel):
    model_config = _FROZEN
    id: str
    interval_years: float = Field(gt=0)
    when: dict[str, object]
    explanation: str
    evidence: Evidences = Field(min_length=1)


class CardiacFrequency(BaseModel):
    model_config = _FROZEN
    topic: str  # the screening topic of the heart rules (one strength given, timed by this frequency)
    start_within_years_after_exposure: float = Field(gt=0)
    start_evidence: Evidences = Field(min_length=1)
    rules: list[FrequencyRule] = Field(min_length=1)


class NotCoveredItem(BaseModel):
    model_config = _FROZEN
    id: str
    text: str
    evidence: Evidences = Field(min_length=1)


class ExposureClasses(BaseModel):
    """Which drugs and radiation sites count as which exposure measure (engine/exposures.py reads these)."""

    model_config = _FROZEN
    anthracyclines: list[str] = Field(min_length=1)
    received: dict[str, list[str]]  # measure -> the drugs whose receipt makes it true
    first_dose_age_drug: str  # the drug whose first dose gives age_at_first_dexamethasone_years
    chest_radiation_sites: list[str]
    cranial_radiation_sites: list[str]
    total_body_radiation_sites: list[str]


class SurvivorshipFile(BaseModel):
    model_config = _FROZEN
    cite: Cite
    exposure_classes: ExposureClasses
    anthracyclines: Anthracyclines
    screening: list[ScreeningRule] = Field(min_length=1)
    cardiac_frequency: CardiacFrequency
    not_covered: list[NotCoveredItem]
