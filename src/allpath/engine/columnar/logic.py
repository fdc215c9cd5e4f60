"""Conditions of the knowledge base compiled to polars expressions, in the engine's three-valued logic.

A compiled condition is a ``Tri``: ``value``, a nullable boolean (null = unknown), and ``missing``, a bit mask
of the facts whose absence leaves it unknown (one bit per fact, ``FactBits``). polars combines nullable
booleans in Kleene logic - ``all_horizontal`` is false as soon as one part is false and null when a part is
null and none is false, ``any_horizontal`` the mirror image - which is exactly ``All`` and ``AnyOf`` of
``knowledge.conditions`` (``tests/columnar`` checks it). A condition the compiler cannot express exactly
raises ``Unsupported``; the stratifier then leaves the rows it can affect to the per-patient engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce

import polars as pl

from allpath.engine.columnar.facts import FactColumn
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
)

MASK = pl.UInt64
NO_MISSING = pl.lit(0, dtype=MASK)


class Unsupported(Exception):
    """A condition (or a fact it reads) that the columnar compiler cannot express exactly."""


@dataclass(frozen=True)
class Tri:
    """A compiled condition: its three-valued ``value`` and the ``missing`` facts' bit mask."""

    value: pl.Expr
    missing: pl.Expr


@dataclass(frozen=True)
class FactBits:
    """One bit per fact name, for sets of missing facts held in one integer column."""

    names: tuple[str, ...]

    def bit(self, name: str) -> int:
        return 1 << self.names.index(name)

    def mask(self, names: frozenset[str]) -> int:
        return sum(self.bit(n) for n in names if n in self.names)


def union(masks: list[pl.Expr]) -> pl.Expr:
    """The union of missing-fact masks."""
    return reduce(lambda a, b: a | b, masks) if masks else NO_MISSING


@dataclass(frozen=True)
class Population:
    """A population's compiled membership, read by conditions on the ``populations`` fact."""

    id: str
    value: pl.Expr
    missing: pl.Expr


class TokenTests:
    """One boolean column per (list fact, token) that a condition tests, computed once for the whole plan.

    Many conditions test the same token (the genetics of several risk rules): a list search per use was the
    costliest part of the plan. The columns read only the input facts, so they can run right after them; one
    ``TokenTests`` can serve several compilers (the stratifier's parts).
    """

    def __init__(self) -> None:
        self._columns: dict[tuple[str, str], pl.Expr] = {}

    def contains(self, column: pl.Expr, token: str) -> pl.Expr:
        """Whether the list ``column`` (an input fact's column) holds ``token``: null when the list is null."""
        source = column.meta.output_name()
        name = f"_token.{source}.{token}"
        self._columns.setdefault((source, token), column.list.contains(token).alias(name))
        return pl.col(name)

    def stage(self) -> tuple[pl.Expr, ...]:
        """The token columns asked for so far (run after the input facts, before any condition)."""
        return tuple(self._columns.values())


@dataclass(frozen=True)
class Scope:
    """What compiled conditions can read: input facts, derived facts already computed, the populations."""

    bits: FactBits
    facts: Mapping[str, FactColumn]
    derived: Mapping[str, tuple[str, pl.Expr]]  # derived fact -> (kind, column)
    populations: tuple[Population, ...] | None = None


def _ops() -> dict[str, Callable[[pl.Expr, float], pl.Expr]]:
    return {
        "lt": lambda c, t: c < t,
        "le": lambda c, t: c <= t,
        "gt": lambda c, t: c > t,
        "ge": lambda c, t: c >= t,
    }


_KIND_OF_PYTHON: tuple[tuple[type, str], ...] = ((bool, "flag"), (int, "number"), (float, "number"), (str, "text"))


def _kind_of(value: object) -> str | None:
    for python_type, kind in _KIND_OF_PYTHON:
        if isinstance(value, python_type):
            return kind
    return None


