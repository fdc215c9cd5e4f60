"""Schema of the knowledge files (``knowledge/data/*.yaml``), validated at load and in tests.

The schema enforces the project's rules about knowledge:
- every rule, population, phase, therapy, drug, test and plan element carries a citation ``cite``
  naming a section of a registered source;
- evidence from ``clinical-facts.md`` carries its confidence, and only ``H`` and ``M`` exist here: a fact
  marked ``[L]`` (not verified) cannot be encoded, because the schema has no way to say it;
- unknown keys are errors, so a misspelt key cannot silently drop a rule.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from allpath.knowledge.cite import FROZEN as _FROZEN
from allpath.knowledge.cite import RULE_ID
from allpath.knowledge.cite import Cite as Cite
from allpath.knowledge.cite import Confidence as Confidence
from allpath.knowledge.cite import Evidence as Evidence
from allpath.knowledge.fhir_codes_schema import FhirCodesFile
from allpath.knowledge.fhir_import_schema import FhirImportFile
from allpath.knowledge.order_checks_schema import OrderChecksFile
from allpath.knowledge.text_schema import TextFile
from allpath.knowledge.therapy_schema import (
    DrugsFile,
    IntrathecalFile,
    PharmacogenomicsFile,
    RegimensFile,
    SurvivorshipFile,
)
from allpath.knowledge.trials_schema import TrialsFile
from allpath.knowledge.units_schema import UnitsFile

Certainty = Literal["always", "usually", "may", "sometimes", "considered", "studied"]


class SourceSpec(BaseModel):
    model_config = _FROZEN
    id: str
    document: str
    title: str
    publisher: str
    revised: str | None = None
    url: str | None = None
    file: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    sections: list[str] = Field(min_length=1)


class AgeRange(BaseModel):
    """Ages in years: from ``from_years`` (inclusive) to ``below_years`` (exclusive); either may be open."""

    model_config = _FROZEN
    from_years: float | None = Field(default=None, ge=0)
    below_years: float | None = Field(default=None, gt=0)


DiseaseState = Literal["newly_diagnosed", "relapsed", "refractory"]


class Setting(BaseModel):
    """A clinical setting: which disease states, lineages and ages a source or a rule speaks of.

    A dimension left out means every value of it (a lab definition holds for any lineage, say).
    """

    model_config = _FROZEN
    label: str
    disease_state: list[DiseaseState] | None = Field(default=None, min_length=1)
    lineage: list[Literal["B", "T"]] | None = Field(default=None, min_length=1)
    age_years: AgeRange | None = None


class SettingsFile(BaseModel):
    model_config = _FROZEN
    settings: dict[str, Setting] = Field(min_length=1)


class SourcesFile(BaseModel):
    model_config = _FROZEN
    sources: list[SourceSpec]


Timepoint = Literal["diagnosis", "day8", "end_of_induction", "end_of_consolidation", "relapse"]


class InputSpec(BaseModel):
    model_config = _FROZEN
    id: str
    field: str
    label: str
    timepoint: Timepoint
    absent: Literal["missing", "none_reported"]
    test: str
    resolution: float | None = None
    unit: str | None = None


class DerivedFact(BaseModel):
    model_config = _FROZEN
    id: str
    label: str


class InputsFile(BaseModel):
    model_config = _FROZEN
    upcoming_timepoints: list[Timepoint]  # an unknown input of these timepoints is upcoming, not missing
    inputs: list[InputSpec]
    derived: list[DerivedFact]


class TestSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    purpose: str
    cite: Cite


class TestsFile(BaseModel):
    model_config = _FROZEN
    tests: list[TestSpec]


class Token(BaseModel):
    model_config = _FROZEN
    id: str
    label: str


class GeneticsFile(BaseModel):
    model_config = _FROZEN
    tokens: list[Token]
    sets: dict[str, list[str]]


class DefinitionsFile(BaseModel):
    model_config = _FROZEN
    parameters: dict[str, float]
    definitions: dict[str, object]


class _Explained(BaseModel):
    """Common fields of everything that explains itself in an output."""

    model_config = _FROZEN
    id: str = Field(pattern=RULE_ID)
    when: dict[str, object]
    explanation: str
    plain: str | None = None
    cite: Cite
    evidence: list[Evidence] = []
    confidence: Confidence | None = None
    # The setting the rule applies to (a name from settings.yaml); a scheme's rules inherit the scheme's.
    setting: str | None = None


class RuleSpec(_Explained):
    """A rule that sets a floor for a group of its scheme when ``when`` holds."""

    group: str


class NoteSpec(_Explained):
    """A statement shown when ``when`` holds; it changes no group. ``not_covered`` marks a known gap."""

    not_covered: bool = False


class SchemeSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    combine: Literal["highest"]
    setting: str
    order: list[str] = Field(min_length=2)
    labels: dict[str, str]
    applies_when: dict[str, object]
    decisive: list[str] | Literal["all"]
    rules: list[RuleSpec] = Field(min_length=1)
    notes: list[NoteSpec] = []


class SchemeFile(BaseModel):
    model_config = _FROZEN
    scheme: SchemeSpec


class TimingRule(_Explained):
    value: Literal["early", "late"]


class CutoffSpec(BaseModel):
    model_config = _FROZEN
    basis: str
    when: dict[str, object]
    label: str
    early_below_months: Any


class TimingSpec(BaseModel):
    model_config = _FROZEN
    id: str
    setting: str
    confidence: Confidence
    rules: list[TimingRule]
    cutoffs: list[CutoffSpec]


class RelapseFile(BaseModel):
    model_config = _FROZEN
    timing: TimingSpec
    scheme: SchemeSpec


class PopulationSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    when: dict[str, object]
    explanation: str
    plain: str
    cite: Cite
    evidence: list[Evidence] = []
    confidence: Confidence | None = None
    setting: str | None = None


class PopulationsFile(BaseModel):
    model_config = _FROZEN
    populations: list[PopulationSpec]


class PhaseSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    order: int
    goal: str
    cite: Cite


class PhasesFile(BaseModel):
    model_config = _FROZEN
    phases: list[PhaseSpec]


class TherapySpec(BaseModel):
    model_config = _FROZEN
    code: str
    label: str
    plain: str
    cite: Cite


class CatalogFile(BaseModel):
    model_config = _FROZEN
    certainty_order: list[Certainty]
    certainty_meaning: dict[Certainty, str]
    therapies: list[TherapySpec]


class PlanElementSpec(_Explained):
    """Therapies and drugs added to the plan, each with its certainty, when ``when`` holds."""

    therapies: dict[str, Certainty] = {}
    drugs: dict[str, Certainty] = {}
    not_covered: bool = False


class PlanGuardSpec(BaseModel):
    """A therapy kept out of every plan unless ``requires`` holds, whichever element brings it in."""

    model_config = _FROZEN
    id: str = Field(pattern=RULE_ID)
    therapies: list[str] = Field(min_length=1)
    requires: dict[str, object]
    setting: str
    explanation: str
    plain: str | None = None  # what was left out and why, for a family
    cite: Cite
    evidence: list[Evidence] = Field(min_length=1)


class PlanFile(BaseModel):
    model_config = _FROZEN
    guards: list[PlanGuardSpec] = []
    elements: list[PlanElementSpec]


class PrognosticFactorSpec(BaseModel):
    model_config = _FROZEN
    id: str
    label: str
    inputs: list[str]


class PrognosisFile(BaseModel):
    model_config = _FROZEN
    newly_diagnosed: list[PrognosticFactorSpec]
    relapsed: list[PrognosticFactorSpec]
    cite_newly_diagnosed: Cite
    cite_relapsed: Cite


class TextItem(BaseModel):
    model_config = _FROZEN
    id: str
    text: str
    cite: Cite


class CautionItem(TextItem):
    when: dict[str, object]


class FollowUpFile(BaseModel):
    model_config = _FROZEN
    follow_up: list[TextItem]
    late_effects: list[TextItem]
    cautions: list[CautionItem]
    not_covered: list[TextItem]


class CounselingRule(NoteSpec):
    """A counselling statement; ``recommends`` marks the ones that recommend genetic counselling."""

    recommends: bool = False


class CounselingFile(BaseModel):
    model_config = _FROZEN
    syndromes: list[Token]
    rules: list[CounselingRule]


class WarningRule(BaseModel):
    """A value worth a second look, or inputs that contradict each other (``warnings.yaml``).

    ``field`` is the record field to check (a key for software); ``message`` is what a person reads, with
    ``{value}`` (the field's value) and ``{value_x1000}`` (that value times 1,000) filled in.
    """

    model_config = _FROZEN
    code: str = Field(pattern=RULE_ID)
    field: str
    when: dict[str, object]
    message: str
    cite: Cite | None = None


class WarningsFile(BaseModel):
    model_config = _FROZEN
    warnings: list[WarningRule]


class StateRule(_Explained):
    value: Literal["newly_diagnosed", "relapsed", "refractory"]


class DiseaseStateFile(BaseModel):
    model_config = _FROZEN
    states: list[StateRule] = Field(min_length=1)


FILES: dict[str, type[BaseModel]] = {
    "sources.yaml": SourcesFile,
    "settings.yaml": SettingsFile,
    "inputs.yaml": InputsFile,
    "tests.yaml": TestsFile,
    "genetics.yaml": GeneticsFile,
    "definitions.yaml": DefinitionsFile,
    "risk_groups.yaml": SchemeFile,
    "cog_risk_groups.yaml": SchemeFile,
    "relapse.yaml": RelapseFile,
    "populations.yaml": PopulationsFile,
    "phases.yaml": PhasesFile,
    "catalog.yaml": CatalogFile,
    "plan.yaml": PlanFile,
    "prognosis.yaml": PrognosisFile,
    "follow_up.yaml": FollowUpFile,
    "counseling.yaml": CounselingFile,
    "text.yaml": TextFile,
    "disease_state.yaml": DiseaseStateFile,
    "warnings.yaml": WarningsFile,
    "regimens.yaml": RegimensFile,
    "drugs.yaml": DrugsFile,
    "intrathecal.yaml": IntrathecalFile,
    "pharmacogenomics.yaml": PharmacogenomicsFile,
    "survivorship.yaml": SurvivorshipFile,
    "fhir_codes.yaml": FhirCodesFile,
    "fhir_import.yaml": FhirImportFile,
    "order_checks.yaml": OrderChecksFile,
    "units.yaml": UnitsFile,
    "trials.yaml": TrialsFile,
}
"""Every knowledge file and the model its content must validate against."""
