"""The ``allpath`` command line.

Exit status: 0 on success; 2 on invalid input (the message on standard error names the field, the
value and what is allowed, and nothing is written to standard output); 1 when a knowledge-base check
fails.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from allpath import __version__
from allpath.interfaces.cli_users import users_app

app = typer.Typer(
    help="allpath: a cited care pathway for childhood ALL. Decision support for clinicians, not a prescription.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect and check the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
fhir_app = typer.Typer(
    help="FHIR R4: import a Bundle as a patient record, export a record and its plan.", no_args_is_help=True
)
app.add_typer(fhir_app, name="fhir")
app.add_typer(users_app, name="users")

EXIT_INVALID_INPUT = 2
EXIT_CHECK_FAILED = 1


class OutputFormat(StrEnum):
    json = "json"
    text = "text"
    markdown = "markdown"
    summary = "summary"


def _say_invalid(message: str) -> None:
    """One line on standard error: a field name or value from the input may hold line breaks or other
    control characters, shown as "?" so that each problem stays on its own line."""
    plain = "".join(c if c.isprintable() else "?" for c in message)
    typer.echo(f"allpath: invalid input: {plain}", err=True)


def _fail_input(message: str) -> typer.Exit:
    _say_invalid(message)
    return typer.Exit(EXIT_INVALID_INPUT)


def _read_input(source: str, what: str = "record", expected: str | None = None) -> Any:
    """The JSON value of a file or of standard input (``-``); exit 2 naming ``what`` when it is not strict JSON
    (and, for anything but a record, the file too): not UTF-8, empty, invalid, NaN or Infinity, a number
    beyond a float, a lone surrogate, nested too deeply (``allpath.interfaces.json_text``)."""
    from allpath.interfaces.json_text import JSONTextError, decode_utf8, loads_strict

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise _fail_input(f"FILE: {source!r} does not exist; expected a JSON file or '-' for standard input") from None
    except IsADirectoryError:
        raise _fail_input(f"FILE: {source!r} is a folder; expected a JSON file or '-' for standard input") from None
    except PermissionError:
        raise _fail_input(
            f"FILE: {source!r} cannot be read (permission denied); expected a readable JSON file"
        ) from None
    except OSError:
        raise _fail_input(f"FILE: {source!r} cannot be read; expected a readable JSON file") from None
    try:
        return loads_strict(decode_utf8(data))
    except JSONTextError as error:
        named = f"{_source_name(source)} is " if what != "record" else ""
        raise _fail_input(
            f"{what}: {named}not valid JSON ({error.reason}); "
            f"expected {expected or 'one patient record object or an array of them'}"
        ) from None


def _progress_wanted(count: int) -> bool:
    return count > 1 and sys.stderr.isatty() and os.environ.get("CI") != "true"


@app.command()
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
) -> None:
    """Assess patient records: disease state, risk groups, populations, plan, each with its source."""
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess as assess_record
    from allpath.errors import RecordError
    from allpath.knowledge.loader import load_knowledge

    data = _read_input(file)
    many = isinstance(data, list)
    raw_records = data if many else [data]
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
            _say_invalid(line)
        raise typer.Exit(EXIT_INVALID_INPUT)

    kb = load_knowledge()
    results = (assess_record(r, kb) for r in _with_progress(records))
    # Each assessment is written as soon as it is made: a cohort never sits in memory as a whole.
    if output_format is OutputFormat.json:
        _write_json(results, many)
    elif output_format is OutputFormat.summary:
        from allpath.interfaces.summary import summary_row, summary_table

        rows, disclaimer = [], ""
        for index, result in enumerate(results):
            rows.append(summary_row(index, result))
            disclaimer = result["disclaimer"]
        sys.stdout.write(summary_table(rows, disclaimer))
    else:
        from allpath.engine.roadmap import build_roadmap
        from allpath.interfaces.report import build_blocks, render_markdown, render_text

        render = render_markdown if output_format is OutputFormat.markdown else render_text
        separator = "\n---\n\n" if output_format is OutputFormat.markdown else "\n" + "=" * 88 + "\n\n"
        for index, (record, result) in enumerate(zip(records, results, strict=True)):
            # The roadmap gives the report how long treatment lasts (the report shows no dates).
            roadmap = build_roadmap(record, result, kb)
            sys.stdout.write((separator if index else "") + render(build_blocks(result, kb, roadmap=roadmap)))


def _with_progress(records: list[Any]) -> Iterator[Any]:
    if not _progress_wanted(len(records)):
        return iter(records)
    from rich.progress import track

    return iter(track(records, description="Assessing", console=_stderr_console()))


def _write_json(results: Iterator[dict[str, Any]], many: bool) -> None:
    """One record: indented JSON. An array: a JSON array with one compact assessment per line, which
    keeps a cohort's output small and line-oriented (each line is one patient) while staying one JSON value."""
    out = sys.stdout
    if not many:
        out.write(json.dumps(next(results), indent=2, ensure_ascii=False) + "\n")
        return
    first = True
    for result in results:
        out.write(("[\n" if first else ",\n") + json.dumps(result, ensure_ascii=False, separators=(",", ":")))
        first = False
    out.write("[]\n" if first else "\n]\n")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


