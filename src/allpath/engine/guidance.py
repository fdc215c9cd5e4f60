"""The parts of an assessment that guide the care team rather than classify the child: the tests that would
provide what is missing, what every diagnostic test is for and where the child stands with it, the prognostic
factors on record, and the follow-up, late effects and cautions to know about."""

from __future__ import annotations

from allpath.domain.results import (
    DiagnosticTest,
    DiseaseState,
    FactValue,
    FollowUp,
    PrognosticFactor,
    TestStatus,
    WorkupTest,
)
from allpath.engine.explain import source_of
from allpath.engine.prepared import Prepared, fresh_items, prepared
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase

_LIMIT = 1024  # test lists kept per knowledge base; beyond it a list is made each time (never wrong)


def prognostic_factors(kb: KnowledgeBase, facts: Facts, state: DiseaseState) -> list[PrognosticFactor]:
    relapsed = state == "relapsed"
    items = kb.prognosis.relapsed if relapsed else kb.prognosis.newly_diagnosed
    prep = prepared(kb)
    source = prep.prognosis_relapsed if relapsed else prep.prognosis_newly_diagnosed
    out: list[PrognosticFactor] = []
    get = facts.get
    for item in items:
        values: dict[str, FactValue] = {}
        for n in item.inputs:
            value = get(n)
            if value is not None:
                values[n] = sorted(value) if isinstance(value, frozenset) else value  # as facts.shown, inline
        out.append(
            {"id": item.id, "label": item.label, "values": values, "recorded": bool(values), "source": source.copy()}
        )
    return out


def follow_up(kb: KnowledgeBase, facts: Facts) -> FollowUp:
    prep = prepared(kb)
    section = prep.fresh_follow_up()
    cautions = tuple(item for condition, item in prep.cautions if condition.check(facts) is True)
    if cautions:
        section["cautions"] = fresh_items(cautions)
    return section


def workup(kb: KnowledgeBase, missing_facts: list[str], fields: dict[str, str]) -> list[WorkupTest]:
    by_test: dict[str, WorkupTest] = {}
    for fact in missing_facts:
        test = kb.tests[kb.inputs[fact].test]
        entry = by_test.setdefault(
            test.id,
            {
                "test": test.id,
                "label": test.label,
                "purpose": test.purpose,
                "provides": [],
                "source": source_of(kb, test.cite),
            },
        )
        entry["provides"].append(fields[fact])
    return list(by_test.values())


def diagnostic_tests(
    kb: KnowledgeBase, facts: Facts, fields: dict[str, str], missing: list[str], upcoming: list[str]
) -> list[DiagnosticTest]:
    """Every test the knowledge base knows, with what it is for and where this child stands with it.

    The list follows from what is missing and upcoming and from which reported inputs are known: it is made once
    for each such combination (unless a later relapse's record paths are in play), and every child gets a fresh copy.
    """
    prep = prepared(kb)
    if fields != prep.reported_fields:  # a later relapse's record paths: made for this child alone
        return _fresh(_diagnostic_tests(prep, facts, fields, missing, upcoming))
    get = facts.get
    key = (tuple(missing), tuple(upcoming), tuple([get(i) is None for i in prep.reported_tested]))
    found = prep.test_lists.get(key)
    if found is None:
        found = _diagnostic_tests(prep, facts, fields, missing, upcoming)
        if len(prep.test_lists) < _LIMIT:
            prep.test_lists[key] = found
    return _fresh(found)


def _fresh(tests: list[DiagnosticTest]) -> list[DiagnosticTest]:
    out = []
    for test in tests:
        copy = test.copy()  # then its inner parts in their place: faster than {**test, ...}
        copy["provides"] = test["provides"].copy()
        copy["source"] = test["source"].copy()
        out.append(copy)
    return out


def _diagnostic_tests(
    prep: Prepared, facts: Facts, fields: dict[str, str], missing: list[str], upcoming: list[str]
) -> list[DiagnosticTest]:
    out: list[DiagnosticTest] = []
    missing_paths, upcoming_paths = set(missing), set(upcoming)
    usual = fields == prep.reported_fields  # no relapse after the first: each test's inputs as prepared
    for parts in prep.tests:
        if usual:
            reported, provides = parts.reported, list(parts.provides)
        else:
            reported = tuple(i for i in parts.tested if i in fields)
            provides = [fields[i] for i in reported]
        status: TestStatus
        if not parts.tested:
            status = "not part of the record"
        elif not missing_paths.isdisjoint(provides):
            status = "missing"
        elif not upcoming_paths.isdisjoint(provides):
            status = "upcoming"
        elif provides and None not in [facts.get(i) for i in reported]:
            status = "recorded"
        else:
            status = "not needed now"
        test = parts.spec
        out.append(
            {
                "test": test.id,
                "label": test.label,
                "purpose": test.purpose,
                "provides": provides,
                "status": status,
                "source": parts.source,
            }
        )
    return out
