"""Issue 15's acceptance: a bad row in a 1,000,000-row input is reported with its row number and field, and the
run completes with the other 999,999 records, batch by batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from allpath.domain.cohort_table import ROW
from allpath.interfaces.cohort import DEFAULT_BATCH_ROWS, RowProblem, read_cohort

ROWS = 1_000_000
BAD_ROW = 765_433  # inside a batch, not at its edge: 765,433 = 11 x 65,536 + 44,537


@pytest.mark.slow
def test_one_bad_row_in_a_million_json_lines_is_reported_and_the_run_completes(tmp_path: Path) -> None:
    path = tmp_path / "million.jsonl"
    with path.open("w", encoding="utf-8") as stream:
        for row in range(1, ROWS + 1):
            wbc = 45 if row == BAD_ROW else 12_000  # 45: a count in 10^9/L typed as cells per microliter
            stream.write(f'{{"id": "r{row}", "sex": "male", "age_years": 5.5, "wbc_per_ul": {wbc}}}\n')
    records = 0
    batches = 0
    problems: list[RowProblem] = []
    last_row = 0
    for batch in read_cohort(path):
        batches += 1
        assert batch.rows_read <= DEFAULT_BATCH_ROWS
        rows = batch.table.column(ROW)
        records += batch.table.num_rows
        if batch.table.num_rows:
            assert rows[0].as_py() > last_row  # in the order of the file
            last_row = rows[-1].as_py()
        problems.extend(batch.problems)
    assert records == ROWS - 1 == 999_999
    assert batches == -(-ROWS // DEFAULT_BATCH_ROWS) == 16
    assert [(p.row, p.field, p.value) for p in problems] == [(BAD_ROW, "wbc_per_ul", 45)]
    assert problems[0].message().startswith("Row 765,433: ")
    assert "enter 45,000 cells per microliter" in problems[0].message()
