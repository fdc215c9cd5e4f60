"""In CI (``CI=true``) a missing ``../shared`` is a failure, not a skip: in the tests that read it, and in
``scripts/test`` itself, which stops before any work when ``$shared/source`` or
``$shared/vignettes/check.py`` is missing. Outside CI the tests that need it are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import tests.conftest as root_conftest
from tests.conftest import ROOT, optional_shared, require_shared
from tests.knowledge import test_no_unverified_facts

SETUP_REACHED = "scripts/setup reached"


@pytest.fixture()
def shared_missing(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(root_conftest, "shared_dir", lambda: None)
    return monkeypatch


def test_missing_shared_fails_every_reader_in_ci(shared_missing: pytest.MonkeyPatch) -> None:
    shared_missing.setenv("CI", "true")
    for reader in (require_shared, optional_shared, test_no_unverified_facts._lines):
        with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
            reader()


def test_missing_shared_skips_outside_ci(shared_missing: pytest.MonkeyPatch) -> None:
    shared_missing.delenv("CI", raising=False)
    for reader in (require_shared, test_no_unverified_facts._lines):
        with pytest.raises(pytest.skip.Exception):
            reader()
    assert optional_shared() is None


def test_present_shared_is_found_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "clinical-facts.md").write_text("# facts\n", encoding="utf-8")
    monkeypatch.setattr(root_conftest, "shared_dir", lambda: tmp_path)
    monkeypatch.setenv("CI", "true")
    assert require_shared() == tmp_path
    assert optional_shared() == tmp_path
    assert test_no_unverified_facts._lines() == ["# facts"]


def _scripts_test(tmp_path: Path, shared: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    """``scripts/test`` copied into an empty tree whose ``scripts/setup`` only reports that it was reached (so
    that nothing is installed or run past the shared/ check)."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "test", tree / "scripts" / "test")
    setup = tree / "scripts" / "setup"
    setup.write_text(f"#!/usr/bin/env bash\necho '{SETUP_REACHED}'\nexit 3\n", encoding="utf-8")
    setup.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "ALLPATH_SHARED"}}
    env["ALLPATH_SHARED"] = str(shared)
    if ci:
        env["CI"] = "true"
    return subprocess.run(["bash", str(tree / "scripts" / "test")], env=env, capture_output=True, text=True, timeout=60)


def _shared(tmp_path: Path, source: bool, check: bool) -> Path:
    shared = tmp_path / "shared"
    if source:
        (shared / "source").mkdir(parents=True)
    if check:
        (shared / "vignettes").mkdir(parents=True)
        (shared / "vignettes" / "check.py").write_text("", encoding="utf-8")
    shared.mkdir(exist_ok=True)
    return shared


@pytest.mark.parametrize(("source", "check", "missing"), [(False, True, "source"), (True, False, "check.py")])
def test_scripts_test_stops_in_ci_when_shared_is_missing(
    tmp_path: Path, source: bool, check: bool, missing: str
) -> None:
    done = _scripts_test(tmp_path, _shared(tmp_path, source, check), ci=True)
    assert done.returncode == 1
    assert SETUP_REACHED not in done.stdout  # before any work
    (line,) = done.stderr.splitlines()
    assert line.startswith("scripts/test: ") and missing in line and "is missing; CI must provide" in line


def test_scripts_test_goes_on_in_ci_with_shared(tmp_path: Path) -> None:
    done = _scripts_test(tmp_path, _shared(tmp_path, source=True, check=True), ci=True)
    assert SETUP_REACHED in done.stdout and done.returncode == 3  # went on to scripts/setup


def test_scripts_test_goes_on_outside_ci_without_shared(tmp_path: Path) -> None:
    done = _scripts_test(tmp_path, tmp_path / "no-shared", ci=False)
    assert SETUP_REACHED in done.stdout and done.returncode == 3
