"""Load, validate and compile the knowledge base.

``load_knowledge()`` reads every file listed in ``schema.FILES``, validates it against its schema,
compiles its conditions and checks every cross-reference. The result is an immutable ``KnowledgeBase``
whose ``version`` is derived from the content, so any change to the knowledge changes the version that
every assessment reports. The compiled rule kinds (``Rule``, ``Scheme`` ...) live in ``compiled``; import them
from there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from allpath.errors import KnowledgeError
from allpath.knowledge import schema as s
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.compiled import (
    Caution,
    Cutoff,
    InputWarning,
    Note,
    PlanElement,
    PlanGuard,
    Population,
    Scheme,
    Timing,
    confidence_of,
)
from allpath.knowledge.compiled import compile_scheme as _scheme
from allpath.knowledge.conditions import Condition, ConditionCompiler
from allpath.knowledge.fhir_codes_schema import FhirCodesFile
from allpath.knowledge.fhir_import_schema import FhirImportFile
from allpath.knowledge.order_checks import OrderChecks, compile_order_checks
from allpath.knowledge.order_checks_schema import OrderChecksFile
from allpath.knowledge.text_schema import TextFile
from allpath.knowledge.therapy import TherapyKnowledge, compile_therapy
from allpath.knowledge.translations import SOURCE_LOCALE, Gap, TranslationFile, prepare, translation_paths
from allpath.knowledge.trials_schema import TrialsFile
from allpath.knowledge.units_schema import UnitsFile

M = TypeVar("M", bound=BaseModel)

try:  # The C loader is several times faster; fall back when PyYAML was built without libyaml.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the engine knows, validated and compiled. Pass it to the engine explicitly."""

    version: str
    files: Mapping[str, BaseModel]
    sources: Mapping[str, s.SourceSpec]
    settings: Mapping[str, s.Setting]
    inputs: Mapping[str, s.InputSpec]
    upcoming_timepoints: frozenset[str]  # an unknown input of these timepoints is upcoming, not missing
    derived_facts: frozenset[str]
    tests: Mapping[str, s.TestSpec]
    genetics: s.GeneticsFile
    risk_group: Scheme
    cog_risk_group: Scheme
    relapse_risk_group: Scheme
    relapse_timing: Timing
    populations: tuple[Population, ...]
    phases: tuple[s.PhaseSpec, ...]
    therapies: Mapping[str, s.TherapySpec]
    drugs: Mapping[str, ts.DrugEntry]  # the drugs the summary names (drugs.yaml entries with a cite)
    certainty_order: tuple[str, ...]
    certainty_meaning: Mapping[str, str]
    plan: tuple[PlanElement, ...]
    plan_guards: tuple[PlanGuard, ...]
    prognosis: s.PrognosisFile
    follow_up: s.FollowUpFile
    cautions: tuple[Caution, ...]
    counseling: tuple[Note, ...]
    text: TextFile
    disease_states: tuple[tuple[s.StateRule, Condition], ...]
    therapy: TherapyKnowledge
    fhir_codes: FhirCodesFile  # the codes of the FHIR mapping (interfaces/fhir/codes.py reads them)
    order_checks: OrderChecks  # the CDS dose checks of draft orders (interfaces/cds/orders.py)
    fhir_import: FhirImportFile  # the FHIR importer's time windows (interfaces/fhir/timing.py reads them)
    units: UnitsFile  # the FHIR importer's record units and unit spellings (interfaces/fhir/units.py)
    trials: TrialsFile  # how a registry study is read for the trial search (engine/trials.py)
    warnings: tuple[InputWarning, ...] = ()
    compiled_refs: frozenset[str] = field(default_factory=frozenset)
    unused: tuple[str, ...] = ()
    locale: str = SOURCE_LOCALE  # the language of the plain-language texts (issue 14)
    translation: TranslationFile | None = None  # the translation applied, with its review state; None in English
    translation_gaps: Mapping[str, tuple[Gap, ...]] = field(default_factory=dict)  # by locale, for the lint

    def document(self, source_id: str) -> str:
        return self.sources[source_id].document


def default_data_dir() -> Path:
    return Path(str(resources.files("allpath.knowledge") / "data"))


