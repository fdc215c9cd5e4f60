"""What ``allpath assess`` imports before it answers: only what an assessment needs (the CLI cold-start target of
README.md's Performance table, ``benchmarks/bench_cli.py``).

Each command is run in a fresh interpreter with ``-X importtime``, whose report on standard error names every
module the process imported; a later change that brings a heavy module back into the start of ``assess`` (the
web service, the database, the catalogs of the family pages) fails here, not silently in a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "all.json"

# Modules that answering ``allpath assess`` with JSON (in English, the default) does not need.
NOT_FOR_JSON = (
    "allpath.interfaces.i18n",  # the gettext catalogs: only a text or Markdown report is in a language
    "babel",
    "jinja2",
    "fastapi",
    "starlette",
    "sqlalchemy",
    "allpath.storage",
    "allpath.interfaces.web",
    "allpath.interfaces.api",
    "polars",
    "lifelines",
    "matplotlib",
    "rich",  # the progress bar, shown only on a terminal
)


def _imported(*args: str) -> set[str]:
    """The modules a fresh ``python -m allpath ARGS`` imports (its exit status 0 checked)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "allpath", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CI": "true"},  # CI: no progress bar
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def _found(imported: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("extra", [(), ("--format", "json", "--lang", "en"), ("-f", "summary")])
def test_assess_in_json_or_summary_imports_nothing_it_does_not_use(extra: tuple[str, ...]) -> None:
    imported = _imported("assess", str(EXAMPLE), *extra)
    assert "allpath.engine.assess" in imported  # the report names modules (the check is not vacuous)
    assert _found(imported, NOT_FOR_JSON) == []


def test_a_report_in_another_language_still_reads_the_catalogs() -> None:
    """The other side: a family report in Spanish imports the catalogs it is written with."""
    imported = _imported("assess", str(EXAMPLE), "--format", "text", "--lang", "es")
    assert _found(imported, ("allpath.interfaces.i18n", "babel")) != []
