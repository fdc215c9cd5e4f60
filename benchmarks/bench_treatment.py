"""In-process latency of the treatment views per record, against a JSON round-trip baseline.

The records are those of ``records.py`` (same generator and seed as ``bench_assess.py``); each is copied and
given here what the treatment views read: a treatment start date, TPMT and NUDT15 phenotypes (mostly normal,
some reduced, indeterminate or missing), recorded exposures for about a third (anthracycline, cyclophosphamide
and dexamethasone courses, sometimes chest radiation or a course without its dose), an end-of-therapy date
now and then; weight and height stay as the generator made them (sometimes missing, so refusals are timed too).
``records.py`` itself is not changed.

For each record the benchmark times, with ``time.perf_counter_ns``, three calls on the already parsed record:

* ``care_overview(kb, record)`` (``allpath.service``; reported as ``treatment_overview``): assessment,
  roadmap, the doses of every phase of the child's regimen and the survivorship plan: what ``allpath``
  computes for a child's treatment page;
* ``phase_doses`` of one phase (the child's regimen, or the standard- or high-risk regimen for a child without
  one, to time the calculator on every record; a phase drawn per record), a ``DoseError`` included;
* ``survivorship_plan`` with the child's roadmap (computed beforehand, untimed);

and, in the same loop, the baseline ``json.loads(json.dumps(record))`` on the same record dict. The garbage
collector stays on. Targets, the core's latency budget: median <= 1 ms and p99 <= 5 ms for each call.

Usage::

    python benchmarks/bench_treatment.py [--n 5000] [--seed 20240802] [--quick] [--check]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

from allpath.domain.record import parse_record
from allpath.domain.results import PhaseDoses, Roadmap
from allpath.domain.vocabulary import PHENOTYPES
from allpath.engine.assess import assess
from allpath.engine.doses import DoseError, phase_doses
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service import care_overview
from common import RESULTS_DIR, machine, summarize_ms, verdict, write_json
from records import generate_tagged

TARGET_MEDIAN_MS = 1.0
TARGET_P99_MS = 5.0
DEFAULT_N = 5_000
QUICK_N = 1_000
DEFAULT_SEED = 20240802
WARMUP = 300
CALLS = ("treatment_overview", "phase_doses", "survivorship_plan")

PHENOTYPE_WEIGHTS = (80, 8, 3, 3, 6)


def _phenotype(rng: Random) -> str:
    return rng.choices(PHENOTYPES, weights=PHENOTYPE_WEIGHTS)[0]


def _start(record: dict[str, Any], rng: Random) -> date:
    if record.get("diagnosis_date"):
        return date.fromisoformat(record["diagnosis_date"]) + timedelta(days=rng.randint(0, 5))
    return date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))


def _exposures(rng: Random, start: date) -> dict[str, Any]:
    """Courses given during two and a half years from ``start``; sometimes chest radiation."""
    courses: list[dict[str, Any]] = []

    def day() -> str:
        return (start + timedelta(days=rng.randint(0, 900))).isoformat()

    for _ in range(rng.randint(0, 10)):
        courses.append({"drug": "doxorubicin", "date": day(), "dose_mg_per_m2": 25, "route": "intravenous"})
    for _ in range(rng.choice((0, 0, 4))):
        courses.append({"drug": "daunorubicin", "date": day(), "dose_mg_per_m2": 25, "route": "intravenous"})
    if rng.random() < 0.6:
        courses.append({"drug": "cyclophosphamide", "date": day(), "dose_mg_per_m2": 1000, "route": "intravenous"})
    if rng.random() < 0.8:
        courses.append({"drug": "dexamethasone", "date": day(), "dose_mg_per_m2": 6, "route": "oral"})
    if rng.random() < 0.7:
        courses.append({"drug": "methotrexate", "date": day(), "dose_mg": 12, "route": "intrathecal"})
    if courses and rng.random() < 0.05:
        courses[0] = {k: v for k, v in courses[0].items() if k != "dose_mg_per_m2"}  # a course without its dose
    exposures: dict[str, Any] = {"courses": courses}
    if rng.random() < 0.08:
        exposures["radiation"] = [{"site": "chest", "dose_gy": rng.choice((12, 15, 20, 30, 36)), "date": day()}]
    return exposures


def enrich(record: dict[str, Any], rng: Random) -> dict[str, Any]:
    """A copy of a generated record with the treatment fields (never changes ``record``)."""
    out = copy.deepcopy(record)
    if not out or rng.random() < 0.05:
        return out  # some records stay as they are: no start date, no genotype, no exposures
    start = _start(out, rng)
    out["treatment_start_date"] = start.isoformat()
    if rng.random() < 0.9:
        genotype = {"tpmt": _phenotype(rng), "nudt15": _phenotype(rng)}
        if rng.random() < 0.05:
            del genotype[rng.choice(("tpmt", "nudt15"))]
        out["pharmacogenomics"] = genotype
    if rng.random() < 0.35:
        out["exposures"] = _exposures(rng, start)
        if rng.random() < 0.5:
            out["end_of_therapy_date"] = (start + timedelta(days=rng.randint(700, 1200))).isoformat()
    return out


def treatment_records(n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` generated records (kind, record) with the treatment fields, deterministic for ``seed``."""
    rng = Random(seed * 7919 + 1)
    return [(kind, enrich(record, rng)) for kind, record in generate_tagged(n, seed)]


