"""What every command shares: reading a JSON input, checking a record, writing the output, saying a problem.

A problem with the input is one line on standard error (``allpath: invalid input: ...``) and exit status 2;
nothing is written to standard output then. A value outside an option's choices is said the same way, for every
command at once (``PlainRefusalGroup``), instead of typer's boxed library message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click import Context as CommandContext  # typer 0.29 carries its own click
from typer.core import TyperGroup

if TYPE_CHECKING:
    from allpath.domain.record_model import PatientRecord

EXIT_INVALID_INPUT = 2
EXIT_CHECK_FAILED = 1

FileArgument = Annotated[
    str, typer.Argument(metavar="FILE|-", help="One patient record (JSON object); '-' reads standard input.")
]


def say_invalid(message: str) -> None:
    """One line on standard error: a field name or value from the input may hold line breaks or other
    control characters, shown as "?" so that each problem stays on its own line."""
    plain = "".join(c if c.isprintable() else "?" for c in message)
    typer.echo(f"allpath: invalid input: {plain}", err=True)


def fail_input(message: str) -> typer.Exit:
    """Say the problem and give the exit to raise (status 2)."""
    say_invalid(message)
    return typer.Exit(EXIT_INVALID_INPUT)


def choice_refusal(option: str, value: object, choices: Iterable[str]) -> str:
    """The refusal of a value outside an option's choices, in plain words: the option, the value as given (when
    known) and the choices, e.g. "--format: 'xml' is not a format allpath writes; choose json or text." """
    names = list(choices)
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
    what = "a format allpath writes" if option.endswith("format") else "one allpath offers"
    given = f"'{value}' is not {what}" if isinstance(value, str) else f"this is not {what}"
    return f"{option}: {given}; choose {listed}."


class PlainRefusalGroup(TyperGroup):
    """The root command group: a value outside a choice option's choices (an Enum or Literal option), in any
    command below it, is refused in plain words naming the option (exit 2) rather than by typer's message, which
    is a pydantic one ("Value error, 'xml' is not one of ...") in a box. One place for every command, so a new
    choice option is covered without code of its own."""

    def invoke(self, ctx: CommandContext) -> object:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            refusal = _choice_refusal_of(error)
            if refusal is None:
                raise
            raise fail_input(refusal) from None


def _choice_refusal_of(error: typer.BadParameter) -> str | None:
    """The plain refusal when ``error`` refuses a choice option's value; None for any other bad parameter. The
    value given is the input of the validation error typer raised it from (pydantic, in typer 0.29)."""
    descriptor = getattr(error.param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None)
    if error.param is None or not choices:
        return None
    from pydantic import ValidationError

    option = max(error.param.opts, key=len)
    cause = error.__cause__
    problems = cause.errors() if isinstance(cause, ValidationError) else []
    value = problems[0].get("input") if problems else None
    return choice_refusal(option, value, [str(getattr(choice, "value", choice)) for choice in choices])


def shown_name(path: object) -> str:
    """A file or folder name in a message, in single quotes as it was given: not Python's quoting, which turns
    to double quotes around an apostrophe and doubles a backslash (control characters become "?" on the way
    out, in ``say_invalid``)."""
    return f"'{path}'"


def source_name(source: str) -> str:
    return "standard input" if source == "-" else shown_name(source)


def read_input(source: str, what: str = "record", expected: str | None = None) -> object:
    """The JSON value of a file or of standard input (``-``); exit 2 naming ``what`` when it is not strict JSON
    (and, for anything but a record, the file too): not UTF-8, empty, invalid, NaN or Infinity, a number
    beyond a float, a lone surrogate, nested too deeply (``allpath.interfaces.json_text``)."""
    from allpath.interfaces.json_text import JSONTextError, decode_utf8, loads_strict

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise fail_input(
            f"FILE: {shown_name(source)} does not exist; expected a JSON file or '-' for standard input"
        ) from None
    except IsADirectoryError:
        raise fail_input(
            f"FILE: {shown_name(source)} is a folder; expected a JSON file or '-' for standard input"
        ) from None
    except PermissionError:
        raise fail_input(
            f"FILE: {shown_name(source)} cannot be read (permission denied); expected a readable JSON file"
        ) from None
    except OSError:
        raise fail_input(f"FILE: {shown_name(source)} cannot be read; expected a readable JSON file") from None
    try:
        value: object = loads_strict(decode_utf8(data))
    except JSONTextError as error:
        named = f"{source_name(source)} is " if what != "record" else ""
        raise fail_input(
            f"{what}: {named}not valid JSON ({error.reason}); "
            f"expected {expected or 'one patient record object or an array of them'}"
        ) from None
    return value


def checked_record(
    source: str, overrides: Mapping[str, object] | None = None
) -> tuple[dict[str, object], PatientRecord]:
    """The record as given (a JSON object) and as validated (``PatientRecord``); exit 2 naming each field
    otherwise. ``overrides`` replace its fields before validation, so that a value given on the command line is
    checked like the record's own."""
    from allpath.domain.record import parse_record
    from allpath.errors import RecordError

    data = read_input(source)
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else type(data).__name__
        raise fail_input(f"record: expected one patient record (a JSON object); got {kind}")
    given: dict[str, object] = {**data, **(overrides or {})}
    try:
        return given, parse_record(given)
    except RecordError as error:
        for problem in error.problems:
            say_invalid(problem.message(with_key=True))
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def one_record(source: str, overrides: Mapping[str, object] | None = None) -> PatientRecord:
    """Read and validate one record, as ``checked_record``."""
    return checked_record(source, overrides)[1]


def iso_day(value: str, option: str) -> date:
    """The date an option gives (YYYY-MM-DD within the record's date limits); exit 2 naming the option otherwise."""
    from allpath.domain import limits

    try:
        day = date.fromisoformat(value) if len(value) == 10 and value[4] == value[7] == "-" else None
    except ValueError:
        day = None
    if day is None or not limits.EARLIEST_DATE <= day <= limits.LATEST_DATE:
        raise fail_input(
            f"{option}: {value!r} is not allowed; expected an ISO date (YYYY-MM-DD) from "
            f"{limits.EARLIEST_DATE} to {limits.LATEST_DATE}"
        )
    return day


def emit(text: str | bytes, out: Path | None) -> None:
    """Write the output to standard output, or to ``out`` (bytes as they are: an iCalendar file has CRLF)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as error:
        raise fail_input(f"-o: {shown_name(out)} cannot be written ({error.__class__.__name__})") from None
