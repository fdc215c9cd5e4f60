"""The layer contracts in .importlinter (checked by `lint-imports` in scripts/test) catch a new wrong-way import.

Each test copies src/allpath to a temporary folder, plants one import there and runs `lint-imports` with the
project's contracts on the copy: the plain copy passes, the planted one fails. This shows that the contracts are
live and that the imports they ignore today (issue 11 removes them) are listed one by one, not by a wildcard.
"""

from __future__ import annotations

import configparser
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "allpath"
CONTRACTS = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy_of_the_package(destination: Path) -> Path:
    """src/allpath's Python modules under ``destination``/allpath (templates, data and caches left out)."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [
            name for name in names if name == "__pycache__" or not (name.endswith(".py") or Path(folder, name).is_dir())
        ]

    shutil.copytree(PACKAGE, destination / "allpath", ignore=not_python)
    return destination / "allpath"


def _lint_imports(source_root: Path, contracts: Path = CONTRACTS) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the project's contracts (or ``contracts``), on the copy of allpath under
    ``source_root``."""
    environment = {**os.environ, "PYTHONPATH": str(source_root), "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), str(contracts), "--no-cache", "--no-logo"],
        cwd=source_root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def _plant(module: Path, line: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_unchanged_copy_keeps_every_contract(tmp_path: Path) -> None:
    _copy_of_the_package(tmp_path)
    completed = _lint_imports(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 broken" in completed.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken_contract"),
    [
        # The engine importing an interface: the layers contract and the engine's own contract.
        ("engine/assess.py", "from allpath.interfaces import cli", "The engine imports neither storage"),
        ("engine/roadmap.py", "import allpath.storage.db", "The engine imports neither storage"),
        # The domain importing anything of allpath but errors.
        ("domain/age.py", "from allpath.knowledge import loader", "The domain imports nothing of allpath"),
        ("domain/record.py", "import allpath.settings", "The domain imports nothing of allpath"),
        # Storage importing the engine from a module not on the ignore list, and knowledge importing the engine.
        ("storage/accounts.py", "from allpath.engine import assess", "Layers:"),
        ("knowledge/lint.py", "from allpath.engine import explain", "Layers:"),
        # One interface importing another's internals: the web app the JSON API's, CDS Hooks the web app's.
        ("interfaces/web/forms/fields.py", "from allpath.interfaces.api import schemas", "do not import each other"),
        ("interfaces/cds/routes.py", "from allpath.interfaces.web import pages", "do not import each other"),
        # The HTTP kernel importing an interface above it, a translator the composition root.
        ("interfaces/http/deps.py", "from allpath.interfaces.api import schemas", "Interfaces: CLI, launcher"),
        ("interfaces/report/blocks.py", "from allpath.interfaces import app", "Interfaces: CLI, launcher"),
        # An interface reaching past the application layer: a route to storage, a translator to the engine.
        ("interfaces/web/routes/admin.py", "from allpath.storage import users", "import neither the engine nor"),
        ("interfaces/report/family.py", "from allpath.engine import explain", "import neither the engine nor"),
    ],
)
def test_a_planted_wrong_way_import_fails(tmp_path: Path, module: str, planted: str, broken_contract: str) -> None:
    _plant(_copy_of_the_package(tmp_path) / module, planted)
    completed = _lint_imports(tmp_path)
    assert completed.returncode != 0, completed.stdout
    assert "Broken contracts" in completed.stdout, completed.stdout
    report = completed.stdout.split("Broken contracts", 1)[1]
    assert broken_contract in report, completed.stdout
    words = planted.split()
    target = f"{words[1]}.{words[3]}" if words[0] == "from" else words[1]
    importer = "allpath." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {target}" in report, completed.stdout


def test_an_ignored_import_that_is_gone_fails_until_its_ignore_line_goes(tmp_path: Path) -> None:
    """The ignore lists only shrink: an ignore line whose import is gone (here one that storage no longer has
    since issue 11: it ran the engine) fails the check until the line goes too."""
    _copy_of_the_package(tmp_path)
    contracts = configparser.ConfigParser()
    contracts.read(CONTRACTS, encoding="utf-8")
    contracts["importlinter:contract:layers"]["ignore_imports"] = "\nallpath.storage.patients -> allpath.engine.diff"
    contracts["importlinter:contract:layers"]["unmatched_ignore_imports_alerting"] = "error"
    with_stale_line = tmp_path / "contracts.ini"
    with with_stale_line.open("w", encoding="utf-8") as out:
        contracts.write(out)
    completed = _lint_imports(tmp_path, with_stale_line)
    assert completed.returncode != 0, completed.stdout
    assert "No matches for ignored import allpath.storage.patients -> allpath.engine.diff" in (
        completed.stdout + completed.stderr
    )


def test_the_domain_contract_forbids_every_other_top_level_module() -> None:
    """A new top-level package of allpath is forbidden to the domain too, or this test asks for it to be listed."""
    contracts = configparser.ConfigParser()
    contracts.read(CONTRACTS, encoding="utf-8")
    forbidden = set(contracts["importlinter:contract:domain-stands-alone"]["forbidden_modules"].split())
    top_level = {f"allpath.{module.name}" for module in pkgutil.iter_modules([str(PACKAGE)])}
    assert forbidden == top_level - {"allpath.domain", "allpath.errors"}