# ---- Treatment: roadmap, doses, survivorship ------------------------------------------------------------

TEXT_WIDTH = 88


class TreatmentFormat(StrEnum):
    json = "json"
    text = "text"


class RoadmapFormat(StrEnum):
    json = "json"
    text = "text"
    ics = "ics"


FileArgument = Annotated[
    str, typer.Argument(metavar="FILE|-", help="One patient record (JSON object); '-' reads standard input.")
]


def _one_record(source: str, overrides: dict[str, Any] | None = None) -> Any:
    """Read and validate one record (exit 2 naming each field otherwise); ``overrides`` replace its fields
    before validation, so that a value given on the command line is checked like the record's own."""
    return _checked_record(source, overrides)[1]


def _checked_record(source: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """The record as given (a JSON object) and as validated (``PatientRecord``); exit 2 as ``_one_record``."""
    from allpath.domain.record import parse_record
    from allpath.errors import RecordError

    data = _read_input(source)
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else type(data).__name__
        raise _fail_input(f"record: expected one patient record (a JSON object); got {kind}")
    data = {**data, **(overrides or {})}
    try:
        return data, parse_record(data)
    except RecordError as error:
        for problem in error.problems:
            _say_invalid(problem.message(with_key=True))
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def _iso_day(value: str, option: str) -> Any:
    from datetime import date

    from allpath.domain import limits

    try:
        day = date.fromisoformat(value) if len(value) == 10 and value[4] == value[7] == "-" else None
    except ValueError:
        day = None
    if day is None or not limits.EARLIEST_DATE <= day <= limits.LATEST_DATE:
        raise _fail_input(
            f"{option}: {value!r} is not allowed; expected an ISO date (YYYY-MM-DD) from "
            f"{limits.EARLIEST_DATE} to {limits.LATEST_DATE}"
        )
    return day


def _emit(text: str | bytes, out: Path | None) -> None:
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
        raise _fail_input(f"-o: {str(out)!r} cannot be written ({error.__class__.__name__})") from None


def _versioned(record_id: str | None, result: dict[str, Any], kb: Any) -> dict[str, Any]:
    return {"record_id": record_id, **result, "knowledge_version": kb.version, "engine_version": __version__}


def _roadmap_for(record: Any, kb: Any) -> dict[str, Any]:
    from allpath.engine.assess import assess as assess_record
    from allpath.engine.roadmap import build_roadmap

    return build_roadmap(record, assess_record(record, kb), kb)


@app.command()
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

    overrides = {"treatment_start_date": _iso_day(start, "--start").isoformat()} if start is not None else None
    record = _one_record(file, overrides)
    kb = load_knowledge()
    result = _roadmap_for(record, kb)
    if output_format is RoadmapFormat.ics:
        from allpath.interfaces.ics import CalendarError, roadmap_to_ics

        try:
            _emit(roadmap_to_ics(result, record_id=record.id), output)
        except CalendarError as error:
            raise _fail_input(str(error)) from None
    elif output_format is RoadmapFormat.text:
        _emit(_roadmap_text(record.id, result), output)
    else:
        _emit(json.dumps(_versioned(record.id, result, kb), indent=2, ensure_ascii=False) + "\n", output)


@app.command()
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

    day = _iso_day(on, "--on") if on is not None else None
    record = _one_record(file)
    kb = load_knowledge()
    planned = _roadmap_for(record, kb)
    if regimen is None:
        if planned["regimen"] is None:
            known = ", ".join(r.id for r in kb.therapy.regimens.regimens)
            why = "; ".join(r for r in planned["not_covered"] if r) or (
                "the regimen is not known until these inputs are known: " + ", ".join(planned["missing"])
            )
            raise _fail_input(f"regimen: there is no regimen for this child ({why}); name one with --regimen ({known})")
        regimen = str(planned["regimen"]["id"])
    if day is None and planned["regimen"] is not None and planned["regimen"]["id"] == regimen:
        start = next((p["start"] for p in planned["phases"] if p["id"] == phase), None)
        day = date.fromisoformat(start) if start else None
    try:
        result = phase_doses(record, kb, regimen, phase, weight_kg=weight_kg, height_cm=height_cm, on=day)
    except DoseError as error:
        raise _fail_input(f"{error.field}: {error.message}") from None
    if output_format is TreatmentFormat.text:
        _emit(_doses_text(record.id, result), None)
    else:
        _emit(json.dumps(_versioned(record.id, result, kb), indent=2, ensure_ascii=False) + "\n", None)


@app.command()
def survivorship(
    file: FileArgument,
    output_format: Annotated[
        TreatmentFormat, typer.Option("--format", "-f", help="json for software; text for a readable plan.")
    ] = TreatmentFormat.json,
) -> None:
    """The survivorship plan: exposures (recorded, or planned by the roadmap), late effects and follow-up."""
    from allpath.engine.survivorship import survivorship_plan
    from allpath.knowledge.loader import load_knowledge

    record = _one_record(file)
    kb = load_knowledge()
    result = survivorship_plan(record, kb, _roadmap_for(record, kb))
    if output_format is TreatmentFormat.text:
        _emit(_survivorship_text(record.id, result), None)
    else:
        _emit(json.dumps(_versioned(record.id, result, kb), indent=2, ensure_ascii=False) + "\n", None)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text, TEXT_WIDTH, initial_indent=indent if first is None else first, subsequent_indent=indent
    ) or [""]


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join([*(str(c).ljust(w) for c, w in zip(row, widths, strict=False)), str(row[-1])]).rstrip()

    return [line(header), line(tuple("-" * len(h) for h in header)), *(line(r) for r in rows)]


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _record_title(kind: str, record_id: str | None) -> str:
    return f"{kind} for record {record_id}" if record_id else kind


