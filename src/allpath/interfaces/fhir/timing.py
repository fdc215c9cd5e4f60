"""The choice by time: which of the values found for a field the record takes, and why.

An EHR holds a child's white counts, weights and MRD results over years; the record holds one value each. The
windows are knowledge (``knowledge/data/fhir_import.yaml``):

- **Diagnostic fields** (white count, CNS status, immunophenotype, testicular involvement, steroid
  pretreatment, genetics): the value nearest the diagnosis inside the field's window (days before .. days after
  the diagnosis, ending on the first day of treatment for pre-treatment values). Without a diagnosis date the
  windows are placed around the most recent dated diagnostic value (not after the first day of treatment) and
  the report says so; when the diagnosis dates disagree no dated value is placed at the diagnosis at all.
- **Response fields** (MRD): by time point in days of treatment. A result coded for its time point must be
  dated inside that time point's window when it is dated; a generic MRD result is placed by its date.
- **Body size** (weight, height): the latest dated measurement, as the CDS service keeps it.
- Values without a date are used only when the field has no dated value at all, and the report says so.

Every value not used is returned with its date and the window it missed. Two values at the chosen time that
disagree stay a conflict (``assemble`` leaves the field out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from allpath.interfaces.fhir.findings import DATED_MRD, Findings, Found
from allpath.interfaces.fhir.values import JSONObject, as_object, full_date
from allpath.knowledge.fhir_import_schema import DiagnosticWindow, FhirImportFile, ResponseWindow
from allpath.knowledge.loader import load_knowledge

_DATE_ELEMENTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Observation": (("effectiveDateTime",), ("effectivePeriod", "start"), ("effectiveInstant",), ("issued",)),
    "Condition": (("onsetDateTime",), ("onsetPeriod", "start"), ("recordedDate",)),
    "MedicationAdministration": (("effectiveDateTime",), ("effectivePeriod", "start")),
    "Procedure": (("performedDateTime",), ("performedPeriod", "start")),
}
"""Where each kind of resource says when it happened, in order of preference (FHIR R4 element names)."""

_BODY_SIZE_WORDS = {"weight_kg": "weight", "height_cm": "height"}


def clinical_date(resource: JSONObject) -> str | None:
    """The day a resource happened (YYYY-MM-DD), or None when it gives no full date."""
    for path in _DATE_ELEMENTS.get(str(resource.get("resourceType")), ()):
        value: object = resource
        for name in path:
            value = as_object(value).get(name)
        day = full_date(value)
        if day:
            return day
    return None


def _among(found: Found, group: list[Found]) -> bool:
    """Whether this very value (not an equal one from another resource) is in ``group``."""
    return any(found is other for other in group)


@lru_cache(maxsize=4096)
def _parse(day: str) -> date:
    return date.fromisoformat(day)


def _day(found: Found) -> date | None:
    return _parse(found.date) if found.date else None


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _relative(day: date, anchor: date) -> str:
    gap = (day - anchor).days
    if gap == 0:
        return "on the same day"
    return f"{_days(abs(gap))} {'before' if gap < 0 else 'after'}"


@dataclass
class Placed:
    """The outcome for one field: the values at the chosen time, why they were chosen, and the values left
    out with the reason."""

    chosen: list[Found]
    why: str = ""
    left: list[tuple[Found, str]] = field(default_factory=list)


@dataclass
class Timeline:
    """The dates the windows hang on, and what the report must say about them."""

    anchor: date | None = None  # the diagnosis date, or the assumed one
    anchor_name: str = "the diagnosis"
    no_anchor: str = ""  # why a dated diagnostic value cannot be placed, when there is no anchor
    start: date | None = None  # the first day of treatment
    notes: list[str] = field(default_factory=list)


@dataclass
class Placement:
    """What ``place`` decided for every scalar field and for the genetics found."""

    scalars: dict[str, Placed] = field(default_factory=dict)
    genetics: Placed = field(default_factory=lambda: Placed([]))
    notes: list[str] = field(default_factory=list)


def _agreed_date(values: list[Found]) -> tuple[date | None, bool]:
    """The one date a date field's sources give, and whether they disagree."""
    days = {str(f.value) for f in values if isinstance(f.value, str)}
    if len(days) == 1:
        try:
            return _parse(days.pop()), False
        except ValueError:
            return None, False
    return None, len(days) > 1


