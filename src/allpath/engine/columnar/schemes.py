"""A classification scheme (risk groups) compiled to polars stages, following ``engine.schemes``.

Each rule sets a floor when it holds; the group is the highest floor. A rule still unknown above the floor is
pending: its missing facts could still raise the group, and if one of them is decisive (or the scheme says
every input is) the group is null. Whether the scheme applies at all may itself be unknown: then the group is
null and the missing facts of ``applies_when`` are added.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from allpath.engine.columnar.logic import MASK, NO_MISSING, ConditionCompiler, FactBits, union
from allpath.knowledge.compiled import Scheme


@dataclass(frozen=True)
class CompiledScheme:
    """The stages (each a ``with_columns``) that leave ``<name>`` (the group) and ``<name>._missing`` (mask)."""

    name: str
    stages: tuple[tuple[pl.Expr, ...], ...]

    @property
    def group(self) -> pl.Expr:
        return pl.col(self.name)

    @property
    def missing(self) -> pl.Expr:
        return pl.col(f"{self.name}._missing")


def compile_scheme(scheme: Scheme, compiler: ConditionCompiler, bits: FactBits, name: str) -> CompiledScheme:
    """Compile ``scheme`` into columns named after ``name`` (raises ``Unsupported`` like the conditions)."""
    applies = compiler.compile(scheme.applies)
    rules = [compiler.compile(rule.condition) for rule in scheme.rules]
    value = [f"{name}._rule{index}" for index in range(len(rules))]
    mask = [f"{name}._rule{index}_missing" for index in range(len(rules))]
    verdicts = (
        applies.value.alias(f"{name}._applies"),
        applies.missing.alias(f"{name}._applies_missing"),
        *(rule.value.alias(v) for rule, v in zip(rules, value, strict=True)),
        *(rule.missing.alias(m) for rule, m in zip(rules, mask, strict=True)),
    )
    ranks = [rule.rank for rule in scheme.rules]
    floor = pl.max_horizontal(
        pl.lit(-1),
        *(
            pl.when(pl.col(v).fill_null(False)).then(pl.lit(r)).otherwise(pl.lit(-1))
            for v, r in zip(value, ranks, strict=True)
        ),
    ).alias(f"{name}._floor")
    floor_column = pl.col(f"{name}._floor")
    pending = [pl.col(v).is_null() & (floor_column < r) for v, r in zip(value, ranks, strict=True)]
    missing = union([pl.when(p).then(pl.col(m)).otherwise(NO_MISSING) for p, m in zip(pending, mask, strict=True)])
    if scheme.decisive is None:
        blocked = pl.any_horizontal(pending)
    else:
        decisive = pl.lit(bits.mask(scheme.decisive), dtype=MASK)
        blocked = pl.any_horizontal([p & ((pl.col(m) & decisive) != 0) for p, m in zip(pending, mask, strict=True)])
    applies_column = pl.col(f"{name}._applies")
    order = dict(enumerate(scheme.spec.order))
    group = (
        pl.when(applies_column.fill_null(False) & (floor_column >= 0) & blocked.not_())
        .then(floor_column.replace_strict(order, default=None, return_dtype=pl.String))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias(name)
    )
    all_missing = (
        pl.when(applies_column.is_null())
        .then(missing | pl.col(f"{name}._applies_missing"))
        .when(applies_column)
        .then(missing)
        .otherwise(NO_MISSING)
        .alias(f"{name}._missing")
    )
    return CompiledScheme(name, (*compiler.stages(), verdicts, (floor,), (group, all_missing)))
