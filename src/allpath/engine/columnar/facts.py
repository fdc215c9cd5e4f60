"""The facts of every row of a cohort table as polars expressions, exactly as ``engine.facts`` builds them
from one record.

An absent input stays null. The values ``build_facts`` fills in are filled in the same way here: no relapse
list means no relapse, no refractory statement means not refractory, no predisposition list means none, and
a girl has no testicular involvement. Each input fact becomes one column (named ``FACT_PREFIX + name``) so
that the conditions read it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

FACT_PREFIX = "_fact."
NO_GENETIC_FINDING = "none_detected"  # the record's word for a test that found nothing: not a finding

FactKind = Literal["number", "text", "flag", "tokens"]


@dataclass(frozen=True)
class FactColumn:
    """One input fact: what kind of value it holds, how it is computed, and the record columns it reads."""

    name: str
    kind: FactKind
    expr: pl.Expr
    reads: tuple[str, ...]

    @property
    def column(self) -> pl.Expr:
        return pl.col(FACT_PREFIX + self.name)


def _response(field: str) -> pl.Expr:
    return pl.col("response").struct.field(field)


def _latest_relapse(field: str) -> pl.Expr:
    return pl.col("relapses").list.last().struct.field(field)


def _relapse_count() -> pl.Expr:
    return pl.col("relapses").list.len().fill_null(0).cast(pl.Int64)


def _genetics() -> pl.Expr:
    # A known test with no finding is the empty set; an absent test stays null (not known). The conditions read
    # the list as a set (membership, and "nothing but"), so the word is filtered out without removing repeats:
    # half the time of a set difference.
    return pl.col("genetics").list.filter(pl.element() != NO_GENETIC_FINDING)


def _testicular() -> pl.Expr:
    stated = pl.col("testicular_involvement")
    return pl.when(stated.is_null() & (pl.col("sex") == "female")).then(pl.lit(False)).otherwise(stated)


def _age_at_latest_event() -> pl.Expr:
    months = pl.when(pl.col("relapses").list.len().fill_null(0) > 0).then(_latest_relapse("months_from_diagnosis"))
    return pl.col("age_years") + months.otherwise(pl.lit(0.0)) / 12


def _fact(name: str, kind: FactKind, expr: pl.Expr, *reads: str) -> FactColumn:
    return FactColumn(name, kind, expr, reads or (name,))


def input_facts() -> tuple[FactColumn, ...]:
    """Every fact ``build_facts`` produces, as a column expression over the cohort table."""
    return (
        _fact("age_years", "number", pl.col("age_years")),
        _fact("sex", "text", pl.col("sex")),
        _fact("wbc_per_ul", "number", pl.col("wbc_per_ul")),
        _fact("immunophenotype", "text", pl.col("immunophenotype")),
        _fact("genetics", "tokens", _genetics()),
        _fact("cns_status", "text", pl.col("cns_status")),
        _fact("testicular_involvement", "flag", _testicular(), "testicular_involvement", "sex"),
        _fact("down_syndrome", "flag", pl.col("down_syndrome")),
        _fact("steroid_pretreatment", "flag", pl.col("steroid_pretreatment")),
        _fact(
            "predisposition_syndromes",
            "tokens",
            pl.col("predisposition_syndromes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        ),
        _fact("day8_blood_mrd_pct", "number", _response("day8_blood_mrd_pct"), "response"),
        _fact("end_of_induction_marrow_mrd_pct", "number", _response("end_of_induction_marrow_mrd_pct"), "response"),
        _fact("end_of_induction_remission", "flag", _response("end_of_induction_remission"), "response"),
        _fact("end_of_consolidation_mrd_pct", "number", _response("end_of_consolidation_mrd_pct"), "response"),
        _fact("refractory", "flag", pl.col("refractory").fill_null(False)),
        _fact("relapses", "number", _relapse_count(), "relapses"),
        _fact("relapse_number", "number", _relapse_count(), "relapses"),
        _fact("relapse_sites", "tokens", _latest_relapse("sites"), "relapses"),
        _fact("relapse_months_from_diagnosis", "number", _latest_relapse("months_from_diagnosis"), "relapses"),
        _fact("end_of_block1_mrd_pct", "number", _latest_relapse("end_of_block1_mrd_pct"), "relapses"),
        _fact("weight_kg", "number", pl.col("weight_kg")),
        _fact("age_at_latest_event_years", "number", _age_at_latest_event(), "age_years", "relapses"),
    )