def _treatment_start(found: Findings, diagnosis: date | None, timeline: Timeline) -> None:
    start, disagree = _agreed_date(found.scalars.get("treatment_start_date", []))
    if start is not None or disagree:
        timeline.start = start
        return
    courses = []
    for course in found.items.get("exposures.courses", []):
        value = course.value if isinstance(course.value, dict) else {}
        day = full_date(value.get("date"))
        if day and (diagnosis is None or _parse(day) >= diagnosis):
            courses.append((_parse(day), course.source))
    if courses:
        timeline.start, source = min(courses)
        timeline.notes.append(
            f"No first day of treatment in the data: it is taken as the day of the first antileukemic drug "
            f"given{' on or after the diagnosis' if diagnosis else ''}, {timeline.start.isoformat()} ({source})."
        )


def _timeline(found: Findings, windows: FhirImportFile) -> Timeline:
    timeline = Timeline()
    diagnosis, disagree = _agreed_date(found.scalars.get("diagnosis_date", []))
    _treatment_start(found, diagnosis, timeline)
    if diagnosis is not None:
        timeline.anchor = diagnosis
        return timeline
    if disagree:
        timeline.no_anchor = "the diagnosis dates in the data disagree, so no dated value is placed at the diagnosis"
        timeline.notes.append(
            "The diagnosis dates in the data disagree: no dated value is taken as a value at diagnosis. "
            "Enter the diagnosis date and the values at diagnosis by hand."
        )
        return timeline
    dated = [
        day
        for name in windows.diagnostic
        for f in (found.items if name == "genetics" else found.scalars).get(name, [])
        if (day := _day(f)) is not None and (timeline.start is None or day <= timeline.start)
    ]
    if not dated:
        timeline.no_anchor = "there is no diagnosis date in the data and no dated value before the treatment start"
        return timeline
    timeline.anchor, timeline.anchor_name = max(dated), "the assumed diagnosis date"
    bound = f", the last before the first day of treatment ({timeline.start.isoformat()})" if timeline.start else ""
    timeline.notes.append(
        f"No diagnosis date in the data: the diagnostic values are those of the most recent data, taken around "
        f"{timeline.anchor.isoformat()} (the most recent dated diagnostic value{bound}). Check that they are the "
        "values at diagnosis."
    )
    return timeline


def _undated(values: list[Found], dated_exist: bool, what: str) -> Placed:
    """The field's values when none of them can be placed by date."""
    undated = [f for f in values if f.date is None]
    if dated_exist:
        return Placed([], "", [(f, f"no date, and the dated values of this field {what}") for f in undated])
    return Placed(undated, "no date in the resource: taken as given; check when it was measured")


@lru_cache(maxsize=1024)
def _window(window: DiagnosticWindow, anchor: date, anchor_name: str, start: date | None) -> tuple[date, date, str]:
    """The first and last day of a diagnostic window, and how the report says it (the same for every value)."""
    low, high = anchor - timedelta(days=window.days_before), anchor + timedelta(days=window.days_after)
    end = ""
    if window.until_treatment_start and start is not None:
        high = min(high, start)
        end = f", not after the first day of treatment, {start.isoformat()}"
    text = (
        f"the window of the {window.label} is {low.isoformat()} to {high.isoformat()} "
        f"({_days(window.days_before)} before to {_days(window.days_after)} after {anchor_name}, "
        f"{anchor.isoformat()}{end})"
    )
    return low, high, text


