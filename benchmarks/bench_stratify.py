"""Cohort stratification (issue 15): the columnar stratifier over a Parquet cohort, against a bare scan of the
same columns, with the per-patient engine on a sample for comparison - all in one run, as ratios.

The cohort: ``--distinct`` varied, valid records from the seeded generator of ``records.py`` (standard-risk,
infant, T-cell, Down syndrome, Ph-positive, relapsed, refractory, sparse ...), validated and put in the cohort
table's shape (``domain.cohort_table``), repeated to ``--n`` rows and written to one Parquet file (row groups of
``--batch`` rows), untimed. Repeating rows changes neither the work per row of the scan nor of the stratifier.

Timed, each pass reading the file in batches of ``--batch`` rows (``ParquetFile.iter_batches``, only the columns
the stratifier reads, so memory stays within a batch), ``--repeat`` times, median reported:

* ``scan``: read the columns and a trivial reduction (the sum of ``age_years``) - the least any pass over the
  cohort costs;
* ``stratify``: the compiled stratifier on every batch (disease state, both risk groups with provisional flag
  and missing/upcoming inputs, populations, relapse timing and relapse risk group);
* ``per_patient``: ``engine.assess.assess`` (through the stratifier's fallback) on ``--sample`` records.

The streamed pass also runs once in a child process, whose peak resident memory (``resource.getrusage``) is
reported: the memory a run needs whatever the cohort's size.

Targets (issue 15): >= 1,000,000 records per second for ``stratify``, and ``stratify`` within 10x of ``scan``.

Usage::

    python benchmarks/bench_stratify.py [--n 1000000] [--distinct 20000] [--batch 262144] [--repeat 3]
        [--sample 5000] [--quick] [--check]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.domain.cohort_table import ROW, records_table
from allpath.domain.record import parse_record
from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.engine.columnar.fallback import per_patient
from allpath.knowledge.loader import load_knowledge
from common import RESULTS_DIR, machine, verdict, write_json
from records import generate

TARGET_PER_SECOND = 1_000_000
TARGET_RATIO = 10.0
DEFAULT_N = 1_000_000
QUICK_N = 200_000
DEFAULT_DISTINCT = 20_000
DEFAULT_BATCH = 262_144
DEFAULT_SEED = 20261202


def write_cohort(path: Path, n: int, distinct: int, seed: int, batch: int) -> None:
    """``n`` rows of ``distinct`` generated records, repeated, as one Parquet file."""
    table = records_table(parse_record(r) for r in generate(distinct, seed))
    writer = pq.ParquetWriter(path, table.schema)
    written = 0
    while written < n:
        part = table.slice(0, min(table.num_rows, n - written))
        rows = pa.array(range(written + 1, written + part.num_rows + 1), type=pa.int64())
        writer.write_table(part.set_column(0, table.schema.field(ROW), rows), row_group_size=batch)
        written += part.num_rows
    writer.close()


def _batches(path: Path, stratifier: Stratifier, batch: int) -> Any:
    return pq.ParquetFile(path).iter_batches(batch_size=batch, columns=[ROW, *stratifier.reads])


def scan(path: Path, stratifier: Stratifier, batch: int) -> int:
    total = 0.0
    rows = 0
    for part in _batches(path, stratifier, batch):
        frame = pl.DataFrame(pl.from_arrow(part))
        total += frame.select(pl.col("age_years").sum()).item() or 0.0
        rows += frame.height
    return rows


def stratify(path: Path, stratifier: Stratifier, batch: int) -> int:
    rows = 0
    for answer in stratifier.stratify_batches(_batches(path, stratifier, batch)):
        rows += answer.height
    return rows


def _timed(function: Any, *args: Any) -> tuple[float, int]:
    start = time.perf_counter()
    rows = function(*args)
    return time.perf_counter() - start, rows


def per_patient_rate(sample: int, seed: int) -> float:
    kb = load_knowledge()
    records = [parse_record(r) for r in generate(sample, seed)]
    start = time.perf_counter()
    for record in records:
        per_patient(record, kb)
    return sample / (time.perf_counter() - start)


def child_peak(path: Path, batch: int) -> dict[str, Any]:
    """The streamed stratification alone, in a child process: its rows, time and peak memory."""
    output = subprocess.run(
        [sys.executable, __file__, "--stream", str(path), "--batch", str(batch)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, Any] = json.loads(output)
    return figures


def stream_main(path: Path, batch: int) -> int:
    stratifier = compile_stratifier(load_knowledge())
    seconds, rows = _timed(stratify, path, stratifier, batch)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": round(peak_kib / 1024, 1)}))
    return 0


def run(n: int, distinct: int, batch: int, repeat: int, sample: int, seed: int) -> dict[str, Any]:
    stratifier = compile_stratifier(load_knowledge())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.parquet"
        write_cohort(path, n, distinct, seed, batch)
        size_mib = path.stat().st_size / 2**20
        scans, stratified = [], []
        for _ in range(repeat):
            scans.append(_timed(scan, path, stratifier, batch)[0])
            stratified.append(_timed(stratify, path, stratifier, batch)[0])
        child = child_peak(path, batch)
    scan_s, stratify_s = statistics.median(scans), statistics.median(stratified)
    patient_rate = per_patient_rate(sample, seed)
    stratify_per_s, over_scan = round(n / stratify_s), round(stratify_s / scan_s, 2)
    result: dict[str, Any] = {
        "n": n,
        "distinct": distinct,
        "batch": batch,
        "parquet_mib": round(size_mib, 1),
        "refused": [r.part for r in stratifier.refused],
        "scan_per_s": round(n / scan_s),
        "stratify_per_s": stratify_per_s,
        "per_patient_per_s": round(patient_rate),
        "stratify_over_scan": over_scan,
        "stratify_over_per_patient": round((n / stratify_s) / patient_rate, 1),
        "stream_child": child,
    }
    result["passed"] = {
        "throughput": stratify_per_s >= TARGET_PER_SECOND,
        "ratio": over_scan <= TARGET_RATIO,
    }
    return result


def report(result: dict[str, Any]) -> str:
    passed = result["passed"]
    child = result["stream_child"]
    return "\n".join(
        [
            f"cohort: {result['n']:,} rows ({result['distinct']:,} distinct records), "
            f"Parquet {result['parquet_mib']} MiB, batches of {result['batch']:,}",
            f"  bare scan:        {result['scan_per_s']:>12,} records/s",
            f"  stratify:         {result['stratify_per_s']:>12,} records/s "
            f"(target >= {TARGET_PER_SECOND:,}: {verdict(passed['throughput'])})",
            f"  per-patient:      {result['per_patient_per_s']:>12,} records/s",
            f"  stratify / scan time: {result['stratify_over_scan']}x "
            f"(target <= {TARGET_RATIO:.0f}x: {verdict(passed['ratio'])}); "
            f"{result['stratify_over_per_patient']}x the per-patient engine's throughput",
            f"  streamed alone (child process): {child['rows']:,} rows in {child['seconds']:.2f} s, "
            f"peak memory {child['peak_mib']} MiB",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"rows (default {DEFAULT_N:,})")
    parser.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=5_000, help="records for the per-patient engine")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} rows")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "stratify.json"), help="result file")
    parser.add_argument("--stream", type=Path, help=argparse.SUPPRESS)  # the child process of the memory figure
    args = parser.parse_args(argv)
    if args.stream:
        return stream_main(args.stream, args.batch)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    result = run(n, args.distinct, args.batch, args.repeat, args.sample, args.seed)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "stratify": result})
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
