"""The treatment roadmap as an iCalendar (RFC 5545) document, for a family's or a clinic's calendar.

One all-day event per dated phase (DTEND is the day after the phase's last day: all-day events end
exclusively), one per dated checkpoint (a test whose result can change the plan), and one for the planned end
of treatment. Phases without dates (the sources give no length for them or for a phase before them) are left
out and named in the calendar's description and in one ``X-ALLPATH-NOTE`` each.

The document is reproducible: the same roadmap gives the same bytes. UIDs are digests of the record id, the
regimen and the event (so re-importing an updated roadmap replaces its events instead of adding copies, and
the record id itself is not in the file), and DTSTAMP is the start date at midnight UTC unless the caller
passes a time. The file holds no patient name: only the calendar name the caller gives.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event, vText

from allpath.domain.results import Roadmap, RoadmapPhase
from allpath.errors import InputError
from allpath.interfaces.dates import in_words

PRODID = "-//allpath//treatment roadmap//EN"
DEFAULT_CALENDAR_NAME = "Treatment roadmap"
CALENDAR_DISCLAIMER = "Decision support, not a prescription; dates assume no delays."
UID_DOMAIN = "allpath"
MEDIA_TYPE = "text/calendar"


class CalendarError(InputError):
    """The roadmap cannot be a calendar: names the input that is missing and why."""


def roadmap_to_ics(
    roadmap: Roadmap,
    *,
    record_id: str | None = None,
    calendar_name: str = DEFAULT_CALENDAR_NAME,
    stamp: datetime | None = None,
) -> bytes:
    """The roadmap (from ``allpath.engine.roadmap.build_roadmap``) as an iCalendar document (UTF-8, CRLF lines).

    ``record_id`` seeds the stable UIDs (it is digested, not written); ``stamp`` is the DTSTAMP of every event
    (default: the start date at 00:00 UTC). Raises ``CalendarError`` when the roadmap has no regimen or no
    start date: an empty calendar would look like a plan with nothing in it.
    """
    regimen = roadmap.get("regimen")
    if not regimen:
        reasons = "; ".join(r for r in roadmap.get("not_covered") or [] if r)
        if not reasons and roadmap.get("missing"):
            reasons = "the regimen is not known until these inputs are known: " + ", ".join(roadmap["missing"])
        raise CalendarError(
            "regimen", "there is no treatment roadmap for this child" + (f": {reasons}" if reasons else "")
        )
    start_date = roadmap.get("start_date")
    if not start_date:
        raise CalendarError(
            "treatment_start_date",
            "the roadmap has no dates; give the first day of treatment (the record's treatment_start_date or a "
            "start date)",
        )
    if stamp is not None and stamp.tzinfo is None:
        raise ValueError("stamp must be timezone-aware (a naive time would depend on this machine's zone)")
    start = date.fromisoformat(start_date)
    dtstamp = (stamp or datetime.combine(start, time(0, 0), tzinfo=UTC)).astimezone(UTC)
    uid_seed = (record_id or "", regimen["id"])
    provisional = _provisional_text(roadmap)

    events: list[Event] = []
    undated: list[str] = []
    for phase in roadmap["phases"]:
        if phase["start"] and phase["end"]:
            first, last = date.fromisoformat(phase["start"]), date.fromisoformat(phase["end"])
            events.append(
                _event(
                    uid=_uid(*uid_seed, "phase", phase["id"]),
                    stamp=dtstamp,
                    first=first,
                    last=last,
                    summary=phase["label"],
                    description=[
                        f"This phase of treatment is planned from {in_words(first)} to {in_words(last)} "
                        f"({_length(phase, first, last)}).",
                        *_basis(phase),
                        *_medicines(phase),
                        provisional,
                        CALENDAR_DISCLAIMER,
                    ],
                )
            )
        elif phase["start"]:
            first = date.fromisoformat(phase["start"])
            events.append(
                _event(
                    uid=_uid(*uid_seed, "phase", phase["id"]),
                    stamp=dtstamp,
                    first=first,
                    last=first,
                    summary=f"{phase['label']} begins",
                    description=[
                        f"This phase of treatment is planned to begin on {in_words(first)}. The sources give no "
                        "length for it, so its end and the dates after it are not in this calendar.",
                        *_basis(phase),
                        *_medicines(phase),
                        provisional,
                        CALENDAR_DISCLAIMER,
                    ],
                )
            )
        else:
            undated.append(_undated_note(phase))
    phase_labels = {p["id"]: p["label"] for p in roadmap["phases"]}
    for checkpoint in roadmap["checkpoints"]:
        if not checkpoint["date"]:
            undated.append(f"{checkpoint['label']}: no date, because its phase has no dates.")
            continue
        when = date.fromisoformat(checkpoint["date"])
        recorded = " The result is already recorded." if checkpoint["result_known"] else ""
        events.append(
            _event(
                uid=_uid(*uid_seed, "checkpoint", checkpoint["id"]),
                stamp=dtstamp,
                first=when,
                last=when,
                summary=f"Test: {checkpoint['label']}",
                description=[
                    checkpoint["purpose"] + recorded,
                    f"Planned for {in_words(when)}, during or at the end of "
                    f"{phase_labels.get(checkpoint['phase'], checkpoint['phase'])}.",
                    provisional,
                    CALENDAR_DISCLAIMER,
                ],
            )
        )
    end = roadmap.get("end_of_therapy")
    if end and end.get("date"):
        when = date.fromisoformat(str(end["date"]))
        events.append(
            _event(
                uid=_uid(*uid_seed, "end_of_therapy", "end_of_therapy"),
                stamp=dtstamp,
                first=when,
                last=when,
                summary="Planned end of treatment",
                description=[end["rule"], provisional, CALENDAR_DISCLAIMER],
            )
        )
    else:
        undated.append("End of treatment: no date, because the phase it is counted from has no dates.")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", calendar_name)
    calendar.add("x-wr-calname", vText(calendar_name))
    description = _text(
        [
            f"{regimen['label']}, from {in_words(start)}.",
            provisional,
            ("Not in this calendar: " + " ".join(undated)) if undated else "",
            CALENDAR_DISCLAIMER,
            roadmap.get("disclaimer", ""),
        ]
    )
    calendar.add("description", description)
    calendar.add("x-wr-caldesc", vText(description))
    for note in undated:
        calendar.add("x-allpath-note", vText(note))
    for event in events:
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def _event(*, uid: str, stamp: datetime, first: date, last: date, summary: str, description: list[str]) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", first)
    event.add("dtend", last + timedelta(days=1))  # all-day events end exclusively
    event.add("summary", summary)
    event.add("description", _text(description))
    event.add("transp", "TRANSPARENT")  # a treatment phase does not make the family "busy"
    return event


def _uid(record_id: str, regimen_id: str, kind: str, item: str) -> str:
    digest = hashlib.sha256("\x1f".join((record_id, regimen_id, kind, item)).encode("utf-8")).hexdigest()
    return f"{digest[:32]}@{UID_DOMAIN}"


def _text(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p)


def _length(phase: RoadmapPhase, first: date, last: date) -> str:
    days = (last - first).days + 1
    if phase.get("weeks"):
        weeks = phase["weeks"]
        text = f"{weeks:g} week" + ("s" if weeks != 1 else "")
    elif days % 7 == 0:
        text = f"{days // 7} weeks"
    else:
        text = f"{days} days"
    if phase.get("cycle_weeks"):
        cycles = phase.get("cycles")
        text += f", in cycles of {phase['cycle_weeks']:g} weeks" + (f" (about {cycles} cycles)" if cycles else "")
    if phase.get("until") == "total_duration":
        text += ", until the planned end of treatment"
    return text


def _basis(phase: RoadmapPhase) -> list[str]:
    out = []
    if phase.get("length_basis"):
        out.append(f"How its length is known: {phase['length_basis']}.")
    if phase.get("confidence") == "moderate":
        out.append("Moderate confidence: check these dates with the care team.")
    return out


def _medicines(phase: RoadmapPhase) -> list[str]:
    names = list(dict.fromkeys(d["drug"] for d in phase.get("drugs") or []))
    return [f"Medicines in this phase: {', '.join(names)}."] if names else []


def _undated_note(phase: RoadmapPhase) -> str:
    if phase["end"]:
        return (
            f"{phase['label']}: its start is not known (a phase before it has no length in the sources); "
            f"planned to end on {in_words(date.fromisoformat(phase['end']))}."
        )
    return f"{phase['label']}: no dates (the sources give no length for it or for a phase before it)."


def _provisional_text(roadmap: Roadmap) -> str:
    if not roadmap.get("provisional"):
        return ""
    missing = [m for m in roadmap.get("missing") or [] if m != "treatment_start_date"]
    waiting = f" when these results are known: {', '.join(missing)}" if missing else ""
    return f"Provisional: the plan may still change{waiting}."