def _roadmap_text(record_id: str | None, result: dict[str, Any]) -> str:
    lines = [_record_title("Treatment roadmap", record_id), ""]
    regimen = result["regimen"]
    if regimen is None:
        lines.append("No roadmap for this child.")
        for reason in result["not_covered"]:
            lines += _wrap(reason, "  ", "- ")
        if result["missing"]:
            lines += _wrap("Waiting for: " + ", ".join(result["missing"]))
    else:
        lines += _wrap(f"Regimen: {regimen['label']} [{regimen['id']}]")
        lines += _wrap(f"Source: {regimen['source']['section']}")
        if result["provisional"]:
            waiting = [m for m in result["missing"] if m != "treatment_start_date"]
            lines += _wrap(
                "Provisional: the regimen may still change" + (f" ({', '.join(waiting)})." if waiting else ".")
            )
        if result["start_date"]:
            lines += [f"First day of treatment: {result['start_date']} (dates assume no delays)"]
        else:
            lines += _wrap("No dates: give the first day of treatment (treatment_start_date or --start).")
        lines += ["", "Phases"]
        rows: list[tuple[str, ...]] = []
        for phase in result["phases"]:
            length = f"{phase['weeks']:g} weeks" if phase["weeks"] else ""
            if phase["cycle_weeks"]:
                length = f"{phase['cycle_weeks']:g}-week cycles" + (
                    f" (about {phase['cycles']})" if phase.get("cycles") else ""
                )
            if phase["until"] == "total_duration":
                length += (", " if length else "") + "until the end of therapy"
            if not phase["length_known"]:
                length = "not given in the sources"
            rows.append((phase["label"], phase["start"] or "-", phase["end"] or "-", phase["confidence"], length))
        lines += _table(("phase", "start", "end", "confidence", "length"), rows)
        bases = [p for p in result["phases"] if p["length_basis"]]
        for phase in bases:
            lines += _wrap(f"{phase['label']}: {phase['length_basis']}.", "  ", "* ")
        lines += ["", "Checkpoints"]
        checkpoints: list[tuple[str, ...]] = [
            (c["date"] or "-", c["label"], "recorded" if c["result_known"] else "to do") for c in result["checkpoints"]
        ]
        lines += _table(("date", "test", "result"), checkpoints)
        end = result["end_of_therapy"]
        lines += [""]
        lines += _wrap(f"End of therapy: {end['date'] or 'not dated'}. {end['rule']}")
    for note in result["notes"]:
        lines += [""] + _wrap(f"Note ({note['confidence']} confidence): {note['text']}")
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


