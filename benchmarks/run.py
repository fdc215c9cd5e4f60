"""Run every allpath benchmark, print a short table and write ``benchmarks/results/latest.json``.

Usage (from the repository root, with the project's virtual environment active)::

    python benchmarks/run.py            # full run: 10,000 records in process, 15 cold starts, 10,000-record batch,
                                        # a trial search of 10,000 studies
    python benchmarks/run.py --quick    # smaller run: 2,000 records, 7 cold starts, 2,000-record batch, 2,000 studies
    python benchmarks/run.py --check    # exit 1 when a target is missed
    python benchmarks/run.py --http     # also HTTP assessments through allpath serve --workers 2 and CDS Hooks
                                        # patient-view calls (about 45 s more)
    python benchmarks/run.py --cohort   # also the cohort benchmarks (issue 15): reading 1,000,000 Parquet rows,
                                        # the columnar stratifier (10,000,000 rows for memory), 10,000,000
                                        # synthetic rows (several minutes; --quick: about a fifth of the rows)
    python benchmarks/run.py --spark    # also the stratifier on Spark local mode (bench_spark.py: 1,000,000 rows,
                                        # --quick 200,000; needs allpath[spark] and Java, else skipped saying why)
    python -m benchmarks ...            # the same

These are benchmarks, not tests: they report figures; only ``--check`` turns a missed target into a failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import bench_assess
import bench_cds
import bench_cli
import bench_cohort_read
import bench_http
import bench_spark
import bench_stratify
import bench_synthetic
import bench_treatment
import bench_trials
from allpath.service.cohort.spark import spark_missing
from common import RESULTS_DIR, machine, verdict, write_json


def treatment_rows(t: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name in bench_treatment.CALLS:
        call = t["calls"][name]
        lat, ratio = call["latency_ms"], call["ratio_to_baseline"]
        rows.append(
            (
                f"{name} in process ({t['records']:,} records)",
                f"median {lat['median']:.3f} ms ({ratio['median']:.1f}x), "
                f"p99 {lat['p99']:.3f} ms ({ratio['p99']:.1f}x)",
                f"<= {t['targets']['median_ms']:g} / {t['targets']['p99_ms']:g} ms",
                verdict(all(call["passed"].values())),
            )
        )
    return rows


def trial_rows(t: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    median, ratio = t["median_ms"], t["ratio_to_baseline"]
    return [
        (
            f"trial search, following ({t['studies']:,} studies)",
            f"median {median['next']:.0f} ms ({ratio['next']:.2f}x reading the rows), matching alone "
            f"{median['match']:.0f} ms",
            f"<= {t['target_ms']:g} ms",
            verdict(all(t["passed"].values())),
        ),
        (
            "trial search, first after an import",
            f"median {median['first']:.0f} ms ({ratio['first']:.2f}x reading the rows, {median['baseline']:.0f} ms)",
            "",
            "",
        ),
    ]


def cohort_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The cohort benchmarks' lines of the table (issue 15), when they ran."""
    rows: list[tuple[str, str, str, str]] = []
    if "cohort_read" in results:
        r = results["cohort_read"]
        rows.append(
            (
                f"cohort read from Parquet ({r['n']:,} rows)",
                f"{r['cohort_rows_per_s']:,.0f} rows/s ({r['ratio_to_bare']:.1f}x a bare pyarrow read)",
                f">= {bench_cohort_read.TARGET_ROWS_PER_S:,} rows/s",
                verdict(all(r["passed"].values())),
            )
        )
    if "stratify" in results:
        s = results["stratify"]
        rows.append(
            (
                f"columnar stratifier ({s['n']:,} rows)",
                f"median {s['stratify']['median_per_s']:,} records/s, {s['ratio_median']}x a bare scan, "
                f"{s['stratify_over_per_patient']}x the per-patient engine; "
                f"{s['stream_child']['n']:,} rows in {s['stream_child']['peak_mib']} MiB",
                f">= {bench_stratify.TARGET_PER_SECOND:,}/s, <= {bench_stratify.TARGET_RATIO:.0f}x, "
                f"< {bench_stratify.TARGET_PEAK_MIB} MiB",
                verdict(all(s["passed"].values())),
            )
        )
    if "synthetic" in results:
        g = results["synthetic"]
        rows.append(
            (
                f"synthetic cohort to Parquet ({g['rows']:,.0f} rows)",
                f"{g['rows_per_second']:,.0f} rows/s, peak memory {g['peak_mib']:.0f} MiB",
                f"< {bench_synthetic.TARGET_PEAK_MIB} MiB",
                verdict(g["peak_mib"] < bench_synthetic.TARGET_PEAK_MIB),
            )
        )
    return rows