def diagnostic(values: list[Found], window: DiagnosticWindow, timeline: Timeline) -> Placed:
    """The value nearest the diagnosis inside the window (the earlier one at equal distance)."""
    dated = [f for f in values if f.date is not None]
    anchor = timeline.anchor
    if not dated:
        return _undated(values, False, "")
    if anchor is None:
        placed = _undated(values, bool(dated), "cannot be placed")
        placed.left += [(f, f"dated {f.date}: {timeline.no_anchor}") for f in dated]
        return placed
    low, high, text = _window(window, anchor, timeline.anchor_name, timeline.start)
    if len(values) == 1:  # the usual case (one dated value), without the bookkeeping of a series
        found, day = values[0], _day(values[0]) or anchor
        if low <= day <= high:
            return Placed(
                values, f"nearest {timeline.anchor_name}, {anchor.isoformat()} ({_relative(day, anchor)}); {text}"
            )
        return Placed([], "", [(found, f"dated {found.date}: outside the window; {text}")])
    inside = [f for f in dated if low <= (_day(f) or low) <= high]
    outside = [(f, f"dated {f.date}: outside the window; {text}") for f in dated if not _among(f, inside)]
    if not inside:
        placed = _undated(values, bool(dated), "lie outside its window")
        placed.left += outside
        return placed
    best = min((_day(f) or anchor for f in inside), key=lambda d: (abs((d - anchor).days), d))
    chosen = [f for f in inside if _day(f) == best]
    nearer = f"another value, dated {best.isoformat()}, is nearer {timeline.anchor_name}"
    left = [(f, f"dated {f.date}: {nearer}") for f in inside if not _among(f, chosen)] + outside
    left += [(f, "no date, and a dated value of this field is in its window") for f in values if f.date is None]
    why = f"nearest {timeline.anchor_name}, {anchor.isoformat()} ({_relative(best, anchor)}); {text}"
    return Placed(chosen, why, left)


def latest(values: list[Found]) -> Placed:
    """The latest dated measurement (values without a date only when none is dated)."""
    dated = [f for f in values if f.date is not None]
    if not dated:
        return _undated(values, False, "")
    best = max(f.date or "" for f in dated)
    chosen = [f for f in dated if f.date == best]
    left = [
        (f, f"dated {f.date}: an earlier measurement; the latest ({best}) gives the current body size")
        for f in dated
        if not _among(f, chosen)
    ]
    left += [(f, "no date, and dated measurements of this field exist") for f in values if f.date is None]
    return Placed(chosen, "the latest measurement: the current body size", left)


def _treatment_day(found: Found, start: date) -> int:
    return ((_day(found) or start) - start).days + 1


def _response_windows(windows: dict[str, ResponseWindow]) -> str:
    return "; ".join(f"{w.label}: days {w.from_day} to {w.to_day}" for w in windows.values())


def _place_generic_mrd(
    found: Findings, windows: FhirImportFile, start: date | None
) -> tuple[dict[str, list[Found]], list[tuple[Found, str]]]:
    """MRD results coded without a time point, each at the time point its date falls in (or left out)."""
    placed: dict[str, list[Found]] = {}
    left: list[tuple[Found, str]] = []
    for f in found.scalars.get(DATED_MRD, []):
        if f.date is None:
            left.append((f, "an MRD result without its time point and without a date cannot be placed"))
        elif start is None:
            left.append(
                (
                    f,
                    f"dated {f.date}: an MRD result without its time point is placed by its day of treatment, "
                    "and the data give no first day of treatment",
                )
            )
        else:
            day = _treatment_day(f, start)
            names = [n for n, w in windows.response.items() if w.from_day <= day <= w.to_day]
            if names:
                placed.setdefault(names[0], []).append(f)
            else:
                where = _response_windows(windows.response)
                left.append(
                    (
                        f,
                        f"dated {f.date} (day {day} of treatment, from {start.isoformat()}): "
                        f"outside every MRD time point ({where})",
                    )
                )
    return placed, left


