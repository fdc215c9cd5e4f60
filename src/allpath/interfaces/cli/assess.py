"""``allpath assess``: assess one record or a cohort and write JSON, a family report or a one-line summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from allpath.interfaces.cli.assess_output import DEFAULT_LANGUAGE, OutputFormat, write_assessments
from allpath.interfaces.cli.console import EXIT_INVALID_INPUT, read_input, say_invalid

if TYPE_CHECKING:
    from allpath.domain.record_model import PatientRecord

__all__ = ["DEFAULT_LANGUAGE", "LanguageOption", "OutputFormat", "assess"]


def _supported_language(value: str) -> str:
    """The language ``--lang`` names, spelled as allpath's catalog folder: English, or any language with a folder
    in ``allpath/locale`` (a third language is a folder, no code); exit 2 naming the languages otherwise.

    The default, English, is taken as it is: the catalogs (Babel, Jinja2) are not imported to check it, which is
    a tenth of a command's start (tests/cli/test_cold_start_imports.py)."""
    if value == DEFAULT_LANGUAGE:  # what ``supported`` answers for it: English is always first of the locales
        return value
    from allpath.interfaces.i18n import supported, supported_locales

    found = supported(value)
    if found is None:
        known = ", ".join(supported_locales())
        raise typer.BadParameter(f"{value!r} is not a language of allpath; expected one of: {known}")
    return found


LanguageOption = Annotated[
    str,
    typer.Option(
        "--lang",
        metavar="LANG",
        callback=_supported_language,
        help="The language of the text a person reads: en, es (or another language of allpath). JSON stays as is.",
    ),
]


def assess(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="A patient record (JSON object) or an array of them; '-' reads standard input.",
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="json for software; text or markdown for a family-readable report; summary for one line per record.",
        ),
    ] = OutputFormat.json,
    lang: LanguageOption = DEFAULT_LANGUAGE,
) -> None:
    """Assess patient records: disease state, risk groups, populations, plan, each with its source."""
    data = read_input(file)
    many = isinstance(data, list)
    write_assessments(_parsed_records(data if isinstance(data, list) else [data], many), output_format, lang, many=many)


def _parsed_records(raw_records: list[object], many: bool) -> list[PatientRecord]:
    """Every record validated; exit 2 naming each problem (and, in an array, the record's index) otherwise."""
    from allpath.domain.record import parse_record
    from allpath.errors import RecordError

    records = []
    problems: list[str] = []
    for index, raw in enumerate(raw_records):
        try:
            records.append(parse_record(raw))
        except RecordError as error:
            where = f"record {index}: " if many else ""
            problems.extend(where + p.message(with_key=True) for p in error.problems)
    if problems:
        for line in problems:
            say_invalid(line)
        raise typer.Exit(EXIT_INVALID_INPUT)
    return records
