"""``allpath roadmap``, ``doses`` and ``survivorship``: the treatment views of one record, as JSON or text
(and the roadmap as an iCalendar file)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from allpath.interfaces.cli.console import FileArgument, emit, fail_input, iso_day, one_record

if TYPE_CHECKING:
    from allpath.domain.record import PatientRecord
    from allpath.knowledge.loader import KnowledgeBase


class TreatmentFormat(StrEnum):
    json = "json"
    text = "text"


class RoadmapFormat(StrEnum):
    json = "json"
    text = "text"
    ics = "ics"


def _json_text(record_id: str | None, result: dict[str, Any], kb: KnowledgeBase) -> str:
    from allpath import __version__

    versioned = {"record_id": record_id, **result, "knowledge_version": kb.version, "engine_version": __version__}
    return json.dumps(versioned, indent=2, ensure_ascii=False) + "\n"


def _roadmap_for(record: PatientRecord, kb: KnowledgeBase) -> dict[str, Any]:
    from allpath.engine.assess import assess as assess_record
    from allpath.engine.roadmap import build_roadmap

    return build_roadmap(record, assess_record(record, kb), kb)


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
) -> None:
    """The treatment roadmap: regimen, phases with dates, checkpoints, end of therapy (dates assume no delays)."""
    from allpath.knowledge.loader import load_knowledge

    overrides = {"treatment_start_date": iso_day(start, "--start").isoformat()} if start is not None else None
    record = one_record(file, overrides)
    kb = load_knowledge()
    result = _roadmap_for(record, kb)
    if output_format is RoadmapFormat.ics:
        from allpath.interfaces.ics import CalendarError, roadmap_to_ics

        try:
            emit(roadmap_to_ics(result, record_id=record.id), output)
        except CalendarError as error:
            raise fail_input(str(error)) from None
    elif output_format is RoadmapFormat.text:
        from allpath.interfaces.cli.text import roadmap_text

        emit(roadmap_text(record.id, result), output)
    else:
        emit(_json_text(record.id, result, kb), output)


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
    from datetime import date

    from allpath.engine.doses import DoseError, phase_doses
    from allpath.knowledge.loader import load_knowledge

    day = iso_day(on, "--on") if on is not None else None
    record = one_record(file)
    kb = load_knowledge()
    planned = _roadmap_for(record, kb)
    if regimen is None:
        if planned["regimen"] is None:
            known = ", ".join(r.id for r in kb.therapy.regimens.regimens)
            why = "; ".join(r for r in planned["not_covered"] if r) or (
                "the regimen is not known until these inputs are known: " + ", ".join(planned["missing"])
            )
            raise fail_input(f"regimen: there is no regimen for this child ({why}); name one with --regimen ({known})")
        regimen = str(planned["regimen"]["id"])
    if day is None and planned["regimen"] is not None and planned["regimen"]["id"] == regimen:
        start = next((p["start"] for p in planned["phases"] if p["id"] == phase), None)
        day = date.fromisoformat(start) if start else None
    try:
        result = phase_doses(record, kb, regimen, phase, weight_kg=weight_kg, height_cm=height_cm, on=day)
    except DoseError as error:
        raise fail_input(f"{error.field}: {error.message}") from None
    if output_format is TreatmentFormat.text:
        from allpath.interfaces.cli.text import doses_text

        emit(doses_text(record.id, result), None)
    else:
        emit(_json_text(record.id, result, kb), None)


def survivorship(
    file: FileArgument,
    output_format: Annotated[
        TreatmentFormat, typer.Option("--format", "-f", help="json for software; text for a readable plan.")
    ] = TreatmentFormat.json,
) -> None:
    """The survivorship plan: exposures (recorded, or planned by the roadmap), late effects and follow-up."""
    from allpath.engine.survivorship import survivorship_plan
    from allpath.knowledge.loader import load_knowledge

    record = one_record(file)
    kb = load_knowledge()
    result = survivorship_plan(record, kb, _roadmap_for(record, kb))
    if output_format is TreatmentFormat.text:
        from allpath.interfaces.cli.text import survivorship_text

        emit(survivorship_text(record.id, result), None)
    else:
        emit(_json_text(record.id, result, kb), None)
