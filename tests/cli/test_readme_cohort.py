"""The README's cohort sections, run as a new user would (issue 15): the ``allpath cohort`` lines of their code
blocks, exactly as written but on a small generated cohort, give what their comments and the text say; every
option the sections name exists with the choices they list, and every option of the commands is named there. So
the documentation cannot drift from the commands."""

from __future__ import annotations

import re
import shlex
import shutil
import typing
from enum import Enum
from pathlib import Path
from types import UnionType

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.interfaces.cli.cohort import cohort_app
from allpath.knowledge.loader import default_data_dir

README = Path(__file__).resolve().parents[2] / "README.md"
ROWS = 1_500  # instead of the README's 100,000: the same commands, in a few seconds
COMMANDS = ("generate", "assess", "outcomes", "diff")
runner = CliRunner()


def cohort_sections() -> str:
    """From "Registries and cohorts" to the next top-level section."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Registries and cohorts")
    return text[start : text.index("\n## ", start)]


def readme_commands() -> list[list[str]]:
    """The ``allpath cohort`` lines of the sections' shell blocks, split as a shell would (comments dropped)."""
    blocks = re.findall(r"```sh\n(.*?)```", cohort_sections(), flags=re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("allpath cohort ")]


def _small(command: list[str]) -> list[str]:
    return [str(ROWS) if before == "--rows" else word for before, word in zip(["", *command], command, strict=False)]


def _comment(subcommand: str) -> str:
    """The comment the README writes beside the line of this subcommand."""
    line = next(line for line in cohort_sections().splitlines() if line.startswith(f"allpath cohort {subcommand} "))
    return line.partition("#")[2].strip()


def test_the_sections_show_the_four_steps_in_order() -> None:
    assert [command[:2] for command in readme_commands()] == [["cohort", name] for name in COMMANDS]


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each README line run in a fresh folder, in the README's order: its output by subcommand."""
    folder = tmp_path_factory.mktemp("new_user")
    # The diff line's comment: my-knowledge/ is an edited copy of the bundled knowledge (here: unedited).
    shutil.copytree(default_data_dir(), folder / "my-knowledge")
    outputs: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("ALLPATH_KNOWLEDGE_CACHE", raising=False)
        for command in readme_commands():
            done = runner.invoke(app, _small(command))
            assert done.exit_code == 0, (command, done.output)
            outputs[command[1]] = done.output
        outputs["folder"] = str(folder)
    return outputs


def test_generate_writes_the_files_its_comment_names(walked: dict[str, str]) -> None:
    folder = Path(walked["folder"])
    named = re.findall(r"demo/[a-z]+\.parquet", _comment("generate"))
    assert named == ["demo/cohort.parquet", "demo/outcomes.parquet"]
    for name in named:
        assert (folder / name).is_file() and name in walked["generate"]
        assert pq.ParquetFile(folder / name).metadata.num_rows == ROWS
    assert "SYNTHETIC" in walked["generate"] and "not real patients" in walked["generate"]


def test_assess_ends_with_the_summary_the_text_describes(walked: dict[str, str]) -> None:
    folder = Path(walked["folder"])
    assert pq.ParquetFile(folder / "answers.parquet").metadata.num_rows == ROWS
    summary = walked["assess"]
    assert f"Read {ROWS:,} rows: {ROWS:,} assessed, 0 refused." in summary
    assert "Knowledge version: kb-" in summary and "answers.parquet" in summary
    assert "answers.problems.csv" in summary and (folder / "answers.problems.csv").is_file()  # <out>.problems.csv


