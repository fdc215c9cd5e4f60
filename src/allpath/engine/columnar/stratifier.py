"""The columnar stratifier: the knowledge base's disease state, populations, both risk groups and the relapse
section compiled once into polars stages, then run over whole cohort tables (``domain.cohort_table``).

``compile_stratifier(kb)`` compiles every part it can. A part it cannot compile exactly (a condition kind or a
fact without a columnar form) is listed in ``Stratifier.refused``, and every row that part can affect (every
row, or for the relapse section the relapsed rows) is answered by the per-patient engine instead; the
``fallback`` column marks those rows. ``stratify_batch`` is pure (an Arrow batch in, an Arrow batch out), so a
Spark ``mapInArrow`` can call it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from allpath.engine.columnar.facts import FACT_PREFIX, input_facts
from allpath.engine.columnar.fallback import OUTPUT_SCHEMA, per_patient_frame
from allpath.engine.columnar.logic import (
    MASK,
    NO_MISSING,
    ConditionCompiler,
    FactBits,
    Population,
    Scope,
    TokenTests,
    Unsupported,
    union,
)
from allpath.engine.columnar.paths import PathDecoder, members
from allpath.engine.columnar.schemes import CompiledScheme, compile_scheme
from allpath.knowledge.loader import KnowledgeBase

_INDEX = "_index"
_PATH_COLUMNS = {"response", "relapses"}  # read by the path lists' keys (``paths``)
_RELAPSED = "relapsed"
KEPT_COLUMNS = ("row", "id")
"""Input columns copied to the result when present, so that an answer names its record."""


@dataclass(frozen=True)
class Refusal:
    """A part of the knowledge base the columnar plan leaves to the per-patient engine, and why."""

    part: str
    reason: str


@dataclass(frozen=True)
class Stratifier:
    """The compiled plan: stages of column expressions, the outputs, and the rows left to the per-patient engine."""

    kb: KnowledgeBase
    stages: tuple[tuple[pl.Expr, ...], ...]
    outputs: tuple[pl.Expr, ...]
    fallback: pl.Expr  # true on the rows a refused part can affect
    refused: tuple[Refusal, ...]
    reads: tuple[str, ...]  # the record columns the plan reads
    paths: PathDecoder
    population_ids: tuple[str, ...]

    @property
    def knowledge_version(self) -> str:
        return self.kb.version

    def stratify(self, table: pa.Table | pl.DataFrame) -> pl.DataFrame:
        """The stratification columns of every row (with ``row``/``id`` when present, ``fallback`` and the
        knowledge version)."""
        frame = table if isinstance(table, pl.DataFrame) else pl.DataFrame(pl.from_arrow(table))
        kept = [c for c in KEPT_COLUMNS if c in frame.columns]
        if frame.height == 0:
            return self._empty_answer(frame.select(kept))
        lazy = frame.lazy().with_row_index(_INDEX)
        for stage in self.stages:
            lazy = lazy.with_columns(stage)
        # The batch is already in memory (the caller streams the file): polars' in-memory engine runs the wide
        # plan a little faster than its streaming engine.
        plan = lazy.select(pl.col(_INDEX), *kept, *self.outputs, self.fallback.alias("fallback"))
        computed = self._decoded(plan.collect(engine="in-memory"))
        if self.refused:
            computed = self._per_patient(frame, computed)
        return computed.drop(_INDEX).with_columns(pl.lit(self.kb.version).alias("knowledge_version"))

    def _empty_answer(self, kept: pl.DataFrame) -> pl.DataFrame:
        """No rows: every answer column, typed and in the order a non-empty answer has them. The plan is not run:
        on no rows polars may drop a column an earlier stage made (a token's column) and fail."""
        computed = [e.meta.output_name() for e in self.outputs]
        names = [*computed, "fallback", *(c for c in OUTPUT_SCHEMA if c not in computed), "knowledge_version"]
        types = {**OUTPUT_SCHEMA, "fallback": pl.Boolean(), "knowledge_version": pl.String()}
        return kept.clear().hstack(pl.DataFrame(schema={name: types[name] for name in names}).get_columns())

    def _decoded(self, computed: pl.DataFrame) -> pl.DataFrame:
        """The path and population lists of the rows' keys (see ``paths``)."""
        lists: list[pl.Series] = []
        for scheme in ("risk_group", "cog_risk_group"):
            missing, upcoming = self.paths.decode(computed[f"{scheme}_missing"])
            lists += [missing.alias(f"{scheme}_missing"), upcoming.alias(f"{scheme}_upcoming")]
        lists.append(members(self.population_ids, computed["populations"]).alias("populations"))
        return computed.with_columns(lists)

    def _per_patient(self, frame: pl.DataFrame, computed: pl.DataFrame) -> pl.DataFrame:
        chosen = computed.filter(pl.col("fallback"))
        if chosen.height == 0:
            return computed
        rows = frame.with_row_index(_INDEX).join(chosen.select(_INDEX), on=_INDEX, how="semi")
        answers = per_patient_frame(rows.drop(_INDEX).to_dicts(), self.kb)
        replaced = chosen.select(pl.exclude(*OUTPUT_SCHEMA)).hstack(answers).select(computed.columns)
        return pl.concat([computed.filter(pl.col("fallback").not_()), replaced]).sort(_INDEX)

    def stratify_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """One Arrow batch of cohort rows in, one Arrow batch of answers out (pure: for ``mapInArrow``)."""
        table = self.stratify(pl.DataFrame(pl.from_arrow(batch))).to_arrow()
        return (
            table.combine_chunks().to_batches()[0]
            if table.num_rows
            else pa.RecordBatch.from_pylist([], schema=table.schema)
        )

    def stratify_batches(self, batches: Iterable[pa.RecordBatch], in_flight: int = 1) -> Iterator[pl.DataFrame]:
        """Stream batches (e.g. ``ParquetFile.iter_batches``), answers in the batches' order: memory stays within
        ``in_flight`` batches. With ``in_flight`` 2 the next batch is read (by the caller's iterator) and
        stratified while the previous one is still being stratified, in a second thread: polars and the
        Parquet reader release the interpreter lock, so the serial parts of two batches overlap."""
        if in_flight <= 1:
            for batch in batches:
                yield self.stratify(pl.DataFrame(pl.from_arrow(batch)))
            return
        with ThreadPoolExecutor(in_flight) as pool:
            pending: deque[Future[pl.DataFrame]] = deque()
            for batch in batches:
                pending.append(pool.submit(self._stratify_arrow, batch))
                if len(pending) >= in_flight:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _stratify_arrow(self, batch: pa.RecordBatch) -> pl.DataFrame:
        return self.stratify(pl.DataFrame(pl.from_arrow(batch)))


def _first_true(verdicts: Sequence[tuple[str, pl.Expr]]) -> pl.Expr:
    """The value of the first rule that holds (null when none holds), as the engine reads rule lists."""
    return pl.coalesce([pl.when(verdict.fill_null(False)).then(pl.lit(value)) for value, verdict in verdicts])


class _Builder:
    """Compiles the parts of a knowledge base in the order ``engine.assess`` evaluates them."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        facts = {f.name: f for f in input_facts()}
        self.bits = FactBits(tuple(sorted(set(facts) | set(kb.inputs) | kb.derived_facts)))
        self.scope = Scope(self.bits, facts, {})
        self.stages: list[tuple[pl.Expr, ...]] = [tuple(f.expr.alias(FACT_PREFIX + f.name) for f in facts.values())]
        self.refused: list[Refusal] = []
        self.paths = PathDecoder(kb, self.bits)
        self.population_ids: tuple[str, ...] = tuple(p.spec.id for p in kb.populations)
        self.fallback: list[pl.Expr] = []
        self.tokens = TokenTests()  # shared by every part: run once, right after the input facts

    def compiler(self, prefix: str) -> ConditionCompiler:
        return ConditionCompiler(self.scope, prefix, self.tokens)

    def refuse(self, part: str, problem: Unsupported, rows: pl.Expr) -> None:
        self.refused.append(Refusal(part, str(problem)))
        self.fallback.append(rows)

    def disease_state(self) -> pl.Expr:
        compiler = self.compiler("_disease_state.")
        try:
            verdicts = [(rule.value, compiler.compile(condition).value) for rule, condition in self.kb.disease_states]
        except Unsupported as problem:
            self.refuse("disease_state", problem, pl.lit(True))
            return pl.lit(None, dtype=pl.String)
        self.stages.extend((*compiler.stages(), (_first_true(verdicts).alias("disease_state"),)))
        self.scope = Scope(self.bits, self.scope.facts, {"disease_state": ("text", pl.col("disease_state"))})
        return pl.col("disease_state")

    def populations(self) -> pl.Expr:
        compiler = self.compiler("_populations.")
        try:
            compiled = [(p.spec.id, compiler.compile(p.condition)) for p in self.kb.populations]
        except Unsupported as problem:
            self.refuse("populations", problem, pl.lit(True))
            return pl.lit(0, dtype=MASK)
        self.stages.extend(compiler.stages())
        self.stages.append(
            tuple(t.value.alias(f"_population.{i}") for i, t in compiled)
            + tuple(t.missing.alias(f"_population.{i}_missing") for i, t in compiled)
        )
        found = tuple(
            Population(i, pl.col(f"_population.{i}"), pl.col(f"_population.{i}_missing")) for i, _ in compiled
        )
        self.scope = Scope(self.bits, self.scope.facts, self.scope.derived, found)
        self.population_ids = tuple(i for i, _ in compiled)
        member_bits = [
            pl.when(p.value.fill_null(False)).then(pl.lit(1 << i, dtype=MASK)).otherwise(NO_MISSING)
            for i, p in enumerate(found)
        ]
        return union(member_bits)  # a key: decoded into the list of members after the plan runs

    def scheme(self, part: str, rows: pl.Expr) -> CompiledScheme | None:
        try:
            compiled = compile_scheme(getattr(self.kb, part), self.compiler(f"_{part}."), self.bits, part)
        except Unsupported as problem:
            self.refuse(part, problem, rows)
            return None
        self.stages.extend(compiled.stages)
        return compiled

    def timing(self, relapsed: pl.Expr) -> pl.Expr:
        compiler = self.compiler("_relapse_timing.")
        try:
            verdicts = [(rule.value, compiler.compile(c).value) for rule, c in self.kb.relapse_timing.rules]
        except Unsupported as problem:
            self.refuse("relapse_timing", problem, relapsed)
            return pl.lit(None, dtype=pl.String)
        self.stages.extend(compiler.stages())
        return pl.when(relapsed).then(_first_true(verdicts)).otherwise(pl.lit(None, dtype=pl.String))


def _scheme_outputs(builder: _Builder, scheme: CompiledScheme | None, name: str) -> list[pl.Expr]:
    if scheme is None:  # its rows go to the per-patient engine
        return [
            pl.lit(None, dtype=pl.String).alias(name),
            pl.lit(None, dtype=pl.Boolean).alias(f"{name}_provisional"),
            pl.lit(0, dtype=MASK).alias(f"{name}_missing"),
        ]
    key = builder.paths.key(scheme.missing)  # decoded into the two lists after the plan runs
    return [
        scheme.group.alias(name),
        builder.paths.provisional(scheme.missing).alias(f"{name}_provisional"),
        key.alias(f"{name}_missing"),
    ]


def _roots(stages: Sequence[Sequence[pl.Expr]]) -> set[str]:
    """The columns the expressions read."""
    return {name for stage in stages for e in stage for name in e.meta.root_names()}


def compile_stratifier(kb: KnowledgeBase) -> Stratifier:
    """Compile ``kb`` into a columnar stratifier (parts that cannot be compiled are listed in ``refused``)."""
    builder = _Builder(kb)
    state = builder.disease_state()
    populations = builder.populations()
    risk = builder.scheme("risk_group", pl.lit(True))
    if risk is not None:
        derived = dict(builder.scope.derived, risk_group=("text", risk.group))
        builder.scope = Scope(builder.bits, builder.scope.facts, derived, builder.scope.populations)
    cog = builder.scheme("cog_risk_group", pl.lit(True))
    relapsed = (state == _RELAPSED).fill_null(True) if "disease_state" in builder.scope.derived else pl.lit(True)
    timing = builder.timing(relapsed)
    relapse = builder.scheme("relapse_risk_group", relapsed)
    relapse_group = pl.lit(None, dtype=pl.String) if relapse is None else relapse.group
    outputs = (
        state.alias("disease_state"),
        *_scheme_outputs(builder, risk, "risk_group"),
        *_scheme_outputs(builder, cog, "cog_risk_group"),
        populations.alias("populations"),
        timing.alias("relapse_timing"),
        pl.when(relapsed).then(relapse_group).otherwise(pl.lit(None, dtype=pl.String)).alias("relapse_risk_group"),
    )
    fallback = pl.any_horizontal(builder.fallback) if builder.fallback else pl.lit(False)
    read = _roots((builder.tokens.stage(), *builder.stages[1:], outputs, (fallback,)))
    facts = tuple(e for e in builder.stages[0] if e.meta.output_name() in read)  # a fact no part reads is not made
    # The record columns of those facts, and those the path lists read; the per-patient engine, when a part is
    # refused, reads the whole record's inputs.
    made = {FACT_PREFIX + f.name for f in input_facts() if builder.refused or FACT_PREFIX + f.name in read}
    reads = sorted({c for f in input_facts() if FACT_PREFIX + f.name in made for c in f.reads} | _PATH_COLUMNS)
    stages = (facts, builder.tokens.stage(), *builder.stages[1:])  # the input facts, then the tokens
    return Stratifier(
        kb,
        tuple(s for s in stages if s),
        outputs,
        fallback,
        tuple(builder.refused),
        tuple(reads),
        builder.paths,
        builder.population_ids,
    )