def _dose_amount(line: dict[str, Any]) -> str:
    unit = line["unit"]
    if line["dose_range"] and line["dose"] is None:
        low, high = line["dose_range"]
        return f"{_number(low)} to {_number(high)} {unit}"
    return f"{_number(line['dose'])} {unit}"


def _doses_text(record_id: str | None, result: dict[str, Any]) -> str:
    bsa = result["body_surface_area"]
    lines = [
        _record_title("Doses", record_id),
        "",
        *_wrap(f"Regimen {result['regimen']}, phase: {result['phase_label']} [{result['phase']}]"),
        f"Body surface area: {bsa['m2']} m2 ({bsa['formula']}; weight {_number(result['weight_kg'])} kg, "
        f"height {_number(result['height_cm'])} cm)",
    ]
    if result["age_years"] is not None:
        lines.append(f"Age: {result['age_years']} years ({result['age_basis']})")
    lines.append("")
    if not result["lines"]:
        lines += _wrap("No doses: the knowledge base lists no drugs for this phase (not covered by its sources).")
    for line in result["lines"]:
        name = f"{line['label']} ({_words(line['route'])})"
        if line["status"] == "refused":
            from allpath.domain.labels import field_label

            unnamed = [field_label(m) for m in line["missing"] if m not in line["refusal"]]
            missing = f" (missing: {', '.join(unnamed)})" if unnamed else ""
            lines += _wrap(f"{name}: NOT CALCULATED: {line['refusal']}{missing}", "    ", "- ")
            continue
        # The engine words each line ("5.3 mg per dose, three times a week instead of every day."): its
        # text, never the frequency token.
        amount = str(line.get("text") or f"{_dose_amount(line)} {line['per']}; {line['schedule']}").rstrip(".")
        lines += _wrap(
            f"{name}: {amount}. Basis {line['basis']}; {line['confidence']} confidence.",
            "    ",
            "- ",
        )
        if line["cap"] is not None:
            capped = "CAPPED: " if line["capped"] else ""
            lines += _wrap(
                f"{capped}cap {_number(line['cap'])} {line['unit']} per dose. {line.get('cap_explanation') or ''}",
                "    ",
                "    ",
            )
        if line["adjustment"]:
            adjustment = line["adjustment"]
            lines += _wrap(f"TPMT/NUDT15 adjustment: {adjustment['explanation']}", "    ", "    ")
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


