"""``allpath roadmap``, ``doses`` and ``survivorship``: the treatment views of one record, as JSON or text
(and the roadmap as an iCalendar file)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from allpath.interfaces.cli.assess import DEFAULT_LANGUAGE, LanguageOption
from allpath.interfaces.cli.console import FileArgument, emit, fail_input, iso_day, one_record

if TYPE_CHECKING:
    from allpath.service.records import DosesView, RoadmapView, SurvivorshipView


class TreatmentFormat(StrEnum):
    json = "json"
    text = "text"


class RoadmapFormat(StrEnum):
    json = "json"
    text = "text"
    ics = "ics"


def _json_text(view: RoadmapView | DosesView | SurvivorshipView) -> str:
    """A view as the JSON output: record id, the result, the knowledge and engine versions that made it."""
    return json.dumps(view, indent=2, ensure_ascii=False) + "\n"


def roadmap(
    file: FileArgument,
    start: Annotated[
        str | None,
        typer.Option(help="First day of treatment (YYYY-MM-DD); overrides the record's treatment_start_date."),
    ] = None,
    output_format: Annotated[
        RoadmapFormat,
        typer.Option("--format", "-f", help="json for software; text for a readable table; ics for a calendar."),
    ] = RoadmapFormat.json,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead.")] = None,
    lang: LanguageOption = DEFAULT_LANGUAGE,
) -> None:
    """The treatment roadmap: regimen, phases with dates, checkpoints, end of therapy (dates assume no delays)."""
    from allpath.interfaces.i18n import use_locale
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import record_roadmap

    overrides = {"treatment_start_date": iso_day(start, "--start").isoformat()} if start is not None else None
    record = one_record(file, overrides)
    if output_format is RoadmapFormat.json:
        emit(_json_text(record_roadmap(load_knowledge(), record)), output)
        return
    result = record_roadmap(load_knowledge(locale=lang), record)
    with use_locale(lang):
        if output_format is RoadmapFormat.ics:
            from allpath.interfaces.ics import CalendarError, roadmap_to_ics

            try:
                emit(roadmap_to_ics(result, record_id=record.id), output)
            except CalendarError as error:
                raise fail_input(str(error)) from None
        else:
            from allpath.interfaces.cli.text import roadmap_text

            emit(roadmap_text(record.id, result), output)


def doses(
    file: FileArgument,
    phase: Annotated[str, typer.Option(help="The phase of the regimen, e.g. induction, consolidation, maintenance.")],
    regimen: Annotated[
        str | None, typer.Option(help="A regimen of the knowledge base (default: the child's regimen).")
    ] = None,
    weight_kg: Annotated[
        float | None, typer.Option("--weight-kg", help="Today's weight in kg (default: the record's).")
    ] = None,
    height_cm: Annotated[
        float | None, typer.Option("--height-cm", help="Today's height in cm (default: the record's).")
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(help="The day of the doses (YYYY-MM-DD), for age-based doses (default: the phase's start)."),
    ] = None,
    output_format: Annotated[
        TreatmentFormat, typer.Option("--format", "-f", help="json for software; text for one line per drug.")
    ] = TreatmentFormat.json,
) -> None:
    """The doses of one phase for this child: body surface area, each drug's dose, caps, thiopurine adjustments.

    A missing or implausible weight or height refuses the calculation (exit 2); a line that cannot be
    calculated (for example a thiopurine without TPMT and NUDT15 results) is shown as NOT CALCULATED.
    """
    # No --lang: each dose line is worded by the engine in English with English numbers ("1,757 IU"), and a
    # dose list that mixed them with Spanish numbers ("4,2 años") could be misread. The doses stay English.
    from allpath.errors import InputError
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import record_doses

    day = iso_day(on, "--on") if on is not None else None
    record = one_record(file)
    try:
        result = record_doses(
            load_knowledge(),
            record,
            phase,
            regimen=regimen,
            weight_kg=weight_kg,
            height_cm=height_cm,
            on=day,
        )
    except InputError as error:  # the doses cannot be calculated: the input that is needed, named
        message = error.message
        if error.field == "regimen" and regimen is None:
            # The application layer asks for a regimen in general words; the command line names its option.
            message = message.replace("; name one (", "; name one with --regimen (", 1)
        raise fail_input(f"{error.field}: {message}") from None
    if output_format is TreatmentFormat.text:
        from allpath.interfaces.cli.text import doses_text

        emit(doses_text(record.id, result), None)
    else:
        emit(_json_text(result), None)


def survivorship(
    file: FileArgument,
    output_format: Annotated[
        TreatmentFormat, typer.Option("--format", "-f", help="json for software; text for a readable plan.")
    ] = TreatmentFormat.json,
    lang: LanguageOption = DEFAULT_LANGUAGE,
) -> None:
    """The survivorship plan: exposures (recorded, or planned by the roadmap), late effects and follow-up."""
    from allpath.interfaces.i18n import use_locale
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import record_survivorship

    record = one_record(file)
    text = output_format is TreatmentFormat.text
    result = record_survivorship(load_knowledge(locale=lang if text else "en"), record)
    if text:
        from allpath.interfaces.cli.text import survivorship_text

        with use_locale(lang):
            emit(survivorship_text(record.id, result), None)
    else:
        emit(_json_text(result), None)
