"""``allpath fhir import`` and ``fhir export``: a FHIR R4 Bundle in, a record and its plan out as FHIR R4 JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from allpath.interfaces.cli.console import FileArgument, checked_record, emit, fail_input, read_input, source_name


class ImportFormat(StrEnum):
    json = "json"
    record = "record"
    report = "report"


class ExportKind(StrEnum):
    bundle = "bundle"
    risk = "risk"
    careplan = "careplan"
    roadmap = "roadmap"
    survivorship = "survivorship"
    second_opinion = "second-opinion"


BUNDLE_EXPECTED = "a FHIR R4 Bundle (a JSON object with resourceType Bundle)"


def _bundle_problem(data: object, source: str) -> str | None:
    """Why ``data`` is not a Bundle that the importer can read (None when it is one)."""
    from allpath.domain.record_model import FIELD_NAMES

    where = source_name(source)
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


def fhir_import(
    file: Annotated[str, typer.Argument(metavar="BUNDLE|-", help="A FHIR R4 Bundle (JSON); '-' reads standard input.")],
    output_format: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            "-f",
            help="json: the record with where each field came from (mapped), what was not used and why (ignored) "
            "the fields whose sources disagree (conflicts) and the values known only as bounds, e.g. '> 500' "
            "(bounds, left out of the record), with the date of each value, why it was chosen and what the "
            "choice by time assumed (assumptions); record: the patient record alone; report: the same account "
            "in plain words, for a person to read.",
        ),
    ] = ImportFormat.json,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead.")] = None,
) -> None:
    """Read a FHIR R4 Bundle into a patient record v1. Nothing is guessed: sources that disagree are left out."""
    from allpath.interfaces.fhir import import_bundle

    data = read_input(file, "bundle", BUNDLE_EXPECTED)
    problem = _bundle_problem(data, file)
    if problem is not None:
        raise fail_input(problem)
    result = import_bundle(data)
    if output_format is ImportFormat.report:
        emit(_report(result.as_dict()), output)
        return
    value = result.record if output_format is ImportFormat.record else result.as_dict()
    emit(json.dumps(value, indent=2, ensure_ascii=False) + "\n", output)


def _lines(items: object) -> list[dict[str, object]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _report(answer: dict[str, object]) -> str:
    """The import's account in plain words: what it assumed, each field with its source, date and why, the
    fields left out because their sources disagree, and what was not used and why."""
    from allpath.domain.labels import field_label

    def label(name: object) -> str:
        return field_label(str(name))

    out: list[str] = []
    assumptions = answer.get("assumptions")
    if isinstance(assumptions, list) and assumptions:
        out.append("What the import assumed (check before using the record):")
        out += [f"  - {a}" for a in assumptions]
    mapped = _lines(answer.get("mapped"))
    out.append(
        f"Fields of the record ({len({str(m['field']) for m in mapped})}):" if mapped else "No field of the record."
    )
    for m in mapped:
        when = f", dated {m['date']}" if m.get("date") else ""
        why = f": {m['why']}" if m.get("why") else ""
        out.append(f"  - {label(m['field'])}, from {m['from']}{when}{why}")
    for conflict in _lines(answer.get("conflicts")):
        out.append(f"Left out, the sources disagree: {label(conflict['field'])} ({conflict['resolution']})")
    for bound in _lines(answer.get("bounds")):
        out.append(f"Known only as a bound, left out: {bound.get('text', bound.get('field'))}")
    ignored = _lines(answer.get("ignored"))
    if ignored:
        out.append(f"Not used ({len(ignored)}):")
        out += [f"  - {i['resource']}: {i['reason']}" for i in ignored]
    return "\n".join(out) + "\n"


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
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import record_package

    raw, _ = checked_record(file)
    patient, condition = patient_references(raw)
    value: dict[str, object]
    if kind is ExportKind.bundle:
        value = record_to_bundle(raw)
    else:
        package = record_package(load_knowledge(), raw)
        assessment, planned, survivorship_plan = package.assessment, package.roadmap, package.survivorship
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
    emit(json.dumps(value, indent=2, ensure_ascii=False) + "\n", output)
