"""The knowledge-base commands and the report formats of the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from allpath import __version__
from allpath.interfaces.cli import app
from tests.conftest import EXAMPLES, GOLDEN, optional_shared

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"allpath {__version__}"


def test_kb_lint_is_clean_and_verifies_documents_when_given() -> None:
    args = ["kb", "lint"]
    shared = optional_shared()
    if shared is not None:
        args += ["--sources", str(shared / "source"), "--sources", str(shared)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "0 error(s)" in result.stdout
    if shared is not None:
        assert "documents verified: pdq, facts" in result.stdout


def test_kb_grid_prints_the_committed_grid() -> None:
    result = runner.invoke(app, ["kb", "grid", "--absent"])
    assert result.exit_code == 0
    assert result.stdout == (GOLDEN / "risk_grid_absent.csv").read_text(encoding="utf-8")


def test_text_report_carries_the_disclaimer_and_plain_words() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLES / "standard_risk.json"), "--format", "text"])
    assert result.exit_code == 0
    assert "not a prescription" in result.stdout
    assert "standard risk" in result.stdout
    assert "Words used in this report" in result.stdout


def test_summary_has_one_line_per_record() -> None:
    records = json.loads((EXAMPLES / "all.json").read_text(encoding="utf-8"))
    result = runner.invoke(app, ["assess", str(EXAMPLES / "all.json"), "--format", "summary"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("record")
    body = lines[2 : 2 + len(records)]
    assert [line.split()[0] for line in body] == [r["id"] for r in records]


def test_an_array_gives_one_json_assessment_per_line_and_no_progress_bar_when_not_a_terminal() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLES / "all.json")])
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "[" and lines[-1] == "]"
    assert len(json.loads(result.stdout)) == len(lines) - 2
