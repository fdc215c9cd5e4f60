"""The ``allpath`` command line, end to end, in fresh interpreters.

(a) Cold start: ``allpath assess ONE_RECORD.json --format json`` (standard output to /dev/null), run R times
    in a new process each time, interleaved with ``python -c pass`` (same interpreter, same run) as the
    floor that no Python program can beat. One untimed run of each comes first, so the figures are for a
    warm page cache and compiled bytecode ("cold" means a new interpreter, not a cold disk). Also timed,
    for attribution only: ``python -c "import allpath.interfaces.cli"`` (the CLI module) and a process that
    also imports the engine and loads the knowledge base, which splits the difference to ``python -c pass``.
    Target: allpath median <= 0.5 s.

(b) Batch: a JSON array of N records (default 10,000, same generator) through
    ``allpath assess FILE --format json``, standard output redirected to a temporary file (not read back
    into this process), wall time of the whole process. Target: <= 10 s for 10,000 records (scaled in
    proportion to N for smaller runs, which is stricter because start-up is a fixed cost).

(c) With ``--fhir-import``: ``allpath fhir import BUNDLE`` (one record's Bundle), whose first Quantity builds
    the UCUM library, alternately this tree, this tree without the library's definition cache and the tree of
    ``--against``. No target: issue 11 asks for no slower than before the UCUM library.

The ``allpath`` executable is the one next to ``sys.executable``, i.e. from the same virtual environment.

Usage::

    python benchmarks/bench_cli.py [--runs 15] [--n 10000] [--check] [--against SRC] [--cold-only] [--fhir-import]
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

from common import RESULTS_DIR, allpath_executable, machine, verdict, write_json
from records import generate_tagged

TARGET_COLD_S = 0.5
TARGET_BATCH_S_PER_10K = 10.0
DEFAULT_RUNS = 15
QUICK_RUNS = 7
DEFAULT_N = 10_000
QUICK_N = 2_000
DEFAULT_SEED = 20240802


# For attribution: what any assessment needs before its first record (CLI module, engine, knowledge base).
ENGINE_READY = (
    "import allpath.interfaces.cli, allpath.domain.record, allpath.engine.assess, allpath.knowledge.loader as k; "
    "k.load_knowledge()"
)


def _env() -> dict[str, str]:
    # No progress bar (it is shown only on a terminal anyway) and no user site or bytecode-writing surprises.
    env = dict(os.environ)
    env["CI"] = "true"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(
    cmd: list[str], stdout: Any = subprocess.DEVNULL, source: str | None = None, extra_env: dict[str, str] | None = None
) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one run of ``cmd`` (with the allpath of the folder
    ``source`` first on the path, when given, and ``extra_env`` set); exits when it fails."""
    env = _env() | (extra_env or {})
    if source is not None:
        env["PYTHONPATH"] = source
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu_s() - cpu_before
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise SystemExit(f"benchmarks: {' '.join(cmd)} exited {done.returncode}: {message}")
    return elapsed, cpu


def _one_record(seed: int) -> dict[str, Any]:
    """A complete newly diagnosed record: the typical single-patient call."""
    for kind, record in generate_tagged(200, seed):
        if kind == "standard" and len(record) >= 12 and "relapses" not in record:
            return record
    raise AssertionError("the generator gave no complete standard-risk record")  # pragma: no cover


# ``allpath assess FILE --format json`` as a ``python -c`` program, so that another tree can run it (--against).
ASSESS_PROGRAM = (
    "import sys; from allpath.interfaces.cli import main; "
    "sys.argv = ['allpath', 'assess', sys.argv[1], '--format', 'json']; sys.exit(main())"
)