def _dose_target(kb: KnowledgeBase, roadmap: Roadmap, rng: Random) -> tuple[str, str, date | None]:
    """The regimen and phase whose doses are timed for this record, and the day of the doses."""
    if roadmap["regimen"] is not None:
        regimen = roadmap["regimen"]["id"]
        phase = rng.choice(roadmap["phases"])
        on = date.fromisoformat(phase["start"]) if phase["start"] else None
        return regimen, phase["id"], on
    spec = rng.choice(kb.therapy.regimens.regimens)
    return spec.id, rng.choice(spec.phases).id, None


def run(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, warmup: int = WARMUP) -> dict[str, Any]:
    kb = load_knowledge()
    rng = Random(seed)
    for _, raw in treatment_records(warmup, seed + 1):
        record = parse_record(raw)
        care_overview(kb, record)
        json.loads(json.dumps(raw))

    prepared = []
    for kind, raw in treatment_records(n, seed):
        record = parse_record(raw)  # untimed: validation is bench_assess's subject
        roadmap = build_roadmap(record, assess(record, kb), kb)
        prepared.append((kind, raw, record, roadmap, _dose_target(kb, roadmap, rng)))

    clock = time.perf_counter_ns
    cpu_clock = time.thread_time_ns
    work: dict[str, list[int]] = {name: [] for name in CALLS}
    cpu: dict[str, list[int]] = {name: [] for name in CALLS}
    base_ns: list[int] = []
    by_regimen: dict[str, list[int]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    for _kind, raw, record, roadmap, (regimen, phase, on) in prepared:
        t0 = clock()
        json.loads(json.dumps(raw))
        c1, t1 = cpu_clock(), clock()
        overview = care_overview(kb, record)
        t2, c2 = clock(), cpu_clock()
        try:
            doses: PhaseDoses | None = phase_doses(record, kb, regimen, phase, on=on)
            error = None
        except DoseError as refused:
            doses, error = None, refused.field
        t3, c3 = clock(), cpu_clock()
        plan = survivorship_plan(record, kb, roadmap)
        t4, c4 = clock(), cpu_clock()
        base_ns.append(t1 - t0)
        for name, ns, cpu_ns in zip(CALLS, (t2 - t1, t3 - t2, t4 - t3), (c2 - c1, c3 - c2, c4 - c3), strict=True):
            work[name].append(ns)
            cpu[name].append(cpu_ns)

        regimen_chosen = overview["roadmap"]["regimen"]
        by_regimen[regimen_chosen["id"] if regimen_chosen else "none"].append(t2 - t1)
        outcomes[f"regimen={regimen_chosen['id'] if regimen_chosen else None}"] += 1
        outcomes[f"overview_phases_with_doses={sum('lines' in d for d in overview['doses'])}"] += 1
        if error is not None:
            outcomes[f"phase_doses_error={error}"] += 1
        else:
            assert doses is not None
            for line in doses["lines"]:
                outcomes[f"dose_line={line['status']}"] += 1
                if line["adjustment"] is not None:
                    outcomes[f"pgx_rule={line['adjustment']['rule']}"] += 1
        outcomes[f"survivorship_basis={plan['basis']}"] += 1
        outcomes[f"survivorship_provisional={plan['provisional']}"] += 1
        heart = next((i for i in plan["items"] if i["topic"] == "heart"), None)
        outcomes[f"heart={(heart['strength'] or heart['id']) if heart else None}"] += 1

    base = summarize_ms(base_ns)
    calls: dict[str, Any] = {}
    for name in CALLS:
        latency = summarize_ms(work[name])
        calls[name] = {
            "latency_ms": latency,
            "cpu_time_ms": summarize_ms(cpu[name]),
            "ratio_to_baseline": {k: latency[k] / base[k] for k in ("median", "p90", "p99")},
            "calls_per_s": n / (sum(work[name]) / 1e9),
            "passed": {"median": latency["median"] <= TARGET_MEDIAN_MS, "p99": latency["p99"] <= TARGET_P99_MS},
        }
    return {
        "benchmark": "treatment_in_process",
        "records": n,
        "seed": seed,
        "warmup_records": warmup,
        "knowledge_version": kb.version,
        "calls": calls,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "baseline_json_roundtrip_ms": base,
        # treatment_overview by the child's regimen: "none" (no schedule in the sources) skips doses and dates
        "treatment_overview_by_regimen_ms": {
            key: {"records": len(values), **summarize_ms(values)} for key, values in sorted(by_regimen.items())
        },
        "outcomes": dict(sorted(outcomes.items())),
        "targets": {"median_ms": TARGET_MEDIAN_MS, "p99_ms": TARGET_P99_MS},
        "passed": {f"{name}_{k}": ok for name in CALLS for k, ok in calls[name]["passed"].items()},
    }


def report(result: dict[str, Any]) -> str:
    b = result["baseline_json_roundtrip_ms"]
    lines = [
        f"treatment views in process, {result['records']:,} records (seed {result['seed']}, "
        f"{result['warmup_records']} warm-up); JSON round-trip baseline median {b['median'] * 1000:.1f} us",
    ]
    for name in CALLS:
        call = result["calls"][name]
        w, r, c = call["latency_ms"], call["ratio_to_baseline"], call["cpu_time_ms"]
        lines += [
            f"  {name}: median {w['median']:.3f} ms = {r['median']:.1f}x baseline"
            f"   [target <= {TARGET_MEDIAN_MS} ms: {verdict(call['passed']['median'])}]",
            f"    p90 {w['p90']:.3f} ms, p99 {w['p99']:.3f} ms = {r['p99']:.1f}x baseline"
            f"   [target <= {TARGET_P99_MS} ms: {verdict(call['passed']['p99'])}]",
            f"    max {w['max']:.3f} ms; CPU time median {c['median']:.3f} ms, p99 {c['p99']:.3f} ms; "
            f"{call['calls_per_s']:,.0f} calls/s",
        ]
        if w["p99"] > 3 * c["p99"]:
            lines.append(
                f"    the wall-clock tail is mostly waiting for the CPU (load average "
                f"{result['load_average_1min']:.2f} on {os.cpu_count()} CPUs): rerun on a quiet machine"
            )
    lines.append(
        "  treatment_overview by regimen: "
        + ", ".join(
            f"{key} {s['records']:,} records, median {s['median']:.3f} ms (p99 {s['p99']:.3f})"
            for key, s in result["treatment_overview_by_regimen_ms"].items()
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help=f"records to measure (default {DEFAULT_N:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} records")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "treatment.json"), help="result file")
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    result = run(n, args.seed)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "treatment": result})
    if args.check and not all(result["passed"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