def spark_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The Spark benchmark's line of the table (issue 15), when it ran: a figure, no target."""
    if "spark" not in results:
        return []
    s = results["spark"]
    return [
        (
            f"cohort stratification on Spark {s['master']} ({s['n']:,} rows)",
            f"median {s['spark_stratify']['median_per_s']:,} records/s, {s['stratify_over_count_median']}x the time "
            f"of a bare Spark read + count; the local stratifier {s['local_over_spark_median']}x faster here",
            "reported",
            "-",
        )
    ]


def run_spark(quick: bool, step: int, steps: int) -> dict[str, Any]:
    """The Spark benchmark (issue 15) in local mode, or nothing when PySpark or Java is missing (said why)."""
    missing = spark_missing()
    if missing is not None:
        print(f"[{step}/{steps}] cohort stratification on Spark: skipped ({missing})", flush=True)
        return {}
    n = bench_spark.QUICK_N if quick else bench_spark.DEFAULT_N
    print(f"[{step}/{steps}] cohort stratification on Spark local[2] ({n:,} rows) ...", flush=True)
    result = bench_spark.run(
        n, bench_spark.DEFAULT_REPEAT, "local[2]", bench_stratify.DEFAULT_DISTINCT, bench_stratify.DEFAULT_SEED
    )
    print(bench_spark.report(result), flush=True)
    return {"spark": result}


def run_cohort(quick: bool, first_step: int, steps: int) -> tuple[dict[str, Any], bool]:
    """The three cohort benchmarks (issue 15), each with its own defaults, a fifth of the rows with ``quick``."""
    n_read = bench_cohort_read.QUICK_N if quick else bench_cohort_read.DEFAULT_N
    print(f"[{first_step}/{steps}] cohort read from Parquet ({n_read:,} rows) ...", flush=True)
    read = bench_cohort_read.run(n_read, bench_cohort_read.DEFAULT_SEED, bench_cohort_read.DEFAULT_REPEAT)
    print(bench_cohort_read.report(read), flush=True)
    n_stratify = bench_stratify.QUICK_N if quick else bench_stratify.DEFAULT_N
    memory_n = bench_stratify.QUICK_MEMORY_N if quick else bench_stratify.DEFAULT_MEMORY_N
    print(f"[{first_step + 1}/{steps}] columnar stratifier ({n_stratify:,} rows) ...", flush=True)
    stratify = bench_stratify.run(
        n_stratify,
        bench_stratify.DEFAULT_DISTINCT,
        bench_stratify.DEFAULT_BATCH,
        3 if quick else bench_stratify.DEFAULT_REPEAT,
        5_000,
        bench_stratify.DEFAULT_SEED,
        memory_n,
    )
    print(bench_stratify.report(stratify), flush=True)
    rows = bench_synthetic.DEFAULT_ROWS // 5 if quick else bench_synthetic.DEFAULT_ROWS
    print(f"[{first_step + 2}/{steps}] synthetic cohort to Parquet ({rows:,} rows) ...", flush=True)
    synthetic = bench_synthetic.run(rows, 1)
    passed = all(read["passed"].values()) and all(stratify["passed"].values())
    passed = passed and synthetic["peak_mib"] < bench_synthetic.TARGET_PEAK_MIB
    return {"cohort_read": read, "stratify": stratify, "synthetic": synthetic}, passed


