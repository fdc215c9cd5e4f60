"""CDS Hooks latency: ``POST /cds-services/allpath-patient-view`` with prefetch through ``allpath serve`` on
loopback.

A fresh SQLite data directory; a CDS client's EC P-384 key made for this run and trusted through
``ALLPATH_CDS_TRUSTED_ISSUERS``; the service's public URL ``ALLPATH_CDS_BASE_URL`` (the JWT audience; as behind a
reverse proxy, it is not the loopback address the calls go to); ``allpath serve --workers 1`` on a free port
(one worker: the JWT replay memory is per process, and latency, not throughput, is measured). The request is
the example patient
``examples/standard_risk.json`` with a treatment start date 40 days ago, as an EHR would prefetch it (Patient,
Condition, Observation, Procedure and MedicationRequest searches; resources with ids and ``Patient/<id>``
subjects), so that all three cards are made: risk group with its basis, missing tests, current phase with the
doses of the phase. Each call carries a new ES384-signed JWT living five minutes, the longest the service
accepts by default (made before each timed loop, which must end within those five minutes), and is the real
thing: JWT verification and replay check, import of the FHIR resources (validated with ``fhir.resources``),
assessment, roadmap, doses, cards, an audit entry committed (``synchronous=FULL``), JSON response.

Calls are sequential over one keep-alive connection (``httpx.Client``), each timed from send to the last byte
of the response; ``--calls`` (default 2,000) after ``--warmup`` (200). Baseline in the same run, the same way:
``GET /api/health`` (no database, no authentication), the HTTP stack alone.

Also the worker's CPU time per call (Linux ``/proc``): when p99 is far above it, other processes held the CPUs.

Target: p99 <= 50 ms.

Usage::

    python benchmarks/bench_cds.py [--calls 2000] [--warmup 200] [--quick] [--check] [--json FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bench_http import Server, _cpu_s
from common import BENCH_DIR, RESULTS_DIR, machine, summarize_ms, verdict, write_json

TARGET_P99_MS = 50.0
DEFAULT_CALLS = 2000
QUICK_CALLS = 1000
WARMUP = 200
ISSUER = "https://ehr.benchmark.example/"
PUBLIC_URL = "https://allpath.benchmark.example"  # ALLPATH_CDS_BASE_URL
TOKEN_LIFETIME_S = 300  # the default ALLPATH_CDS_MAX_TOKEN_LIFETIME_S
PATIENT_ID = "bench-patient-1"
SERVICE = "/cds-services/allpath-patient-view"


def _key() -> tuple[Any, dict[str, Any]]:
    """An EC P-384 key pair of the benchmark's CDS client: the private key and the trusted JWK Set."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    private = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    return private, {"keys": [{**public, "kid": "bench", "alg": "ES384", "use": "sig"}]}


def _tokens(private: Any, audience: str, count: int) -> list[str]:
    import jwt

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + TOKEN_LIFETIME_S}
    return [
        jwt.encode(claims | {"jti": str(uuid.uuid4())}, private, algorithm="ES384", headers={"kid": "bench"})
        for _ in range(count)
    ]


def request_body() -> dict[str, Any]:
    """The patient-view call for the standard-risk example patient, with prefetch as an EHR sends it."""
    from allpath.interfaces.cds.services import PATIENT_VIEW, SERVICES
    from allpath.interfaces.fhir import record_to_bundle

    record = json.loads((BENCH_DIR.parent / "examples" / "standard_risk.json").read_text(encoding="utf-8"))
    record["treatment_start_date"] = (date.today() - timedelta(days=40)).isoformat()
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle(record)))  # as the EHR reads it
    patient_url = bundle["entry"][0]["fullUrl"]
    resources = []
    for index, entry in enumerate(bundle["entry"]):
        resource = copy.deepcopy(entry["resource"])
        resource["id"] = PATIENT_ID if resource["resourceType"] == "Patient" else f"{PATIENT_ID}-{index}"
        if resource.get("subject", {}).get("reference") == patient_url:
            resource["subject"] = {"reference": f"Patient/{PATIENT_ID}"}
        resources.append(resource)

    def search(kind: str, codes: set[str] | None = None) -> dict[str, Any]:
        found = [
            r
            for r in resources
            if r["resourceType"] == kind
            and (codes is None or any(f"{x['system']}|{x['code']}" in codes for x in r["code"].get("coding", [])))
        ]
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}

    # The Observations as the service's own prefetch keys ask for them: a long list of codes is split over
    # several keys (``observations``, ``observations-2``, ...), each answered with the Observations of its codes.
    observations = {
        key: search("Observation", set(parse_qs(template.partition("?")[2])["code"][0].split(",")))
        for key, template in SERVICES[PATIENT_VIEW].prefetch.items()
        if template.startswith("Observation?")
    }

    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": next(r for r in resources if r["resourceType"] == "Patient"),
            "conditions": search("Condition"),
            **observations,
            "procedures": search("Procedure"),
            "medications": search("MedicationRequest"),
        },
    }


