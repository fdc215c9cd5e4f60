"""``allpath cohort assess``, ``generate`` and ``outcomes`` (issue 15): each on the examples and on a generated
cohort, a bad row reported while the run completes, the answers equal to the columnar stratifier's, progress only
on a terminal, exit status 2 naming the option."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from allpath.engine.columnar import compile_stratifier
from allpath.interfaces.cli import app
from allpath.interfaces.cli import cohort as cohort_cli
from allpath.interfaces.cohort import read_cohort
from allpath.knowledge.loader import load_knowledge
from allpath.service.cohort.assess import ANSWER_COLUMNS
from allpath.service.cohort.synthetic_files import is_synthetic
from tests.conftest import EXAMPLES

runner = CliRunner()
KB = load_knowledge()
ROWS = 2_000


def _stratified(source: Path) -> pl.DataFrame:
    """``compile_stratifier(kb).stratify`` of the same records, read whole."""
    tables = [batch.table for batch in read_cohort(source)]
    return compile_stratifier(KB).stratify(pa.concat_tables(tables)).select(ANSWER_COLUMNS)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    done = runner.invoke(app, ["cohort", "generate", "--rows", str(ROWS), "--seed", "7", "--out", str(folder)])
    assert done.exit_code == 0, done.output
    assert f"Wrote {ROWS:,} SYNTHETIC records (seed 7)" in done.stdout
    return folder


def test_assess_the_examples_equals_the_stratifier(tmp_path: Path) -> None:
    out = tmp_path / "answers.parquet"
    done = runner.invoke(app, ["cohort", "assess", str(EXAMPLES / "all.json"), "--out", str(out), "--batch-rows", "7"])
    assert done.exit_code == 0, done.output
    assert_frame_equal(pl.DataFrame(pl.from_arrow(pq.read_table(out))), _stratified(EXAMPLES / "all.json"))
    examples = len(json.loads((EXAMPLES / "all.json").read_text(encoding="utf-8")))
    assert f"Read {examples:,} rows: {examples:,} assessed, 0 refused." in done.stdout
    assert f"Knowledge version: {KB.version}." in done.stdout
    assert str(tmp_path / "answers.problems.csv") in done.stdout  # the problems file's default place
    assert (tmp_path / "answers.problems.csv").read_text(encoding="utf-8").strip() == "row,id,field,value,allowed"
    assert done.stderr == ""  # no progress bar when standard error is not a terminal


def test_generate_labels_the_cohort_synthetic_and_assess_reads_it(generated: Path, tmp_path: Path) -> None:
    records = generated / "cohort.parquet"
    assert is_synthetic(records) and is_synthetic(generated / "outcomes.parquet")
    assert pq.read_metadata(records).num_rows == ROWS
    out = tmp_path / "answers.jsonl"
    done = runner.invoke(app, ["cohort", "assess", str(records), "--out", str(out), "--batch-rows", "500"])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == _stratified(records).to_dicts()
    assert f"Read {ROWS:,} rows: {ROWS:,} assessed, 0 refused." in done.stdout


def test_generate_json_lines(tmp_path: Path) -> None:
    done = runner.invoke(app, ["cohort", "generate", "--rows", "10", "--out", str(tmp_path), "--format", "jsonl"])
    assert done.exit_code == 0, done.output
    records = (tmp_path / "cohort.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records) == 10 and all(json.loads(line)["id"].startswith("SYNTHETIC-") for line in records)
    assert all(json.loads(line)["synthetic"] is True for line in (tmp_path / "outcomes.jsonl").read_text().splitlines())


def _csv_with_one_bad_row(path: Path) -> Path:
    rows = ["id,sex,age_years,wbc_per_ul,immunophenotype"]
    rows += [f"p{i},female,{2 + i % 10},{10_000 + i},B" for i in range(1, 40)]
    rows[20] = "p20,female,5,-3,B"  # row 20: a white count below zero
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_bad_row_is_reported_in_the_problems_file_and_the_run_completes(tmp_path: Path) -> None:
    source = _csv_with_one_bad_row(tmp_path / "cohort.csv")
    out, problems = tmp_path / "answers.csv", tmp_path / "bad.csv"
    args = ["cohort", "assess", str(source), "--out", str(out), "--problems", str(problems), "--batch-rows", "8"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Read 39 rows: 38 assessed, 1 refused." in done.stdout
    assert f"Problems of refused rows (1): {problems}" in done.stdout
    with problems.open(encoding="utf-8", newline="") as stream:
        (problem,) = list(csv.DictReader(stream))
    assert (problem["row"], problem["field"], float(problem["value"])) == ("20", "wbc_per_ul", -3)
    assert problem["allowed"]
    with out.open(encoding="utf-8", newline="") as stream:
        answered = [int(row["row"]) for row in csv.DictReader(stream)]
    assert answered == [row for row in range(1, 40) if row != 20]


@pytest.mark.parametrize(("name", "fmt"), [("a.parquet", None), ("a.csv", None), ("a.jsonl", None), ("a", "csv")])
def test_the_format_comes_from_the_option_or_the_name(tmp_path: Path, name: str, fmt: str | None) -> None:
    args = ["cohort", "assess", str(EXAMPLES / "all.json"), "--out", str(tmp_path / name)]
    done = runner.invoke(app, args + (["--format", fmt] if fmt else []))
    assert done.exit_code == 0, done.output
    assert f"Answers ({fmt or name.split('.')[1]})" in done.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["missing.json", "--out", "a.parquet"], "INPUT"),
        (["{examples}", "--out", "a.txt"], "--format"),
        (["{examples}", "--out", "a.parquet", "--format", "xlsx"], "--format"),
        (["{examples}", "--out", "a.parquet", "--batch-rows", "0"], "--batch-rows"),
        (["{examples}", "--out", "a.parquet", "--engine", "elsewhere"], "--engine"),
        (["{examples}", "--out", "a.parquet", "--knowledge", "{tmp}"], "--knowledge"),
        (["{not_parquet}", "--out", "a.parquet"], "INPUT"),
        (["{examples}", "--out", "{tmp}/no/such/folder/a.parquet"], "--out"),
    ],
)
def test_a_bad_option_or_unreadable_input_exits_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], named: str
) -> None:
    monkeypatch.chdir(tmp_path)  # the relative --out names stay in this test's folder
    (tmp_path / "fake.parquet").write_text("not parquet", encoding="utf-8")
    values = {
        "examples": str(EXAMPLES / "all.json"),
        "tmp": str(tmp_path),
        "not_parquet": str(tmp_path / "fake.parquet"),
    }
    done = runner.invoke(app, ["cohort", "assess", *(arg.format(**values) for arg in args)])
    assert done.exit_code == 2, done.output
    assert named in done.stderr
    assert "Traceback" not in done.output


def test_a_file_that_cannot_be_used_is_named_by_its_option(tmp_path: Path) -> None:
    """Reading the input and writing the outputs fail the same way (OSError): the file named says which."""
    source = tmp_path / "export"
    unread = PermissionError(13, "Permission denied", str(source / "Patient.ndjson"))
    assert cohort_cli._file_problem(unread, source) == (
        f"INPUT: {str(source / 'Patient.ndjson')!r} cannot be read (Permission denied)"
    )
    full = OSError(28, "No space left on device", str(tmp_path / "a.parquet"))
    assert cohort_cli._file_problem(full, source).startswith("--out / --problems: ")


def test_the_smallest_batch_is_accepted(tmp_path: Path) -> None:
    args = ["cohort", "assess", str(EXAMPLES / "all.json"), "--out", str(tmp_path / "a.parquet"), "--batch-rows", "1"]
    assert runner.invoke(app, args).exit_code == 0


def test_progress_only_on_a_terminal_and_without_quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert cohort_cli.show_progress(quiet=False) is True
    assert cohort_cli.show_progress(quiet=True) is False
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert cohort_cli.show_progress(quiet=False) is False


def test_the_progress_bar_counts_rows_per_second_on_standard_error(
    monkeypatch: pytest.MonkeyPatch, generated: Path, tmp_path: Path
) -> None:
    monkeypatch.setattr(cohort_cli, "show_progress", lambda quiet: not quiet)  # as on a terminal
    args = ["cohort", "assess", str(generated / "cohort.parquet"), "--out", str(tmp_path / "a.parquet")]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert f"{ROWS:,} rows" in done.stderr and "rows/s" in done.stderr
    assert "rows/s" not in done.stdout  # the summary stays clean
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def _no_constant(name: str) -> object:
    raise AssertionError(f"{name} is not JSON")


def test_outcomes_as_text_and_plots(generated: Path, tmp_path: Path) -> None:
    args = ["cohort", "outcomes", str(generated / "cohort.parquet"), "--outcomes", str(generated / "outcomes.parquet")]
    done = runner.invoke(app, [*args, "--plots", str(tmp_path / "png"), "--at", "2", "--at", "5"])
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert text.startswith(f"Synthetic cohort: outcomes by risk_group (knowledge version {KB.version}).")
    assert f"{ROWS:,} records with an outcome; 0 without one" in text
    for title in ("Event-free survival", "Overall survival", "Cumulative incidence of relapse", "death in remission"):
        assert title in text
    assert "at 2 years" in text and "at 5 years" in text and "Log-rank test, all groups" in text
    names = ["event_free_survival", "overall_survival", "relapse_incidence", "death_in_remission_incidence"]
    for name in names:
        assert (tmp_path / "png" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    svg = runner.invoke(app, [*args, "--plots", str(tmp_path / "svg"), "--plot-format", "svg", "--format", "json"])
    assert svg.exit_code == 0, svg.output
    assert (tmp_path / "svg" / "overall_survival.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    document = json.loads(svg.stdout, parse_constant=_no_constant)  # strict JSON: no NaN
    assert document["synthetic"] is True and document["group_by"] == "risk_group"
    assert sum(group["children"] for group in document["event_free_survival"]) == ROWS
    assert document["event_free_log_rank"]["degrees_of_freedom"] == len(document["event_free_survival"]) - 1
    assert [value["years"] for value in document["overall_survival"][0]["at"]] == [1.0, 3.0, 5.0]
    assert len(document["plots"]) == 4


def test_outcomes_by_a_record_column_and_its_errors(generated: Path, tmp_path: Path) -> None:
    cohort = str(generated / "cohort.parquet")
    done = runner.invoke(
        app,
        [
            "cohort",
            "outcomes",
            cohort,
            "--outcomes",
            str(generated / "outcomes.parquet"),
            "--group-by",
            "sex",
            "-f",
            "json",
        ],
    )
    assert done.exit_code == 0, done.output
    assert {group["group"] for group in json.loads(done.stdout)["overall_survival"]} == {"female", "male"}
    missing = runner.invoke(app, ["cohort", "outcomes", cohort, "--outcomes", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 2 and "--outcomes" in missing.stderr
    unrelated = runner.invoke(
        app, ["cohort", "outcomes", str(EXAMPLES / "all.json"), "--outcomes", str(generated / "outcomes.parquet")]
    )
    assert unrelated.exit_code == 0  # the examples' rows 1..27 have outcome rows: joined by row number
    wrong = runner.invoke(app, ["cohort", "outcomes", cohort, "--outcomes", cohort])
    assert wrong.exit_code == 2 and "--outcomes" in wrong.stderr


@pytest.mark.slow
def test_a_bad_row_in_a_million_rows_is_reported_and_the_run_completes(tmp_path: Path) -> None:
    """Issue 15's acceptance through the command: one bad row among 1,000,000 generated ones."""
    import pyarrow.compute as pc

    from allpath.domain.cohort_table import TABLE_SCHEMA
    from allpath.service.cohort.synthetic import generate

    rows, bad_row = 1_000_000, 765_432
    source = tmp_path / "cohort.parquet"
    with pq.ParquetWriter(source, TABLE_SCHEMA) as writer:
        for block in generate(rows, 3):
            records = block.records
            is_bad = pc.equal(records.column("row"), pa.scalar(bad_row, pa.int64()))
            wbc = pc.if_else(is_bad, pa.scalar(-1.0), records.column("wbc_per_ul"))
            writer.write_table(records.set_column(records.schema.get_field_index("wbc_per_ul"), "wbc_per_ul", wbc))
    out = tmp_path / "answers.parquet"
    done = runner.invoke(app, ["cohort", "assess", str(source), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"Read {rows:,} rows: {rows - 1:,} assessed, 1 refused." in done.stdout
    with (tmp_path / "answers.problems.csv").open(encoding="utf-8", newline="") as stream:
        (problem,) = list(csv.DictReader(stream))
    assert (int(problem["row"]), problem["field"]) == (bad_row, "wbc_per_ul")
    answered = pq.read_table(out, columns=["row"]).column("row")
    assert answered.length() == rows - 1 and bad_row not in set(answered.slice(bad_row - 2, 3).to_pylist())
