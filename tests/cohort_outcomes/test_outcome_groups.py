"""The one grouping of a cohort for outcomes (``service.cohort.outcome_groups``): each child in the frontline group
of their record as at diagnosis, and the CLI and the researcher's page giving the same numbers from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from allpath.domain.cohort_table import records_table
from allpath.domain.record import parse_record
from allpath.engine.columnar import compile_stratifier
from allpath.interfaces.cli.app import app
from allpath.interfaces.cohort import read_cohort
from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.files import write_synthetic
from allpath.service.cohort.outcome_groups import (
    AFTER_DIAGNOSIS,
    NO_GROUP,
    as_at_diagnosis,
    cohort_groups,
    group_table,
    grouped_outcomes,
)
from allpath.service.cohort.research_outcomes import Landmark, research_outcomes
from allpath.service.cohort.synthetic_files import read_outcomes
from tests.conftest import complete_b_all

KB = load_knowledge()
RELAPSE = {"months_from_diagnosis": 30, "sites": ["bone_marrow"]}


def _table(*records: dict[str, Any]) -> pa.Table:
    return records_table([parse_record(record) for record in records])


def _risk_group_as_stratified(*records: dict[str, Any]) -> list[str | None]:
    return list(compile_stratifier(KB).stratify(_table(*records))["risk_group"].to_list())


def test_a_relapsed_child_keeps_the_frontline_group_of_the_record_without_relapses() -> None:
    relapsed = complete_b_all(relapses=[RELAPSE])
    assert _risk_group_as_stratified(relapsed) == [None]  # the record as it is has no frontline group
    grouped = group_table(_table(relapsed), KB, "risk_group")
    assert grouped["group"].to_list() == _risk_group_as_stratified(complete_b_all())
    assert grouped["group"].to_list() != [NO_GROUP] and grouped["row"].to_list() == [1]


def test_a_refractory_child_is_grouped_by_the_end_of_induction_remission() -> None:
    failed_induction = complete_b_all(end_of_induction_remission=False)
    refractory = complete_b_all(end_of_induction_remission=False, refractory=True, relapses=[RELAPSE])
    assert _risk_group_as_stratified(refractory) == [None]
    expected = _risk_group_as_stratified(failed_induction)
    assert expected != _risk_group_as_stratified(complete_b_all())  # induction failure moves the group
    assert group_table(_table(refractory), KB, "risk_group")["group"].to_list() == expected
    assert group_table(_table(refractory), KB, "cog_risk_group")["group"].to_list() == list(
        compile_stratifier(KB).stratify(_table(failed_induction))["cog_risk_group"].to_list()
    )


def test_end_of_consolidation_mrd_is_kept_at_its_limit_and_not_below() -> None:
    # The frontline rule's limit for B-ALL (risk_groups.yaml): at 0.01 % the group moves, at 0.009 % it does not.
    at_limit = complete_b_all(end_of_consolidation_mrd_pct=0.01, relapses=[RELAPSE])
    below = complete_b_all(end_of_consolidation_mrd_pct=0.009, relapses=[RELAPSE])
    groups = group_table(_table(at_limit, below), KB, "risk_group")["group"].to_list()
    expected = _risk_group_as_stratified(
        complete_b_all(end_of_consolidation_mrd_pct=0.01), complete_b_all(end_of_consolidation_mrd_pct=0.009)
    )
    assert groups == expected and groups[0] != groups[1]


def test_only_the_columns_after_diagnosis_are_emptied() -> None:
    record = complete_b_all(refractory=True, relapses=[RELAPSE], end_of_consolidation_mrd_pct=0.02)
    table = _table(record)
    emptied = as_at_diagnosis(table)
    assert emptied.schema == table.schema
    for name in table.column_names:
        if name in AFTER_DIAGNOSIS:
            assert emptied[name].null_count == 1, name
        else:
            assert emptied[name].equals(table[name]), name


def test_outcomes_are_grouped_only_by_what_is_known_at_diagnosis() -> None:
    for later in ("relapse_risk_group", "relapse_timing", "disease_state", "weight_kg"):
        with pytest.raises(ValueError, match="grouped by one of"):
            group_table(_table(complete_b_all()), KB, later)
        with pytest.raises(ValueError, match="grouped by one of"):
            cohort_groups([], KB, later)


def test_every_synthetic_child_with_a_relapse_is_in_a_frontline_group(tmp_path: Path) -> None:
    written = write_synthetic(3_000, 11, tmp_path, "parquet")
    records = pq.read_table(written.records_path)
    relapsed = sum(1 for relapses in records["relapses"].to_pylist() if relapses)
    assert relapsed > 100  # the test means something: many records carry a relapse
    groups = cohort_groups(read_cohort(written.records_path), KB, "risk_group")
    assert NO_GROUP not in groups.groups["group"].to_list()
    assert groups.groups["row"].to_list() == list(range(1, 3_001))
    outcomes = read_outcomes(written.outcomes_path)
    grouped = grouped_outcomes(groups.groups, outcomes.slice(0, 2_990))  # ten records without an outcome row
    assert (grouped.records, grouped.without_outcome) == (2_990, 10)
    assert sum(curve.subjects for curve in grouped.outcomes.event_free) == 2_990
    by_record = cohort_groups(read_cohort(written.records_path), KB, "immunophenotype")
    assert set(by_record.groups["group"].to_list()) == {"B", "T"}


def _close(cli: dict[str, float | None], page: Landmark) -> bool:
    if cli["lower"] is None:
        return page.lower is None and cli["estimate"] == pytest.approx(page.estimate, abs=1e-12)
    assert page.lower is not None and page.upper is not None
    return bool(
        cli["estimate"] == pytest.approx(page.estimate, abs=1e-12)
        and cli["lower"] == pytest.approx(page.lower, abs=1e-12)
        and cli["upper"] == pytest.approx(page.upper, abs=1e-12)
    )


@pytest.mark.parametrize("grouping", ["risk_group", "cog_risk_group", "immunophenotype"])
def test_the_cli_and_the_researchers_page_give_the_same_numbers(tmp_path: Path, grouping: str) -> None:
    written = write_synthetic(4_000, 23, tmp_path, "parquet")
    done = CliRunner().invoke(
        app,
        ["cohort", "outcomes", str(written.records_path), "--outcomes", str(written.outcomes_path)]
        + ["--group-by", grouping, "--at", "5", "-f", "json", "--quiet"],
    )
    assert done.exit_code == 0, done.output
    cli = json.loads(done.stdout)
    outcomes = read_outcomes(written.outcomes_path)
    batches = ((batch.table, len({p.row for p in batch.problems})) for batch in read_cohort(written.records_path))
    page = research_outcomes(batches, outcomes, grouping, KB, min_group_size=1)  # type: ignore[arg-type]
    shown = {group.group: group for group in page.analysis.groups}
    assert [row["group"] for row in cli["event_free_survival"]] == sorted(shown)
    assert cli["records_with_outcome"] == page.analysed == 4_000
    for efs, os, relapse, death in zip(
        cli["event_free_survival"],
        cli["overall_survival"],
        cli["relapse_incidence"],
        cli["death_in_remission_incidence"],
        strict=True,
    ):
        group = shown[efs["group"]]
        assert (efs["children"], efs["events"], os["events"]) == (group.children, group.efs_events, group.deaths)
        assert _close(efs["at"][0], group.efs) and _close(os["at"][0], group.os)
        assert _close(relapse["at"][0], group.relapse) and _close(death["at"][0], group.death_in_remission)
    assert page.analysis.event_free_test is not None
    assert cli["event_free_log_rank"]["chi_square"] == pytest.approx(page.analysis.event_free_test.chi_square)
