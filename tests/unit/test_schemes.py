"""Scheme evaluation on a tiny fixture scheme: floors, decisive inputs, provisional answers."""

from __future__ import annotations

from typing import Any

from allpath.engine.schemes import evaluate_scheme
from allpath.knowledge.compiled import Scheme, compile_scheme
from allpath.knowledge.conditions import ConditionCompiler
from allpath.knowledge.schema import SchemeSpec


def tiny_scheme(decisive: Any) -> Scheme:
    def rule(rule_id: str, group: str, when: dict[str, Any]) -> dict[str, Any]:
        return {"id": rule_id, "group": group, "when": when, "explanation": "e", "cite": {"section": "s"}}

    spec = SchemeSpec.model_validate(
        {
            "id": "tiny",
            "label": "Tiny",
            "combine": "highest",
            "setting": "any",
            "order": ["low", "mid", "top"],
            "labels": {"low": "low", "mid": "mid", "top": "top"},
            "applies_when": {"fact": "kind", "eq": "yes"},
            "decisive": decisive,
            "rules": [
                rule("tiny.low", "low", {"fact": "base", "lt": 10}),
                rule("tiny.mid", "mid", {"fact": "base", "ge": 10}),
                rule("tiny.top", "top", {"fact": "extra", "eq": True}),
            ],
        }
    )
    compiler = ConditionCompiler({}, {}, {}, frozenset({"kind", "base", "extra"}))
    return compile_scheme(spec, compiler, "tiny")


def test_highest_floor_wins_and_the_deciding_rule_is_named() -> None:
    result = evaluate_scheme(tiny_scheme(["base"]), {"kind": "yes", "base": 12, "extra": True})
    assert result.group == "top"
    assert [r.spec.id for r in result.decisive_rules] == ["tiny.top"]
    assert not result.provisional


def test_a_missing_non_decisive_input_leaves_the_group_provisional() -> None:
    result = evaluate_scheme(tiny_scheme(["base"]), {"kind": "yes", "base": 3})
    assert result.group == "low"
    assert result.provisional and result.missing == {"extra"}


def test_a_missing_decisive_input_makes_the_group_null() -> None:
    result = evaluate_scheme(tiny_scheme(["base"]), {"kind": "yes", "extra": False})
    assert result.group is None
    assert result.missing == {"base"}


def test_when_every_input_is_decisive_any_open_raiser_makes_it_null() -> None:
    result = evaluate_scheme(tiny_scheme("all"), {"kind": "yes", "base": 3})
    assert result.group is None
    assert result.missing == {"extra"}


def test_a_top_floor_is_final_whatever_is_missing() -> None:
    result = evaluate_scheme(tiny_scheme("all"), {"kind": "yes", "extra": True})
    assert result.group == "top" and not result.provisional


def test_scheme_that_does_not_apply_gives_nothing() -> None:
    result = evaluate_scheme(tiny_scheme("all"), {"kind": "no", "base": 3})
    assert result.applicable is False and result.group is None and not result.missing


def test_unknown_applicability_is_reported() -> None:
    result = evaluate_scheme(tiny_scheme("all"), {"base": 3, "extra": False})
    assert result.applicable is None and result.group is None and "kind" in result.missing
