"""Helpers of the install tests: run ``allpath serve`` (or ``scripts/run``) as a person would, in a process
group of its own, on a throwaway data directory and a free port, and wait until it answers.

They cost a minute or two (they install into new virtual environments, through pip's usual cache): marked
``slow``, and part of the normal ``scripts/test`` run. When pip cannot reach the package registry they are
skipped, except in CI (``CI=true``), where that is a failure.

Two installs are the cost: ``scripts/run`` installs into its clean clone, and the wheel installs without extras
into a new environment. The runtime dependencies are resolved from the registry once (``runtime_install``'s
wheelhouse), and both installs take them from there; the wheel's environment installs in a thread of its own while
``scripts/run`` installs (each install is mostly one process: two cores run both).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from tests.conftest import ROOT

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


def unavailable(reason: str) -> NoReturn:
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


def pip_problem(output: str) -> NoReturn:
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


@dataclass(frozen=True)
class Wheelhouse:
    """The allpath wheel built from this checkout, and beside it, in ``folder``, every package a runtime-only
    install of it takes (no extras), as pip resolved them from the package registry for this Python, with what
    ``scripts/setup`` installs besides: pip itself, and the build backend of ``pip install -e .``."""

    folder: Path
    wheel: Path

    def pip_env(self) -> dict[str, str]:
        """pip's settings to install from the wheelhouse alone: the resolution is done, and no sdist is rebuilt.
        (pip still byte-compiles what it installs, as for a user: without it every later command of the tests
        compiles what it imports again when PYTHONDONTWRITEBYTECODE is set, which costs more than it saves.)"""
        return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self.folder)}


# Asked by hatchling (build-system.requires) for `pip install -e .` (its get_requires_for_build_editable).
EDITABLE_BUILD_EXTRA = "editables"


def make_wheelhouse(folder: Path, env: dict[str, str]) -> Wheelhouse:
    """Build the wheel, then resolve its runtime dependencies from the registry once (``pip wheel``, which
    builds the few sdists into wheels, through pip's cache) for every install of the session."""
    wheels = folder / "wheelhouse"

    def pip(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "pip", *args], cwd=folder, capture_output=True, text=True, timeout=900, env=env
        )
        if done.returncode != 0:
            pip_problem(done.stdout + done.stderr)

    pip("wheel", "--no-deps", "--wheel-dir", "dist", str(ROOT))
    (wheel,) = (folder / "dist").glob("allpath-*.whl")
    pip("wheel", "--wheel-dir", str(wheels), str(wheel))
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    pip("download", "--dest", str(wheels), "pip", *build_system["requires"], EDITABLE_BUILD_EXTRA)
    return Wheelhouse(wheels, wheel)


def install_runtime_env(wheelhouse: Future[Wheelhouse], folder: Path, env: dict[str, str]) -> Path:
    """The wheel installed with its runtime dependencies only (no extras) into a new virtual environment in
    ``folder``, from the wheelhouse: what ``pip install allpath-*.whl`` gives a user."""
    house = wheelhouse.result()
    venv = folder / "venv"
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], cwd=folder, capture_output=True, text=True, timeout=300, env=env
    )
    if created.returncode != 0:
        unavailable(f"python -m venv failed (Debian: apt-get install python3-venv): {created.stderr[-500:]}")
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", str(house.wheel)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
        env=env | house.pip_env(),
    )
    if installed.returncode != 0:
        pip_problem(installed.stdout + installed.stderr)
    return venv


@dataclass(frozen=True)
class RuntimeInstall:
    """The session's wheelhouse, then its runtime environment, made one after the other in a thread; their
    ``.result()`` waits for them and raises their failure or skip."""

    wheelhouse: Future[Wheelhouse]
    venv: Future[Path]


@pytest.fixture(scope="session")
def runtime_install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeInstall]:
    """Started by the first test that asks for it; the session's end waits for the thread."""
    folder = tmp_path_factory.mktemp("runtime-install")
    env = clean_env(folder / "unused")  # read here: a later test may change os.environ while the thread runs
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="runtime-install") as pool:
        wheelhouse = pool.submit(make_wheelhouse, folder, env)
        yield RuntimeInstall(wheelhouse, pool.submit(install_runtime_env, wheelhouse, folder, env))
