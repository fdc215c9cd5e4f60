"""HTTP assessment throughput and latency of ``allpath serve --workers 2`` on loopback.

A fresh data directory (SQLite, the default store) gets one clinician account and an API token; then
``allpath serve --workers 2`` runs on a free port and a load tool sends ``POST /api/assess`` with
``Authorization: Bearer <token>``, cycling through 200 varied, valid records of the benchmark generator
(seed 20240802), over C keep-alive connections for D seconds after a short warm-up. Each assessment is a real
request: token lookup, record validation, assessment, an audit entry made durable before the answer (SQLite
with ``synchronous=FULL``; stored by the group writer, many requests' entries per commit), JSON response.
``--postgres`` runs the same on a throwaway PostgreSQL server (``initdb`` and ``pg_ctl`` in a temporary
folder, ``fsync=on``, as the ``postgres`` or ``nobody`` user when run as root), as the API tests do.

The baseline, measured side by side in the same run with the same tool, bodies and connections: a bare
FastAPI endpoint of the same shape (``bare_app.py``: the same body parsed by pydantic into the same record
model, a JSON answer, the same number of workers, served the same way) -- what a request costs without
allpath's authentication, engine, audit and guard. ``GET /api/health`` of allpath (no database, no
authentication) is measured too, and the floor (``bare_app.py --floor``: the bare endpoint plus allpath's
validation, assessment and answer encoding, without authentication, audit or guard), which says how close
to the bare endpoint any request path that runs the engine can come.

Load tool: ``wrk`` (with a small Lua script for the bodies and a JSON summary) when it is installed,
otherwise a Python async load generator (``httpx.AsyncClient``), which is slower than the server and then
measures itself as much as the server; the result says which tool was used.

The three servers run at once and are measured in rounds (three by default), one after another in each
round, each round in another order: the bare endpoint's own figure moved by up to half between runs on a
shared machine, and a ratio of two figures taken minutes apart moved with it. Each round gives a ratio and
each measurement the CPU its workers spent per request; the result is the round with the median ratio, with
every round kept (``rounds`` in the JSON).

Targets: at most 3x slower than the bare endpoint (assessments/s), and p99 <= 25 ms.

Usage::

    python benchmarks/bench_http.py [--duration 10] [--rounds 3] [--connections 8] [--workers 2]
        [--tool auto|wrk|python] [--database-url URL | --postgres] [--unstored] [--check] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import math
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import RESULTS_DIR, allpath_executable, machine, percentile, verdict, write_json
from records import generate

TARGET_TIMES_BARE = 3.0  # allpath's assessments/s at least a third of the bare endpoint's
TARGET_P99_MS = 25.0
DEFAULT_DURATION_S = 10.0
QUICK_DURATION_S = 4.0
WARMUP_S = 2.0
DEFAULT_CONNECTIONS = 8
DEFAULT_WORKERS = 2
DEFAULT_SEED = 20240802
BODIES = 200
DEFAULT_ROUNDS = 3
ROUND_WARMUP_S = 1.0  # before each measurement of a round: the servers idled while the others were measured


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _prepare(database_url: str) -> str:
    """Migrate the database and add a clinician with an API token; returns the token."""
    from allpath.storage import signin as signin_store
    from allpath.storage import users as user_store
    from allpath.storage.db import make_engine, migrate, session_factory

    engine = make_engine(database_url)
    try:
        migrate(engine)
        with session_factory(engine)() as s, s.begin():
            team = user_store.ensure_team(s, "Benchmark team")
            user = user_store.get_user(s, "bench.clinician") or user_store.create_user(
                s, "bench.clinician", "benchmark-password", "clinician", "Benchmark clinician", team.id
            )
            return signin_store.create_api_token(s, user, "bench_http")
    finally:
        engine.dispose()


# ---- a throwaway PostgreSQL server (as tests/api/conftest.py starts one) ---------------------------------


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian layout first, then PATH)."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in Path(path).parent.name.split(".") if p.isdigit())

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    return None


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder on a free loopback port (``fsync=on``); yields its URL and
    stops and removes it afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("benchmarks: no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    base = Path(tempfile.mkdtemp(prefix="allpath-bench-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                os.chown(base, entry.pw_uid, entry.pw_gid)
                run_as = ["runuser", "-u", name, "--"]
                break
    port = _free_port()
    data = str(base / "data")
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} "
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=200"
        )
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", data, "-l", str(base / "server.log"), "-w", "-o", options, "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


class Server:
    """``allpath serve`` with N workers in its own process group; stopped with SIGTERM (then SIGKILL)."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        log: Path,
        *,
        bare: bool = False,
        floor: bool = False,
        unstored: bool = False,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        if bare:  # the bare FastAPI endpoint of the same shape (bare_app.py), served the same way
            cmd = [sys.executable, str(Path(__file__).with_name("bare_app.py")), "--port", str(self.port)]
            cmd += ["--floor"] if floor else ["--unstored"] if unstored else []
            env = env | {
                "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), env.get("PYTHONPATH")]))
            }
        else:
            cmd = [str(allpath_executable()), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--workers", str(workers)]
        self.process = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"benchmarks: the server exited {self.process.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("benchmarks: the server did not answer within 60 s")
            time.sleep(0.1)
        time.sleep(0.5 * workers)  # every worker up, not only the first

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the supervisor, but the multiprocessing resource tracker)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"resource_tracker" not in cmdline:
                pids.append(int(entry.name))
        return sorted(pids) or [self.process.pid]  # one worker: the server process serves itself

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this benchmark started
                self.process.wait(timeout=15)
        self._log.close()


