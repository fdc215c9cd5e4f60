"""Cohort input from Parquet (issue 15): ``read_cohort`` over 1,000,000 records against a bare ``pyarrow.parquet``
read of the same file, measured in the same run.

The records come from ``records.py`` (seeded, varied, valid: every kind, relapsed ones included), 20,000 of them
repeated to ``--n`` rows, and a few hundred bad rows put in on purpose (a white count typed in 10^9/L, a lineage
that does not exist, a token given twice), written untimed to a temporary Parquet file in the table's shape
(``RECORD_SCHEMA``). Timed, median of ``--repeat`` (3):

* baseline: ``ParquetFile.iter_batches`` of every column in batches of 65,536 rows with a trivial reduction
  (the rows counted and the white counts summed), the least any reader of this file does;
* ``read_cohort``: the same file through the cohort reader (column checks, the unsettled rows through
  ``parse_record``, the age from the dates), every batch's records counted and its problems collected.

Reported: rows per second of each, the ratio of the two, and the share of rows the column checks settled.
Target (issue 15): >= 1,000,000 records per second from Parquet.

Usage::

    python benchmarks/bench_cohort_read.py [--n 1000000] [--seed 20261202] [--repeat 3] [--quick] [--check]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from random import Random
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from allpath.domain.cohort_checks import settled
from allpath.domain.cohort_table import RECORD_SCHEMA
from allpath.interfaces.cohort import read_cohort
from common import RESULTS_DIR, machine, verdict, write_json
from records import generate

TARGET_ROWS_PER_S = 1_000_000
DEFAULT_N = 1_000_000
QUICK_N = 200_000
DISTINCT = 20_000
DEFAULT_SEED = 20261202
DEFAULT_REPEAT = 3
BAD_EVERY = 3_001


def _typed(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON record with its ISO dates as dates, as a Parquet file holds them."""
    from datetime import date

    out: dict[str, Any] = {}
    for key, value in record.items():
        is_date = isinstance(value, str) and key.endswith("date")
        out[key] = date.fromisoformat(value) if is_date else value
    return out


def _bad(record: dict[str, Any], index: int) -> dict[str, Any]:
    spoiled = dict(record)
    choice = index % 3
    if choice == 0:
        spoiled["wbc_per_ul"] = 45.0
    elif choice == 1:
        spoiled["immunophenotype"] = "NK"
    else:
        spoiled["genetics"] = ["iAMP21", "iAMP21"]
    return spoiled


def cohort_file(n: int, seed: int, folder: Path) -> tuple[Path, int]:
    """The benchmark's Parquet file and the number of bad rows in it."""
    records = [_typed(record) for record in generate(DISTINCT, seed)]
    rng = Random(seed)
    bad = 0
    for index in range(0, DISTINCT, BAD_EVERY):
        records[index + rng.randrange(BAD_EVERY // 2)] = _bad(records[index], index)
        bad += 1
    block = pa.Table.from_pylist(records, schema=RECORD_SCHEMA)
    repeats = -(-n // DISTINCT)
    table = pa.concat_tables([block] * repeats).slice(0, n)
    path = folder / "cohort.parquet"
    pq.write_table(table, path, row_group_size=65_536)
    return path, bad * (n // DISTINCT) + sum(1 for i in range(0, n % DISTINCT, BAD_EVERY))


def _bare(path: Path) -> int:
    rows = 0
    total = 0.0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
        rows += batch.num_rows
        total += pc.sum(batch.column("wbc_per_ul")).as_py() or 0.0
    return rows


def _cohort(path: Path) -> tuple[int, int]:
    records = problems = 0
    for batch in read_cohort(path):
        records += batch.table.num_rows
        problems += len({problem.row for problem in batch.problems})
    return records, problems


def _timed(function: Any, path: Path, repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(n: int, seed: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path, bad = cohort_file(n, seed, Path(folder))
        first = next(pq.ParquetFile(path).iter_batches(batch_size=65_536))
        share_settled = float(settled(pa.Table.from_batches([first]).cast(RECORD_SCHEMA))[0].mean())
        bare_s, rows = _timed(_bare, path, repeat)
        cohort_s, (records, refused) = _timed(_cohort, path, repeat)
    if rows != n or records + refused != n:
        raise SystemExit(f"bench_cohort_read: {records} records and {refused} refused rows of {n}")
    rows_per_s = n / cohort_s
    return {
        "n": n,
        "bad_rows": refused,
        "expected_bad_rows": bad,
        "settled_by_columns": share_settled,
        "bare_s": bare_s,
        "cohort_s": cohort_s,
        "bare_rows_per_s": n / bare_s,
        "cohort_rows_per_s": rows_per_s,
        "ratio_to_bare": cohort_s / bare_s,
        "passed": {"rows_per_s": rows_per_s >= TARGET_ROWS_PER_S},
    }


def report(result: dict[str, Any]) -> str:
    passed = result["passed"]["rows_per_s"]
    return "\n".join(
        [
            f"cohort read from Parquet: {result['n']:,} rows ({result['bad_rows']:,} bad, reported), "
            f"{result['settled_by_columns']:.1%} settled by the column checks",
            f"  bare pyarrow read    {result['bare_s']:8.3f} s  {result['bare_rows_per_s']:>14,.0f} rows/s",
            f"  read_cohort          {result['cohort_s']:8.3f} s  {result['cohort_rows_per_s']:>14,.0f} rows/s"
            f"  ({result['ratio_to_bare']:.1f}x the bare read)",
            f"  target >= {TARGET_ROWS_PER_S:,} rows/s: {verdict(passed)}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"rows (default {DEFAULT_N:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} rows")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "cohort_read.json"), help="result file")
    args = parser.parse_args(argv)
    result = run(args.n or (QUICK_N if args.quick else DEFAULT_N), args.seed, args.repeat)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "cohort_read": result})
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
