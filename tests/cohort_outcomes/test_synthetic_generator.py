"""The synthetic cohort generator: valid records, seeded, in blocks, distributions as its data file states, and
files that say they are synthetic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from allpath.domain.cohort_table import ROW, TABLE_SCHEMA
from allpath.domain.record import parse_record
from allpath.service.cohort.synthetic import BLOCK_ROWS, ID_PREFIX, OUTCOME_SCHEMA, generate
from allpath.service.cohort.synthetic_files import (
    NOTICE_KEY,
    SEED_KEY,
    is_synthetic,
    read_outcomes,
    write_cohort,
)
from allpath.service.cohort.synthetic_parameters import load_parameters

from .conftest import COHORT_ROWS


def _share(mask: np.ndarray) -> float:
    return float(np.mean(mask))


def _tolerance(share: float, count: int) -> float:
    """Four binomial standard errors: a correct generator fails this about once in 15,000 checks."""
    return 4 * math.sqrt(max(share * (1 - share), 1e-6) / count)


def _records_as_json(table: pa.Table) -> list[dict[str, object]]:
    def without_nulls(value: object) -> object:
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    return [without_nulls(row) for row in table.drop_columns([ROW]).to_pylist()]  # type: ignore[misc]


def test_every_generated_record_passes_parse_record(cohort: tuple[pa.Table, pa.Table]) -> None:
    records, _ = cohort
    relapsed = 0
    for data in _records_as_json(records):
        record = parse_record(data)
        relapsed += bool(record.relapses)
    assert records.schema == TABLE_SCHEMA
    assert 0 < relapsed < COHORT_ROWS  # some relapsed children, most not


def test_rows_are_numbered_from_one_across_blocks_and_ids_say_synthetic() -> None:
    blocks = list(generate(BLOCK_ROWS + 1, seed=5))
    assert [b.records.num_rows for b in blocks] == [BLOCK_ROWS, 1]  # a block boundary and one past it
    rows = pa.concat_arrays([b.records[ROW].combine_chunks() for b in blocks]).to_pylist()
    assert rows == list(range(1, BLOCK_ROWS + 2))
    assert blocks[1].records["id"][0].as_py() == f"{ID_PREFIX}{BLOCK_ROWS + 1:09d}"
    assert blocks[1].outcomes[ROW].to_pylist() == [BLOCK_ROWS + 1]
    assert list(generate(0, seed=5)) == []
    with pytest.raises(ValueError):
        list(generate(-1, seed=5))


def test_the_same_seed_gives_the_same_cohort_and_another_seed_another() -> None:
    first = list(generate(3000, seed=11))
    again = list(generate(3000, seed=11))
    other = list(generate(3000, seed=12))
    assert first[0].records.equals(again[0].records) and first[0].outcomes.equals(again[0].outcomes)
    assert not first[0].records.equals(other[0].records)


def test_demographics_follow_the_data_file(cohort: tuple[pa.Table, pa.Table]) -> None:
    records, _ = cohort
    figures = load_parameters()
    n = records.num_rows
    male = np.asarray(records["sex"].to_pylist()) == "male"
    assert abs(_share(male) - figures.male_share.value) < _tolerance(figures.male_share.value, n)
    t_cell = np.asarray(records["immunophenotype"].to_pylist()) == "T"
    assert abs(_share(t_cell) - figures.t_lineage_share.value) < _tolerance(figures.t_lineage_share.value, n)
    ages = records["age_years"].to_numpy()
    total = sum(band.weight for band in figures.age_years.bands)
    for band in figures.age_years.bands:
        expected = band.weight / total
        inside = (ages >= band.low) & (ages < band.high)
        assert abs(_share(inside) - expected) < _tolerance(expected, n), (band.low, band.high)
    assert ages.min() >= 0 and ages.max() < figures.age_years.bands[-1].high


def test_genetics_cns_and_down_syndrome_follow_the_data_file(cohort: tuple[pa.Table, pa.Table]) -> None:
    records, _ = cohort
    figures = load_parameters()
    lineage = np.asarray(records["immunophenotype"].to_pylist())
    ages = records["age_years"].to_numpy()
    genetics = records["genetics"].to_pylist()
    b_older = (lineage == "B") & (ages >= figures.infant_kmt2a_share.below_age_years)
    tokens = [g[0] for g, keep in zip(genetics, b_older, strict=True) if keep and g]
    assert len(tokens) == int(b_older.sum())  # every B-lineage record has its finding
    for item in figures.genetics_b.items:
        share = tokens.count(item.token) / len(tokens)
        assert abs(share - item.weight) < _tolerance(item.weight, len(tokens)), item.token
    assert all(g is None for g, t in zip(genetics, lineage, strict=True) if t == "T")
    cns = np.asarray(records["cns_status"].to_pylist())
    for lineage_name, distribution in (("B", figures.cns_status.B), ("T", figures.cns_status.T)):
        chosen = cns[lineage == lineage_name]
        for item in distribution.items:
            assert abs(_share(chosen == item.token) - item.weight) < _tolerance(item.weight, len(chosen))
    down = records["down_syndrome"].to_numpy(zero_copy_only=False)
    assert not down[lineage == "T"].any()
    expected = figures.down_syndrome_share_b.value
    assert abs(_share(down[lineage == "B"]) - expected) < _tolerance(expected, int((lineage == "B").sum()))


def test_white_counts_and_mrd_stay_inside_the_stated_ranges(cohort: tuple[pa.Table, pa.Table]) -> None:
    records, _ = cohort
    figures = load_parameters()
    lineage = np.asarray(records["immunophenotype"].to_pylist())
    wbc = records["wbc_per_ul"].to_numpy()
    for name, shape in (("B", figures.wbc_per_ul.B), ("T", figures.wbc_per_ul.T)):
        counts = wbc[lineage == name]
        assert counts.min() >= shape.low and counts.max() <= shape.high
        assert abs(np.median(counts) / shape.median - 1) < 0.05  # the median the file states
    response = records["response"].combine_chunks()
    assert isinstance(response, pa.StructArray)
    eoi = response.field("end_of_induction_marrow_mrd_pct").to_numpy(zero_copy_only=False)
    undetected = figures.mrd_end_of_induction.bands[0]
    assert undetected.high == 0
    assert abs(_share(eoi == 0) - undetected.weight) < _tolerance(undetected.weight, len(eoi))
    assert eoi.max() <= figures.mrd_end_of_induction.bands[-1].high
    day8 = response.field("day8_blood_mrd_pct")
    assert pc.all(pc.is_null(pc.filter(day8, pa.array(lineage == "T")))).as_py()


def test_relapses_in_records_match_the_outcome_table(cohort: tuple[pa.Table, pa.Table]) -> None:
    records, outcomes = cohort
    relapse_years = outcomes["relapse_years"].to_pylist()
    for relapses, years, sex in zip(
        records["relapses"].to_pylist(), relapse_years, records["sex"].to_pylist(), strict=True
    ):
        assert (relapses is None) == (years is None)
        if relapses:
            assert years is not None
            assert relapses[0]["months_from_diagnosis"] == pytest.approx(max(round(years * 12, 1), 0.1))
            assert sex == "male" or "testis" not in relapses[0]["sites"]


def test_parquet_files_say_they_are_synthetic_and_keep_their_schemas(tmp_path: Path) -> None:
    written = write_cohort(1000, 9, tmp_path / "records.parquet", tmp_path / "outcomes.parquet")
    assert written.rows == 1000
    for path in (written.records_path, written.outcomes_path):
        assert is_synthetic(path)
        metadata = pq.read_schema(path).metadata
        assert metadata[SEED_KEY] == b"9" and b"Synthetic" in metadata[NOTICE_KEY]
    assert pq.read_table(written.records_path).schema.remove_metadata() == TABLE_SCHEMA
    outcomes = read_outcomes(written.outcomes_path)
    assert outcomes.schema == OUTCOME_SCHEMA and outcomes.num_rows == 1000
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1]}), plain)
    assert not is_synthetic(plain)


def test_json_lines_records_parse_and_outcomes_say_synthetic(tmp_path: Path) -> None:
    written = write_cohort(500, 9, tmp_path / "records.jsonl", tmp_path / "outcomes.jsonl", "jsonl")
    lines = written.records_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 500
    for line in lines:
        record = parse_record(json.loads(line))
        assert record.id is not None and record.id.startswith(ID_PREFIX)
    outcome_lines = [json.loads(line) for line in written.outcomes_path.read_text(encoding="utf-8").splitlines()]
    assert all(line["synthetic"] is True for line in outcome_lines)
    assert [line[ROW] for line in outcome_lines] == list(range(1, 501))
    parquet = write_cohort(500, 9, tmp_path / "r.parquet", tmp_path / "o.parquet")
    assert read_outcomes(written.outcomes_path).equals(read_outcomes(parquet.outcomes_path))
