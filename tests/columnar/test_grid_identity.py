"""Identity over the committed risk grid (issue 15): the columnar stratifier gives the committed answers.

The cohort tables are built from the golden CSV files themselves (``tests/golden/risk_grid.csv`` and
``risk_grid_absent.csv``, which ``tests/cli`` keeps equal to the per-patient engine's output), not from the
grid code: every cell of the complete grid (each scenario with each genetic finding) and every row of the
absent grid, with its provisional flag and missing inputs. The other output columns (disease state,
populations, the relapse columns, the per-scheme missing and upcoming lists) are compared with the
per-patient engine on every row of the absent grid and on a regular sample of the complete grid.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from allpath.domain.cohort_table import RECORD_SCHEMA
from allpath.engine.columnar import Stratifier
from allpath.engine.columnar.fallback import record_of
from allpath.knowledge.loader import KnowledgeBase
from tests.columnar.identity import engine_answer, mismatches

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RESPONSE = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
INPUTS = ("age_years", "wbc_per_ul", "immunophenotype", "cns_status", "testicular_involvement", "steroid_pretreatment")
NULL = "-"  # the golden files' null group


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(GOLDEN / name, infer_schema_length=0)  # every cell as written


def _cohort(cells: pl.DataFrame) -> pl.DataFrame:
    """Grid rows as a cohort table of the record's shape (a boy without Down syndrome, as ``engine.grid``)."""
    number = {
        c: pl.col(c).cast(pl.Float64)
        for c in ("age_years", "wbc_per_ul", *RESPONSE)
        if c != "end_of_induction_remission"
    }
    flag = {
        c: pl.col(c) == "true" for c in ("testicular_involvement", "steroid_pretreatment", "end_of_induction_remission")
    }
    values = {**number, **flag}
    response_given = pl.any_horizontal(pl.col(c).is_not_null() for c in RESPONSE)
    frame = cells.select(
        *(values.get(c, pl.col(c)).alias(c) for c in INPUTS),
        pl.when(pl.col("genetics").is_not_null()).then(pl.concat_list("genetics")).alias("genetics"),
        pl.when(response_given).then(pl.struct(*(values[c].alias(c) for c in RESPONSE))).alias("response"),
        pl.lit("male").alias("sex"),
        pl.lit(False).alias("down_syndrome"),
    )
    template = pl.DataFrame(pl.from_arrow(pa.Table.from_batches([], RECORD_SCHEMA)))
    return pl.concat([template, frame], how="diagonal_relaxed").select(template.columns)


@pytest.fixture(scope="module")
def complete(kb: KnowledgeBase) -> pl.DataFrame:
    golden = _read("risk_grid.csv")
    tokens = [c for c in golden.columns if c not in (*INPUTS, *RESPONSE)]
    cells = golden.unpivot(index=[*INPUTS, *RESPONSE], on=tokens, variable_name="genetics", value_name="cell")
    return cells.with_columns(pl.col("cell").str.split_exact("/", 1).struct.rename_fields(["risk", "cog"])).unnest(
        "cell"
    )


def test_every_cell_of_the_complete_risk_grid_has_the_committed_groups(
    complete: pl.DataFrame, stratifier: Stratifier
) -> None:
    assert complete.height == 18432 * 11
    result = stratifier.stratify(_cohort(complete))
    got = result.select(pl.col("risk_group").fill_null(NULL), pl.col("cog_risk_group").fill_null(NULL))
    differ = (
        complete.select("risk", "cog")
        .hstack(got)
        .filter((pl.col("risk") != pl.col("risk_group")) | (pl.col("cog") != pl.col("cog_risk_group")))
    )
    assert differ.height == 0, differ.head(5)
    assert result["fallback"].sum() == 0
    assert result["disease_state"].unique().to_list() == ["newly_diagnosed"]


@pytest.mark.slow
def test_every_column_of_a_sample_of_the_complete_grid_is_the_per_patient_engines(
    complete: pl.DataFrame, stratifier: Stratifier, kb: KnowledgeBase
) -> None:
    sample = _cohort(complete.gather_every(17))
    records = [record_of(row) for row in sample.to_dicts()]
    assert len(records) > 11_000
    assert mismatches(stratifier.stratify(sample), records, kb, engine_answer) == []


def test_every_row_of_the_absent_grid_has_the_committed_groups_provisional_flag_and_missing_inputs(
    stratifier: Stratifier, kb: KnowledgeBase
) -> None:
    golden = _read("risk_grid_absent.csv")
    result = stratifier.stratify(_cohort(golden))
    order = [spec.field for spec in kb.inputs.values()]
    for index, (expected, got) in enumerate(zip(golden.to_dicts(), result.to_dicts(), strict=True)):
        # The grid lists the inputs either scheme waits for, upcoming ones included, without "response".
        paths = set().union(
            *(got[f"{s}_{k}"] for s in ("risk_group", "cog_risk_group") for k in ("missing", "upcoming"))
        )
        missing = sorted(paths - {"response"}, key=order.index)
        assert (got["risk_group"] or NULL, got["cog_risk_group"] or NULL) == (
            expected["risk_group"],
            expected["cog_risk_group"],
        ), index
        assert ";".join(missing) == (expected["missing"] or ""), index
        assert expected["provisional"] == ("true" if missing else "false"), index


@pytest.mark.slow
def test_every_column_of_the_absent_grid_is_the_per_patient_engines(stratifier: Stratifier, kb: KnowledgeBase) -> None:
    cohort = _cohort(_read("risk_grid_absent.csv"))
    records = [record_of(row) for row in cohort.to_dicts()]
    assert mismatches(stratifier.stratify(cohort), records, kb) == []
