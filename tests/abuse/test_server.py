"""Against a real ``allpath serve`` (two workers, a throwaway data directory, a free port):

- an unauthenticated 50 MB body to the sign-in endpoint is refused with 413 in under a second, with a
  ``Content-Length`` header and as a chunked upload, while concurrent ``/api/health`` calls keep their p99
  under 200 ms;
- requests carrying the sentinel record values that fail (refused records, numbers JSON cannot carry) leave
  nothing in the server's standard error (which the session's log scan reads as well);
- an unhandled error in a served application is a generic 500, logged by its type and route only: no
  traceback, no message (the server would log a traceback if the error reached it).

The figures of the timing test are printed (``pytest -s``) and reported in benchmarks/README.md.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from allpath.knowledge.loader import KnowledgeBase
from allpath.storage.db import make_engine, migrate, session_factory
from tests.api.conftest import free_port, seed
from tests.conftest import (
    LOG_SCAN,
    ROOT,
    SENTINEL_ID,
    SENTINEL_NAME,
    SENTINELS,
    sentinel_record,
)

START_TIMEOUT_S = 60.0
BODY_BYTES = 50 * 1024 * 1024
REFUSAL_LIMIT_S = 1.0
HEALTH_P99_LIMIT_S = 0.2
HEALTH_CALLERS = 4
MIN_UPLOADS_PER_KIND = 3
MIN_MEASURE_S = 3.0
UPLOAD_PAUSE_S = 0.05  # one attacker sending 50 MB bodies back to back, not a flood of the shared test machine


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    stderr: Path
    tokens: dict[str, str]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> str:
        """Stop the server (SIGTERM to the process group it leads; its workers with it) and return its stderr."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.stderr.read_text(errors="replace")


def start(command: list[str], data_dir: Path, port: int, tokens: dict[str, str]) -> Server:
    env = {**os.environ, "ALLPATH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("ALLPATH_DATABASE_URL", None)
    stderr = data_dir / "server.stderr"
    with stderr.open("wb") as errors, (data_dir / "server.stdout").open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=errors,
            start_new_session=True,  # its own group
        )
    server = Server(process, port, data_dir, stderr, tokens)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{stderr.read_text()[-2000:]}")
        try:
            if server.request("GET", "/api/health")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"the server did not answer within {START_TIMEOUT_S} s")
        time.sleep(0.1)


