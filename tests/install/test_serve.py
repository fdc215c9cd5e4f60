"""``allpath serve`` says "allpath is running at ..." only once it answers there (one worker and several),
says nothing of the kind when the application cannot start, and a port in use is one plain line on
standard error with exit status 1."""

from __future__ import annotations

import http.client
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.install.conftest import RUNNING, Served, clean_env, free_port, serve

ALLPATH = str(Path(sys.executable).parent / "allpath")


def _without(package: str, folder: Path) -> str:
    """A PYTHONPATH on which ``package`` cannot be imported: a stand-in for a runtime dependency missing from
    the installation (issue 9: httpx on a fresh machine)."""
    shadow = folder / "shadow"
    (shadow / package).mkdir(parents=True)
    missing = f'raise ModuleNotFoundError("No module named \'{package}\'", name="{package}")\n'
    (shadow / package / "__init__.py").write_text(missing, encoding="utf-8")
    return str(shadow)


def _health_now(port: int) -> int:
    """The status of ``/api/health``, asked once with a short timeout: the service must already answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/api/health")
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_running_is_printed_once_it_answers(workers: int, tmp_path: Path, served_commands: list[Served]) -> None:
    port = free_port()
    command = [ALLPATH, "serve", "--port", str(port), "--workers", str(workers)]
    served = serve(command, clean_env(tmp_path / "data"), tmp_path)
    served_commands.append(served)
    line = served.wait_until_running(timeout=120)
    assert _health_now(port) == 200  # at the moment the line is there, the service answers
    assert line == f"{RUNNING}http://localhost:{port}/  (API description: http://localhost:{port}/api/docs)"
    assert served.output().count(RUNNING) == 1  # once, however many workers
    assert served.stop() == 0
    assert "Traceback" not in served.errors(), served.errors()


@pytest.mark.parametrize("workers", [1, 2])
def test_running_is_never_printed_when_the_application_cannot_start(
    workers: int, tmp_path: Path, served_commands: list[Served]
) -> None:
    """The application itself cannot load (the calendar package, imported only by the application, is
    missing): the socket was bound, but no "running" line comes."""
    port = free_port()
    command = [ALLPATH, "serve", "--port", str(port), "--workers", str(workers)]
    served = serve(command, clean_env(tmp_path / "data", PYTHONPATH=_without("icalendar", tmp_path)), tmp_path)
    served_commands.append(served)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and served.process.poll() is None and "icalendar" not in served.errors():
        time.sleep(0.2)
    assert "icalendar" in served.errors(), (served.output(), served.errors())  # the application did not load
    time.sleep(2)  # time enough to (wrongly) announce
    assert RUNNING not in served.output()
    if workers == 1:  # the application is built before serving: one plain line, exit 1
        assert served.process.wait(timeout=20) == 1
        assert served.errors() == "allpath serve: the package icalendar is not installed; reinstall allpath\n"


def test_a_missing_runtime_package_is_one_plain_line_and_exit_1(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "data", PYTHONPATH=_without("httpx", tmp_path))
    served = serve([ALLPATH, "serve", "--port", str(free_port())], env, tmp_path)
    try:
        status = served.process.wait(timeout=60)
    finally:
        served.stop()
    assert status == 1
    assert RUNNING not in served.output()
    (line,) = served.errors().splitlines()
    assert line == "allpath serve: the package httpx is not installed; reinstall allpath"


def test_a_port_in_use_is_one_plain_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = serve([ALLPATH, "serve", "--port", str(port)], clean_env(tmp_path / "data"), tmp_path)
        try:
            status = served.process.wait(timeout=60)
        finally:
            served.stop()
    assert status == 1
    assert served.output() == ""
    (line,) = served.errors().splitlines()
    assert line == (
        f"allpath serve: port {port} on 127.0.0.1 is already in use (by another program or another allpath); "
        "stop it or choose another port with --port"
    )
    assert not (tmp_path / "data").exists()  # refused before any work


def test_an_address_of_another_machine_is_one_plain_line_and_exit_1(tmp_path: Path) -> None:
    served = serve([ALLPATH, "serve", "--host", "192.0.2.1", "--port", "0"], clean_env(tmp_path / "data"), tmp_path)
    try:
        status = served.process.wait(timeout=60)
    finally:
        served.stop()
    assert status == 1
    (line,) = served.errors().splitlines()
    assert line == "allpath serve: 192.0.2.1 is not an address of this machine; choose another with --host"
