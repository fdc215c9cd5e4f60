"""Small helpers shared by the benchmarks: percentiles, summaries, machine description, result files."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted, non-empty list."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize_ms(ns_values: list[int]) -> dict[str, float]:
    """Median, p90, p99, max and mean in milliseconds of durations given in nanoseconds."""
    values = sorted(v / 1e6 for v in ns_values)
    return {
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1],
        "mean": statistics.fmean(values),
    }


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "git": git_revision(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def git_revision() -> str:
    """The commit measured, with "+dirty" when src/ has uncommitted changes (the editable install runs them)."""
    root = BENCH_DIR.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def allpath_executable() -> Path:
    """The ``allpath`` console script of the interpreter running the benchmarks (same virtual environment)."""
    folder = Path(sys.executable).parent
    for name in ("allpath", "allpath.exe"):
        candidate = folder / name
        if candidate.exists():
            return candidate
    raise SystemExit(f"benchmarks: no allpath executable next to {sys.executable}; run `pip install -e .` first")


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"
