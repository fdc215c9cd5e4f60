"""Helpers of the install tests: run ``allpath serve`` (or ``scripts/run``) as a person would, in a process
group of its own, on a throwaway data directory and a free port, and wait until it answers.

They cost a minute or two (they install into new virtual environments, through pip's usual cache): marked
``slow``, and part of the normal ``scripts/test`` run. When pip cannot reach the package registry they are
skipped, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

RUNNING = "allpath is running at "
# pip's words when the registry cannot be reached (then a developer offline skips; CI fails).
OFFLINE_SIGNS = (
    "Temporary failure in name resolution",
    "Failed to establish a new connection",
    "Network is unreachable",
    "No matching distribution found",
)


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it in CI, where everything it needs must be there."""
    if in_ci():
        pytest.fail(f"{reason}; CI must provide it")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a person's shell: no ALLPATH_ settings but the data directory, no virtual
    environment or PYTHONPATH of the test run (pip's cache and configuration stay: they are shared)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ALLPATH_") and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    venv_bin = str(Path(os.environ.get("VIRTUAL_ENV", "/nonexistent")) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["ALLPATH_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def pip_problem(output: str) -> None:
    """Skip (fail in CI) when pip could not reach the registry; fail with pip's last lines otherwise."""
    tail = "\n".join(output.strip().splitlines()[-15:])
    if any(sign in output for sign in OFFLINE_SIGNS):
        unavailable(f"pip could not reach the package registry:\n{tail}")
    pytest.fail(f"pip failed:\n{tail}")


@dataclass
class Served:
    """A command serving allpath in a process group of its own; its output goes to files."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    url: str = ""
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.stdout.read_text(errors="replace")

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_until_running(self, timeout: float) -> str:
        """The "allpath is running at" line, once printed; fail if the process ends or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if line.startswith(RUNNING):
                    self.url = line.removeprefix(RUNNING).split()[0].rstrip("/")
                    return line
            if self.process.poll() is not None:
                pytest.fail(
                    f"the command ended with status {self.process.returncode} before it served:\n"
                    f"{self.output()[-3000:]}\n{self.errors()[-3000:]}"
                )
            time.sleep(0.1)
        pytest.fail(f"not serving after {timeout:.0f} s:\n{self.output()[-3000:]}\n{self.errors()[-3000:]}")

    def stop(self) -> int:
        """SIGINT to the whole process group (as Ctrl-C does), SIGKILL if it lingers; the exit status."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def serve(command: list[str], env: dict[str, str], folder: Path, cwd: Path | None = None) -> Served:
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd or folder,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: stop() ends the workers too
        )
    return Served(process, stdout, stderr)


@pytest.fixture()
def served_commands() -> Iterator[list[Served]]:
    """Every command a test starts is stopped at its end, whatever happened."""
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def assert_serves_health_and_signin(url: str) -> None:
    """``/api/health`` answers 200 with JSON, and the sign-in page 200 with its form."""
    with httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/api/health")
        assert health.status_code == 200
        assert health.headers["content-type"].startswith("application/json")
        assert health.json()["status"] == "ok"
        signin = client.get("/signin")
        assert signin.status_code == 200
        assert signin.headers["content-type"].startswith("text/html")
        assert '<form method="post" action="/signin"' in signin.text
