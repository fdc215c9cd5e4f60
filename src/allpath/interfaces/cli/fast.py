"""The fast start of the commonest command: ``allpath assess FILE`` with valid records, answered without typer.

Typer (0.29, with its own click and a pydantic adapter for every parameter) costs ``allpath assess`` about
0.09 s of CPU before the command runs, a sixth of its start (README.md, Performance). So ``main`` first offers
the command line to ``answered``: when it is exactly ``assess FILE`` with, in any order, at most one ``--format``
(or ``-f``) naming a format and at most one ``--lang en``, and the file holds valid JSON with valid records, the
records are assessed and written here, by the same functions as the typer command
(``assess_output.write_assessments``), with the same exit statuses. Anything else (another command, ``--help``,
``--format=json``, standard input, another language, a file that cannot be read, a record with a problem, a shell
completion request) is declined before anything is written, and the typer command line runs as it always did:
its messages and exit statuses stay the only ones.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from allpath.interfaces.cli.assess_output import DEFAULT_LANGUAGE, OutputFormat, write_assessments

if TYPE_CHECKING:
    from allpath.domain.record_model import PatientRecord

_FORMATS = {f.value: f for f in OutputFormat}
_COMPLETION_VARIABLE = "_ALLPATH_COMPLETE"  # click's shell completion request: the typer command line answers it


def answered(args: list[str]) -> bool:
    """Whether ``args`` (the command line after the program name) was answered here; False when nothing was done
    and the typer command line must run."""
    request = _request(args)
    if request is None or _COMPLETION_VARIABLE in os.environ:
        return False
    file, output_format = request
    read = _valid_records(file)
    if read is None:
        return False
    records, many = read
    _run(records, output_format, many)
    return True


def _request(args: list[str]) -> tuple[str, OutputFormat] | None:
    """The file and format of ``assess FILE [--format F | -f F] [--lang en]``; None for any other command line."""
    if not args or args[0] != "assess":
        return None
    file: str | None = None
    output_format: OutputFormat | None = None
    lang: str | None = None
    rest = iter(args[1:])
    for token in rest:
        if token in ("--format", "-f") and output_format is None:
            output_format = _FORMATS.get(next(rest, ""))
            if output_format is None:
                return None
        elif token == "--lang" and lang is None:
            lang = next(rest, "")
            if lang != DEFAULT_LANGUAGE:
                return None
        elif token.startswith("-") or file is not None:
            return None  # another option, standard input ('-'), '--', a repeated option or a second file
        else:
            file = token
    return None if file is None else (file, output_format or OutputFormat.json)


def _valid_records(file: str) -> tuple[list[PatientRecord], bool] | None:
    """The valid records of ``file`` and whether it holds an array; None when the typer command must say why not
    (it reads the file again and names each problem, as it always did)."""
    from allpath.domain.record import parse_record
    from allpath.interfaces.json_text import decode_utf8, loads_strict

    try:
        data = loads_strict(decode_utf8(Path(file).read_bytes()))
        return [parse_record(raw) for raw in (data if isinstance(data, list) else [data])], isinstance(data, list)
    except Exception:  # noqa: BLE001  (nothing is written yet: the typer command meets the same problem and says it)
        return None


def _run(records: list[PatientRecord], output_format: OutputFormat, many: bool) -> None:
    """Write the assessments, ending as typer's command line ends on an interruption or a closed pipe."""
    try:
        write_assessments(records, output_format, DEFAULT_LANGUAGE, many=many)
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper  # typer 0.29 carries its own click

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