class ConditionCompiler:
    """Compiles ``Condition`` objects against one ``Scope``.

    Every ``all``/``any``/``not`` becomes a pair of columns (``stages``), compiled once however often it is used
    (a ``{ref: name}`` of the knowledge base is one shared object): inlined, the nested expressions would be
    evaluated again at every use.
    """

    def __init__(self, scope: Scope, prefix: str = "_condition.", tokens: TokenTests | None = None) -> None:
        self.scope = scope
        self.prefix = prefix
        # Token columns given by the caller are run by the caller (before ``stages``); its own come first in them.
        self._own_tokens = tokens is None
        self.tokens = TokenTests() if tokens is None else tokens
        self._memo: dict[int, tuple[Condition, Tri, int]] = {}
        self._levels: dict[int, list[pl.Expr]] = {}

    def stages(self) -> tuple[tuple[pl.Expr, ...], ...]:
        """The columns of the compiled ``all``/``any``/``not`` parts, innermost first: run them before using
        what ``compile`` returned (the token columns first, unless the caller shares and runs them)."""
        levels = tuple(tuple(self._levels[level]) for level in sorted(self._levels))
        tokens = self.tokens.stage() if self._own_tokens else ()
        return (tokens, *levels) if tokens else levels

    def compile(self, condition: Condition) -> Tri:
        return self._leveled(condition)[0]

    def _leveled(self, condition: Condition) -> tuple[Tri, int]:
        """The compiled condition and how many of ``stages`` must run before it can be read."""
        if isinstance(condition, All | AnyOf | Not):
            return self._materialized(condition)
        if isinstance(condition, HasAny | HasNone | Only) and condition.fact == "populations":
            return self._populations(condition), 0
        if isinstance(condition, Compare | Equals | OneOf | HasAny | HasNone | Only):
            return self._fact_condition(condition), 0
        raise Unsupported(f"the condition kind {type(condition).__name__} has no columnar form")

    def _materialized(self, condition: All | AnyOf | Not) -> tuple[Tri, int]:
        known = self._memo.get(id(condition))
        if known is not None:
            return known[1], known[2]
        if isinstance(condition, Not):
            inner, level = self._leveled(condition.part)
            tri = Tri(inner.value.not_(), inner.missing)
        else:
            tri, level = self._junction(condition)
        name = f"{self.prefix}{len(self._memo)}"
        self._levels.setdefault(level, []).extend((tri.value.alias(name), tri.missing.alias(f"{name}_missing")))
        column = Tri(pl.col(name), pl.col(f"{name}_missing"))
        self._memo[id(condition)] = (condition, column, level + 1)  # the condition is kept: its id stays its own
        return column, level + 1

    def _junction(self, condition: All | AnyOf) -> tuple[Tri, int]:
        leveled = [self._leveled(p) for p in condition.parts]
        parts = [tri for tri, _ in leveled]
        values = [p.value for p in parts]
        value = pl.all_horizontal(values) if isinstance(condition, All) else pl.any_horizontal(values)
        # A part that is known contributes no missing facts, so the union of all parts' masks is the union of
        # the unknown parts' masks; it counts only while the whole stays unknown.
        missing = pl.when(value.is_null()).then(union([p.missing for p in parts])).otherwise(NO_MISSING)
        return Tri(value, missing), max(level for _, level in leveled)

    def _column(self, fact: str) -> tuple[str, pl.Expr]:
        if fact in self.scope.facts:
            column = self.scope.facts[fact]
            return column.kind, column.column
        if fact in self.scope.derived:
            return self.scope.derived[fact]
        raise Unsupported(f"the fact {fact} has no column")

    def _fact_condition(self, condition: Compare | Equals | OneOf | HasAny | HasNone | Only) -> Tri:
        kind, column = self._column(condition.fact)
        test = self._test(condition, kind, column)
        missing = pl.when(column.is_null()).then(pl.lit(self.scope.bits.bit(condition.fact), dtype=MASK))
        # A comparison or an equality of a null is null already: the guard would only double its cost.
        null_in_null_out = isinstance(condition, Compare | Equals)  # `<`, `==` ...; not `is_in` or a list test
        value = test if null_in_null_out else pl.when(column.is_not_null()).then(test)
        return Tri(value, missing.otherwise(NO_MISSING))

    def _test(self, condition: Condition, kind: str, column: pl.Expr) -> pl.Expr:
        if isinstance(condition, Compare):
            if kind != "number":
                raise Unsupported(f"{condition.fact} is not a number")
            return _ops()[condition.op](column, condition.threshold)
        if isinstance(condition, Equals | OneOf):
            allowed = [condition.expected] if isinstance(condition, Equals) else sorted(condition.allowed, key=str)
            if any(_kind_of(v) != kind for v in allowed):
                raise Unsupported(f"{condition.fact} is compared with a value of another kind")
            return column == allowed[0] if len(allowed) == 1 else column.is_in(allowed)
        if isinstance(condition, HasAny | HasNone | Only) and kind == "tokens":
            return self._tokens(condition, column, self.tokens)
        raise Unsupported(f"the condition on {getattr(condition, 'fact', '?')} has no columnar form")

    @staticmethod
    def _tokens(condition: HasAny | HasNone | Only, column: pl.Expr, tests: TokenTests) -> pl.Expr:
        tokens = sorted(condition.tokens)
        if isinstance(condition, Only):
            inside = column.list.eval(pl.element().is_in(tokens)).list.all()
            return (column.list.len() > 0) & inside
        found = pl.any_horizontal([tests.contains(column, t) for t in tokens])
        return found if isinstance(condition, HasAny) else found.not_()

    def _populations(self, condition: HasAny | HasNone | Only) -> Tri:
        populations = self.scope.populations
        if populations is None:
            raise Unsupported("the populations are not known at this point")
        if isinstance(condition, Only):
            # Only reads the certain members: an open membership is not a member.
            members = [p.value.fill_null(False) for p in populations]
            outside = [p.value.fill_null(False) for p in populations if p.id not in condition.tokens]
            known = (
                pl.any_horizontal(members) & pl.any_horizontal(outside).not_()
                if outside
                else pl.any_horizontal(members)
            )
            return Tri(known, NO_MISSING)
        chosen = [p for p in populations if p.id in condition.tokens]
        if not chosen:
            return Tri(pl.lit(isinstance(condition, HasNone)), NO_MISSING)
        value = pl.any_horizontal([p.value for p in chosen])
        missing = pl.when(value.is_null()).then(union([p.missing for p in chosen])).otherwise(NO_MISSING)
        return Tri(value if isinstance(condition, HasAny) else value.not_(), missing)
