"""Durability: a real ``allpath serve`` process killed with SIGKILL while writers are busy loses no write it
acknowledged, and its database stays intact.

For each backend (SQLite file in WAL mode; PostgreSQL, where only the allpath server is killed), three
rounds: start the server on a free port, let concurrent writer threads create patients and add versions over
HTTP (each to its own patients and all to one shared patient), kill the server mid-flight, then check the
database (its integrity check, and allpath's own invariants: versions 1..current, each assessed) and that
every write acknowledged with a 2xx is stored exactly as sent; after the restart, the same through the API.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import tables as t
from allpath.storage.db import integrity_ok, make_engine, migrate, session_factory
from tests.api.conftest import BACKENDS, free_port, seed
from tests.conftest import complete_b_all

ROUNDS = 3
WRITERS = 4
WRITE_SECONDS = (0.6, 1.2)  # how long the writers run before the kill, drawn per round
MIN_ACKS = 10  # acknowledgements each round waits for before its random delay (the kill needs writes in flight)
ACKS_TIMEOUT_S = 30.0
START_TIMEOUT_S = 30.0


@dataclass
class Ack:
    patient_id: str
    version: int
    record: dict[str, Any]


@dataclass
class Tally:
    acks: list[Ack] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    dropped: int = 0  # requests that got no answer (the kill, or the server not up)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Server:
    """``allpath serve`` in a child process (one worker: the process that is killed is the one serving)."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        command = [sys.executable, "-m", "allpath.interfaces.cli", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--workers", str(workers)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"allpath serve exited with {self.process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"allpath serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM: with several workers the supervisor stops them before it exits."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        self._log.close()


def _writer(base: str, token: str, shared_id: str, stop: threading.Event, tally: Tally, seed_value: int) -> None:
    rng = random.Random(seed_value)
    mine: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10.0) as client:
        while not stop.is_set():
            choice = rng.random()
            weight = round(rng.uniform(5, 80), 1)
            try:
                if not mine or choice < 0.35:
                    record = complete_b_all(id=f"W{seed_value}-{rng.randrange(10**9)}", weight_kg=weight)
                    response = client.post("/api/patients", json={"display_name": "Writer child", "record": record})
                else:
                    target = shared_id if choice < 0.6 else rng.choice(mine)
                    record = complete_b_all(id=f"W{seed_value}-upd", weight_kg=weight)
                    response = client.put(f"/api/patients/{target}", json={"record": record})
            except httpx.HTTPError:
                with tally.lock:
                    tally.dropped += 1
                continue
            with tally.lock:
                tally.statuses.append(response.status_code)
            if 200 <= response.status_code < 300:
                body = response.json()
                assert body["record"] == record
                with tally.lock:
                    tally.acks.append(Ack(body["id"], body["current_version"], record))
                if response.request.method == "POST":
                    mine.append(body["id"])


def _check_database(url: str, acks: list[Ack]) -> None:
    """Integrity check, allpath's invariants, and every acknowledged write stored as sent."""
    engine = make_engine(url)
    try:
        assert integrity_ok(engine)
        with session_factory(engine)() as s:
            stored = {(v.patient_id, v.version): v.record for v in s.scalars(select(t.PatientVersion))}
            assessed = {(a.patient_id, a.patient_version) for a in s.scalars(select(t.Assessment))}
            for patient in s.scalars(select(t.Patient)):
                numbers = sorted(v for p, v in stored if p == patient.id)
                assert numbers == list(range(1, patient.current_version + 1)), patient.id
                assert all((patient.id, n) in assessed for n in numbers), patient.id
        for ack in acks:
            assert stored.get((ack.patient_id, ack.version)) == ack.record, f"lost acknowledged write {ack}"
    finally:
        engine.dispose()
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            connection.close()


def _check_through_api(server: Server, token: str, acks: list[Ack]) -> None:
    by_patient: dict[str, list[Ack]] = {}
    for ack in acks:
        by_patient.setdefault(ack.patient_id, []).append(ack)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:
        for patient_id, patient_acks in by_patient.items():
            response = client.get(f"/api/patients/{patient_id}/versions")
            assert response.status_code == 200, response.text
            versions = {v["version"]: v["record"] for v in response.json()}
            for ack in patient_acks:
                assert versions.get(ack.version) == ack.record, f"lost acknowledged write {ack}"


@pytest.fixture(params=BACKENDS)
def durable_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'allpath.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database(request.getfixturevalue("postgres_template"))
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.mark.slow
def test_acknowledged_writes_survive_a_killed_server(durable_database: str, tmp_path: Path, kb: KnowledgeBase) -> None:
    url = durable_database
    engine = make_engine(url)
    migrate(engine)
    _, tokens, shared_id, _ = seed(session_factory(engine), kb)
    engine.dispose()
    token = tokens["clinician"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLPATH_")}
    env |= {"ALLPATH_DATA_DIR": str(tmp_path / "data"), "ALLPATH_DATABASE_URL": url}
    log = tmp_path / "server.log"
    tally = Tally()
    rng = random.Random(20240802)
    for round_number in range(ROUNDS):
        server = Server(env, log)
        try:
            _check_through_api(server, token, tally.acks)  # everything acknowledged in earlier rounds
            acknowledged_before = len(tally.acks)
            stop = threading.Event()
            writers = [
                threading.Thread(
                    target=_writer,
                    args=(server.url, token, shared_id, stop, tally, round_number * WRITERS + i),
                    daemon=True,
                )
                for i in range(WRITERS)
            ]
            for writer in writers:
                writer.start()
            # A loaded machine serves fewer writes per second: wait for enough of them (a bound, not a
            # duration), then kill at a random moment mid-flight.
            deadline = time.monotonic() + ACKS_TIMEOUT_S
            while len(tally.acks) - acknowledged_before < MIN_ACKS and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(*WRITE_SECONDS))
        finally:
            server.kill()  # SIGKILL, mid-flight
        stop.set()
        for writer in writers:
            writer.join(timeout=15)
            assert not writer.is_alive()
        assert len(tally.acks) - acknowledged_before >= MIN_ACKS, "the writers got almost nothing done"
        _check_database(url, tally.acks)
    final = Server(env, log)
    try:
        _check_through_api(final, token, tally.acks)
    finally:
        final.kill()
    server_errors = [s for s in tally.statuses if s >= 500]
    assert not server_errors, f"{len(server_errors)} server errors: {log.read_text()[-3000:]}"
    assert set(tally.statuses) <= {200, 201}, sorted(set(tally.statuses))


def test_keep_alive_responses_are_not_delayed_with_several_workers(tmp_path: Path) -> None:
    """With ``--workers 2`` the accepted connections must have TCP_NODELAY: without it every response on a
    kept-alive connection waits about 40 ms for the client's delayed ACK (uvicorn binds the shared socket)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLPATH_")}
    env["ALLPATH_DATA_DIR"] = str(tmp_path / "data")
    server = Server(env, tmp_path / "server.log", workers=2)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        times = []
        for _ in range(25):
            started = time.perf_counter()
            connection.request("GET", "/api/health")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            times.append(time.perf_counter() - started)
        connection.close()
    finally:
        server.stop()
    assert sorted(times)[len(times) // 2] < 0.02, f"median {sorted(times)[len(times) // 2] * 1000:.0f} ms"