@pytest.mark.parametrize("answers", ["registry.csv", "records.jsonl", "answers.parquet"])
def test_assess_writes_the_format_the_answers_name_says(walked: dict[str, str], answers: str) -> None:
    """The comment's other names: the answers' format comes from the name of --out."""
    folder = Path(walked["folder"])
    out = folder / "formats" / answers
    out.parent.mkdir(exist_ok=True)
    done = runner.invoke(app, ["cohort", "assess", str(folder / "demo" / "cohort.parquet"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"({out.suffix.lstrip('.')})" in done.output and out.is_file()


def test_outcomes_draws_the_four_curves_the_text_names(walked: dict[str, str]) -> None:
    drawn = re.search(r"`--plots` draws the four curves \(([^)]*)\)", " ".join(cohort_sections().split()))
    assert drawn is not None
    curves = re.findall(r"`([a-z_]+)`", drawn.group(1))
    assert len(curves) == 4
    plots = Path(walked["folder"]) / "plots"
    assert sorted(path.stem for path in plots.glob("*.png")) == sorted(curves)
    for heading in ("Event-free survival", "Overall survival", "Cumulative incidence of relapse", "Log-rank"):
        assert heading in walked["outcomes"]
    assert "Synthetic cohort" in walked["outcomes"]  # the synthetic label travels from generate to outcomes


def test_diff_with_an_unchanged_copy_moves_no_record(walked: dict[str, str]) -> None:
    report = walked["diff"]
    assert f"Knowledge change impact on {ROWS:,} records" in report
    moved = re.findall(r"\((\d+) moved\)", report)
    assert moved and set(moved) == {"0"}


def test_no_output_shows_python_or_a_library(walked: dict[str, str]) -> None:
    for name in COMMANDS:
        for sign in ("Traceback", "Error:", "{'", "PosixPath", "None", "nan"):
            assert sign not in walked[name], (name, sign)


def _documented_spans() -> dict[str, list[str]]:
    """The inline code of the sections that shows a cohort command with its options, whitespace made single."""
    spans: dict[str, list[str]] = {name: [] for name in COMMANDS}
    prose = re.sub(r"```.*?```", "", cohort_sections(), flags=re.DOTALL)
    for span in re.findall(r"`([^`]+)`", prose):
        found = re.match(r"(?:allpath )?cohort (\w+) ", span)
        if found and found.group(1) in spans and "--" in span:
            spans[found.group(1)].append(re.sub(r"\|\s+", "|", " ".join(span.split())))
    return spans


def _enum_values(callback: typing.Callable[..., None], parameter: str) -> set[str] | None:
    """The values of the enum an option of ``callback`` takes, or None when it takes no enum."""
    hint = typing.get_type_hints(callback, include_extras=True)[parameter]
    base = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
    kinds = typing.get_args(base) if isinstance(base, UnionType) else (base,)
    enum = next((kind for kind in kinds if isinstance(kind, type) and issubclass(kind, Enum)), None)
    return None if enum is None else {str(member.value) for member in enum}


@pytest.mark.parametrize("name", COMMANDS)
def test_the_options_named_are_the_commands_options(name: str) -> None:
    command = typer.main.get_command(cohort_app).commands[name]  # type: ignore[attr-defined]
    callback = next(info.callback for info in cohort_app.registered_commands if info.name == name)
    assert callback is not None
    options = {param.opts[0]: param.name for param in command.params if param.opts[0].startswith("--")}
    spans = _documented_spans()[name]
    assert spans, f"the README shows no options of cohort {name}"
    named = {option for span in spans for option in re.findall(r"--[a-z][a-z-]*", span)}
    assert named == set(options), f"cohort {name}: named in the README but missing, or an option left out"
    for span in spans:
        for option, listed in re.findall(r"(--[a-z][a-z-]*) \[?((?:[a-z_]+\|)+[a-z_]+)\b", span):
            assert set(listed.split("|")) == _enum_values(callback, options[option]), (name, option)


def test_a_p_value_too_small_for_a_float_is_said_plainly() -> None:
    """The README's 100,000-record walk gave "p = 0" for the risk groups' log-rank test: a p below the smallest
    float is 0.0. It is said as below 1e-300; the smallest positive float is still shown as a number."""
    from allpath.interfaces.cli.cohort_outcomes import _test_line

    def line(p: float, df: int = 2) -> str:
        return _test_line(
            "all", {"groups": ["high", "standard"], "chi_square": 1864.02, "degrees_of_freedom": df, "p_value": p}
        )

    assert line(0.0).endswith("chi-square 1864.02 on 2 degrees of freedom, p < 1e-300")
    assert line(0.0, df=1).endswith("chi-square 1864.02 on 1 degree of freedom, p < 1e-300")
    assert line(5e-324).endswith("p = 4.94e-324")
    assert line(4.71e-61).endswith("p = 4.71e-61")


def test_outcomes_shows_its_long_estimating_step(walked: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """After the stratifying bar, estimating the curves took half a minute of the README's 100,000-record walk with
    nothing on the screen: a spinner with the time taken now says what is going on (standard error only)."""
    from allpath.interfaces.cli import cohort as cohort_cli

    monkeypatch.setattr(cohort_cli, "show_progress", lambda quiet: not quiet)  # as on a terminal
    demo = Path(walked["folder"]) / "demo"
    args = ["cohort", "outcomes", str(demo / "cohort.parquet"), "--outcomes", str(demo / "outcomes.parquet")]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Stratifying" in done.stderr and "Estimating survival and relapse by group" in done.stderr
    assert "Estimating" not in done.stdout
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
