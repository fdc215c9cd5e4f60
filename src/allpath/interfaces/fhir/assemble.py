"""From what the importer's readers found to a patient record v1: one value per field, chosen by time
(``timing``: nearest the diagnosis, by treatment time point, or the latest; values at the chosen time that
disagree leave the field out, as a conflict), lists deduplicated and ordered, nested fields grouped, and then
the record checked with ``parse_record``: a value the record contract does not allow is left out and reported
with the contract's message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from allpath.domain.record import parse_record
from allpath.domain.record_model import FIELD_NAMES
from allpath.errors import RecordError
from allpath.interfaces.fhir.findings import LIST_FIELDS, OBJECT_FIELDS, Findings, Found
from allpath.interfaces.fhir.timing import Placed, Placement, place


@dataclass
class ImportResult:
    """What ``import_bundle`` made of a Bundle."""

    record: dict[str, object]
    mapped: list[dict[str, str]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)  # what the choice by time assumed, for a person to check
    # Values given only as bounds ("> 500"): each field, comparator, value, source and words; never in the record.
    bounds: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "record": self.record,
            "mapped": self.mapped,
            "ignored": self.ignored,
            "conflicts": self.conflicts,
            "assumptions": self.assumptions,
            "bounds": self.bounds,
        }


def _values(found: list[Found]) -> list[dict[str, object]]:
    return [{"value": f.value, "from": f.source, **({"date": f.date} if f.date else {})} for f in found]


def _mapped(name: str, found: Found, why: str = "") -> dict[str, str]:
    """A field's source; with the resource's date and why it was chosen when there is one (new keys)."""
    entry = {"field": name, "from": found.source}
    if found.date:
        entry["date"] = found.date
    if why:
        entry["why"] = why
    return entry


def _left_out(name: str, placed: Placed, result: ImportResult) -> None:
    for f, reason in placed.left:
        result.ignored.append({"resource": f.source, "reason": reason, "field": name})


def _scalars(placement: Placement, result: ImportResult, flat: dict[str, object]) -> None:
    """One value per field (the one chosen by time); values at the chosen time that disagree are a conflict."""
    for name, placed in placement.scalars.items():
        _left_out(name, placed, result)
        values: list[object] = []
        for f in placed.chosen:
            if not any(type(v) is type(f.value) and v == f.value for v in values):
                values.append(f.value)
        if len(values) == 1:
            flat[name] = values[0]
            result.mapped.extend(_mapped(name, f, placed.why) for f in placed.chosen)
        elif values:
            when = f" ({placed.why})" if placed.why else ""
            result.conflicts.append(
                {
                    "field": name,
                    "values": _values(placed.chosen),
                    "resolution": "left out: the sources disagree, so allpath does not choose; enter it by hand" + when,
                }
            )


def _relapses(items: list[object]) -> list[object] | None:
    """The relapses in time order, one per time from diagnosis; None when two differ at the same time."""
    unique: dict[object, object] = {}
    for relapse in items:
        month = relapse.get("months_from_diagnosis") if isinstance(relapse, dict) else None
        if month in unique and unique[month] != relapse:
            return None
        unique.setdefault(month, relapse)
    return sorted(unique.values(), key=_months)


def _months(relapse: object) -> float:
    month = relapse.get("months_from_diagnosis") if isinstance(relapse, dict) else None
    return float(month) if isinstance(month, int | float) else 0.0


def _list_field(name: str, found: list[Found], empty: list[str], result: ImportResult) -> list[object] | None:
    """The items of one list field (None when it is left out as a conflict)."""
    if found and empty:
        result.conflicts.append(
            {
                "field": name,
                "values": _values(found) + [{"value": [], "from": source} for source in empty],
                "resolution": "left out: one source says the list is empty, others give items",
            }
        )
        return None
    items = [f.value for f in found]
    if name in ("genetics", "predisposition_syndromes"):
        return list(dict.fromkeys(items))
    if name == "relapses":
        ordered = _relapses(items)
        if ordered is None:
            result.conflicts.append(
                {
                    "field": name,
                    "values": _values(found),
                    "resolution": "left out: two different relapses at the same time from diagnosis",
                }
            )
        return ordered
    return items


def _lists(found: Findings, placement: Placement, result: ImportResult, flat: dict[str, object]) -> None:
    _left_out("genetics", placement.genetics, result)
    for name in LIST_FIELDS:
        items_found = placement.genetics.chosen if name == "genetics" else found.items.get(name, [])
        empty = found.empty.get(name, [])
        if not items_found and not empty:
            continue
        items = _list_field(name, items_found, empty, result)
        if items is None:
            continue
        flat[name] = items
        result.mapped.extend(_mapped(name, f) for f in items_found)
        result.mapped.extend({"field": name, "from": source} for source in empty)


def assemble(found: Findings, result: ImportResult, today: date) -> None:
    """The record of what was found, in the record's field order, with ``mapped``, ``conflicts`` and the
    ``assumptions`` of the choice by time; the values not chosen go to ``ignored`` with the reason."""
    flat: dict[str, object] = {}
    placement = place(found, today)
    result.ignored.extend(found.ignored)
    result.bounds.extend(found.bounds)
    _scalars(placement, result, flat)
    _lists(found, placement, result, flat)
    result.assumptions.extend(placement.notes)
    grouped: dict[str, object] = {}
    nested: dict[str, dict[str, object]] = {}
    for key, value in flat.items():
        if "." in key:
            parent, child = key.split(".", 1)
            nested.setdefault(parent, {})[child] = value
            grouped.setdefault(parent, nested[parent])
        else:
            grouped[key] = value
    for name in OBJECT_FIELDS:
        for source in found.empty.get(name, []):
            grouped.setdefault(name, nested.setdefault(name, {}))
            result.mapped.append({"field": name, "from": source})
    result.record = {name: grouped[name] for name in FIELD_NAMES if name in grouped}


# ---- the record contract --------------------------------------------------------------------------------


def _sources(result: ImportResult, path: str) -> str:
    top = path.split("[", 1)[0]
    found = [m["from"] for m in result.mapped if m["field"] == top or m["field"].startswith(top + ".")]
    found = found or [m["from"] for m in result.mapped if m["field"].split(".")[0] == top.split(".")[0]]
    return "; ".join(found) or path


def _drop_exposure_item(record: dict[str, object], path: str) -> bool:
    """Remove one item of a list of exposures (``exposures.courses[2]...``); False when the path names none."""
    match = re.match(r"^exposures\.(courses|radiation)\[(\d+)\]", path)
    exposures = record.get("exposures")
    if not match or not isinstance(exposures, dict):
        return False
    items = exposures.get(match.group(1))
    index = int(match.group(2))
    if not (isinstance(items, list) and index < len(items)):
        return False
    del items[index]
    if not items:
        del exposures[match.group(1)]
    if not exposures:
        del record["exposures"]
    return True


def _drop(record: dict[str, object], path: str) -> bool:
    """Remove the value a problem names (the whole field, or one item of a list of exposures)."""
    if _drop_exposure_item(record, path):
        return True
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    if top not in record:
        return False
    parent = record[top]
    if top in OBJECT_FIELDS and "." in path and "[" not in path.split(".")[1] and isinstance(parent, dict):
        parent.pop(path.split(".")[1], None)
        if not parent:
            del record[top]
    else:
        del record[top]
    return True


def _by_field_descending(problem_field: str) -> str:
    """Sorts list indexes as numbers, so that later items are dropped first and earlier indexes stay right."""
    return re.sub(r"\d+", lambda m: m.group().zfill(9), problem_field)


def validate(result: ImportResult) -> None:
    """Drop what the record contract refuses, one round of problems at a time, until the record is valid."""
    for _ in range(len(FIELD_NAMES) + 50):
        try:
            parse_record(result.record)
            return
        except RecordError as error:
            dropped = False
            for problem in sorted(error.problems, key=lambda p: _by_field_descending(p.field), reverse=True):
                source = _sources(result, problem.field)
                if _drop(result.record, problem.field):
                    dropped = True
                    result.ignored.append(
                        {
                            "resource": source,
                            "reason": f"not allowed in the record: {problem.message()}",
                            "field": problem.field,
                        }
                    )
            if not dropped:
                result.ignored.append(
                    {"resource": "record", "reason": "the record could not be made valid: " + str(error)}
                )
                result.record = {}
                return