def response(values: list[Found], window: ResponseWindow, start: date | None) -> Placed:
    """The result of one time point: dated inside its window, nearest its nominal day."""
    dated = [f for f in values if f.date is not None]
    if start is None:
        why = f"coded as the {window.label}; the data give no first day of treatment, so its date was not checked"
        return Placed(values, why if dated else f"coded as the {window.label}; no date in the resource")
    inside = [f for f in dated if window.from_day <= _treatment_day(f, start) <= window.to_day]
    span = (
        f"the {window.label} window is days {window.from_day} to {window.to_day} of treatment "
        f"(day 1 = {start.isoformat()})"
    )
    left = [
        (f, f"dated {f.date} (day {_treatment_day(f, start)} of treatment): outside the window; {span}")
        for f in dated
        if not _among(f, inside)
    ]
    if not inside:
        placed = _undated(values, bool(dated), "lie outside its window")
        placed.left += left
        return placed
    best = min(inside, key=lambda f: (abs(_treatment_day(f, start) - window.day), f.date or "")).date
    chosen = [f for f in inside if f.date == best]
    left += [
        (f, f"dated {f.date}: another result, dated {best}, is nearer day {window.day}")
        for f in inside
        if not _among(f, chosen)
    ]
    left += [(f, "no date, and a dated result of this time point is in its window") for f in values if f.date is None]
    day = _treatment_day(chosen[0], start)
    return Placed(chosen, f"day {day} of treatment, nearest day {window.day} within {span}", left)


def _stale(placed: Placed, name: str, days: int, today: date) -> str | None:
    day = _day(placed.chosen[0]) if placed.chosen else None
    if day is None or (today - day).days <= days:
        return None
    word = _BODY_SIZE_WORDS.get(name, name)
    return (
        f"The latest {word} is dated {day.isoformat()}, {_days((today - day).days)} before this import: check "
        "that it is current before a dose is calculated."
    )


def place(found: Findings, today: date, windows: FhirImportFile | None = None) -> Placement:
    """Decide, for every field found, which values the record takes and why, and which are left out."""
    windows = windows or load_knowledge().fhir_import
    timeline = _timeline(found, windows)
    placement = Placement(notes=timeline.notes)
    generic, generic_left = _place_generic_mrd(found, windows, timeline.start)
    if generic_left:
        placement.scalars[DATED_MRD] = Placed([], "", generic_left)
    names = [n for n in found.scalars if n != DATED_MRD] + [n for n in generic if n not in found.scalars]
    for name in names:
        values = found.scalars.get(name, []) + generic.get(name, [])
        if name in windows.diagnostic:
            placed = diagnostic(values, windows.diagnostic[name], timeline)
        elif name in windows.response:
            placed = response(values, windows.response[name], timeline.start)
            if any(_among(f, generic.get(name, [])) for f in placed.chosen):
                placed.why += "; an MRD result without its time point, placed by its date"
        elif name in windows.latest.fields:
            placed = latest(values)
            notice = _stale(placed, name, windows.latest.check_older_than_days, today)
            placement.notes += [notice] if notice else []
        else:
            placed = Placed(values)
        placement.scalars[name] = placed
    genetics = found.items.get("genetics", [])
    if genetics and "genetics" in windows.diagnostic:
        placement.genetics = _genetics(genetics, windows.diagnostic["genetics"], timeline)
    else:
        placement.genetics = Placed(genetics)
    return placement


def _genetics(items: list[Found], window: DiagnosticWindow, timeline: Timeline) -> Placed:
    """Genetic findings are a list: every finding dated inside the window (or undated) is kept."""
    kept, left = [], []
    for f in items:
        single = diagnostic([f], window, timeline)
        if single.chosen:
            kept.append(f)
        else:
            left += single.left
    return Placed(kept, "", left)