BASIS_WORDS = {
    "recorded": "the treatment recorded as given",
    "planned": "the treatment planned by the roadmap",
    "none": "no treatment known (no exposures recorded and no roadmap)",
}


def _survivorship_text(record_id: str | None, result: dict[str, Any]) -> str:
    exposures = result["exposures"]
    lines = [_record_title("Survivorship plan", record_id), ""]
    lines += _wrap(f"Based on: {BASIS_WORDS.get(result['basis'], result['basis'])}.")
    lines.append(f"End of therapy: {result['end_of_therapy_date'] or 'not known'}")
    total = exposures["doxorubicin_equivalent_mg_per_m2"]
    parts = ", ".join(
        f"{a['drug']} {_number(a['mg_per_m2'])} mg/m2 x {_number(a['factor'])}" for a in exposures["anthracyclines"]
    )
    lines += _wrap(f"Anthracyclines: {_number(total)} mg/m2 doxorubicin equivalent" + (f" ({parts})" if parts else ""))
    for alternative in exposures["alternative_factors"]:
        change = "would change" if alternative["changes_surveillance"] else "would not change"
        lines += _wrap(
            f"with {alternative['label']}: {_number(alternative['doxorubicin_equivalent_mg_per_m2'])} mg/m2, "
            f"which {change} the heart surveillance",
            "    ",
            "  - ",
        )
    lines.append(
        f"Radiation: chest {_number(exposures['chest_radiation_gy'])} Gy, "
        f"cranial {_number(exposures['cranial_radiation_gy'])} Gy"
    )
    if exposures["drugs"]:
        lines += _wrap("Medicines: " + ", ".join(exposures["drugs"]))
    lines += ["", "Follow-up"]
    for item in result["items"]:
        head = f"{item['late_effect']}"
        if item["not_covered"]:
            detail = "NOT COVERED: " + item["explanation"]
        else:
            test = item["test"] or "no test"
            when = f" every {_number(item['interval_years'])} years" if item["interval_years"] else ""
            detail = f"{test}{when}"
            if item["strength"]:
                detail += f" ({item['strength']})"
            start = item["start"]
            if start:
                dates = [f"not before {start['not_before']}"] if start.get("not_before") else []
                if start.get("no_later_than"):
                    dates.append(f"no later than {start['no_later_than']}")
                detail += f"; {start['rule']}" + (f" ({', '.join(dates)})" if dates else "")
            if item["schedule_not_covered"]:
                detail += "; schedule not covered"
            detail += f". {item['explanation']}"
        # A not-covered item claims nothing, so it shows no confidence.
        tail = "" if item["not_covered"] else f" [{item['confidence']} confidence]"
        lines += _wrap(f"{head}: {detail}{tail}", "    ", "- ")
    if result["not_covered"]:
        lines += ["", "Not covered"]
        for entry in result["not_covered"]:
            lines += _wrap(entry["text"], "    ", "- ")
    if result["provisional"]:
        lines += ["", *_wrap("Provisional, waiting for: " + ", ".join(result["missing"]))]
    for note in result["notes"]:
        lines += ["", *_wrap(note)]
    lines += ["", *_wrap(result["disclaimer"]), ""]
    return "\n".join(lines)


# ---- FHIR: import a Bundle, export a record -------------------------------------------------------------


class ImportFormat(StrEnum):
    json = "json"
    record = "record"


class ExportKind(StrEnum):
    bundle = "bundle"
    risk = "risk"
    careplan = "careplan"
    roadmap = "roadmap"
    survivorship = "survivorship"
    second_opinion = "second-opinion"


