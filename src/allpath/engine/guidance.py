"""The parts of an assessment that guide the care team rather than classify the child: the tests that would
provide what is missing, what every diagnostic test is for and where the child stands with it, the prognostic
factors on record, and the follow-up, late effects and cautions to know about."""

from __future__ import annotations

from collections.abc import Sequence

from allpath.domain.results import (
    DiagnosticTest,
    DiseaseState,
    FollowUp,
    FollowUpItem,
    PrognosticFactor,
    TestStatus,
    WorkupTest,
)
from allpath.engine.explain import source_of
from allpath.engine.facts import shown
from allpath.knowledge.conditions import Facts
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import TextItem


def prognostic_factors(kb: KnowledgeBase, facts: Facts, state: DiseaseState) -> list[PrognosticFactor]:
    relapsed = state == "relapsed"
    items = kb.prognosis.relapsed if relapsed else kb.prognosis.newly_diagnosed
    cite = kb.prognosis.cite_relapsed if relapsed else kb.prognosis.cite_newly_diagnosed
    out: list[PrognosticFactor] = []
    for item in items:
        values = {n: shown(facts.get(n)) for n in item.inputs if facts.get(n) is not None}
        out.append(
            {
                "id": item.id,
                "label": item.label,
                "values": values,
                "recorded": bool(values),
                "source": source_of(kb, cite),
            }
        )
    return out


def follow_up(kb: KnowledgeBase, facts: Facts) -> FollowUp:
    def items(entries: Sequence[TextItem]) -> list[FollowUpItem]:
        return [{"id": e.id, "text": e.text, "source": source_of(kb, e.cite)} for e in entries]

    cautions = [c.spec for c in kb.cautions if c.condition.check(facts) is True]
    return {
        "follow_up": items(kb.follow_up.follow_up),
        "late_effects": items(kb.follow_up.late_effects),
        "cautions": items(cautions),
        "not_covered": items(kb.follow_up.not_covered),
    }


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
    """Every test the knowledge base knows, with what it is for and where this child stands with it."""
    out: list[DiagnosticTest] = []
    for test in kb.tests.values():
        tested = [i.id for i in kb.inputs.values() if i.test == test.id]
        provides = [fields[i] for i in tested if i in fields]
        status: TestStatus
        if not tested:
            status = "not part of the record"
        elif any(f in missing for f in provides):
            status = "missing"
        elif any(f in upcoming for f in provides):
            status = "upcoming"
        elif provides and all(facts.get(i) is not None for i in tested if i in fields):
            status = "recorded"
        else:
            status = "not needed now"
        out.append(
            {
                "test": test.id,
                "label": test.label,
                "purpose": test.purpose,
                "provides": provides,
                "status": status,
                "source": source_of(kb, test.cite),
            }
        )
    return out
