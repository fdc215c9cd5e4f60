"""A value outside a choice option's choices is refused in plain words, on every command.

The options are found by walking the typer app (every command of every group), so a choice option added later is
covered by these tests without a line of its own. Each refusal names the option, quotes the value as given, lists
the choices, and exits with status 2, with nothing on standard output and none of typer's or pydantic's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.interfaces.cli.console import PlainRefusalGroup, choice_refusal

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "all.json"
LIBRARY_WORDS = re.compile(r"Value error|Invalid value|is not one of|Usage:|Try '|╭|Traceback|<enum|\w+Error")
runner = CliRunner()


@dataclass(frozen=True)
class ChoiceOption:
    command: tuple[str, ...]
    option: str
    choices: tuple[str, ...]

    def __str__(self) -> str:
        return f"{' '.join(self.command)} {self.option}"


def _choice_options(command: object, path: tuple[str, ...] = ()) -> list[ChoiceOption]:
    found: list[ChoiceOption] = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _choice_options(sub, (*path, name))
    for param in getattr(command, "params", []):
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        if param.param_type_name == "option" and choices:
            values = tuple(str(getattr(choice, "value", choice)) for choice in choices)
            found.append(ChoiceOption(path, max(param.opts, key=len), values))
    return found


CHOICE_OPTIONS = _choice_options(typer.main.get_command(app))


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}"


def test_the_walk_finds_the_choice_options_of_every_command_group() -> None:
    """Not a vacuous parametrization: the walk reaches top-level commands and those of the fhir, trials and
    cohort groups."""
    named = {str(found) for found in CHOICE_OPTIONS}
    assert {
        "assess --format",
        "roadmap --format",
        "fhir export --kind",
        "trials search --status",
        "cohort assess --engine",
        "cohort outcomes --group-by",
        "cohort diff --format",
    } <= named


@pytest.mark.parametrize("found", CHOICE_OPTIONS, ids=str)
def test_every_choice_option_refuses_an_unknown_value_in_plain_words(found: ChoiceOption) -> None:
    result = runner.invoke(app, [*found.command, found.option, "xml"])
    what = "a format allpath writes" if found.option.endswith("format") else "one allpath offers"
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"allpath: invalid input: {found.option}: 'xml' is not {what}; choose {_listed(found.choices)}.\n"
    )
    assert not LIBRARY_WORDS.search(result.stderr)


@pytest.mark.parametrize("found", CHOICE_OPTIONS, ids=str)
def test_choices_are_exact_a_capitalised_choice_is_refused(
    found: ChoiceOption, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boundary: a choice as listed is accepted by the option, the same word in capitals is not. (A command
    given no other argument may run: it runs in an empty folder with its own data folder.)"""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    refused = runner.invoke(app, [*found.command, found.option, found.choices[0].upper()])
    assert refused.exit_code == 2
    assert f"{found.option}: '{found.choices[0].upper()}' is not" in refused.stderr
    accepted = runner.invoke(app, [*found.command, found.option, found.choices[0]])
    assert f"{found.option}: '" not in accepted.stderr


def test_the_example_of_the_issue_word_for_word() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLE), "--format", "xml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "allpath: invalid input: --format: 'xml' is not a format allpath writes; "
        "choose json, text, markdown or summary.\n"
    )
    short = runner.invoke(app, ["cohort", "assess", str(EXAMPLE), "-f", "xml", "--out", "answers"])
    assert short.exit_code == 2
    assert short.stderr == (
        "allpath: invalid input: --format: 'xml' is not a format allpath writes; choose parquet, csv or jsonl.\n"
    )


def test_a_known_choice_still_runs_the_command() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(("{", "["))