def cold_start(runs: int = DEFAULT_RUNS, seed: int = DEFAULT_SEED, against: str | None = None) -> dict[str, Any]:
    """Cold starts; with ``against`` (the ``src`` folder of another allpath tree) the same command of that
    tree too, run alternately with this one's, so that both see the same load (``ratio_against``)."""
    exe = str(allpath_executable())
    with tempfile.TemporaryDirectory(prefix="allpath-bench-") as tmp:
        path = Path(tmp) / "record.json"
        path.write_text(json.dumps(_one_record(seed)), encoding="utf-8")
        commands = {
            "python_c_pass": [sys.executable, "-c", "pass"],
            "import_cli": [sys.executable, "-c", "import allpath.interfaces.cli"],
            "engine_ready": [sys.executable, "-c", ENGINE_READY],
            "allpath_assess": [exe, "assess", str(path), "--format", "json"],
        }
        sources: dict[str, str | None] = dict.fromkeys(commands)
        if against is not None:
            commands["this_tree_c"] = [sys.executable, "-c", ASSESS_PROGRAM, str(path)]
            commands["against_c"] = [sys.executable, "-c", ASSESS_PROGRAM, str(path)]
            sources |= {"this_tree_c": None, "against_c": against}
        for name, cmd in commands.items():  # untimed: page cache, bytecode
            _timed(cmd, source=sources[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                wall, used = _timed(cmd, source=sources[name])
                times[name].append(wall)
                cpu[name].append(used)
    medians = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    compared = {}
    if against is not None:
        compared = {
            "against": against,
            "ratio_against": medians["this_tree_c"] / medians["against_c"],
            "cpu_ratio_against": median_cpu["this_tree_c"] / median_cpu["against_c"],
        }
    allpath_s = medians["allpath_assess"]
    floor_s = medians["python_c_pass"]
    return {
        "benchmark": "cli_cold_start",
        "runs": runs,
        "median_s": medians,
        "min_s": {name: min(values) for name, values in times.items()},
        "max_s": {name: max(values) for name, values in times.items()},
        "median_cpu_s": median_cpu,
        **compared,
        "difference_s": allpath_s - floor_s,
        "ratio": allpath_s / floor_s,
        # Where the difference to `python -c pass` goes (medians of separate processes, so approximate).
        "breakdown_s": {
            "interpreter": floor_s,
            "import_cli_module": medians["import_cli"] - floor_s,
            "engine_imports_and_knowledge_load": medians["engine_ready"] - medians["import_cli"],
            "argument_parsing_assessment_output": allpath_s - medians["engine_ready"],
        },
        "target_s": TARGET_COLD_S,
        "passed": allpath_s <= TARGET_COLD_S,
    }


# ``allpath fhir import BUNDLE`` as a ``python -c`` program, for the same reason.
FHIR_IMPORT_PROGRAM = (
    "import sys; from allpath.interfaces.cli import main; "
    "sys.argv = ['allpath', 'fhir', 'import', sys.argv[1]]; sys.exit(main())"
)
UNITS_CACHE_OFF = {"ALLPATH_UNITS_CACHE": "off"}


def fhir_import_cold(runs: int = DEFAULT_RUNS, seed: int = DEFAULT_SEED, against: str | None = None) -> dict[str, Any]:
    """Cold starts of ``allpath fhir import BUNDLE``, the Bundle of the one record of ``cold_start`` as this tree
    exports it: its first Quantity builds the UCUM library (``allpath.interfaces.fhir.unit_library``). Timed
    alternately: this tree, this tree with the library's definition cache off (``ALLPATH_UNITS_CACHE=off``) and,
    with ``against``, the same command of that tree (e.g. the tree before the UCUM library)."""
    from allpath.interfaces.fhir import record_to_bundle

    with tempfile.TemporaryDirectory(prefix="allpath-bench-") as tmp:
        path = Path(tmp) / "bundle.json"
        path.write_text(json.dumps(record_to_bundle(_one_record(seed))), encoding="utf-8")
        command = [sys.executable, "-c", FHIR_IMPORT_PROGRAM, str(path)]
        variants: dict[str, tuple[str | None, dict[str, str]]] = {
            "this_tree": (None, {}),
            "this_tree_units_cache_off": (None, UNITS_CACHE_OFF),
        }
        if against is not None:
            variants["against"] = (against, {})
        for source, extra in variants.values():  # untimed: page cache, bytecode, the caches filled
            _timed(command, source=source, extra_env=extra)
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(runs):
            for name, (source, extra) in variants.items():
                wall, used = _timed(command, source=source, extra_env=extra)
                times[name].append(wall)
                cpu[name].append(used)
    medians = {name: statistics.median(values) for name, values in times.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    result: dict[str, Any] = {
        "benchmark": "cli_fhir_import_cold_start",
        "runs": runs,
        "median_s": medians,
        "min_s": {name: min(values) for name, values in times.items()},
        "median_cpu_s": median_cpu,
        "cpu_ratio_units_cache_off": median_cpu["this_tree"] / median_cpu["this_tree_units_cache_off"],
    }
    if against is not None:
        result |= {
            "against": against,
            "ratio_against": medians["this_tree"] / medians["against"],
            "cpu_ratio_against": median_cpu["this_tree"] / median_cpu["against"],
        }
    return result


def report_fhir_import(result: dict[str, Any]) -> str:
    m = result["median_s"]
    c = result["median_cpu_s"]
    lines = [
        f"CLI cold start of allpath fhir import (one record's Bundle), median of {result['runs']} fresh processes",
        f"  this tree {m['this_tree'] * 1000:.0f} ms wall, {c['this_tree'] * 1000:.0f} ms CPU; units cache off "
        f"{m['this_tree_units_cache_off'] * 1000:.0f} ms wall, {c['this_tree_units_cache_off'] * 1000:.0f} ms CPU "
        f"({result['cpu_ratio_units_cache_off']:.3f}x CPU with the cache)",
    ]
    if "against" in result:
        lines.append(
            f"  against {result['against']} (alternating): that tree {m['against'] * 1000:.0f} ms wall, "
            f"{c['against'] * 1000:.0f} ms CPU = this tree {result['ratio_against']:.3f}x wall, "
            f"{result['cpu_ratio_against']:.3f}x CPU"
        )
    return "\n".join(lines)


def batch(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    exe = str(allpath_executable())
    target = TARGET_BATCH_S_PER_10K * n / 10_000
    with tempfile.TemporaryDirectory(prefix="allpath-bench-") as tmp:
        source = Path(tmp) / "records.json"
        source.write_text(json.dumps([r for _, r in generate_tagged(n, seed)]), encoding="utf-8")
        sink = Path(tmp) / "out.json"
        with sink.open("wb") as out:
            wall, cpu = _timed([exe, "assess", str(source), "--format", "json"], stdout=out)
        out_bytes = sink.stat().st_size
        with sink.open("rb") as out:  # a cheap sanity check that a whole array was written
            head = out.read(1)
            out.seek(-2, os.SEEK_END)
            tail = out.read()
        if head != b"[" or tail.rstrip() != b"]":
            raise SystemExit("benchmarks: the batch output is not a JSON array")
        in_bytes = source.stat().st_size
    return {
        "benchmark": "cli_batch",
        "records": n,
        "seed": seed,
        "wall_s": wall,
        "cpu_s": cpu,
        "records_per_s": n / wall,
        "input_mb": in_bytes / 1e6,
        "output_mb": out_bytes / 1e6,
        "target_s": target,
        "passed": wall <= target,
    }


def report_cold(result: dict[str, Any]) -> str:
    m = result["median_s"]
    c = result["median_cpu_s"]
    parts = result["breakdown_s"]
    return "\n".join(
        [
            f"CLI cold start, median of {result['runs']} fresh processes",
            f"  allpath assess (1 record) {m['allpath_assess'] * 1000:.0f} ms vs python -c pass "
            f"{m['python_c_pass'] * 1000:.0f} ms: +{result['difference_s'] * 1000:.0f} ms, {result['ratio']:.1f}x"
            f"   [target <= {result['target_s']} s: {verdict(result['passed'])}]",
            f"  CPU time (user + system): allpath {c['allpath_assess'] * 1000:.0f} ms, "
            f"python -c pass {c['python_c_pass'] * 1000:.0f} ms",
            "  where the time goes: "
            + ", ".join(f"{name.replace('_', ' ')} {value * 1000:.0f} ms" for name, value in parts.items()),
            *(
                [
                    f"  against {result['against']} (alternating, same command as python -c): this tree "
                    f"{m['this_tree_c'] * 1000:.0f} ms, that one {m['against_c'] * 1000:.0f} ms = "
                    f"{result['ratio_against']:.3f}x wall, {result['cpu_ratio_against']:.3f}x CPU "
                    f"({c['this_tree_c'] * 1000:.0f} vs {c['against_c'] * 1000:.0f} ms)"
                ]
                if "against" in result
                else []
            ),
        ]
    )


def report_batch(result: dict[str, Any]) -> str:
    return (
        f"CLI batch, {result['records']:,} records -> --format json: {result['wall_s']:.2f} s wall "
        f"({result['cpu_s']:.2f} s CPU), {result['records_per_s']:,.0f} records/s, {result['output_mb']:.0f} MB written"
        f"   [target <= {result['target_s']:.1f} s: {verdict(result['passed'])}]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the allpath command line end to end.")
    parser.add_argument("--runs", type=int, default=None, help=f"cold-start runs (default {DEFAULT_RUNS})")
    parser.add_argument("--n", type=int, default=None, help=f"records in the batch (default {DEFAULT_N:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs, {QUICK_N:,} records")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "cli.json"), help="result file")
    parser.add_argument(
        "--against",
        metavar="SRC",
        help="also time the cold start of the allpath in SRC (e.g. /work/bench/src), alternately",
    )
    parser.add_argument("--cold-only", action="store_true", help="skip the batch")
    parser.add_argument(
        "--fhir-import",
        action="store_true",
        help="also time the cold start of allpath fhir import (against SRC too, when given)",
    )
    args = parser.parse_args(argv)
    runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    cold = cold_start(runs, args.seed, args.against)
    print(report_cold(cold))
    fhir_import: dict[str, Any] = {}
    if args.fhir_import:
        fhir_import = {"cli_fhir_import_cold_start": fhir_import_cold(runs, args.seed, args.against)}
        print(report_fhir_import(fhir_import["cli_fhir_import_cold_start"]))
    if args.cold_only:
        write_json(Path(args.json), {"machine": machine(), "cli_cold_start": cold, **fhir_import})
        return 1 if args.check and not cold["passed"] else 0
    bulk = batch(n, args.seed)
    print(report_batch(bulk))
    write_json(Path(args.json), {"machine": machine(), "cli_cold_start": cold, **fhir_import, "cli_batch": bulk})
    if args.check and not (cold["passed"] and bulk["passed"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
