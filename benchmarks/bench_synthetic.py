"""The synthetic cohort generator written to Parquet: rows per second and peak memory (issue 15).

Generates N records (default 10,000,000) with their outcomes and writes both Parquet files to a temporary
directory, block by block. The figures are the wall time, rows per second (records and outcomes together count
once per row), the files' sizes, and the peak resident memory of the process that generated them
(``resource.getrusage``: the run happens in a fresh child process, so its peak is the generator's alone, on top
of an interpreter with pyarrow and numpy imported, which is reported too). Target: peak memory under 2 GiB
for 10 million rows (issue 15: memory stays bounded by streaming in blocks).

Usage::

    python benchmarks/bench_synthetic.py [--rows 10000000] [--seed 1] [--check]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_PEAK_MIB = 2048
DEFAULT_ROWS = 10_000_000
_KIB_PER_MIB = 1024


def _child(rows: int, seed: int) -> None:
    """Run in the child: import, note the memory, generate and write, print the figures as JSON."""
    from allpath.service.cohort.synthetic_files import write_cohort

    imported_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB_PER_MIB
    with tempfile.TemporaryDirectory() as folder:
        records, outcomes = Path(folder) / "records.parquet", Path(folder) / "outcomes.parquet"
        start = time.perf_counter()
        write_cohort(rows, seed, records, outcomes)
        seconds = time.perf_counter() - start
        sizes = {"records_mib": records.stat().st_size / 2**20, "outcomes_mib": outcomes.stat().st_size / 2**20}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _KIB_PER_MIB
    print(json.dumps({"rows": rows, "seconds": seconds, "imported_mib": imported_mib, "peak_mib": peak_mib, **sizes}))


def run(rows: int, seed: int) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, __file__, "--child", "--rows", str(rows), "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    figures["rows_per_second"] = rows / figures["seconds"]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 when peak memory misses its target")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.rows, args.seed)
        return 0
    figures = run(args.rows, args.seed)
    print(
        f"synthetic cohort to Parquet: {figures['rows']:,.0f} rows in {figures['seconds']:.1f} s "
        f"= {figures['rows_per_second']:,.0f} rows/s; files {figures['records_mib']:.0f} MiB records + "
        f"{figures['outcomes_mib']:.0f} MiB outcomes; peak memory {figures['peak_mib']:.0f} MiB "
        f"(after imports {figures['imported_mib']:.0f} MiB; target < {TARGET_PEAK_MIB} MiB)"
    )
    return 1 if args.check and figures["peak_mib"] >= TARGET_PEAK_MIB else 0


if __name__ == "__main__":
    sys.exit(main())