def test_a_value_with_a_line_break_stays_on_one_line() -> None:
    result = runner.invoke(app, ["assess", str(EXAMPLE), "--format", "x\nml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "allpath: invalid input: --format: 'x?ml' is not a format allpath writes; "
        "choose json, text, markdown or summary.\n"
    )


def test_other_bad_values_are_left_to_their_own_refusal() -> None:
    """Only choice options are rephrased: a number option's refusal still exits 2 as before, not as a choice."""
    result = runner.invoke(app, ["cohort", "generate", "--rows", "many", "--out", "folder"])
    assert result.exit_code == 2
    assert "is not a format" not in result.stderr
    assert "choose" not in result.stderr


class Colour(Enum):
    red = "red"
    blue = "blue"


def test_a_new_command_with_enum_and_literal_choices_is_covered_without_code_of_its_own() -> None:
    extra = typer.Typer(cls=PlainRefusalGroup)

    @extra.command()
    def paint(
        colour: Annotated[Colour, typer.Option("--colour")] = Colour.red,
        finish: Annotated[Literal["matt", "gloss"], typer.Option("--finish")] = "matt",
    ) -> None:
        typer.echo(f"{colour.value} {finish}")

    @extra.command()
    def other() -> None:
        """A second command, so that paint is a subcommand as in allpath."""

    colour = runner.invoke(extra, ["paint", "--colour", "green"])
    assert (colour.exit_code, colour.stderr) == (
        2,
        "allpath: invalid input: --colour: 'green' is not one allpath offers; choose red or blue.\n",
    )
    finish = runner.invoke(extra, ["paint", "--finish", "satin"])
    assert (finish.exit_code, finish.stderr) == (
        2,
        "allpath: invalid input: --finish: 'satin' is not one allpath offers; choose matt or gloss.\n",
    )
    chosen = runner.invoke(extra, ["paint", "--colour", "blue", "--finish", "gloss"])
    assert (chosen.exit_code, chosen.stdout) == (0, "blue gloss\n")


@pytest.mark.parametrize(
    ("choices", "listed"),
    [(["json"], "json"), (["json", "text"], "json or text"), (["json", "text", "ics"], "json, text or ics")],
)
def test_the_choices_are_listed_as_in_a_sentence(choices: list[str], listed: str) -> None:
    assert choice_refusal("--format", "xml", choices).endswith(f"; choose {listed}.")


def test_a_value_not_known_is_not_invented() -> None:
    assert choice_refusal("--kind", None, ["a", "b"]) == "--kind: this is not one allpath offers; choose a or b."


@pytest.mark.parametrize("name", ["nope.csv", "it's.csv", "a\\b.csv"])
def test_file_names_are_quoted_as_given_not_as_python_writes_them(name: str, tmp_path: Path) -> None:
    """The cohort commands and the record commands say a missing file the same way: the name in single quotes as
    typed, even with an apostrophe (Python would switch to double quotes) or a backslash (Python doubles it)."""
    missing = tmp_path / name
    shown = f"'{missing}'"
    cohort = runner.invoke(app, ["cohort", "assess", str(missing), "--out", str(tmp_path / "answers.parquet")])
    assert (cohort.exit_code, cohort.stderr) == (
        2,
        f"allpath: invalid input: INPUT: {shown} does not exist; expected a cohort file or folder\n",
    )
    diff = runner.invoke(app, ["cohort", "diff", str(EXAMPLE), "--against", str(missing)])
    assert diff.exit_code == 2
    assert f"--against: {shown} is not a folder" in diff.stderr
    record = runner.invoke(app, ["assess", str(missing)])
    assert (record.exit_code, record.stderr) == (
        2,
        f"allpath: invalid input: FILE: {shown} does not exist; expected a JSON file or '-' for standard input\n",
    )
    outcomes = runner.invoke(app, ["cohort", "outcomes", str(EXAMPLE), "--outcomes", str(missing)])
    assert outcomes.exit_code == 2
    assert f"--outcomes: {shown} is not a file" in outcomes.stderr
    assert '"' not in cohort.stderr + diff.stderr + record.stderr + outcomes.stderr
    assert "\\\\" not in cohort.stderr + diff.stderr + record.stderr + outcomes.stderr
