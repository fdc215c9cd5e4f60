"""Cohort stratification (issue 15): the columnar stratifier over a Parquet cohort, against a bare scan of the
same columns, with the per-patient engine on a sample for comparison - all in one run, as ratios.

The cohort: ``--distinct`` varied, valid records from the seeded generator of ``records.py`` (standard-risk,
infant, T-cell, Down syndrome, Ph-positive, relapsed, refractory, sparse ...), validated and put in the cohort
table's shape (``domain.cohort_table``), repeated to ``--n`` rows and written to one Parquet file (row groups of
``--batch`` rows), untimed. Repeating rows changes neither the work per row of the scan nor of the stratifier.

Timed, each pass reading the file in batches of ``--batch`` rows (``ParquetFile.iter_batches``, only the columns
the stratifier reads, so memory stays within a batch). On a shared machine one figure says little, so the passes
alternate - scan, stratify, scan, stratify ... ``--repeat`` times - and the median and the best of each are
reported, with the ratio stratify/scan of each pair (measured back to back, under the same load):

* ``scan``: read the columns and a trivial reduction (the sum of ``age_years``) - the least any pass over the
  cohort costs;
* ``stratify``: the compiled stratifier on every batch (disease state, both risk groups with provisional flag
  and missing/upcoming inputs, populations, relapse timing and relapse risk group);
* ``per_patient``: ``engine.assess.assess`` (through the stratifier's fallback) on ``--sample`` records, in the
  same run.

``stratify`` runs one batch at a time and again with two batches in flight (``stratify_batches(...,
in_flight=2)``: the next batch read and stratified in a second thread while the previous one finishes).

Peak memory: a separate file of ``--memory-n`` rows (10,000,000 by default) is streamed through the stratifier
once in a fresh process, two batches in flight, whose peak resident memory (``resource.getrusage``) is
reported, with that pass's throughput. The machine's load average is recorded before and after.

Targets (issue 15): >= 1,000,000 records per second for ``stratify``, ``stratify`` within 10x of ``scan``, and
under 2 GiB of peak memory for 10 million records.

Usage::

    python benchmarks/bench_stratify.py [--n 1000000] [--distinct 20000] [--batch 131072] [--repeat 7]
        [--sample 5000] [--memory-n 10000000] [--quick] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
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
TARGET_PEAK_MIB = 2048
DEFAULT_N = 1_000_000
QUICK_N = 200_000
DEFAULT_DISTINCT = 20_000
DEFAULT_BATCH = 131_072  # measured best of 65,536-524,288 on the 2-core machine (2026-12-02), with less memory
DEFAULT_REPEAT = 7
DEFAULT_MEMORY_N = 10_000_000
QUICK_MEMORY_N = 1_000_000
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


def stratify(path: Path, stratifier: Stratifier, batch: int, in_flight: int = 1) -> int:
    rows = 0
    for answer in stratifier.stratify_batches(_batches(path, stratifier, batch), in_flight=in_flight):
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
    """The streamed stratification alone, in a fresh child process: its rows, time and peak memory."""
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
    seconds, rows = _timed(stratify, path, stratifier, batch, 2)  # two batches in flight: the larger footprint
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "rows": rows,
        "seconds": seconds,
        "per_s": round(rows / seconds),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),  # the whole process, start-up included
        "peak_mib": round(usage.ru_maxrss / 1024, 1),
    }
    print(json.dumps(figures))
    return 0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _figures(n: int, seconds: list[float]) -> dict[str, int]:
    """Records per second: the median pass and the best."""
    return {"median_per_s": round(n / statistics.median(seconds)), "best_per_s": round(n / min(seconds))}


def _cpu_timed(function: Any, *args: Any) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of this process) of one pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def alternated(path: Path, stratifier: Stratifier, n: int, batch: int, repeat: int) -> dict[str, Any]:
    """Scan, stratify, and stratify with two batches in flight, in turn, so that all see the same load; each
    ratio is of passes measured back to back. CPU seconds are reported beside the wall clock: on a loaded
    machine they say what the work costs, the wall clock what waiting for a core adds."""
    passes: dict[str, list[tuple[float, float]]] = {
        "scan": [],
        "stratify": [],
        "stratify_in_flight_2": [],
    }
    for _ in range(repeat):
        passes["scan"].append(_cpu_timed(scan, path, stratifier, batch))
        passes["stratify"].append(_cpu_timed(stratify, path, stratifier, batch))
        passes["stratify_in_flight_2"].append(_cpu_timed(stratify, path, stratifier, batch, 2))
    wall = {name: [w for w, _ in figures] for name, figures in passes.items()}
    ratios = [s / b for s, b in zip(wall["stratify"], wall["scan"], strict=True)]
    ratios_2 = [s / b for s, b in zip(wall["stratify_in_flight_2"], wall["scan"], strict=True)]
    return {
        **{
            name: {
                **_figures(n, wall[name]),
                "per_cpu_s": round(n / statistics.median(c for _, c in figures)),
            }
            for name, figures in passes.items()
        },
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_worst": round(max(ratios), 2),
        "ratio_in_flight_2_median": round(statistics.median(ratios_2), 2),
        "passes": {f"{name}_s": [round(w, 3) for w in seconds] for name, seconds in wall.items()},
    }


def run(n: int, distinct: int, batch: int, repeat: int, sample: int, seed: int, memory_n: int) -> dict[str, Any]:
    stratifier = compile_stratifier(load_knowledge())
    load_before = _load()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.parquet"
        write_cohort(path, n, distinct, seed, batch)
        size_mib = path.stat().st_size / 2**20
        passes = alternated(path, stratifier, n, batch, repeat)
        patient_rate = per_patient_rate(sample, seed)
        path.unlink()
        large = Path(folder) / "cohort-memory.parquet"
        write_cohort(large, memory_n, distinct, seed, batch)
        child = child_peak(large, batch)
    stratify_median = max(passes["stratify"]["median_per_s"], passes["stratify_in_flight_2"]["median_per_s"])
    result: dict[str, Any] = {
        "n": n,
        "distinct": distinct,
        "batch": batch,
        "repeat": repeat,
        "parquet_mib": round(size_mib, 1),
        "refused": [r.part for r in stratifier.refused],
        **passes,
        "per_patient_per_s": round(patient_rate),
        "stratify_over_per_patient": round(stratify_median / patient_rate, 1),
        "stream_child": {"n": memory_n, **child},
        "load_average_1min": {"before": load_before, "after": _load()},
    }
    result["passed"] = {
        "throughput_median": stratify_median >= TARGET_PER_SECOND,
        "throughput_best": max(passes["stratify"]["best_per_s"], passes["stratify_in_flight_2"]["best_per_s"])
        >= TARGET_PER_SECOND,
        "ratio": passes["ratio_median"] <= TARGET_RATIO,
        "memory": child["peak_mib"] < TARGET_PEAK_MIB,
    }
    return result


def report(result: dict[str, Any]) -> str:
    passed = result["passed"]
    child = result["stream_child"]
    scan_, strat, two = result["scan"], result["stratify"], result["stratify_in_flight_2"]
    load = result["load_average_1min"]
    return "\n".join(
        [
            f"cohort: {result['n']:,} rows ({result['distinct']:,} distinct records), "
            f"Parquet {result['parquet_mib']} MiB, batches of {result['batch']:,}, "
            f"{result['repeat']} alternated passes each (load {load['before']} -> {load['after']})",
            f"  bare scan:    median {scan_['median_per_s']:>12,}  best {scan_['best_per_s']:>12,} records/s "
            f"({scan_['per_cpu_s']:,} per CPU second)",
            f"  stratify:     median {strat['median_per_s']:>12,}  best {strat['best_per_s']:>12,} records/s "
            f"({strat['per_cpu_s']:,} per CPU second; target >= {TARGET_PER_SECOND:,})",
            f"  two in flight: median {two['median_per_s']:>12,}  best {two['best_per_s']:>12,} records/s "
            f"({two['per_cpu_s']:,} per CPU second)",
            f"  the better of the two against {TARGET_PER_SECOND:,} records/s: median "
            f"{verdict(passed['throughput_median'])}, best {verdict(passed['throughput_best'])}",
            f"  per-patient:  {result['per_patient_per_s']:>12,} records/s "
            f"(stratify median is {result['stratify_over_per_patient']}x)",
            f"  stratify / scan time, pass by pass: median {result['ratio_median']}x, worst {result['ratio_worst']}x; "
            f"two in flight {result['ratio_in_flight_2_median']}x (target <= {TARGET_RATIO:.0f}x: "
            f"{verdict(passed['ratio'])})",
            f"  streamed alone in a fresh process: {child['rows']:,} rows in {child['seconds']:.2f} s "
            f"({child['per_s']:,} records/s, {child['cpu_seconds']} CPU s), peak memory {child['peak_mib']} MiB "
            f"(target < {TARGET_PEAK_MIB} MiB: {verdict(passed['memory'])})",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"rows (default {DEFAULT_N:,})")
    parser.add_argument("--distinct", type=int, default=DEFAULT_DISTINCT)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="alternated scan/stratify pairs")
    parser.add_argument("--sample", type=int, default=5_000, help="records for the per-patient engine")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--memory-n", type=int, default=None, help=f"rows of the peak-memory pass (default {DEFAULT_MEMORY_N:,})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} rows, {QUICK_MEMORY_N:,} for memory")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "stratify.json"), help="result file")
    parser.add_argument("--stream", type=Path, help=argparse.SUPPRESS)  # the child process of the memory figure
    args = parser.parse_args(argv)
    if args.stream:
        return stream_main(args.stream, args.batch)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    memory_n = args.memory_n or (QUICK_MEMORY_N if args.quick else DEFAULT_MEMORY_N)
    result = run(n, args.distinct, args.batch, args.repeat, args.sample, args.seed, memory_n)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "stratify": result})
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
