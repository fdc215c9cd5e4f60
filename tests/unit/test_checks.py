"""The compiled form of a condition (``Condition.check``) gives the reference ``evaluate``'s verdict, with the same
missing facts, on generated conditions and facts: every kind, thresholds at their boundaries, absent facts and
partly known sets (no clinical content)."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from allpath.knowledge.checks import Fact, Outcome
from allpath.knowledge.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Equals,
    HasAny,
    HasNone,
    Not,
    OneOf,
    Only,
    PartialSet,
    Verdict,
    compile_check,
)
from allpath.knowledge.loader import load_knowledge

NUMBERS = ("n", "m")
WORDS = ("w",)
SETS = ("s", "p")
TOKENS = ("a", "b", "c")
THRESHOLDS = (0.0, 1.0, 10.0)
OPS = ("lt", "le", "gt", "ge")

token_sets = st.frozensets(st.sampled_from(TOKENS), min_size=1)
leaves: st.SearchStrategy[Condition] = st.one_of(
    st.builds(Compare, st.sampled_from(NUMBERS), st.sampled_from(OPS), st.sampled_from(THRESHOLDS)),
    st.builds(Equals, st.sampled_from(WORDS + NUMBERS), st.sampled_from(("x", "y", 1, 1.0, True))),
    st.builds(OneOf, st.sampled_from(WORDS), st.frozensets(st.sampled_from(("x", "y", "z")), min_size=1)),
    st.builds(HasAny, st.sampled_from(SETS), token_sets),
    st.builds(HasNone, st.sampled_from(SETS), token_sets),
    st.builds(Only, st.sampled_from(SETS), token_sets),
)
conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(All, st.lists(inner, min_size=1, max_size=4).map(tuple)),
        st.builds(AnyOf, st.lists(inner, min_size=1, max_size=4).map(tuple)),
        st.builds(Not, inner),
    ),
    max_leaves=12,
)
# Numbers at and beside each threshold, so that every boundary is drawn.
numbers = st.one_of(st.none(), st.sampled_from([t + d for t in THRESHOLDS for d in (-0.5, 0.0, 0.5)]))
plain_sets = st.one_of(st.none(), st.frozensets(st.sampled_from(TOKENS)))
partial_sets = st.builds(
    PartialSet,
    st.frozensets(st.sampled_from(TOKENS)),
    st.dictionaries(st.sampled_from(TOKENS), st.frozensets(st.sampled_from(("q", "r")), min_size=1)),
)


def verdict_of(outcome: Outcome) -> Verdict:
    """The reference's ``Verdict`` for a compiled outcome."""
    return Verdict(outcome) if outcome is True or outcome is False else Verdict(None, outcome)


@st.composite
def fact_maps(draw: st.DrawFn) -> dict[str, Fact]:
    facts: dict[str, Fact] = {
        "n": draw(numbers),
        "m": draw(numbers),
        "w": draw(st.one_of(st.none(), st.sampled_from(("x", "y", "z")))),
        "s": draw(plain_sets),
        "p": draw(st.one_of(plain_sets, partial_sets)),
    }
    return {k: v for k, v in facts.items() if v is not None or draw(st.booleans())}  # absent or null


@settings(max_examples=1000, deadline=None)
@given(conditions, fact_maps())
def test_the_compiled_form_gives_the_reference_verdict(condition: Condition, facts: dict[str, Fact]) -> None:
    outcome = compile_check(condition)(facts)
    assert outcome is True or outcome is False or isinstance(outcome, frozenset)
    assert verdict_of(outcome) == condition.evaluate(facts)


def test_every_knowledge_condition_is_compiled_and_survives_a_pickle() -> None:
    kb = load_knowledge()
    copy = pickle.loads(pickle.dumps(kb))
    for original, restored in zip(kb.plan, copy.plan, strict=True):
        facts: dict[str, Fact] = {"disease_state": "newly_diagnosed", "age_years": 5.0}
        assert verdict_of(original.condition.check(facts)) == original.condition.evaluate(facts)
        assert restored.condition.check(facts) == original.condition.check(facts)
    assert "check" not in kb.plan[0].condition.__getstate__()[1]