BUNDLE_EXPECTED = "a FHIR R4 Bundle (a JSON object with resourceType Bundle)"


def _source_name(source: str) -> str:
    return "standard input" if source == "-" else repr(source)


def _bundle_problem(data: Any, source: str) -> str | None:
    """Why ``data`` is not a Bundle that the importer can read (None when it is one)."""
    from allpath.domain.record import FIELD_NAMES

    where = _source_name(source)
    if not isinstance(data, dict):
        got = "an array" if isinstance(data, list) else type(data).__name__
        return f"bundle: {where} is not a FHIR Bundle (got {got}); expected {BUNDLE_EXPECTED}"
    resource_type = data.get("resourceType")
    if resource_type == "Bundle":
        if data.get("entry") is not None and not isinstance(data["entry"], list):
            return f"bundle.entry: in {where} it is not a list; expected a list of Bundle entries"
        return None
    if resource_type is None:
        hint = ""
        if set(data) & set(FIELD_NAMES):
            hint = "; this looks like a patient record: `allpath fhir export` turns one into a Bundle"
        return f"bundle: {where} is not a FHIR Bundle (no resourceType); expected {BUNDLE_EXPECTED}{hint}"
    return (
        f"bundle: {where} is not a FHIR Bundle (resourceType {resource_type!r}); expected {BUNDLE_EXPECTED}; "
        "a single resource can be imported inside a collection Bundle"
    )


@fhir_app.command("import")
def fhir_import(
    file: Annotated[str, typer.Argument(metavar="BUNDLE|-", help="A FHIR R4 Bundle (JSON); '-' reads standard input.")],
    output_format: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            "-f",
            help="json: the record with where each field came from (mapped), what was not used and why (ignored) "
            "and the fields whose sources disagree (conflicts); record: the patient record alone.",
        ),
    ] = ImportFormat.json,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead.")] = None,
) -> None:
    """Read a FHIR R4 Bundle into a patient record v1. Nothing is guessed: sources that disagree are left out."""
    from allpath.interfaces.fhir import import_bundle

    data = _read_input(file, "bundle", BUNDLE_EXPECTED)
    problem = _bundle_problem(data, file)
    if problem is not None:
        raise _fail_input(problem)
    result = import_bundle(data)
    value = result.record if output_format is ImportFormat.record else result.as_dict()
    _emit(json.dumps(value, indent=2, ensure_ascii=False) + "\n", output)


@fhir_app.command("export")
def fhir_export(
    file: FileArgument,
    kind: Annotated[
        ExportKind,
        typer.Option(
            "--kind",
            "-k",
            help="bundle: the record as a collection Bundle; risk: the risk assessment Observation (mCODE); "
            "careplan: the plan as a CarePlan; roadmap and survivorship: those CarePlans; second-opinion: all of "
            "it in one Bundle.",
        ),
    ] = ExportKind.bundle,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead.")] = None,
) -> None:
    """Write a patient record as FHIR R4 JSON: the record, the assessment, the plan or the second-opinion package.

    Single resources refer to the Patient and Condition of the record's own Bundle (the same urn:uuid URLs).
    """
    from allpath.interfaces.fhir import (
        care_plan,
        patient_references,
        record_to_bundle,
        risk_observation,
        roadmap_care_plan,
        survivorship_care_plan,
    )
    from allpath.interfaces.fhir.exporter import second_opinion_bundle
    from allpath.interfaces.fhir.package import treatment_views
    from allpath.knowledge.loader import load_knowledge

    raw, _ = _checked_record(file)
    patient, condition = patient_references(raw)
    value: dict[str, Any]
    if kind is ExportKind.bundle:
        value = record_to_bundle(raw)
    else:
        assessment, planned, survivorship_plan = treatment_views(raw, load_knowledge())
        if kind is ExportKind.risk:
            value = risk_observation(assessment, patient, condition)
        elif kind is ExportKind.careplan:
            value = care_plan(assessment, patient, condition)
        elif kind is ExportKind.roadmap:
            value = roadmap_care_plan(planned, patient, condition)
        elif kind is ExportKind.survivorship:
            value = survivorship_care_plan(survivorship_plan, patient, condition)
        else:
            value = second_opinion_bundle(raw, assessment, survivorship=survivorship_plan, roadmap=planned)
    _emit(json.dumps(value, indent=2, ensure_ascii=False) + "\n", output)


