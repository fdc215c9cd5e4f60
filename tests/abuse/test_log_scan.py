"""The session's log scan (tests/conftest.py) can fail: a planted value is found in a log record, in a
server's standard error and in a test's captured standard error, each named by where it was found."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from tests.conftest import LOG_SCAN, SENTINELS, LogScan

# Planted values are not among the session's sentinels, so planting them does not fail the session.
PLANTED = "PLANTED-Vexquorn-0093"


def test_the_session_scan_is_attached_and_looks_for_every_sentinel() -> None:
    assert LOG_SCAN.handler in logging.getLogger().handlers
    assert LOG_SCAN.sentinels == SENTINELS and PLANTED not in SENTINELS


def test_a_planted_log_line_is_found() -> None:
    scan = LogScan((PLANTED,))
    root = logging.getLogger()
    root.addHandler(scan.handler)
    try:
        logging.getLogger("allpath.somewhere").error("could not store record %s", {"id": PLANTED})
    finally:
        root.removeHandler(scan.handler)
    assert scan.findings() == [f"{PLANTED!r} in log record of allpath.somewhere"]


def test_a_planted_traceback_is_found() -> None:
    scan = LogScan((PLANTED,))
    root = logging.getLogger()
    root.addHandler(scan.handler)
    try:
        try:
            raise ValueError(f"bad record {PLANTED}")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        root.removeHandler(scan.handler)
    assert scan.findings() == [f"{PLANTED!r} in log record of uvicorn.error"]


def test_a_planted_value_in_a_servers_stderr_is_found() -> None:
    child = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.stderr.write('ERROR storing {PLANTED}\\n')"],
        capture_output=True,
        text=True,
        check=True,
    )
    scan = LogScan((PLANTED,))
    scan.add("stderr of a server", child.stderr)
    assert scan.findings() == [f"{PLANTED!r} in stderr of a server"]
    assert LogScan(("absent-value",)).findings() == []


def test_captured_standard_error_of_tests_is_scanned(pytestconfig: pytest.Config) -> None:
    """The hook that feeds each test's captured stderr to the scan is registered."""
    hooks = pytestconfig.pluginmanager.hook.pytest_runtest_logreport.get_hookimpls()
    assert any(impl.function.__module__ == "tests.conftest" for impl in hooks)
