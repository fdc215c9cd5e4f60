"""Schema of ``trials.yaml``: the words by which allpath reads what a registry study is for.

The trial search (engine/trials.py) reads a ClinicalTrials.gov study's titles, keywords and conditions with
these terms; which part of a study a term is read in is part of its meaning (a condition list names subtypes a
study does not take), so every entry says where it holds, why, and whether the registry's format defines it or
it is allpath's reading. Unknown keys are errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN

Basis = Literal["registry_format", "mapping_choice"]
StudyPart = Literal["titles", "keywords", "conditions"]
StateValue = Literal["newly_diagnosed", "relapsed", "refractory"]
Outcome = Literal["met", "not_met", "unknown"]


class _Reasoned(BaseModel):
    model_config = FROZEN
    reason: str = Field(min_length=10)
    setting: str = Field(min_length=1)
    basis: Basis


class Terms(_Reasoned):
    """``not_after``: words that, right before a term, make it another term ("very" before "high risk",
    "prevent" before "relapse")."""

    terms: tuple[str, ...] = Field(min_length=1)
    exact_case: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()


class RelatedCondition(Terms):
    id: str
    label: str


class Disease(BaseModel):
    """``other``: diseases that are not ALL (a study naming only them is not for ALL); ``general``: words for
    leukemia or blood cancers in general, which may include ALL (read only in a text that names no disease)."""

    model_config = FROZEN
    all_terms: Terms
    related: tuple[RelatedCondition, ...]
    other: tuple[RelatedCondition, ...] = ()
    general: Terms | None = None


class Negation(_Reasoned):
    """Words that make a term name what a study excludes ("non-Down syndrome", "KMT2A-germline"): ``before``
    right before the term, ``after`` right after it (a space or hyphen between)."""

    before: tuple[str, ...] = Field(min_length=1)
    after: tuple[str, ...] = Field(min_length=1)
    not_after: tuple[str, ...] = ()  # text right before a word of ``before`` that undoes it ("with or ")


class Lineage(Terms):
    value: Literal["B", "T"]
    label: str


class StateWords(Terms):
    value: StateValue
    label: str


class RelapseNumberWords(Terms):
    number: int = Field(ge=1)
    or_later: bool = False  # "second or greater relapse": this relapse number or any later one


class RelapseSiteWords(Terms):
    """Where a relapse study says the relapse is: ``sites`` (the record's relapse sites) it takes; with ``only``,
    the child's relapse must be at those sites alone ("isolated CNS relapse": no marrow)."""

    id: str
    label: str
    sites: tuple[Literal["bone_marrow", "cns", "testis", "other"], ...] = Field(min_length=1)
    only: bool


class AfterTreatment(Terms):
    """Words of a study for survivors who finished treatment; not read when the study also names one of
    ``unless_states`` (a frontline study "to reduce late effects" is a treatment study)."""

    unless_states: tuple[StateValue, ...] = ()


class StateRule(_Reasoned):
    patient: StateValue
    study: StateValue
    outcome: Outcome


class AnyStatePurposes(_Reasoned):
    purposes: tuple[str, ...] = Field(min_length=1)


class RelapseNumberUnnamed(_Reasoned):
    """Said when a relapse study's titles, keywords and conditions limit no relapse number (its free text may)."""


class RiskWords(Terms):
    """The words by which a study names a risk group of newly diagnosed ALL. ``not_after``: words that, right
    before a term, make it another group's term ("very" before "high risk")."""

    value: str = Field(min_length=1)
    label: str


class RiskRule(_Reasoned):
    patient: str = Field(min_length=1)  # a group of the risk scheme (risk_groups.yaml)
    study: str = Field(min_length=1)  # a group of `words`
    outcome: Outcome


class RiskGroups(_Reasoned):
    """A study's risk group for newly diagnosed ALL, compared with the child's group of ``risk_groups.yaml``.
    ``read_when``: the study's words name a risk group only when it names this disease state and no other.
    ``other_ways_in``: subgroups that a study's titles name beside a risk group as a second way in
    ("Standard Risk or Down Syndrome B-ALL")."""

    read_when: StateValue
    # The lineages whose risk group at diagnosis is the studies' (the NCI groups are for B-cell ALL); for another
    # lineage the criterion is unknown, with ``other_lineage_reason``.
    compared_for: tuple[Literal["B", "T"], ...] = Field(min_length=1)
    other_lineage_reason: str = Field(min_length=10)
    words: tuple[RiskWords, ...] = Field(min_length=1)
    rules: tuple[RiskRule, ...] = Field(min_length=1)
    other_ways_in: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _every_pair(self) -> RiskGroups:
        study = {w.value for w in self.words}
        patient = {r.patient for r in self.rules}
        pairs = [(r.patient, r.study) for r in self.rules]
        if len(pairs) != len(set(pairs)):
            raise ValueError("a pair of child and study risk group is listed twice")
        unknown = sorted({r.study for r in self.rules} - study)
        if unknown:
            raise ValueError(f"risk rules name study groups without words: {', '.join(unknown)}")
        missing = sorted(f"{p}/{s}" for p in patient for s in study if (p, s) not in set(pairs))
        if missing:
            raise ValueError(f"risk rules missing for: {', '.join(missing)}")
        return self


class PatientSide(BaseModel):
    """What the record says about a subgroup: a genetic finding, a yes/no field, or a population of the
    assessment (with the input it needs, so that a population left out for a missing input reads as unknown)."""

    model_config = FROZEN
    genetics: str | None = None
    field: Literal["down_syndrome"] | None = None
    population: str | None = None
    needs: str | None = None
    # A genetic finding that routine tests do not look for: a record without it does not say the child lacks it.
    absent_unknown: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> PatientSide:
        kinds = [k for k in (self.genetics, self.field, self.population) if k is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of genetics, field or population")
        if self.population is not None and self.needs is None:
            raise ValueError("a population needs the input it is worked out from")
        return self


class AlsoAccepts(BaseModel):
    model_config = FROZEN
    terms: tuple[str, ...] = Field(min_length=1)
    label: str


class Subgroup(Terms):
    """``negated_terms``: words that name the subgroup as excluded ("Ph-negative"), as a negated term does.
    ``not_only_with``: words that, in the same part, make a study that names the subgroup not only for it
    ("Infants, Children and Adolescents")."""

    id: str
    label: str
    patient: PatientSide
    required_in: tuple[StudyPart, ...]
    named_in: tuple[StudyPart, ...] = Field(min_length=1)
    also_accepts: AlsoAccepts | None = None
    negated_terms: tuple[str, ...] = ()
    not_only_with: tuple[str, ...] = ()


class Statuses(_Reasoned):
    recruiting: tuple[str, ...] = Field(min_length=1)
    open: tuple[str, ...] = Field(min_length=1)
    labels: dict[str, str]

    @model_validator(mode="after")
    def _labelled(self) -> Statuses:
        unlabelled = sorted(set(self.recruiting + self.open) - set(self.labels))
        if unlabelled:
            raise ValueError(f"statuses without a label: {', '.join(unlabelled)}")
        if not set(self.recruiting) <= set(self.open):
            raise ValueError("every recruiting status is also open")
        return self


class TrialsFile(BaseModel):
    model_config = FROZEN
    disease: Disease
    lineage: tuple[Lineage, ...] = Field(min_length=1)
    disease_state: tuple[StateWords, ...] = Field(min_length=1)
    relapse_number: tuple[RelapseNumberWords, ...] = ()
    relapse_sites: tuple[RelapseSiteWords, ...] = ()
    state_rules: tuple[StateRule, ...] = Field(min_length=1)
    relapse_number_unnamed: RelapseNumberUnnamed
    any_state_purposes: AnyStatePurposes
    after_treatment: AfterTreatment | None = None  # survivorship and late-effects studies
    negation: Negation | None = None
    risk_groups: RiskGroups
    subgroups: tuple[Subgroup, ...]
    statuses: Statuses

    @model_validator(mode="after")
    def _unique(self) -> TrialsFile:
        pairs = [(r.patient, r.study) for r in self.state_rules]
        if len(pairs) != len(set(pairs)):
            raise ValueError("a pair of patient and study state is listed twice in state_rules")
        ids = [g.id for g in self.subgroups]
        if len(ids) != len(set(ids)):
            raise ValueError("a subgroup id is listed twice")
        strangers = sorted(set(self.risk_groups.other_ways_in) - set(ids))
        if strangers:
            raise ValueError(f"risk_groups.other_ways_in names no subgroup: {', '.join(strangers)}")
        return self
