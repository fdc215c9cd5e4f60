"""What an assessment reads of the knowledge base for every patient, worked out once per knowledge base.

The citations of the plan elements, tests, phases and follow-up texts, which input facts each test provides,
the record paths of the inputs whose absence is reported, the facts each condition reads: none of it depends
on the patient. ``prepared(kb)`` works it out at a knowledge base's first assessment and keeps it while that
knowledge base lives (nothing is keyed on a record). The pieces are templates: the engine hands out fresh
copies (``fresh``), never the templates, so a caller that changes an assessment changes only its own.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import NotRequired, Protocol, TypedDict

from allpath.domain.results import (
    DiagnosticTest,
    DrugClass,
    Factor,
    FactValue,
    FollowUp,
    FollowUpItem,
    Plan,
    PlanPhase,
    Source,
)
from allpath.domain.results import PlanElement as AppliedElement
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of, factor, source_of
from allpath.engine.gates import Gated
from allpath.engine.templates import maker
from allpath.knowledge import schema as s
from allpath.knowledge.compiled import Note, PlanElement
from allpath.knowledge.conditions import Condition
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.therapy_schema import DrugEntry


class PlanTherapyHead(TypedDict):
    code: str
    label: str
    plain: str


PlanDrugHead = TypedDict("PlanDrugHead", {"name": str, "label": str, "class": DrugClass, "note": NotRequired[str]})


@dataclass(frozen=True, slots=True)
class ElementParts:
    """A plan element and its parts that hold for every patient."""

    index: int  # its place in the plan
    element: PlanElement
    item: AppliedElement | None  # its entry under plan.elements; None when it adds no therapy nor drug
    source: Source
    would_add: tuple[str, ...]  # its therapies, then its drugs, each sorted
    therapies: tuple[tuple[str, s.Certainty], ...]
    drugs: tuple[tuple[str, s.Certainty], ...]


@dataclass(frozen=True, slots=True)
class TestParts:
    spec: s.TestSpec
    tested: tuple[str, ...]  # the input facts the test provides, in the inputs' order
    source: Source
    reported: tuple[str, ...]  # those whose absence is reported, and their record paths (of the first relapse):
    provides: tuple[str, ...]  # for diagnostic_tests


@dataclass(frozen=True, slots=True)
class Prepared:
    plan: tuple[ElementParts, ...]
    plan_gated: Gated[ElementParts]  # the plan elements selected by disease state, risk group, ...
    # The plan of each combination of elements that hold or wait, guards and disease state met so far (engine/plan.py)
    plans: dict[tuple[object, ...], Plan]
    element_sources: dict[str, Source]  # by plan element id
    certainty_rank: dict[str, int]
    phases: tuple[PlanPhase, ...]
    tests: tuple[TestParts, ...]
    reported_tested: tuple[str, ...]  # the inputs of every test whose absence is reported (of the first relapse)
    # The tests' list of each combination of missing, upcoming and known inputs met so far (engine/guidance.py)
    test_lists: dict[tuple[object, ...], list[DiagnosticTest]]
    reported_inputs: tuple[tuple[str, str], ...]  # (fact, record path) of the inputs whose absence is reported
    reported_fields: dict[str, str]  # the same as a mapping, where a relapse field is of the first relapse
    fact_of_field: dict[str, str]  # the input fact of each record path
    therapy_heads: dict[str, PlanTherapyHead]  # the start of a plan therapy's entry, by code
    drug_heads: dict[str, PlanDrugHead]  # the start of a plan drug's entry (a note only where there is one)
    therapy_rank: dict[str, int]  # the knowledge's order of therapies and of drugs
    drug_rank: dict[str, int]
    cautions: tuple[tuple[Condition, FollowUpItem], ...]
    fresh_follow_up: Callable[[], FollowUp]  # the follow-up section with no caution: a fresh copy each call
    prognosis_newly_diagnosed: Source
    prognosis_relapsed: Source
    # The factor a rule, note, population or state rule explains, but for its inputs (and whether it decides):
    # by (scheme, id() of the knowledge object), objects that live as long as the knowledge base.
    factors: dict[tuple[str, int], Factor]


def fresh_factor(head: Factor, inputs: dict[str, FactValue], decides: bool | None = None) -> Factor:
    """A factor made from its prepared head, sharing nothing with it (``explain.factor``'s dict, key for key)."""
    item = head.copy()
    item["inputs"] = inputs  # in its place: the head holds every key but "decides"
    item["source"] = head["source"].copy()
    if "evidence" in head:
        item["evidence"] = [e.copy() for e in head["evidence"]]
    if decides is not None:
        item["decides"] = decides
    return item


class _Explained(Protocol):
    """What a rule, note, population or state rule says of itself (each is its own model)."""

    @property
    def explanation(self) -> str: ...
    @property
    def plain(self) -> str | None: ...
    @property
    def cite(self) -> s.Cite: ...
    @property
    def evidence(self) -> list[s.Evidence]: ...


def _head(kb: KnowledgeBase, scheme: str, id: str, effect: str, spec: _Explained, confidence: s.Confidence) -> Factor:
    return factor(
        kb,
        id=id,
        scheme=scheme,
        effect=effect,
        explanation=spec.explanation,
        plain=spec.plain,
        cite=spec.cite,
        evidence=spec.evidence,
        confidence=confidence,
        inputs={},
    )


def _factor_heads(kb: KnowledgeBase) -> dict[tuple[str, int], Factor]:
    """The factor heads of every rule, note, population and state rule, by (scheme, id() of the object)."""
    notes: list[tuple[str, tuple[Note, ...]]] = [("genetic_counseling", kb.counseling)]
    heads: dict[tuple[str, int], Factor] = {}
    for scheme in (kb.risk_group, kb.cog_risk_group, kb.relapse_risk_group):
        name = scheme.spec.id
        for rule in scheme.rules:
            heads[name, id(rule)] = _head(
                kb, name, rule.spec.id, f"{name}={rule.spec.group}", rule.spec, rule.confidence
            )
        notes.append((name, scheme.notes))
    for name, group in notes:
        for note in group:
            effect = "not covered" if note.spec.not_covered else "note"
            heads[name, id(note)] = _head(kb, name, note.spec.id, effect, note.spec, note.confidence)
    for pop in kb.populations:
        pid = pop.spec.id
        heads["populations", id(pop)] = _head(
            kb, "populations", f"population.{pid}", f"population={pid}", pop.spec, pop.confidence
        )
    rules: list[tuple[str, s.TimingRule | s.StateRule, s.Confidence]] = [
        ("relapse_timing", r, kb.relapse_timing.spec.confidence) for r, _ in kb.relapse_timing.rules
    ]
    rules += [("disease_state", r, "H") for r, _ in kb.disease_states]
    for name, value_rule, confidence in rules:
        heads[name, id(value_rule)] = _head(
            kb, name, value_rule.id, f"{name}={value_rule.value}", value_rule, confidence
        )
    return heads


def fresh_items(items: tuple[FollowUpItem, ...]) -> list[FollowUpItem]:
    out = []
    for item in items:
        copy = item.copy()
        copy["source"] = item["source"].copy()
        out.append(copy)
    return out


def _element(kb: KnowledgeBase, index: int, element: PlanElement) -> ElementParts:
    spec = element.spec
    source = source_of(kb, spec.cite)
    item: AppliedElement | None = None
    if spec.therapies or spec.drugs:
        item = {
            "id": spec.id,
            "explanation": spec.explanation,
            "confidence": CONFIDENCE_WORDS[element.confidence],
            "source": source,
        }
        if spec.evidence:
            item["evidence"] = evidence_of(kb, spec.evidence)
    return ElementParts(
        index,
        element,
        item,
        source,
        tuple(sorted(spec.therapies)) + tuple(sorted(spec.drugs)),
        tuple(spec.therapies.items()),
        tuple(spec.drugs.items()),
    )


def _items(kb: KnowledgeBase, entries: list[s.TextItem]) -> tuple[FollowUpItem, ...]:
    return tuple({"id": e.id, "text": e.text, "source": source_of(kb, e.cite)} for e in entries)


def _drug_head(name: str, drug: DrugEntry) -> PlanDrugHead:
    head: PlanDrugHead = {"name": name, "label": drug.label or name, "class": drug.drug_class}
    if drug.note:
        head["note"] = drug.note  # a note only where the knowledge base has one
    return head


def _test(kb: KnowledgeBase, test: s.TestSpec, fields: dict[str, str]) -> TestParts:
    tested = tuple(i.id for i in kb.inputs.values() if i.test == test.id)
    reported = tuple(i for i in tested if i in fields)
    return TestParts(test, tested, source_of(kb, test.cite), reported, tuple(fields[i] for i in reported))


def _prepare(kb: KnowledgeBase) -> Prepared:
    plan = tuple(_element(kb, i, element) for i, element in enumerate(kb.plan))
    reported = tuple((name, spec.field) for name, spec in kb.inputs.items() if spec.absent == "missing")
    fields = {n: f.replace("relapses[]", "relapses[0]") if f.startswith("relapses[]") else f for n, f in reported}
    tests = tuple(_test(kb, test, fields) for test in kb.tests.values())
    return Prepared(
        plan=plan,
        plan_gated=Gated(plan, [parts.element.condition for parts in plan]),
        plans={},
        element_sources={parts.element.spec.id: parts.source for parts in plan},
        certainty_rank={c: i for i, c in enumerate(kb.certainty_order)},
        phases=tuple(
            {"id": p.id, "name": p.label, "order": p.order, "goal": p.goal, "source": source_of(kb, p.cite)}
            for p in kb.phases
        ),
        tests=tests,
        reported_tested=tuple(dict.fromkeys(i for parts in tests for i in parts.reported)),
        test_lists={},
        reported_inputs=reported,
        reported_fields=fields,
        fact_of_field={spec.field: name for name, spec in kb.inputs.items()},
        therapy_heads={
            code: {"code": code, "label": therapy.label, "plain": therapy.plain}
            for code, therapy in kb.therapies.items()
        },
        drug_heads={name: _drug_head(name, drug) for name, drug in kb.drugs.items()},
        therapy_rank={code: i for i, code in enumerate(kb.therapies)},
        drug_rank={name: i for i, name in enumerate(kb.drugs)},
        cautions=tuple((c.condition, _items(kb, [c.spec])[0]) for c in kb.cautions),
        fresh_follow_up=maker(
            {
                "follow_up": fresh_items(_items(kb, kb.follow_up.follow_up)),
                "late_effects": fresh_items(_items(kb, kb.follow_up.late_effects)),
                "cautions": [],
                "not_covered": fresh_items(_items(kb, kb.follow_up.not_covered)),
            }
        ),
        prognosis_newly_diagnosed=source_of(kb, kb.prognosis.cite_newly_diagnosed),
        prognosis_relapsed=source_of(kb, kb.prognosis.cite_relapsed),
        factors=_factor_heads(kb),
    )


_PREPARED: dict[int, tuple[weakref.ref[KnowledgeBase], Prepared]] = {}
_LOCK = threading.Lock()


def prepared(kb: KnowledgeBase) -> Prepared:
    """The prepared parts of ``kb``: worked out at its first assessment, dropped when it is."""
    found = _PREPARED.get(id(kb))
    if found is not None and found[0]() is kb:
        return found[1]
    with _LOCK:
        made = _prepare(kb)
        _PREPARED[id(kb)] = (weakref.ref(kb), made)
        weakref.finalize(kb, _PREPARED.pop, id(kb), None)
    return made