@kb_app.command("lint")
def kb_lint(
    sources: Annotated[
        list[Path] | None,
        typer.Option("--sources", help="A folder holding the source documents, to verify their sha256 and headings."),
    ] = None,
) -> None:
    """Check the knowledge base: schema, citations, unique ids, nothing unused."""
    from allpath.errors import KnowledgeError
    from allpath.knowledge.lint import lint
    from allpath.knowledge.loader import load_knowledge

    try:
        kb = load_knowledge()
    except KnowledgeError as problem:
        typer.echo(f"allpath kb lint: {problem}", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    report = lint(kb, sources)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for message in report.errors:
        typer.echo(f"error: {message}", err=True)
    verified = ", ".join(report.documents_verified) or "none (pass --sources to verify the documents)"
    typer.echo(
        f"knowledge {kb.version}: {report.citations_checked} citations checked, "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s); documents verified: {verified}"
    )
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


@kb_app.command("grid")
def kb_grid(
    absent: Annotated[
        bool, typer.Option("--absent", help="Anchor records with every subset of the risk inputs removed.")
    ] = False,
) -> None:
    """Print every combination of boundary values of the risk inputs and the groups they give (CSV)."""
    from allpath.engine.grid import absent_grid_csv, complete_grid_csv
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge()
    sys.stdout.write(absent_grid_csv(kb) if absent else complete_grid_csv(kb))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Add demo accounts and the bundled example patients.")] = False,
) -> None:
    """Run the web application and JSON API (SQLite in ALLPATH_DATA_DIR unless ALLPATH_DATABASE_URL is set).

    The address is printed once the service answers on it; a port in use is exit status 1.
    """
    from allpath.interfaces.serving import ListenError, address_shown, listening_socket, run_service
    from allpath.knowledge.loader import load_knowledge
    from allpath.settings import load_settings
    from allpath.storage.db import make_engine, migrate, session_factory

    try:
        sock = listening_socket(host, port)  # first: a port in use is told before any work
    except ListenError as problem:
        typer.echo(f"allpath serve: {problem}", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    try:
        settings = load_settings()
        from allpath.interfaces.cds import configuration_warnings

        try:  # CDS Hooks enabled but unusable (no ALLPATH_CDS_BASE_URL): said here; the rest is served
            for warning in configuration_warnings(settings):
                typer.echo(f"allpath serve: warning: {warning}", err=True)
        except ValueError as problem:  # a CDS setting that cannot work (it names the setting)
            typer.echo(f"allpath serve: {problem}", err=True)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        engine = make_engine(settings.database_url)
        migrate(engine)  # once, before any worker starts
        if demo:
            from allpath.storage.demo import seed_demo

            examples = Path(__file__).resolve().parents[3] / "examples"
            accounts = seed_demo(session_factory(engine), load_knowledge(), examples)
            typer.echo("Demo accounts (local demo only):")
            for role, username, password in accounts:
                typer.echo(f"  {role:<11} {username:<12} {password}")
        engine.dispose()
        address = address_shown(sock)

        def announce() -> None:
            typer.echo(f"allpath is running at {address}  (API description: {address}api/docs)")

        started = run_service(sock, workers, announce, settings.trusted_proxies)
    except ModuleNotFoundError as missing:  # an installation without a runtime dependency
        typer.echo(f"allpath serve: the package {missing.name} is not installed; reinstall allpath", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    if not started:
        typer.echo("allpath serve: the service did not start (see the messages above)", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"allpath {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """allpath command line."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