def _read(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError:
        raise KnowledgeError(f"{path.name}: knowledge file is missing") from None
    except yaml.YAMLError as error:
        raise KnowledgeError(f"{path.name}: not valid YAML: {error}") from None


def _validate(name: str, raw: Any, model: type[M]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KnowledgeError(f"{name}: {where}: {first['msg']} ({len(error.errors())} problem(s))") from None


def _version(raw: Mapping[str, object]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return "kb-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_knowledge(data_dir: Path | None = None, locale: str = SOURCE_LOCALE) -> KnowledgeBase:
    """Load and compile the knowledge base from ``data_dir`` (default: the bundled data), its plain-language
    texts in ``locale`` (``data/translations/<locale>.yaml``; a text without a current translation stays English).

    Raises
    ------
    KnowledgeError
        If a file is missing, malformed, or refers to something that does not exist.
    """
    if data_dir is None:
        return _load_default() if locale == SOURCE_LOCALE else _load_localized(locale)
    return _load(data_dir, locale)


@lru_cache(maxsize=4)
def _load_localized(locale: str) -> KnowledgeBase:
    return _load(default_data_dir(), locale)


@lru_cache(maxsize=1)
def _load_default() -> KnowledgeBase:
    from allpath.knowledge.cache import cached  # the validated base, kept per user by content (issue 11)

    return cached(default_data_dir(), _load, KnowledgeBase)


def _load(data_dir: Path, locale: str = SOURCE_LOCALE) -> KnowledgeBase:
    raw = {name: _read(data_dir / name) for name in s.FILES}
    extra = {path.name: _read(path) for path in translation_paths(data_dir)}
    version = _version({**raw, **{f"translations/{name}": content for name, content in extra.items()}})
    translation, translation_gaps = prepare(raw, extra, locale)  # English: raw is left as it is
    files: dict[str, BaseModel] = {name: _validate(name, raw[name], model) for name, model in s.FILES.items()}
    sources = {src.id: src for src in _as(files["sources.yaml"], s.SourcesFile).sources}
    inputs_file = _as(files["inputs.yaml"], s.InputsFile)
    inputs = {i.id: i for i in inputs_file.inputs}
    derived = frozenset(d.id for d in inputs_file.derived)
    genetics = _as(files["genetics.yaml"], s.GeneticsFile)
    definitions = _as(files["definitions.yaml"], s.DefinitionsFile)
    compiler = ConditionCompiler(
        definitions.definitions, genetics.sets, definitions.parameters, frozenset(inputs) | derived
    )
    risk = _scheme(_as(files["risk_groups.yaml"], s.SchemeFile).scheme, compiler, "risk_groups.yaml")
    cog = _scheme(_as(files["cog_risk_groups.yaml"], s.SchemeFile).scheme, compiler, "cog_risk_groups.yaml")
    relapse_file = _as(files["relapse.yaml"], s.RelapseFile)
    relapse = _scheme(relapse_file.scheme, compiler, "relapse.yaml")
    timing = Timing(
        relapse_file.timing,
        tuple((r, compiler.compile(r.when, f"relapse.yaml:{r.id}")) for r in relapse_file.timing.rules),
        tuple(
            Cutoff(
                c,
                compiler.compile(c.when, f"relapse.yaml:cutoff {c.basis}"),
                compiler.resolve_number(c.early_below_months, f"relapse.yaml:cutoff {c.basis}"),
            )
            for c in relapse_file.timing.cutoffs
        ),
    )
    populations = tuple(
        Population(p, compiler.compile(p.when, f"populations.yaml:{p.id}"), confidence_of(p.confidence, p.evidence))
        for p in _as(files["populations.yaml"], s.PopulationsFile).populations
    )
    catalog = _as(files["catalog.yaml"], s.CatalogFile)
    plan_file = _as(files["plan.yaml"], s.PlanFile)
    plan = tuple(
        PlanElement(e, compiler.compile(e.when, f"plan.yaml:{e.id}"), confidence_of(e.confidence, e.evidence))
        for e in plan_file.elements
    )
    plan_guards = tuple(PlanGuard(g, compiler.compile(g.requires, f"plan.yaml:{g.id}")) for g in plan_file.guards)
    follow_up = _as(files["follow_up.yaml"], s.FollowUpFile)
    cautions = tuple(Caution(c, compiler.compile(c.when, f"follow_up.yaml:{c.id}")) for c in follow_up.cautions)
    counseling = tuple(
        Note(n, compiler.compile(n.when, f"counseling.yaml:{n.id}"), confidence_of(n.confidence, n.evidence))
        for n in _as(files["counseling.yaml"], s.CounselingFile).rules
    )
    unused_defs = sorted(set(definitions.definitions) - compiler.used_refs)
    unused_sets = sorted(set(genetics.sets) - compiler.used_sets)
    unused_params = sorted(set(definitions.parameters) - compiler.used_parameters)
    kb = KnowledgeBase(
        version=version,
        files=files,
        sources=sources,
        settings=_as(files["settings.yaml"], s.SettingsFile).settings,
        inputs=inputs,
        upcoming_timepoints=frozenset(inputs_file.upcoming_timepoints),
        derived_facts=derived,
        tests={t.id: t for t in _as(files["tests.yaml"], s.TestsFile).tests},
        genetics=genetics,
        risk_group=risk,
        cog_risk_group=cog,
        relapse_risk_group=relapse,
        relapse_timing=timing,
        populations=populations,
        phases=tuple(sorted(_as(files["phases.yaml"], s.PhasesFile).phases, key=lambda p: p.order)),
        therapies={t.code: t for t in catalog.therapies},
        drugs=_as(files["drugs.yaml"], ts.DrugsFile).cited(),
        certainty_order=tuple(catalog.certainty_order),
        certainty_meaning={str(k): v for k, v in catalog.certainty_meaning.items()},
        plan=plan,
        plan_guards=plan_guards,
        prognosis=_as(files["prognosis.yaml"], s.PrognosisFile),
        follow_up=follow_up,
        cautions=cautions,
        counseling=counseling,
        text=_as(files["text.yaml"], TextFile),
        disease_states=tuple(
            (r, compiler.compile(r.when, f"disease_state.yaml:{r.id}"))
            for r in _as(files["disease_state.yaml"], s.DiseaseStateFile).states
        ),
        therapy=compile_therapy(
            _as(files["regimens.yaml"], ts.RegimensFile),
            _as(files["drugs.yaml"], ts.DrugsFile),
            _as(files["intrathecal.yaml"], ts.IntrathecalFile),
            _as(files["pharmacogenomics.yaml"], ts.PharmacogenomicsFile),
            _as(files["survivorship.yaml"], ts.SurvivorshipFile),
            frozenset(p.spec.id for p in populations),
            frozenset(inputs),
        ),
        fhir_codes=_as(files["fhir_codes.yaml"], FhirCodesFile),
        fhir_import=_as(files["fhir_import.yaml"], FhirImportFile),
        units=_as(files["units.yaml"], UnitsFile),
        trials=_as(files["trials.yaml"], TrialsFile),
        order_checks=compile_order_checks(
            _as(files["order_checks.yaml"], OrderChecksFile),
            {p.spec.id: p.condition for p in populations},
            frozenset(_as(files["drugs.yaml"], ts.DrugsFile).dose_specs()),
        ),
        warnings=tuple(
            InputWarning(w, compiler.compile(w.when, f"warnings.yaml:{w.code}"))
            for w in _as(files["warnings.yaml"], s.WarningsFile).warnings
        ),
        compiled_refs=frozenset(compiler.used_refs),
        unused=tuple(
            [f"definition {d}" for d in unused_defs]
            + [f"token set {t}" for t in unused_sets]
            + [f"parameter {p}" for p in unused_params]
        ),
        locale=locale,
        translation=translation,
        translation_gaps=translation_gaps,
    )
    _check_references(kb)
    return kb


def _as(model: BaseModel, kind: type[M]) -> M:
    assert isinstance(model, kind)
    return model


def named_settings(node: Any, path: str) -> list[tuple[str, str]]:
    """Every ``setting`` name written anywhere in a validated knowledge file, with where it is written."""
    found: list[tuple[str, str]] = []
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if name == "setting" and isinstance(value, str):
                found.append((path, value))
            else:
                found.extend(named_settings(value, f"{path}.{name}"))
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            found.extend(named_settings(item, f"{path}[{i}]"))
    elif isinstance(node, dict):
        for key, item in node.items():
            found.extend(named_settings(item, f"{path}.{key}"))
    return found


def _check_references(kb: KnowledgeBase) -> None:
    """Cross-file references that a schema cannot express. Citations are checked by ``lint``."""
    checks = (_setting_problems, _input_problems, _scheme_problems, _genetics_problems, _plan_problems)
    problems = [problem for check in checks for problem in check(kb)]
    if problems:
        raise KnowledgeError("\n".join(problems))


def _setting_problems(kb: KnowledgeBase) -> list[str]:
    """Every ``setting`` written in any file is a setting of ``settings.yaml``."""
    return [
        f"{where}: unknown setting {setting!r} (settings.yaml)"
        for name, model in kb.files.items()
        for where, setting in named_settings(model, name)
        if setting not in kb.settings
    ]


def _input_problems(kb: KnowledgeBase) -> list[str]:
    """Inputs name known tests; warnings check input fields; prognostic factors name inputs or derived facts."""
    problems = [
        f"inputs.yaml: {i.id} names unknown test {i.test!r}" for i in kb.inputs.values() if i.test not in kb.tests
    ]
    input_fields = {inp.field for inp in kb.inputs.values()}
    problems += [
        f"warnings.yaml: {w.spec.code} names {w.spec.field!r}, not an input field"
        for w in kb.warnings
        if w.spec.field not in input_fields
    ]
    problems += [
        f"prognosis.yaml: {prognostic.id} names unknown input {name!r}"
        for prognostic in kb.prognosis.newly_diagnosed + kb.prognosis.relapsed
        for name in prognostic.inputs
        if name not in kb.inputs and name not in kb.derived_facts
    ]
    return problems


def _scheme_problems(kb: KnowledgeBase) -> list[str]:
    """A scheme's decisive inputs are inputs, and each of its groups has a label."""
    problems: list[str] = []
    for scheme in (kb.risk_group, kb.cog_risk_group, kb.relapse_risk_group):
        decisive = scheme.decisive or frozenset()
        problems += [f"{scheme.spec.id}: decisive input {name!r} is not an input" for name in decisive - set(kb.inputs)]
        problems += [
            f"{scheme.spec.id}: group {g!r} has no label" for g in scheme.spec.order if g not in scheme.spec.labels
        ]
    rule_ids = {rule.spec.id for scheme in (kb.risk_group, kb.cog_risk_group) for rule in scheme.rules}
    if kb.text.scheme_comparison_id in rule_ids:
        problems.append(f"text.yaml: scheme_comparison_id {kb.text.scheme_comparison_id!r} is the id of a rule")
    return problems


def _genetics_problems(kb: KnowledgeBase) -> list[str]:
    """Every token of a named token set is a genetics token."""
    token_ids = {t.id for t in kb.genetics.tokens}
    return [
        f"genetics.yaml: set {name} names unknown token {token!r}"
        for name, tokens in kb.genetics.sets.items()
        for token in tokens
        if token not in token_ids
    ]


def _plan_problems(kb: KnowledgeBase) -> list[str]:
    """Plan elements and guards name catalogued therapies and drugs; an element adds something or is a gap."""
    problems: list[str] = []
    for element in kb.plan:
        spec = element.spec
        problems += [
            f"plan.yaml: {spec.id} names unknown therapy {c!r}" for c in spec.therapies if c not in kb.therapies
        ]
        problems += [f"plan.yaml: {spec.id} names unknown drug {d!r}" for d in spec.drugs if d not in kb.drugs]
        if not (spec.therapies or spec.drugs or spec.not_covered):
            problems.append(f"plan.yaml: {spec.id} adds nothing and is not a not-covered note")
    problems += [
        f"plan.yaml: {guard.spec.id} guards unknown therapy {code!r}"
        for guard in kb.plan_guards
        for code in guard.spec.therapies
        if code not in kb.therapies
    ]
    return problems
