"""The CDS Hooks benchmark (benchmarks/bench_cds.py) sends what the patient-view service asks for: every prefetch
key it requires, each Observation key with the Observations of its own codes. The benchmark is not run by the test
suite; when the service split its codes over a second key, the benchmark's single ``observations`` key got 412 and
nobody saw it until the README's benchmark command stopped there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

from allpath.interfaces.cds.services import PATIENT_VIEW, SERVICES

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _bench_cds() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # the benchmarks import their siblings by name
    try:
        spec = importlib.util.spec_from_file_location("bench_cds", BENCHMARKS / "bench_cds.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def _codes(observation: dict[str, Any]) -> set[str]:
    return {f"{c['system']}|{c['code']}" for c in observation["code"].get("coding", [])}


def test_the_benchmark_sends_every_prefetch_key_the_service_requires() -> None:
    body = _bench_cds().request_body()
    service = SERVICES[PATIENT_VIEW]
    assert set(service.required) <= set(body["prefetch"])
    observation_keys = [k for k, t in service.prefetch.items() if t.startswith("Observation?")]
    assert len(observation_keys) >= 2  # the case the benchmark had missed: codes split over several keys
    sent = 0
    for key in observation_keys:
        asked = set(parse_qs(service.prefetch[key].partition("?")[2])["code"][0].split(","))
        found = [entry["resource"] for entry in body["prefetch"][key]["entry"]]
        assert all(_codes(observation) & asked for observation in found), key
        sent += len(found)
    assert sent > 0
