"""The condition vocabulary in three-valued logic, on tiny hand-made conditions (no clinical content)."""

from __future__ import annotations

import pytest

from allpath.errors import KnowledgeError
from allpath.knowledge.conditions import ConditionCompiler, PartialSet


def compiler(**definitions: object) -> ConditionCompiler:
    return ConditionCompiler(
        definitions=definitions,
        token_sets={"pair": ["a", "b"]},
        parameters={"limit": 5.0},
        known_facts=frozenset({"x", "y", "tags", "flag"}),
    )


def test_compare_is_exact_at_the_threshold() -> None:
    lt = compiler().compile({"fact": "x", "lt": 10}, "t")
    assert lt.evaluate({"x": 9.999}).value is True
    assert lt.evaluate({"x": 10}).value is False
    ge = compiler().compile({"fact": "x", "ge": 10}, "t")
    assert ge.evaluate({"x": 10}).value is True


def test_missing_fact_is_unknown_and_named() -> None:
    verdict = compiler().compile({"fact": "x", "lt": 10}, "t").evaluate({})
    assert verdict.value is None
    assert verdict.missing == {"x"}


def test_all_is_false_as_soon_as_one_part_is_false_whatever_is_missing() -> None:
    cond = compiler().compile({"all": [{"fact": "x", "lt": 10}, {"fact": "y", "eq": "B"}]}, "t")
    assert cond.evaluate({"y": "T"}).value is False
    unknown = cond.evaluate({"y": "B"})
    assert unknown.value is None and unknown.missing == {"x"}


def test_any_is_true_as_soon_as_one_part_is_true_whatever_is_missing() -> None:
    cond = compiler().compile({"any": [{"fact": "x", "lt": 10}, {"fact": "y", "eq": "B"}]}, "t")
    assert cond.evaluate({"y": "B"}).value is True
    unknown = cond.evaluate({"y": "T"})
    assert unknown.value is None and unknown.missing == {"x"}


def test_not_keeps_unknown_unknown() -> None:
    cond = compiler().compile({"not": {"fact": "flag", "eq": True}}, "t")
    assert cond.evaluate({"flag": False}).value is True
    assert cond.evaluate({}).value is None


def test_token_sets_params_and_refs_resolve() -> None:
    c = compiler(small={"fact": "x", "lt": {"param": "limit"}})
    assert c.compile({"ref": "small"}, "t").evaluate({"x": 4}).value is True
    has = c.compile({"fact": "tags", "has_any": "set:pair"}, "t")
    assert has.evaluate({"tags": frozenset({"b"})}).value is True
    assert has.evaluate({"tags": frozenset()}).value is False
    only = c.compile({"fact": "tags", "only": ["a"]}, "t")
    assert only.evaluate({"tags": frozenset({"a"})}).value is True
    assert only.evaluate({"tags": frozenset({"a", "b"})}).value is False
    assert only.evaluate({"tags": frozenset()}).value is False


def test_partial_set_membership_stays_open_until_its_inputs_are_known() -> None:
    has = compiler().compile({"fact": "tags", "has_any": ["b"]}, "t")
    partly = PartialSet(frozenset({"a"}), {"b": frozenset({"x"})})
    verdict = has.evaluate({"tags": partly})
    assert verdict.value is None and verdict.missing == {"x"}
    none = compiler().compile({"fact": "tags", "has_none": ["b"]}, "t")
    assert none.evaluate({"tags": partly}).value is None
    assert has.evaluate({"tags": PartialSet(frozenset({"a"}), {})}).value is False


@pytest.mark.parametrize(
    "spec",
    [
        {"fact": "nope", "lt": 1},
        {"fact": "x", "between": 1},
        {"fact": "x", "lt": "ten"},
        {"ref": "undefined"},
        {"fact": "tags", "has_any": "set:undefined"},
        {"fact": "x", "lt": {"param": "undefined"}},
        {"all": []},
        {"fact": "x", "lt": 1, "gt": 0},
    ],
)
def test_malformed_conditions_fail_at_load(spec: dict[str, object]) -> None:
    with pytest.raises(KnowledgeError):
        compiler().compile(spec, "t")


def test_self_referencing_definition_fails_at_load() -> None:
    with pytest.raises(KnowledgeError, match="itself"):
        compiler(loop={"ref": "loop"}).compile({"ref": "loop"}, "t")