def _time(send: Any, count: int) -> list[int]:
    out = []
    for i in range(count):
        start = time.perf_counter_ns()
        send(i)
        out.append(time.perf_counter_ns() - start)
    return out


def run(calls: int = DEFAULT_CALLS, warmup: int = WARMUP) -> dict[str, Any]:
    import httpx

    private, jwks = _key()
    body = json.dumps(request_body()).encode()
    with tempfile.TemporaryDirectory(prefix="allpath-bench-cds-") as folder:
        env = dict(os.environ)
        env.update(
            {
                "ALLPATH_DATA_DIR": folder,
                "ALLPATH_CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: jwks}),
                "ALLPATH_CDS_BASE_URL": PUBLIC_URL,
            }
        )
        env.pop("ALLPATH_DATABASE_URL", None)
        server = Server(env, 1, Path(folder) / "server.log")
        try:
            tokens = _tokens(private, PUBLIC_URL + SERVICE, warmup)
            with httpx.Client(base_url=server.url, timeout=10.0) as client:
                cards: list[int] = []

                def cds(i: int) -> None:
                    headers = {"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"}
                    response = client.post(SERVICE, content=body, headers=headers)
                    if response.status_code != 200:
                        raise SystemExit(f"benchmarks: patient-view answered {response.status_code}: {response.text}")
                    cards.append(len(response.json()["cards"]))

                def health(_: int) -> None:
                    if client.get("/api/health").status_code != 200:
                        raise SystemExit("benchmarks: /api/health failed")

                _time(cds, warmup)
                _time(health, warmup)
                offset = warmup
                tokens += _tokens(private, PUBLIC_URL + SERVICE, calls)  # fresh: each lives five minutes
                workers = server.worker_pids() or [server.process.pid]
                cpu_before = sum(_cpu_s(workers))
                cds_ns = _time(lambda i: cds(offset + i), calls)
                cpu_ms = (sum(_cpu_s(workers)) - cpu_before) * 1000 / calls
                health_ns = _time(health, calls)
        finally:
            server.stop()
    cds_ms = summarize_ms(cds_ns)
    health_ms = summarize_ms(health_ns)
    return {
        "service": "allpath-patient-view",
        "calls": calls,
        "warmup": warmup,
        "workers": 1,
        "cards_per_call": sorted(set(cards)),
        "request_bytes": len(body),
        "latency_ms": cds_ms,
        "baseline_health_ms": health_ms,
        "ratio_p50": cds_ms["median"] / health_ms["median"],
        "server_cpu_ms_per_call": cpu_ms,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "target_p99_ms": TARGET_P99_MS,
        "passed": {"p99": cds_ms["p99"] <= TARGET_P99_MS},
    }


def report(result: dict[str, Any]) -> str:
    lat, base = result["latency_ms"], result["baseline_health_ms"]
    return "\n".join(
        [
            f"CDS Hooks patient-view with prefetch, allpath serve (1 worker), {result['calls']:,} sequential calls "
            f"after {result['warmup']} warm-up, {result['cards_per_call']} cards each:",
            f"  p50 {lat['median']:.1f} ms   p90 {lat['p90']:.1f} ms   p99 {lat['p99']:.1f} ms"
            f"   max {lat['max']:.1f} ms   [target p99 <= {TARGET_P99_MS:g} ms: {verdict(result['passed']['p99'])}]",
            f"  baseline GET /api/health: p50 {base['median']:.2f} ms   p99 {base['p99']:.2f} ms"
            f"   (patient-view p50 = {result['ratio_p50']:.0f}x)",
            f"  server CPU per call {result['server_cpu_ms_per_call']:.1f} ms; load average after the run "
            f"{result['load_average']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CDS Hooks patient-view latency through allpath serve.")
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CALLS:,} calls")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--json", default=str(RESULTS_DIR / "cds.json"), help="result file")
    args = parser.parse_args(argv)
    calls = QUICK_CALLS if args.quick else args.calls
    result = run(calls=max(calls, 1), warmup=args.warmup)
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "cds_patient_view": result})
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