# ---- load tools ----------------------------------------------------------------------------------------

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def _cpu_s(pids: list[int], *, main_thread: bool = False) -> list[float]:
    """User + system CPU seconds of each process so far (Linux /proc; zeros elsewhere); with ``main_thread``,
    of its main thread only (a worker's event loop: the rest is its threads, the look-ups and the writer)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat")
            fields = stat.read_text().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / ticks)
        except (OSError, IndexError, ValueError):
            out.append(0.0)
    return out


def _lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


# Every RECONNECT_EVERY-th request of a wrk thread asks the server to close the connection, so that wrk opens
# a new one: the kernel hands each new connection to whichever worker accepts first, and without reconnects
# the split of the connections between the workers, fixed at the start, decided the result (8:0 or 4:4).
RECONNECT_EVERY = 50


def _wrk_script(bodies: list[str] | None, token: str | None) -> str:
    close = 'wrk.format(nil, nil, {["Connection"] = "close"})'
    if bodies is None:
        keep = "wrk.format()"
        head = ["local n = 0"]
        body = []
    else:
        keep = 'wrk.format(nil, "/api/assess", nil, bodies[i])'
        close = 'wrk.format(nil, "/api/assess", closing, bodies[i])'
        head = [
            "local bodies = {" + ",\n".join(_lua_string(b) for b in bodies) + "}",
            "local i = 0",
            "local n = 0",
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            f'wrk.headers["Authorization"] = "Bearer {token}"',
            "local closing = {}",
            "for k, v in pairs(wrk.headers) do closing[k] = v end",
            'closing["Connection"] = "close"',
        ]
        body = ["  i = i % #bodies + 1"]
    parts = [
        *head,
        "request = function()",
        *body,
        "  n = n + 1",
        f"  if n % {RECONNECT_EVERY} == 0 then return {close} end",
        f"  return {keep}",
        "end",
        _WRK_DONE,
    ]
    return "\n".join(parts)


def _run_wrk(url: str, script: str, seconds: float, connections: int, threads: int, tmp: Path) -> dict[str, Any]:
    path = tmp / f"load-{time.monotonic_ns()}.lua"
    path.write_text(script, encoding="utf-8")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"]
    done = subprocess.run([*cmd, "-s", str(path), url], capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"benchmarks: wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    raw = json.loads(lines[-1])
    duration_s = raw["duration_us"] / 1e6
    errors = raw["errors"]
    return {
        "requests": raw["requests"],
        "seconds": duration_s,
        "requests_per_s": raw["requests"] / duration_s,
        "errors": errors,
        "failed": sum(errors.values()),
        "latency_ms": {k: v / 1000 for k, v in raw["latency_us"].items()},
    }


async def _python_load(
    url: str, path: str, bodies: list[str] | None, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, Any]:
    import httpx

    latencies: list[int] = []
    failed = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=5.0) as client:
        stop_at = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal failed
            i = offset
            while time.perf_counter() < stop_at:
                start = time.perf_counter_ns()
                i += 1
                extra = {"Connection": "close"} if i % RECONNECT_EVERY == 0 else None
                try:
                    if bodies is None:
                        response = await client.get(path, headers=extra)
                    else:
                        response = await client.post(path, content=bodies[i % len(bodies)], headers=extra)
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter_ns() - start)
                failed += 0 if ok else 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(k * 17) for k in range(connections)))
        elapsed = time.perf_counter() - began
    values = sorted(v / 1e6 for v in latencies)
    return {
        "requests": len(values),
        "seconds": elapsed,
        "requests_per_s": len(values) / elapsed,
        "errors": {"failed": failed},
        "failed": failed,
        "latency_ms": {
            "p50": percentile(values, 50),
            "p90": percentile(values, 90),
            "p99": percentile(values, 99),
            "max": values[-1],
            "mean": math.fsum(values) / len(values),
        },
    }


def _measure(
    tool: str, url: str, bodies: list[str] | None, token: str | None, seconds: float, connections: int, tmp: Path
) -> dict[str, Any]:
    if tool == "wrk":
        target = f"{url}/api/assess" if bodies is not None else f"{url}/api/health"
        return _run_wrk(target, _wrk_script(bodies, token), seconds, connections, 1, tmp)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"} if bodies else {}
    path = "/api/assess" if bodies is not None else "/api/health"
    return asyncio.run(_python_load(url, path, bodies, headers, seconds, connections))


# ---- the benchmark -------------------------------------------------------------------------------------


def _measured(
    server: Server, tool: str, bodies: list[str] | None, token: str | None, seconds: float, connections: int, tmp: Path
) -> dict[str, Any]:
    """One measurement of ``server`` after a short warm-up, with the CPU its workers spent on it: the CPU per
    request says where a ratio moves because the machine did (the same CPU, fewer requests) and where because
    a server did (more CPU per request)."""
    _measure(tool, server.url, bodies, token, ROUND_WARMUP_S, connections, tmp)  # warm-up, not counted
    pids = server.worker_pids()
    cpu_before, loop_before = _cpu_s(pids), _cpu_s(pids, main_thread=True)
    measured = _measure(tool, server.url, bodies, token, seconds, connections, tmp)
    cpu = [round(b - a, 2) for a, b in zip(cpu_before, _cpu_s(pids), strict=True)]
    measured["worker_cpu_s"] = cpu
    measured["event_loop_cpu_s"] = [
        round(b - a, 2) for a, b in zip(loop_before, _cpu_s(pids, main_thread=True), strict=True)
    ]
    done = measured["requests"]
    measured["worker_cpu_ms_per_request"] = round(sum(cpu) / done * 1000, 3) if done else None
    return measured


def _ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float:
    """How many times slower ``denominator`` served than ``numerator`` (requests/s)."""
    return numerator["requests_per_s"] / denominator["requests_per_s"] if denominator["requests_per_s"] else math.inf


# The servers of a round, in the order the first round measures them; each later round starts one further
# along, so that none is always measured first (on a warmer or a quieter machine) or last. ``unstored`` only
# with ``--unstored``.
ROUND_ORDER = ("bare_endpoint", "floor", "assess", "unstored")


def _rounds(
    servers: dict[str, Server],
    rounds: int,
    tool: str,
    bodies: list[str],
    token: str,
    seconds: float,
    connections: int,
    tmp: Path,
) -> list[dict[str, Any]]:
    measured: list[dict[str, Any]] = []
    names = tuple(name for name in ROUND_ORDER if name in servers)
    for k in range(rounds):
        order = names[k % len(names) :] + names[: k % len(names)]
        this: dict[str, Any] = {
            name: _measured(servers[name], tool, bodies, token, seconds, connections, tmp) for name in order
        }
        this["times_slower_than_bare"] = _ratio(this["bare_endpoint"], this["assess"])
        this["floor_times_slower_than_bare"] = _ratio(this["bare_endpoint"], this["floor"])
        if "unstored" in this:
            this["unstored_times_slower_than_bare"] = _ratio(this["bare_endpoint"], this["unstored"])
        measured.append(this)
    return measured


def run(
    duration_s: float = DEFAULT_DURATION_S,
    connections: int = DEFAULT_CONNECTIONS,
    workers: int = DEFAULT_WORKERS,
    tool: str = "auto",
    database_url: str | None = None,
    seed: int = DEFAULT_SEED,
    rounds: int = DEFAULT_ROUNDS,
    unstored: bool = False,
) -> dict[str, Any]:
    """The bare endpoint, the floor and allpath, all three served at once and measured in ``rounds`` rounds,
    one after another within each round: the bare endpoint's own figure moves by up to half between runs on a
    shared machine, and a ratio of two figures taken minutes apart moved with it. Each round gives a ratio;
    the result is the round with the median ratio, with every round kept. ``unstored`` adds a fourth server
    to each round: allpath with its audit entries acknowledged and never stored (``bare_app.create_unstored``),
    the upper bound of any way of making them durable."""
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("benchmarks: wrk is not installed (apt-get install wrk), or use --tool python")
    if rounds < 1:
        raise SystemExit(f"benchmarks: --rounds must be at least 1, not {rounds}")
    bodies = [json.dumps(record) for record in generate(BODIES, seed)]
    with tempfile.TemporaryDirectory(prefix="allpath-bench-http-") as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        url = database_url or f"sqlite:///{tmp / 'data' / 'allpath.db'}"
        token = _prepare(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLPATH_")}
        env |= {"ALLPATH_DATA_DIR": str(tmp / "data"), "ALLPATH_DATABASE_URL": url}
        servers: dict[str, Server] = {}
        for name, kinds in (
            ("bare_endpoint", {"bare": True}),
            ("floor", {"bare": True, "floor": True}),
            ("assess", {}),
            *([("unstored", {"bare": True, "unstored": True})] if unstored else []),
        ):
            servers[name] = Server(env, workers, tmp / f"{name}.log", **kinds)
            stack.callback(servers[name].stop)
        for server in servers.values():
            _measure(tool, server.url, bodies, token, WARMUP_S, connections, tmp)  # warm-up, not counted
        allpath = servers["assess"]
        _measure(tool, allpath.url, None, None, WARMUP_S / 2, connections, tmp)
        baseline = _measure(tool, allpath.url, None, None, duration_s, connections, tmp)
        measured = _rounds(servers, rounds, tool, bodies, token, duration_s, connections, tmp)
        backend = url.split(":", 1)[0].split("+", 1)[0]
    by_ratio = sorted(measured, key=lambda r: r["times_slower_than_bare"])
    median = by_ratio[len(by_ratio) // 2]  # of an even number of rounds, the worse of the middle two
    assess, bare, floor = median["assess"], median["bare_endpoint"], median["floor"]
    lat, base = assess["latency_ms"], baseline["latency_ms"]
    slower = median["times_slower_than_bare"]
    p99s = sorted(r["assess"]["latency_ms"]["p99"] for r in measured)
    p99 = p99s[len(p99s) // 2]  # of an even number of rounds, the higher of the middle two
    return {
        "benchmark": "http_assess",
        "tool": tool,
        "workers": workers,
        "connections": connections,
        "duration_s": duration_s,
        "backend": backend,
        "bodies": BODIES,
        "seed": seed,
        "rounds": measured,
        "assess": assess,
        "bare_endpoint": bare,
        "floor": floor,
        "floor_times_slower_than_bare": median["floor_times_slower_than_bare"],
        **(
            {
                "unstored": median["unstored"],
                "unstored_times_slower_than_bare": median["unstored_times_slower_than_bare"],
                "unstored_times_slower_than_bare_range": [
                    min(r["unstored_times_slower_than_bare"] for r in measured),
                    max(r["unstored_times_slower_than_bare"] for r in measured),
                ],
            }
            if unstored
            else {}
        ),
        "baseline_health": baseline,
        "times_slower_than_bare": slower,
        "times_slower_than_bare_range": [
            min(r["times_slower_than_bare"] for r in measured),
            max(r["times_slower_than_bare"] for r in measured),
        ],
        "p99_ms_median": p99,
        "ratio_to_baseline": {
            "requests_per_s": assess["requests_per_s"] / baseline["requests_per_s"],
            "p50": lat["p50"] / base["p50"] if base["p50"] else None,
            "p99": lat["p99"] / base["p99"] if base["p99"] else None,
        },
        "targets": {"times_slower_than_bare": TARGET_TIMES_BARE, "p99_ms": TARGET_P99_MS},
        "passed": {
            "requests_per_s": slower <= TARGET_TIMES_BARE and all(r["assess"]["failed"] == 0 for r in measured),
            "p99": p99 <= TARGET_P99_MS,
        },
    }


def _round_line(k: int, measured: dict[str, Any]) -> str:
    a, b, f = measured["assess"], measured["bare_endpoint"], measured["floor"]
    return (
        f"  round {k}: allpath {a['requests_per_s']:,.0f}/s ({a['worker_cpu_ms_per_request']} ms CPU/request, "
        f"p99 {a['latency_ms']['p99']:.1f} ms), bare {b['requests_per_s']:,.0f}/s "
        f"({b['worker_cpu_ms_per_request']} ms), floor {f['requests_per_s']:,.0f}/s "
        f"({f['worker_cpu_ms_per_request']} ms): {measured['times_slower_than_bare']:.2f}x the bare endpoint, "
        f"the floor {measured['floor_times_slower_than_bare']:.2f}x"
        + (
            f"; unstored {measured['unstored']['requests_per_s']:,.0f}/s "
            f"({measured['unstored']['worker_cpu_ms_per_request']} ms): "
            f"{measured['unstored_times_slower_than_bare']:.2f}x"
            if "unstored" in measured
            else ""
        )
    )


def _unstored_lines(result: dict[str, Any]) -> list[str]:
    if "unstored" not in result:
        return []
    low, high = result["unstored_times_slower_than_bare_range"]
    return [
        f"  upper bound: allpath with its audit entries acknowledged and never stored (unsafe; only in this "
        f"benchmark) {result['unstored']['requests_per_s']:,.0f}/s: {result['unstored_times_slower_than_bare']:.2f}x"
        f" slower than the bare endpoint (rounds {low:.2f}-{high:.2f}x); no way of storing them durably can do better"
    ]


def report(result: dict[str, Any]) -> str:
    a, b, r = result["assess"], result["baseline_health"], result["ratio_to_baseline"]
    lat, base = a["latency_ms"], b["latency_ms"]
    low, high = result["times_slower_than_bare_range"]
    rounds = result["rounds"]
    return "\n".join(
        [
            f"HTTP POST /api/assess, allpath serve --workers {result['workers']} ({result['backend']}), "
            f"{result['tool']}, {result['connections']} connections, {len(rounds)} rounds of "
            f"{result['duration_s']:g} s for each server",
            *(_round_line(k, measured) for k, measured in enumerate(rounds, 1)),
            f"  median round: {a['requests_per_s']:,.0f} assessments/s ({a['requests']:,} requests, {a['failed']} "
            f"failed); the bare endpoint {result['bare_endpoint']['requests_per_s']:,.0f}/s: "
            f"{result['times_slower_than_bare']:.2f}x slower (rounds {low:.2f}-{high:.2f}x)"
            f"   [target <= {TARGET_TIMES_BARE:g}x: {verdict(result['passed']['requests_per_s'])}]",
            f"  the floor (bare endpoint + validation, assessment and answer; no authentication, audit or guard) "
            f"{result['floor']['requests_per_s']:,.0f}/s: {result['floor_times_slower_than_bare']:.2f}x slower than "
            f"the bare endpoint; allpath {result['floor']['requests_per_s'] / max(a['requests_per_s'], 1e-9):.2f}x "
            f"slower than the floor",
            *_unstored_lines(result),
            f"  {r['requests_per_s']:.2f}x of GET /api/health ({b['requests_per_s']:,.0f}/s)",
            f"  latency (median round) p50 {lat['p50']:.1f} ms ({r['p50']:.1f}x health {base['p50']:.1f} ms), "
            f"p90 {lat['p90']:.1f} ms, p99 {lat['p99']:.1f} ms ({r['p99']:.1f}x health {base['p99']:.1f} ms), "
            f"max {lat['max']:.1f} ms; median p99 of the rounds {result['p99_ms_median']:.1f} ms"
            f"   [target p99 <= {TARGET_P99_MS:g} ms: {verdict(result['passed']['p99'])}]",
            f"  CPU seconds of each worker during the median round's assessments: {a.get('worker_cpu_s')} "
            f"(of {result['duration_s']:g} s; 2 CPUs shared with the load tool), of which in its event loop's "
            f"thread {a.get('event_loop_cpu_s')} (the rest: its look-up and audit writer threads)",
        ]
    )


def profile(duration_s: float = 6.0, connections: int = DEFAULT_CONNECTIONS, top: int = 25) -> str:
    """cProfile of one in-process server (uvicorn, one worker) under the same load: where a request's time goes."""
    import cProfile
    import io
    import pstats
    import threading

    import uvicorn

    from allpath.interfaces.app import create_app
    from allpath.settings import load_settings

    bodies = [json.dumps(record) for record in generate(BODIES, DEFAULT_SEED)]
    with tempfile.TemporaryDirectory(prefix="allpath-bench-http-") as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'allpath.db'}"
        token = _prepare(url)
        settings = load_settings({"ALLPATH_DATA_DIR": str(tmp), "ALLPATH_DATABASE_URL": url})
        port = _free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        profiler = cProfile.Profile()

        def serve() -> None:
            profiler.enable()
            server.run()
            profiler.disable()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        tool = "wrk" if shutil.which("wrk") else "python"
        measured = _measure(tool, f"http://127.0.0.1:{port}", bodies, token, duration_s, connections, tmp)
        server.should_exit = True
        thread.join(timeout=30)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return f"profile of one in-process worker: {measured['requests_per_s']:,.0f} requests/s\n" + out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP assessment throughput and latency of allpath serve.")
    parser.add_argument(
        "--duration", type=float, default=None, help=f"seconds per measurement ({DEFAULT_DURATION_S:g})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_DURATION_S:g} s per measurement")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"rounds of the three servers ({DEFAULT_ROUNDS})"
    )
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--database-url", default=None, help="benchmark this database (default: a new SQLite file)")
    database.add_argument("--postgres", action="store_true", help="benchmark a throwaway PostgreSQL server")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of an in-process server")
    parser.add_argument(
        "--unstored",
        action="store_true",
        help="also allpath with its audit entries never stored (an upper bound; unsafe, in this benchmark only)",
    )
    parser.add_argument("--json", default=str(RESULTS_DIR / "http.json"), help="result file")
    args = parser.parse_args(argv)
    duration = args.duration or (QUICK_DURATION_S if args.quick else DEFAULT_DURATION_S)
    if args.postgres:
        with throwaway_postgres() as url:
            result = run(
                duration, args.connections, args.workers, args.tool, url, rounds=args.rounds, unstored=args.unstored
            )
    else:
        result = run(
            duration,
            args.connections,
            args.workers,
            args.tool,
            args.database_url,
            rounds=args.rounds,
            unstored=args.unstored,
        )
    print(report(result))
    write_json(Path(args.json), {"machine": machine(), "http_assess": result})
    if args.profile:
        print(profile())
    return 1 if args.check and not all(result["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
