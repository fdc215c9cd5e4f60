"""In-process latency of ``parse_record`` + ``assess`` per record, against a JSON round-trip baseline.

For each of N generated records (after a warm-up on other records of the same generator) the benchmark
times, with ``time.perf_counter_ns``:

* the work: ``assess(parse_record(record), kb)`` with the knowledge base loaded once beforehand;
* the baseline: ``json.loads(json.dumps(record))`` on the same record, in the same loop, so that both see
  the same machine state. The ratio says how much work one assessment is, in units of "decode and encode
  this record once", which travels better between machines than raw milliseconds.

The garbage collector stays on, as in real use. Targets: median <= 1 ms and p99 <= 5 ms per record.

Usage::

    python benchmarks/bench_assess.py [--n 10000] [--seed 20240802] [--check] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.knowledge.loader import load_knowledge
from common import RESULTS_DIR, machine, summarize_ms, verdict, write_json
from records import generate_tagged

TARGET_MEDIAN_MS = 1.0
TARGET_P99_MS = 5.0
DEFAULT_N = 10_000
QUICK_N = 2_000
DEFAULT_SEED = 20240802
WARMUP = 500


def run(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, warmup: int = WARMUP) -> dict[str, Any]:
    kb = load_knowledge()
    # Warm-up on records the measured run does not contain (another seed): imports, caches, branch paths.
    for _, record in generate_tagged(warmup, seed + 1):
        assess(parse_record(record), kb)
        json.loads(json.dumps(record))

    tagged = generate_tagged(n, seed)
    clock = time.perf_counter_ns
    cpu_clock = time.thread_time_ns
    work_ns: list[int] = []
    work_cpu_ns: list[int] = []
    base_ns: list[int] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    for kind, record in tagged:
        t0 = clock()
        json.loads(json.dumps(record))
        c1 = cpu_clock()
        t1 = clock()
        result = assess(parse_record(record), kb)
        t2 = clock()
        c2 = cpu_clock()
        base_ns.append(t1 - t0)
        work_ns.append(t2 - t1)
        work_cpu_ns.append(c2 - c1)
        by_kind[kind].append(t2 - t1)
        outcomes[f"disease_state={result['disease_state']}"] += 1
        outcomes[f"risk_group={result['risk_group']}"] += 1
        outcomes[f"cog_risk_group={result['cog_risk_group']}"] += 1
        outcomes[f"provisional={result['provisional']}"] += 1
        if result["relapse"] is not None:
            outcomes[f"relapse_risk_group={result['relapse']['risk_group']}"] += 1
        for population in result["populations"]:
            outcomes[f"population={population}"] += 1

    work = summarize_ms(work_ns)
    base = summarize_ms(base_ns)
    ratio = {k: work[k] / base[k] for k in ("median", "p90", "p99")}
    kinds = {kind: {"records": len(values), **summarize_ms(values)} for kind, values in sorted(by_kind.items())}
    passed = {"median": work["median"] <= TARGET_MEDIAN_MS, "p99": work["p99"] <= TARGET_P99_MS}
    return {
        "benchmark": "assess_in_process",
        "records": n,
        "seed": seed,
        "warmup_records": warmup,
        "knowledge_version": kb.version,
        "latency_ms": work,
        # CPU time of the same calls: unaffected by other processes taking the CPU, so a wall-clock tail far
        # above this one means a busy machine rather than slow code.
        "cpu_time_ms": summarize_ms(work_cpu_ns),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "baseline_json_roundtrip_ms": base,
        "ratio_to_baseline": ratio,
        "records_per_s": n / (sum(work_ns) / 1e9),
        "by_kind_ms": kinds,
        "outcomes": dict(sorted(outcomes.items())),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p99_ms": TARGET_P99_MS},
        "passed": passed,
    }


def profile(n: int = 3_000, seed: int = DEFAULT_SEED, top: int = 20) -> str:
    """cProfile of parse + assess over ``n`` records; the report sorted by own time and by cumulative time."""
    kb = load_knowledge()
    records = [r for _, r in generate_tagged(n, seed)]
    for record in records[:200]:
        assess(parse_record(record), kb)
    profiler = cProfile.Profile()
    profiler.enable()
    for record in records:
        assess(parse_record(record), kb)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def report(result: dict[str, Any]) -> str:
    w = result["latency_ms"]
    b = result["baseline_json_roundtrip_ms"]
    r = result["ratio_to_baseline"]
    cpu = result["cpu_time_ms"]
    busy = (
        f"; the wall-clock tail is mostly waiting for the CPU (load average {result['load_average_1min']:.2f} "
        f"on {os.cpu_count()} CPUs): rerun on a quiet machine"
    )
    slowest = sorted(result["by_kind_ms"].items(), key=lambda item: -item[1]["median"])[:3]
    lines = [
        f"parse_record + assess, {result['records']:,} records (seed {result['seed']}, "
        f"{result['warmup_records']} warm-up), {result['records_per_s']:,.0f} records/s",
        f"  median {w['median']:.3f} ms = {r['median']:.1f}x the JSON round-trip baseline ({b['median'] * 1000:.1f} us)"
        f"   [target <= {TARGET_MEDIAN_MS} ms: {verdict(result['passed']['median'])}]",
        f"  p90    {w['p90']:.3f} ms = {r['p90']:.1f}x baseline",
        f"  p99    {w['p99']:.3f} ms = {r['p99']:.1f}x baseline"
        f"   [target <= {TARGET_P99_MS} ms: {verdict(result['passed']['p99'])}]",
        f"  max    {w['max']:.3f} ms (baseline max {b['max']:.3f} ms)",
        f"  CPU time of the same calls: median {cpu['median']:.3f} ms, p99 {cpu['p99']:.3f} ms, max {cpu['max']:.3f} ms"
        + (busy if w["p99"] > 3 * cpu["p99"] else ""),
        "  slowest kinds by median: "
        + ", ".join(f"{kind} {s['median']:.3f} ms (p99 {s['p99']:.3f})" for kind, s in slowest),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"records to measure (default {DEFAULT_N:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} records")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of parse + assess")
    parser.add_argument("--json", default=str(RESULTS_DIR / "assess.json"), help="result file")
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    result = run(n, args.seed)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "assess": result})
    if args.profile:
        print(profile(seed=args.seed))
    if args.check and not all(result["passed"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