def table(results: dict[str, Any]) -> str:
    a = results["assess"]
    c = results["cli_cold_start"]
    b = results["cli_batch"]
    lat, ratio = a["latency_ms"], a["ratio_to_baseline"]
    rows = [
        ("benchmark", "figure", "target", "status"),
        (
            f"assess in process ({a['records']:,} records)",
            f"median {lat['median']:.3f} ms ({ratio['median']:.1f}x JSON round trip)",
            f"<= {a['targets']['median_ms']:g} ms",
            verdict(a["passed"]["median"]),
        ),
        (
            "",
            f"p99 {lat['p99']:.3f} ms ({ratio['p99']:.1f}x), p90 {lat['p90']:.3f}, max {lat['max']:.3f}",
            f"<= {a['targets']['p99_ms']:g} ms",
            verdict(a["passed"]["p99"]),
        ),
        *treatment_rows(results["treatment"]),
        (
            f"CLI cold start ({c['runs']} runs)",
            f"median {c['median_s']['allpath_assess'] * 1000:.0f} ms vs python -c pass "
            f"{c['median_s']['python_c_pass'] * 1000:.0f} ms (+{c['difference_s'] * 1000:.0f} ms, {c['ratio']:.1f}x)",
            f"<= {c['target_s'] * 1000:.0f} ms",
            verdict(c["passed"]),
        ),
        (
            f"CLI batch ({b['records']:,} records)",
            f"{b['wall_s']:.2f} s wall, {b['records_per_s']:,.0f} records/s, {b['output_mb']:.0f} MB out",
            f"<= {b['target_s']:.1f} s",
            verdict(b["passed"]),
        ),
        *trial_rows(results["trials"]),
    ]
    if "http_assess" in results:
        h = results["http_assess"]
        lat, r = h["assess"]["latency_ms"], h["ratio_to_baseline"]
        rows += [
            (
                f"HTTP POST /api/assess ({h['workers']} workers, {h['tool']})",
                f"{h['assess']['requests_per_s']:,.0f}/s, {h['times_slower_than_bare']:.2f}x slower than the bare "
                f"endpoint ({h['bare_endpoint']['requests_per_s']:,.0f}/s; median of {len(h['rounds'])} rounds)",
                f"<= {h['targets']['times_slower_than_bare']:g}x slower",
                verdict(h["passed"]["requests_per_s"]),
            ),
            (
                "",
                f"p50 {lat['p50']:.1f} ms ({r['p50']:.1f}x), p99 {lat['p99']:.1f} ms ({r['p99']:.1f}x)",
                f"p99 <= {h['targets']['p99_ms']:g} ms",
                verdict(h["passed"]["p99"]),
            ),
        ]
        if "unstored" in h:
            rows.append(
                (
                    "",
                    f"upper bound, audit never stored: {h['unstored']['requests_per_s']:,.0f}/s, "
                    f"{h['unstored_times_slower_than_bare']:.2f}x",
                    "none (a bound)",
                    "reported",
                )
            )
    rows += cohort_rows(results)
    rows += spark_rows(results)
    if "cds_patient_view" in results:
        c = results["cds_patient_view"]
        rows.append(
            (
                "CDS Hooks patient-view (prefetch)",
                f"p50 {c['latency_ms']['median']:.1f} ms, p99 {c['latency_ms']['p99']:.1f} ms "
                f"({c['ratio_p50']:.0f}x GET /api/health p50)",
                "p99 <= 50 ms",
                verdict(c["passed"]["p99"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the allpath benchmarks.")
    parser.add_argument("--quick", action="store_true", help="smaller run (about a third of the time)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of parse + assess")
    parser.add_argument("--http", action="store_true", help="also HTTP assessments through allpath serve (wrk)")
    parser.add_argument("--cohort", action="store_true", help="also the cohort benchmarks (several minutes)")
    parser.add_argument("--spark", action="store_true", help="also the stratifier on Spark local mode (minutes)")
    parser.add_argument("--seed", type=int, default=bench_assess.DEFAULT_SEED)
    parser.add_argument("--output", default=str(RESULTS_DIR / "latest.json"), help="result file")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"note: load average {load:.2f} on {os.cpu_count()} CPUs: other work may inflate the figures", flush=True)
    n_assess = bench_assess.QUICK_N if args.quick else bench_assess.DEFAULT_N
    runs = bench_cli.QUICK_RUNS if args.quick else bench_cli.DEFAULT_RUNS
    n_batch = bench_cli.QUICK_N if args.quick else bench_cli.DEFAULT_N

    n_treatment = bench_treatment.QUICK_N if args.quick else bench_treatment.DEFAULT_N
    steps = (7 if args.http else 5) + (3 if args.cohort else 0) + (1 if args.spark else 0)
    n_trials = bench_trials.QUICK_N if args.quick else bench_trials.DEFAULT_N
    print(f"[1/{steps}] in-process parse_record + assess ...", flush=True)
    assess = bench_assess.run(n_assess, args.seed)
    print(bench_assess.report(assess), flush=True)
    print(f"[2/{steps}] in-process treatment_overview, phase_doses, survivorship_plan ...", flush=True)
    treatment = bench_treatment.run(n_treatment, args.seed)
    print(bench_treatment.report(treatment), flush=True)
    print(f"[3/{steps}] CLI cold start ({runs} runs) ...", flush=True)
    cold = bench_cli.cold_start(runs, args.seed)
    print(bench_cli.report_cold(cold), flush=True)
    print(f"[4/{steps}] CLI batch ({n_batch:,} records) ...", flush=True)
    bulk = bench_cli.batch(n_batch, args.seed)
    print(bench_cli.report_batch(bulk), flush=True)
    print(f"[5/{steps}] trial search through the service ({n_trials:,} studies in SQLite) ...", flush=True)
    trials = bench_trials.run(n_trials, bench_trials.DEFAULT_SEED, repeat=3)
    print(bench_trials.report(trials), flush=True)

    results: dict[str, Any] = {
        "assess": assess,
        "treatment": treatment,
        "cli_cold_start": cold,
        "cli_batch": bulk,
        "trials": trials,
    }
    passed = all(assess["passed"].values()) and all(treatment["passed"].values()) and cold["passed"] and bulk["passed"]
    passed = passed and all(trials["passed"].values())
    if args.http:
        seconds = bench_http.QUICK_DURATION_S if args.quick else bench_http.DEFAULT_DURATION_S
        print(
            f"[6/{steps}] HTTP POST /api/assess, allpath serve --workers {bench_http.DEFAULT_WORKERS} ...", flush=True
        )
        http = bench_http.run(seconds, unstored=True)  # with the upper bound: allpath, its audit never stored
        print(bench_http.report(http), flush=True)
        results["http_assess"] = http
        if bench_http.postgres_bindir() is not None:  # the same on a throwaway PostgreSQL server
            with bench_http.throwaway_postgres() as url:
                http_postgres = bench_http.run(seconds, database_url=url, unstored=True)
            print(bench_http.report(http_postgres), flush=True)
            results["http_assess_postgresql"] = http_postgres
            passed = passed and all(http_postgres["passed"].values())
        calls = bench_cds.QUICK_CALLS if args.quick else bench_cds.DEFAULT_CALLS
        print(f"[7/{steps}] CDS Hooks patient-view with prefetch ({calls:,} calls) ...", flush=True)
        cds = bench_cds.run(calls=calls)
        print(bench_cds.report(cds), flush=True)
        results["cds_patient_view"] = cds
        passed = passed and all(http["passed"].values()) and all(cds["passed"].values())
    if args.cohort:
        cohort, cohort_passed = run_cohort(args.quick, steps - 2 - int(args.spark), steps)
        results.update(cohort)
        passed = passed and cohort_passed
    if args.spark:
        results.update(run_spark(args.quick, steps, steps))
    elapsed = time.perf_counter() - started
    payload = {
        "machine": machine(),
        "mode": "quick" if args.quick else "full",
        "seed": args.seed,
        "elapsed_s": elapsed,
        "all_targets_met": passed,
        **results,
    }
    output = Path(args.output)
    write_json(output, payload)
    print()
    print(table(results))
    print(f"\n{'all targets met' if passed else 'TARGET MISSED'}; {elapsed:.0f} s; results in {output}")
    if args.profile:
        print(bench_assess.profile(seed=args.seed))
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
