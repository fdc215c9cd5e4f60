"""The README's main command, ``scripts/run``, from a clean clone of the repository (its HEAD) until it
serves: it installs a virtual environment in the clone, assesses the examples, starts the web application
with the demo accounts on ``ALLPATH_PORT`` and a throwaway ``ALLPATH_DATA_DIR``, and a demo account can
sign in and see the example patients.

The clone's ``scripts/setup`` installs, without extras, from the session's wheelhouse (tests/install/conftest.py):
the runtime dependencies of the same pyproject.toml as pip resolved them from the registry for this Python, and pip
and the build backend. The registry's answer is the same, resolved once instead of once per install."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.install.conftest import (
    RuntimeInstall,
    Served,
    assert_serves_health_and_signin,
    clean_env,
    free_port,
    pip_problem,
    serve,
    unavailable,
)

pytestmark = pytest.mark.slow

INSTALL_TIMEOUT = 900  # seconds: a new virtual environment with every runtime dependency, through pip's cache
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
DEMO_CLINICIAN = re.compile(r"^\s+clinician\s+(\S+)\s+(\S+)\s*$", re.MULTILINE)


def _clone(target: Path) -> None:
    if shutil.which("git") is None:
        unavailable("git is not installed")
    done = subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _pip_settings(env: dict[str, str], runtime_install: RuntimeInstall) -> dict[str, str]:
    """pip's settings for the clone's ``scripts/setup``: the wheelhouse, whose wheels are for this Python, when
    scripts/setup's Python (``$PYTHON`` or ``python3``) is the same; otherwise the registry, as a person's pip."""
    python = shutil.which(env.get("PYTHON", "python3"), path=env["PATH"])
    if python is None:
        unavailable("python3 is not on the PATH")
    probe = [python, "-c", "import sys; print(sys.implementation.cache_tag, sys.platform)"]
    theirs = subprocess.run(probe, capture_output=True, text=True, env=env).stdout.split()
    if theirs != [sys.implementation.cache_tag, sys.platform]:
        return {}
    return runtime_install.wheelhouse.result().pip_env()


# The wheel's runtime environment (test_runtime_install.py) installs in a thread meanwhile: each install is
# mostly one process, and two cores run both.
def test_scripts_run_from_a_clean_clone_serves_the_demo(
    tmp_path: Path, served_commands: list[Served], runtime_install: RuntimeInstall
) -> None:
    clone = tmp_path / "allpath"
    _clone(clone)
    assert not (clone / ".venv").exists()
    port = free_port()
    env = clean_env(tmp_path / "data", ALLPATH_PORT=str(port))
    served = serve([str(clone / "scripts" / "run")], env | _pip_settings(env, runtime_install), tmp_path, cwd=clone)
    served_commands.append(served)
    try:
        served.wait_until_running(timeout=INSTALL_TIMEOUT)
    except BaseException:
        pip_output = served.output() + served.errors()
        if served.process.poll() is not None and "pip" in pip_output:
            pip_problem(pip_output)
        raise
    assert served.url == f"http://localhost:{port}"
    output = served.output()
    # What scripts/run promises before it serves: the overview and the two artifacts.
    assert "Full assessments: artifacts/assessments.json" in output
    assert (clone / "artifacts" / "assessments.json").stat().st_size > 0
    assert (clone / "artifacts" / "family-reports.md").stat().st_size > 0
    assert (tmp_path / "data").is_dir()
    url = f"http://127.0.0.1:{port}"
    assert_serves_health_and_signin(url)

    # The demo: the printed clinician account signs in and sees the example patients.
    demo = DEMO_CLINICIAN.search(output)
    assert demo is not None, output[-2000:]
    username, password = demo.groups()
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as browser:
        token = FORM_TOKEN.search(browser.get("/signin").text)
        assert token is not None
        patients = browser.post(
            "/signin", data={"username": username, "password": password, "csrf_token": token.group(1)}
        )
        assert patients.status_code == 200
        assert patients.url.path == "/patients"
        assert patients.text.count('href="/patients/') >= 5  # the bundled example patients
        # The demo's trial registry (issue 13): a patient page shows the trials to ask about.
        child = re.search(r'href="(/patients/[0-9a-f-]{36})"', patients.text)
        assert child is not None
        trials = browser.get(child.group(1)).text
        assert "Trials to ask about" in trials and "From the local copy of the registry: 20 studies" in trials
    served.stop()
    assert "Traceback" not in served.errors(), served.errors()[-3000:]
