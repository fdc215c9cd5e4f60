"""Compiled conditions against ``knowledge.conditions``: three-valued logic, missing facts and boundaries.

polars' Kleene logic on nullable booleans is checked here, not assumed: every combination of true, false and
unknown parts of ``all``, ``any`` and ``not`` (nested) gives the value and the missing facts the per-patient
evaluation gives.
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest

from allpath.engine.columnar.facts import FACT_PREFIX, FactColumn
from allpath.engine.columnar.logic import (
    ConditionCompiler,
    FactBits,
    Population,
    Scope,
    TokenTests,
    Tri,
    Unsupported,
)
from allpath.knowledge.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    Equals,
    Fact,
    HasAny,
    HasNone,
    Not,
    OneOf,
    Only,
    PartialSet,
)

FLAGS = ("a", "b", "c")
BITS = FactBits(("a", "b", "c", "n", "tokens", "word"))


def _scope(populations: tuple[Population, ...] | None = None) -> Scope:
    kinds = {"a": "flag", "b": "flag", "c": "flag", "n": "number", "tokens": "tokens", "word": "text"}
    facts = {name: FactColumn(name, kind, pl.col(name), (name,)) for name, kind in kinds.items()}  # type: ignore[arg-type]
    return Scope(BITS, facts, {}, populations)


def _frame(rows: list[dict[str, Fact]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns(pl.col(name).alias(FACT_PREFIX + name) for name in schema)


def _evaluate(
    tri: Tri, frame: pl.DataFrame, compiler: ConditionCompiler | None = None
) -> list[tuple[bool | None, frozenset[str]]]:
    for stage in compiler.stages() if compiler else ():
        frame = frame.with_columns(stage)
    out = frame.select(tri.value.alias("value"), tri.missing.alias("missing"))
    return [
        (value, frozenset(n for n in BITS.names if mask & BITS.bit(n)))
        for value, mask in zip(out["value"].to_list(), out["missing"].to_list(), strict=True)
    ]


def _expected(condition: Condition, rows: list[dict[str, Fact]]) -> list[tuple[bool | None, frozenset[str]]]:
    return [(v.value, v.missing) for v in (condition.evaluate(row) for row in rows)]


TRUTH = (True, False, None)
FLAG_ROWS: list[dict[str, Fact]] = [
    dict(zip(FLAGS, combo, strict=True)) for combo in itertools.product(TRUTH, repeat=3)
]
FLAG_SCHEMA: dict[str, pl.DataType] = {name: pl.Boolean() for name in FLAGS}


def _is(name: str) -> Condition:
    return Equals(name, True)


NESTED: list[Condition] = [
    All((_is("a"), _is("b"))),
    AnyOf((_is("a"), _is("b"))),
    All((_is("a"), _is("b"), _is("c"))),
    AnyOf((_is("a"), Not(_is("b")), _is("c"))),
    All((AnyOf((_is("a"), _is("b"))), Not(_is("c")))),
    AnyOf((All((_is("a"), _is("b"))), All((Not(_is("a")), _is("c"))))),
    Not(All((_is("a"), AnyOf((_is("b"), _is("c")))))),
]


@pytest.mark.parametrize("condition", NESTED, ids=range(len(NESTED)))
def test_all_any_and_not_follow_the_engines_three_valued_logic_for_every_combination(condition: Condition) -> None:
    compiler = ConditionCompiler(_scope())
    tri = compiler.compile(condition)
    assert _evaluate(tri, _frame(FLAG_ROWS, FLAG_SCHEMA), compiler) == _expected(condition, FLAG_ROWS)


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
def test_a_comparison_is_exact_at_its_threshold_one_step_below_and_above(op: str) -> None:
    condition = Compare("n", op, 10.0)
    rows: list[dict[str, Fact]] = [{"n": v} for v in (9.99, 10.0, 10.01, 10, None)]
    tri = ConditionCompiler(_scope()).compile(condition)
    assert _evaluate(tri, _frame(rows, {"n": pl.Float64()})) == _expected(condition, rows)


TOKEN_CONDITIONS: list[Condition] = [
    HasAny("tokens", frozenset({"x", "y"})),
    HasNone("tokens", frozenset({"x", "y"})),
    Only("tokens", frozenset({"x", "y"})),
]


@pytest.mark.parametrize("condition", TOKEN_CONDITIONS, ids=["has_any", "has_none", "only"])
def test_token_conditions_on_absent_empty_and_mixed_lists(condition: Condition) -> None:
    lists: list[list[str] | None] = [None, [], ["x"], ["z"], ["x", "z"], ["x", "y"]]
    rows: list[dict[str, Fact]] = [{"tokens": None if v is None else frozenset(v)} for v in lists]
    frame = pl.DataFrame({"tokens": lists}, schema={"tokens": pl.List(pl.String())})
    frame = frame.with_columns(pl.col("tokens").alias(FACT_PREFIX + "tokens"))
    compiler = ConditionCompiler(_scope())
    assert _evaluate(compiler.compile(condition), frame, compiler) == _expected(condition, rows)


def test_a_token_tested_by_several_conditions_and_compilers_is_searched_once() -> None:
    """Token columns shared by two compilers: one column per token, the answers unchanged."""
    lists: list[list[str] | None] = [None, [], ["x"], ["y"], ["x", "y"]]
    rows: list[dict[str, Fact]] = [{"tokens": None if v is None else frozenset(v)} for v in lists]
    frame = pl.DataFrame({"tokens": lists}, schema={"tokens": pl.List(pl.String())})
    frame = frame.with_columns(pl.col("tokens").alias(FACT_PREFIX + "tokens"))
    shared = TokenTests()
    conditions = (HasAny("tokens", frozenset({"x", "y"})), HasNone("tokens", frozenset({"x"})))
    compilers = [ConditionCompiler(_scope(), f"_part{i}.", shared) for i in range(len(conditions))]
    tris = [c.compile(condition) for c, condition in zip(compilers, conditions, strict=True)]
    assert [e.meta.output_name() for e in shared.stage()] == ["_token._fact.tokens.x", "_token._fact.tokens.y"]
    assert all(c.stages() == () for c in compilers)  # the caller runs the shared token columns
    frame = frame.with_columns(shared.stage())
    for tri, condition in zip(tris, conditions, strict=True):
        assert _evaluate(tri, frame) == _expected(condition, rows)


def test_words_and_lists_of_words() -> None:
    rows: list[dict[str, Fact]] = [{"word": v} for v in ("B", "T", None)]
    frame = _frame(rows, {"word": pl.String()})
    for condition in (Equals("word", "B"), OneOf("word", frozenset({"B", "X"}))):
        assert _evaluate(ConditionCompiler(_scope()).compile(condition), frame) == _expected(condition, rows)


def test_conditions_on_the_populations_read_a_partly_known_set() -> None:
    """Population ``p`` holds, ``q`` is open (waiting for ``a``), ``r`` does not hold - as ``PartialSet``."""
    populations = (
        Population("p", pl.lit(True), pl.lit(0, dtype=pl.UInt64)),
        Population("q", pl.lit(None, dtype=pl.Boolean), pl.lit(BITS.bit("a"), dtype=pl.UInt64)),
        Population("r", pl.lit(False), pl.lit(0, dtype=pl.UInt64)),
    )
    facts: dict[str, Fact] = {"populations": PartialSet(frozenset({"p"}), {"q": frozenset({"a"})})}
    frame = pl.DataFrame({"x": [1]})
    compiler = ConditionCompiler(_scope(populations))
    for tokens in ({"p"}, {"q"}, {"r"}, {"q", "r"}, {"p", "q"}, {"s"}):
        for kind in (HasAny, HasNone, Only):
            condition = kind("populations", frozenset(tokens))
            assert _evaluate(compiler.compile(condition), frame, compiler) == _expected(condition, [facts]), (
                kind,
                tokens,
            )


def test_a_condition_without_an_exact_columnar_form_is_refused() -> None:
    compiler = ConditionCompiler(_scope())
    for condition in (
        Equals("tokens", "x"),  # a set compared with a word: always false per patient, not guessed here
        Compare("word", "lt", 1.0),
        Equals("n", True),
        Equals("unknown_fact", 1),
        HasAny("populations", frozenset({"p"})),  # no populations in this scope
    ):
        with pytest.raises(Unsupported):
            compiler.compile(condition)