def seeded_data_dir(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> tuple[Path, dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("served")
    engine = make_engine(f"sqlite:///{data_dir / 'allpath.db'}")
    migrate(engine)
    _, tokens, _, _ = seed(session_factory(engine), kb)
    engine.dispose()
    return data_dir, tokens


def scan_server_output(server: Server, name: str) -> str:
    """Stop the server; its stderr and any log file in its data directory go to the session's log scan."""
    text = server.stop()
    LOG_SCAN.add(f"stderr of {name}", text)
    for log in server.data_dir.rglob("*.log"):
        LOG_SCAN.add(f"{log.name} of {name}", log.read_text(errors="replace"))
    return text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Server]:
    data_dir, tokens = seeded_data_dir(tmp_path_factory, kb)
    port = free_port()
    command = [str(Path(sys.executable).parent / "allpath"), "serve", "--port", str(port), "--workers", "2"]
    server = start(command, data_dir, port, tokens)
    try:
        yield server
    finally:
        scan_server_output(server, "allpath serve")


# ---- 50 MB to the sign-in endpoint ---------------------------------------------------------------------


@dataclass
class Upload:
    status: int
    seconds: float  # from the first byte sent to the whole answer read
    sent: int  # bytes of the body sent before the answer came


def upload(port: int, path: str, total: int, chunked: bool) -> Upload:
    """Send a ``total``-byte JSON body as fast as the server takes it, and stop at its answer (as a client does
    that reads while it sends); the server may close the connection under the rest."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    piece = b"a" * (64 * 1024)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.perf_counter()
    sock.sendall(head.encode())
    sock.setblocking(False)
    pending, body_sent, answer = b"", 0, b""
    finished_sending = False
    try:
        while time.perf_counter() - started < 30:
            wants_write = not finished_sending
            readable, writable, _ = select.select([sock], [sock] if wants_write else [], [], 1.0)
            if readable:
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                answer += data
                if not data or _complete(answer):
                    break
                continue
            if writable:
                if not pending:
                    if body_sent < total:
                        chunk = piece[: total - body_sent]
                        body_sent += len(chunk)
                        pending = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk
                    else:
                        pending = b"0\r\n\r\n" if chunked else b""
                        finished_sending = True
                try:
                    pending = pending[sock.send(pending) :]
                except (BrokenPipeError, ConnectionResetError):
                    finished_sending = True  # the server closed: read what it answered
        seconds = time.perf_counter() - started
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return Upload(status, seconds, body_sent)


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


def poll_health(port: int, stop: threading.Event, latencies: list[float], failures: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        started = time.perf_counter()
        try:
            connection.request("GET", "/api/health")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                failures.append(f"status {response.status}")
        except (OSError, http.client.HTTPException) as error:
            failures.append(type(error).__name__)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
    connection.close()


def test_a_50_mb_sign_in_body_is_refused_at_once_while_health_stays_fast(served: Server) -> None:
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    pollers = [
        threading.Thread(target=poll_health, args=(served.port, stop, latencies, failures), daemon=True)
        for _ in range(HEALTH_CALLERS)
    ]
    for poller in pollers:
        poller.start()
    uploads: dict[str, list[Upload]] = {"content-length": [], "chunked": []}
    started = time.monotonic()
    try:
        while (
            time.monotonic() - started < MIN_MEASURE_S or min(len(u) for u in uploads.values()) < MIN_UPLOADS_PER_KIND
        ):
            for kind in uploads:
                uploads[kind].append(upload(served.port, "/api/session", BODY_BYTES, chunked=kind == "chunked"))
                time.sleep(UPLOAD_PAUSE_S)
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout=15)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies, default=99.0)
    figures = {
        kind: {
            "uploads": len(done),
            "statuses": sorted({u.status for u in done}),
            "max_seconds": round(max(u.seconds for u in done), 4),
            "median_seconds": round(statistics.median(u.seconds for u in done), 4),
            "max_body_bytes_sent": max(u.sent for u in done),
        }
        for kind, done in uploads.items()
    }
    figures["health"] = {
        "calls": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "failures": len(failures),
    }
    print("\nabuse figures:", json.dumps(figures))  # noqa: T201 - the figures for benchmarks/README.md
    for kind, done in uploads.items():
        for result in done:
            assert result.status == 413, (kind, result)
            assert result.seconds < REFUSAL_LIMIT_S, (kind, result)
            assert result.sent < BODY_BYTES, (kind, result)  # refused before the body was all sent
    assert not failures, failures[:5]
    assert len(latencies) >= 100
    assert p99 < HEALTH_P99_LIMIT_S, figures["health"]


# ---- failing requests with record values: nothing in the server's stderr ------------------------------


def test_failing_requests_leave_no_record_value_in_the_servers_stderr(served: Server) -> None:
    auth = {"Authorization": f"Bearer {served.tokens['clinician']}", "Content-Type": "application/json"}
    record = json.dumps({"display_name": SENTINEL_NAME, "record": sentinel_record()})
    failing = [
        ("POST", "/api/patients", record.replace("187654.25", "NaN")),
        ("POST", "/api/patients", record.replace("187654.25", "1e309")),
        ("POST", "/api/assess", json.dumps(sentinel_record(wbc_per_ul=-1))),
        ("POST", "/api/assess", json.dumps(sentinel_record(id=SENTINEL_ID * 20))),
        ("POST", "/api/assess", json.dumps(sentinel_record(genetics=["not-a-token"] * 50))),
        ("PUT", "/api/patients/no-such-patient", record),
        ("POST", "/api/fhir/second-opinion", json.dumps(sentinel_record(sex=SENTINEL_NAME))),
        ("POST", "/api/session", json.dumps({"username": SENTINEL_ID, "password": SENTINEL_NAME * 30})),
        ("POST", "/cds-services/allpath-patient-view", json.dumps({"context": {"patientId": SENTINEL_ID}})),
    ]
    statuses = [served.request(method, path, body.encode(), auth)[0] for method, path, body in failing]
    assert all(400 <= status < 500 for status in statuses), statuses
    time.sleep(0.2)  # anything the workers write is in the file by now
    text = served.stderr.read_text(errors="replace")
    assert not [value for value in SENTINELS if value in text]
    assert "Traceback" not in text


# ---- an unhandled error in a served application --------------------------------------------------------


def test_an_unhandled_error_in_a_served_app_logs_its_type_and_route_only(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase
) -> None:
    """uvicorn at its default log level, serving the app with one route that fails with the sentinel record in
    its message (tests/abuse/crashing_app.py): the answer is the generic 500, the server's stderr has the one
    line of the guard, and no traceback."""
    data_dir, tokens = seeded_data_dir(tmp_path_factory, kb)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tests.abuse.crashing_app:create", "--factory", "--port", str(port)]
    server = start(command, data_dir, port, tokens)
    try:
        record = json.dumps(sentinel_record()).encode()
        status, body = server.request("POST", "/api/crash", record, {"Content-Type": "application/json"})
    finally:
        text = scan_server_output(server, "uvicorn serving the crashing app")
    assert status == 500
    assert json.loads(body) == {"detail": "internal error: the request was not completed; nothing of it was saved"}
    assert "unhandled builtins.RuntimeError in POST /api/crash; answered 500" in text
    assert "Traceback" not in text and "Exception in ASGI application" not in text
    assert not [value for value in SENTINELS if value in text]
