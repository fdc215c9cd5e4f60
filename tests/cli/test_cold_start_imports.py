"""What ``allpath assess`` imports before it answers: only what an assessment needs (the CLI cold-start target of
README.md's Performance table, ``benchmarks/bench_cli.py``); and its fast start (``interfaces/cli/fast.py``, no
typer) answers exactly as the typer command line does.

Each command is run in a fresh interpreter with ``-X importtime``, whose report on standard error names every
module the process imported; a later change that brings a heavy module back into the start of ``assess`` (typer,
the web service, the database, the catalogs of the family pages) fails here, not silently in a benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "all.json"  # a cohort (a JSON array)
ONE = EXAMPLE.with_name("adolescent.json")

# Modules that answering ``allpath assess`` with JSON (in English, the default) does not need.
NOT_FOR_JSON = (
    "typer",  # the command line is parsed by interfaces/cli/fast.py when it is a plain ``assess FILE``
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


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "true"}  # CI: no progress bar
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=120, env=env)


def _imported(*args: str) -> set[str]:
    """The modules a fresh ``python -m allpath ARGS`` imports (its exit status 0 checked)."""
    done = _run("-X", "importtime", "-m", "allpath", *args)
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


def test_a_report_in_english_is_answered_without_typer_too() -> None:
    imported = _imported("assess", str(EXAMPLE), "-f", "markdown")
    assert "allpath.interfaces.report" in imported
    assert _found(imported, ("typer", "fastapi", "sqlalchemy")) == []


def test_any_other_command_line_goes_to_typer() -> None:
    assert "typer" in _imported("assess", str(EXAMPLE), "--format=json")
    assert "typer" in _imported("--version")


# The console script's entry point (fast start first) and the typer command line alone, named alike in messages.
ENTRY = "import sys; from allpath.interfaces.cli import main; sys.argv[0] = 'allpath'; main()"
TYPER_ONLY = "import sys; from allpath.interfaces.cli.app import main; sys.argv[0] = 'allpath'; main()"


@pytest.mark.parametrize(
    "args",
    [
        ("assess", str(EXAMPLE)),
        ("assess", str(ONE), "-f", "summary", "--lang", "en"),
        ("assess", "--format", "text", str(ONE)),
        ("assess", str(ONE), "--format", "xml"),  # refused by typer, in plain words
        ("assess", str(ONE), "--lang", "xx"),
        ("assess", "no-such-file.json"),
        ("assess", str(ONE), "-f", "json", "-f", "summary"),  # typer takes the last
        ("assess", str(ONE), str(ONE)),
    ],
)
def test_the_fast_start_answers_as_the_typer_command_line(args: tuple[str, ...], tmp_path: Path) -> None:
    fast = _run("-c", ENTRY, *args)
    typer = _run("-c", TYPER_ONLY, *args)
    assert (fast.returncode, fast.stdout, fast.stderr) == (typer.returncode, typer.stdout, typer.stderr)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ('{"age_years": -3}', 2),  # a record with a problem: typer's command names it
        ("{", 2),  # not JSON
        ("[]", 0),  # an empty cohort
    ],
)
def test_a_file_the_fast_start_declines_is_answered_by_typer(content: str, status: int, tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(content, encoding="utf-8")
    fast = _run("-c", ENTRY, "assess", str(path))
    typer = _run("-c", TYPER_ONLY, "assess", str(path))
    assert fast.returncode == status
    assert (fast.returncode, fast.stdout, fast.stderr) == (typer.returncode, typer.stdout, typer.stderr)


def test_the_fast_start_takes_only_a_plain_assess_command_line() -> None:
    from allpath.interfaces.cli.assess_output import OutputFormat
    from allpath.interfaces.cli.fast import _request

    assert _request(["assess", "a.json"]) == ("a.json", OutputFormat.json)
    assert _request(["assess", "-f", "text", "--lang", "en", "a.json"]) == ("a.json", OutputFormat.text)
    for declined in (
        [],
        ["roadmap", "a.json"],
        ["assess"],
        ["assess", "-"],
        ["assess", "a.json", "--help"],
        ["assess", "a.json", "--lang", "es"],
        ["assess", "a.json", "--format"],
        ["assess", "--", "a.json"],
        ["assess", "a.json", "--lang", "en", "--lang", "en"],
    ):
        assert _request(declined) is None, declined
