"""Conditions selected by the facts that gate them (engine/gates.py) answer as checking every condition in full:
the same conditions can hold, in the same order, with the same outcome and missing facts, on generated conditions
and facts (no clinical content); and the plan's key facts are the ones most of its elements test."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from allpath.engine.gates import Gated
from allpath.engine.prepared import prepared
from allpath.knowledge.checks import Fact
from allpath.knowledge.conditions import All, Condition, Equals, OneOf
from allpath.knowledge.loader import load_knowledge
from tests.unit.test_checks import conditions, fact_maps

# Gates on the word "w" (and the number "n"), often at the top of an "all", as the plan's disease state is.
gates = st.one_of(
    st.builds(Equals, st.just("w"), st.sampled_from(("x", "y"))),
    st.builds(OneOf, st.just("w"), st.frozensets(st.sampled_from(("x", "y", "z")), min_size=1)),
    st.builds(Equals, st.just("n"), st.sampled_from((0.0, 1.0, True))),
)
gated_conditions = st.one_of(
    gates,
    conditions,
    st.builds(lambda g, rest: All((g, *rest)), gates, st.lists(conditions, max_size=3)),
    st.builds(lambda g, rest: All((All((g,)), rest)), gates, conditions),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(gated_conditions, min_size=1, max_size=8), st.lists(fact_maps(), min_size=1, max_size=4))
def test_the_selected_conditions_answer_as_checking_every_one(
    items: list[Condition], fact_list: list[dict[str, Fact]]
) -> None:
    gated = Gated(list(range(len(items))), items)
    for facts in fact_list * 2:  # the second time from what was kept
        expected = [(i, c.check(facts)) for i, c in enumerate(items) if c.check(facts) is not False]
        got = [(i, True if check is None else check(facts)) for i, check in gated.select(facts)]
        assert [(i, o) for i, o in got if o is not False] == expected


def test_the_plan_is_selected_by_disease_state_and_risk_group_and_skips_what_cannot_hold() -> None:
    kb = load_knowledge()
    gated = prepared(kb).plan_gated
    assert gated.key_facts == ("disease_state", "risk_group")
    relapsed = gated.select({"disease_state": "relapsed", "risk_group": None})
    assert 0 < len(relapsed) < len(kb.plan) // 2
    kept = {parts.index for parts, _ in relapsed}
    # Every element left out is false for any relapsed child, whatever else is known.
    assert all(
        p.element.condition.check({"disease_state": "relapsed"}) is False
        for p in prepared(kb).plan
        if p.index not in kept
    )
