"""The therapy knowledge compiled for the engine: regimens, drug caps, intrathecal table, pharmacogenomic
rules and survivorship rules, with their conditions compiled in the same three-valued vocabulary as the
risk rules (each over its own small set of facts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from allpath.errors import KnowledgeError
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.conditions import All, AnyOf, Condition, ConditionCompiler, Not, TokenCondition

PGX_FACTS = frozenset({"tpmt", "nudt15", "normal_dose_mg_per_m2_day"})
LINE_FACTS = frozenset({"age_years"})  # what a regimen's drug line may depend on
NOTE_FACTS = frozenset({"populations"})  # what a roadmap note may depend on
SURVIVORSHIP_FACTS = frozenset(
    {
        "doxorubicin_equivalent_mg_per_m2",
        "anthracycline_without_equivalent",
        "chest_radiation_gy",
        "cranial_radiation_gy",
        "methotrexate",
        "corticosteroid",
        "dexamethasone",
        "cyclophosphamide",
        "cranial_radiation",
        "total_body_radiation",
        "age_at_first_dexamethasone_years",
        "sex",
    }
)


@dataclass(frozen=True)
class PgxRule:
    spec: ts.PgxRule
    condition: Condition


@dataclass(frozen=True)
class PgxDrug:
    spec: ts.PgxDrug
    rules: tuple[PgxRule, ...]


@dataclass(frozen=True)
class ScreeningRule:
    spec: ts.ScreeningRule
    condition: Condition


@dataclass(frozen=True)
class FrequencyRule:
    spec: ts.FrequencyRule
    condition: Condition


@dataclass(frozen=True)
class TherapyKnowledge:
    regimens: ts.RegimensFile
    drugs: Mapping[str, ts.DrugDoseSpec]
    bsa: ts.BodySurfaceArea
    intrathecal: ts.IntrathecalFile
    pgx: ts.PharmacogenomicsFile
    pgx_drugs: Mapping[str, PgxDrug]
    survivorship: ts.SurvivorshipFile
    screening: tuple[ScreeningRule, ...]
    cardiac_frequency: tuple[FrequencyRule, ...]
    # Compiled ``when`` of the drug lines (keyed by the line object's id: the lines live in ``regimens``, held
    # here for the life of the knowledge base) and of the roadmap notes (by note id).
    line_conditions: Mapping[int, Condition]
    note_conditions: Mapping[str, Condition]

    def __getstate__(self) -> dict[str, object]:
        """For the knowledge cache (``allpath.knowledge.cache``): ids do not survive a pickle, so each line's
        condition travels with its line object (the pickle keeps it the very object held in ``regimens``)."""
        lines = {id(line): line for r in self.regimens.regimens for p in r.phases for line in p.drugs}
        state = dict(self.__dict__)
        state["line_conditions"] = [(lines[key], condition) for key, condition in self.line_conditions.items()]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        pairs = state["line_conditions"]
        assert isinstance(pairs, list)
        for name, value in (state | {"line_conditions": {id(line): condition for line, condition in pairs}}).items():
            object.__setattr__(self, name, value)  # a frozen dataclass: set as its __init__ does

    def line_fits_age(self, line: ts.PhaseDrug, age_years: float) -> bool:
        """Whether a drug line applies at this age at diagnosis (a line without ``when`` always does)."""
        if line.when is None:
            return True
        return self.line_conditions[id(line)].evaluate({"age_years": age_years}).value is True

    def note_applies(self, note: ts.RoadmapNote, populations: Iterable[str]) -> bool:
        """Whether a roadmap note holds for a child of these populations."""
        return self.note_conditions[note.id].evaluate({"populations": frozenset(populations)}).value is True


def compile_therapy(
    regimens: ts.RegimensFile,
    drugs: ts.DrugsFile,
    intrathecal: ts.IntrathecalFile,
    pgx: ts.PharmacogenomicsFile,
    survivorship: ts.SurvivorshipFile,
    populations: frozenset[str],
    inputs: frozenset[str],
) -> TherapyKnowledge:
    pgx_compiler = ConditionCompiler({}, {}, {}, PGX_FACTS)
    surv_compiler = ConditionCompiler({}, {}, {}, SURVIVORSHIP_FACTS)
    drug_specs = drugs.dose_specs()
    line_compiler = ConditionCompiler({}, {}, {}, LINE_FACTS)
    note_compiler = ConditionCompiler({}, {}, {}, NOTE_FACTS)
    lines = [(r, p, line) for r in regimens.regimens for p in r.phases for line in p.drugs if line.when is not None]
    therapy = TherapyKnowledge(
        regimens=regimens,
        drugs=drug_specs,
        bsa=drugs.body_surface_area,
        intrathecal=intrathecal,
        pgx=pgx,
        pgx_drugs={
            d.drug: PgxDrug(
                d, tuple(PgxRule(r, pgx_compiler.compile(r.when, f"pharmacogenomics.yaml:{r.id}")) for r in d.rules)
            )
            for d in pgx.drugs
        },
        survivorship=survivorship,
        screening=tuple(
            ScreeningRule(r, surv_compiler.compile(r.when, f"survivorship.yaml:{r.id}")) for r in survivorship.screening
        ),
        cardiac_frequency=tuple(
            FrequencyRule(r, surv_compiler.compile(r.when, f"survivorship.yaml:{r.id}"))
            for r in survivorship.cardiac_frequency.rules
        ),
        line_conditions={
            id(line): line_compiler.compile(line.when, f"regimens.yaml:{r.id}.{p.id} {line.drug}")
            for r, p, line in lines
        },
        note_conditions={
            note.id: note_compiler.compile(note.when, f"regimens.yaml:{note.id}") for note in regimens.selection.notes
        },
    )
    _check(therapy, populations, inputs)
    return therapy


def _check(therapy: TherapyKnowledge, populations: frozenset[str], inputs: frozenset[str]) -> None:
    """Cross-references that the schema cannot express."""
    problems = _selection_problems(therapy, populations, inputs) + _regimen_problems(therapy) + _pgx_problems(therapy)
    problems += _survivorship_problems(therapy)
    band_starts = [b.from_years for b in therapy.intrathecal.bands]
    if band_starts != sorted(band_starts) or band_starts[0] != 0:
        problems.append("intrathecal.yaml: age bands must start at 0 and ascend")
    if problems:
        raise KnowledgeError("\n".join(problems))


def _selection_problems(therapy: TherapyKnowledge, populations: frozenset[str], inputs: frozenset[str]) -> list[str]:
    """The populations of the regimen selection and the inputs of the checkpoints exist."""
    selection = therapy.regimens.selection
    problems = [
        f"regimens.yaml: excluded population {name!r} is not a population"
        for name in selection.excluded_populations
        if name not in populations
    ]
    problems += [
        f"regimens.yaml: {note.id} names unknown population {p!r}"
        for note in selection.notes
        for p in sorted(_tokens_of(therapy.note_conditions[note.id]))
        if p not in populations
    ]
    problems += [
        f"regimens.yaml: checkpoint {checkpoint.id} names unknown input {checkpoint.input!r}"
        for checkpoint in therapy.regimens.checkpoints
        if checkpoint.input not in inputs
    ]
    return problems


def _regimen_problems(therapy: TherapyKnowledge) -> list[str]:
    """Every regimen has the phases that the total duration and the checkpoints name, and dosed drugs only."""
    regimens = therapy.regimens
    problems: list[str] = []
    for regimen in regimens.regimens:
        phase_ids = [p.id for p in regimen.phases]
        if phase_ids[:1] != [regimens.phase_at_diagnosis]:
            problems.append(f"regimens.yaml: {regimen.id} does not start with {regimens.phase_at_diagnosis!r}")
        if regimens.total_duration.phase not in phase_ids:
            problems.append(f"regimens.yaml: {regimen.id} has no phase {regimens.total_duration.phase!r}")
        problems += [
            f"regimens.yaml: {regimen.id} has no phase {checkpoint.phase!r} for {checkpoint.id}"
            for checkpoint in regimens.checkpoints
            if checkpoint.phase not in phase_ids
        ]
        problems += [
            f"regimens.yaml: {regimen.id}.{phase.id} names unknown drug {line.drug!r}"
            for phase in regimen.phases
            for line in phase.drugs
            if line.drug not in therapy.drugs
        ]
    return problems


def _pgx_problems(therapy: TherapyKnowledge) -> list[str]:
    """Pharmacogenomic rules name dosed drugs and give one dose basis, a share within (0, 1]."""
    problems: list[str] = []
    for drug, compiled in therapy.pgx_drugs.items():
        if drug not in therapy.drugs:
            problems.append(f"pharmacogenomics.yaml: unknown drug {drug!r}")
        for rule in compiled.spec.rules:
            if (rule.share is None) == (rule.fixed_mg_per_m2_day is None):
                problems.append(f"pharmacogenomics.yaml: {rule.id}: give share or fixed_mg_per_m2_day")
            if rule.share is not None and not 0 < rule.share[0] <= rule.share[1] <= 1:
                problems.append(f"pharmacogenomics.yaml: {rule.id}: a share lies in (0, 1] and low <= high")
    return problems


def _survivorship_problems(therapy: TherapyKnowledge) -> list[str]:
    """The heart topic has screening rules, the drug of the first-dose age is a drug, note ids are distinct."""
    spec = therapy.survivorship
    problems: list[str] = []
    if not any(rule.topic == spec.cardiac_frequency.topic for rule in spec.screening):
        problems.append(f"survivorship.yaml: no screening rule has the heart topic {spec.cardiac_frequency.topic!r}")
    if spec.exposure_classes.first_dose_age_drug not in therapy.drugs:
        problems.append(f"survivorship.yaml: unknown drug {spec.exposure_classes.first_dose_age_drug!r}")
    taken = {note.id for note in spec.not_covered} | {rule.id for rule in spec.screening}
    if spec.anthracyclines.not_covered_id in taken:
        problems.append(f"survivorship.yaml: not_covered_id {spec.anthracyclines.not_covered_id!r} is already an id")
    return problems


def _tokens_of(condition: Condition) -> set[str]:
    """Every token a condition names (the populations of a roadmap note's condition)."""
    if isinstance(condition, TokenCondition):
        return set(condition.tokens)
    if isinstance(condition, All | AnyOf):
        return set().union(*(_tokens_of(part) for part in condition.parts))
    if isinstance(condition, Not):
        return _tokens_of(condition.part)
    return set()
