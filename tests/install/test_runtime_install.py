"""The wheel, installed *without extras* into a new, empty virtual environment, has every runtime
dependency: each module of ``allpath`` imports, and ``allpath serve`` answers ``/api/health`` and the
sign-in page.

The development extra (which brings httpx, among others) is what the rest of the test run has; a module
that only works with it fails here. Issue 9: ``allpath serve`` died with ``ModuleNotFoundError: httpx`` on
a fresh machine while every test passed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.install.conftest import (
    RuntimeInstall,
    Served,
    assert_serves_health_and_signin,
    clean_env,
    free_port,
    serve,
)

pytestmark = pytest.mark.slow

# Run by the new environment's python: import every module of the installed package, and say where from.
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
import allpath
failed = []
names = [m.name for m in pkgutil.walk_packages(allpath.__path__, "allpath.")]
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print(allpath.__file__)
print(len(names))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""

# Run by the new environment's python: the demo's trial registry (package data) fills a throwaway database.
SEED_DEMO_TRIALS = """
import sys
from allpath.service.demo import DEMO_TRIALS, seed_demo_trials
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage.db import make_engine, migrate, session_factory
engine = make_engine(sys.argv[1])
migrate(engine)
with session_factory(engine)() as s, s.begin():
    print(DEMO_TRIALS)
    print(seed_demo_trials(UnitOfWork(s, None)))
"""


@pytest.fixture(scope="module")
def runtime_env(runtime_install: RuntimeInstall) -> Path:
    """A new virtual environment holding the allpath wheel and its runtime dependencies only (installed in the
    background while tests/install/test_main_command.py runs, when both run)."""
    return runtime_install.venv.result()


def test_the_runtime_install_has_no_development_tools(runtime_env: Path) -> None:
    """The environment is what a user gets: none of the development extra's own tools."""
    listed = subprocess.run(
        [str(runtime_env / "bin" / "python"), "-m", "pip", "list", "--format", "freeze"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.split("==")[0].lower().replace("_", "-") for line in listed.stdout.splitlines()}
    assert "allpath" in names
    assert not names & {"pytest", "hypothesis", "mypy", "ruff", "playwright", "schemathesis"}


def test_every_module_of_allpath_imports_in_the_runtime_install(runtime_env: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(runtime_env / "bin" / "python"), "-c", IMPORT_EVERY_MODULE],
        cwd=tmp_path,  # not the checkout: the installed package is imported
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(tmp_path / "data"),
    )
    location, count, *failed = done.stdout.splitlines()
    assert done.returncode == 0, "modules that do not import:\n" + "\n".join(failed) + done.stderr[-2000:]
    assert Path(location).is_relative_to(runtime_env), location
    assert int(count) > 50


def test_the_fhir_import_converts_units_in_the_runtime_install(runtime_env: Path, tmp_path: Path) -> None:
    """The UCUM library (ucumvert, on pint) is imported only at the first conversion: a runtime dependency that
    every module's import would not catch."""
    weight = {"value": 70, "unit": "lb"}
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "valueQuantity": weight,
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    done = subprocess.run(
        [str(runtime_env / "bin" / "allpath"), "fhir", "import", "-", "--format", "record"],
        input=json.dumps(bundle),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(tmp_path / "data"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"weight_kg": 31.751}


def test_allpath_serve_from_the_runtime_install_answers_health_and_signin(
    runtime_env: Path, tmp_path: Path, served_commands: list[Served]
) -> None:
    port = free_port()
    served = serve(
        [str(runtime_env / "bin" / "allpath"), "serve", "--port", str(port)],
        clean_env(tmp_path / "data"),
        tmp_path,
    )
    served_commands.append(served)
    line = served.wait_until_running(timeout=180)
    assert served.url == f"http://localhost:{port}"
    assert line.endswith(f"(API description: http://localhost:{port}/api/docs)")
    assert_serves_health_and_signin(f"http://127.0.0.1:{port}")
    assert (tmp_path / "data").is_dir()  # the throwaway data directory holds the database
    served.stop()
    assert "Traceback" not in served.errors(), served.errors()[-3000:]


def test_the_demo_trial_registry_is_in_the_wheel(runtime_env: Path, tmp_path: Path) -> None:
    """``allpath serve --demo`` fills an empty trial registry from the package's bundled snapshot (issue 13): the
    wheel carries it, and storing it needs only the runtime dependencies."""
    done = subprocess.run(
        [str(runtime_env / "bin" / "python"), "-c", SEED_DEMO_TRIALS, f"sqlite:///{tmp_path / 'demo.db'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(tmp_path / "data"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    location, stored = done.stdout.splitlines()
    assert Path(location).is_relative_to(runtime_env), location
    assert int(stored) == 20


def test_cohort_generate_and_assess_work_in_the_runtime_install(runtime_env: Path, tmp_path: Path) -> None:
    """``allpath cohort generate`` and ``cohort assess`` (issue 15) need only the runtime dependencies: pyarrow,
    polars and numpy, and the synthetic cohort's figures (package data) in the wheel."""
    allpath = str(runtime_env / "bin" / "allpath")
    env = clean_env(tmp_path / "data")
    generated = subprocess.run(
        [allpath, "cohort", "generate", "--rows", "1000", "--seed", "1", "--out", "cohort"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert generated.returncode == 0, generated.stderr[-2000:]
    assessed = subprocess.run(
        [allpath, "cohort", "assess", "cohort/cohort.parquet", "--out", "answers.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert assessed.returncode == 0, assessed.stderr[-2000:]
    assert "Read 1,000 rows: 1,000 assessed, 0 refused." in assessed.stdout
    assert len((tmp_path / "answers.csv").read_text(encoding="utf-8").splitlines()) == 1_001
