"""The treatment roadmap as an iCalendar (RFC 5545) document, for a family's or a clinic's calendar.

One all-day event per dated phase (DTEND is the day after the phase's last day: all-day events end
exclusively), one per dated checkpoint (a test whose result can change the plan), and one for the planned end
of treatment. Phases without dates (the sources give no length for them or for a phase before them) are left
out and named in the calendar's description and in one ``X-ALLPATH-NOTE`` each.

The calendar speaks the language of the current rendering (``allpath.interfaces.i18n.use_locale``: the page's
or the command's ``--lang``): its own sentences come from the catalogs, the phase and test names from the
knowledge base the caller loaded in that language, dates in words are the locale's; every text property says
its language (``LANGUAGE``, RFC 5545 section 3.2.10), and the dates of the events stay ISO values.

The document is reproducible: the same roadmap gives the same bytes. UIDs are digests of the record id, the
regimen and the event (so re-importing an updated roadmap replaces its events instead of adding copies, and
the record id itself is not in the file), and DTSTAMP is the start date at midnight UTC unless the caller
passes a time. The file holds no patient name: only the calendar name the caller gives.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_date
from babel.numbers import format_decimal
from icalendar import Calendar, Event, vText

from allpath.domain.results import Roadmap, RoadmapPhase
from allpath.errors import InputError
from allpath.interfaces.dates import in_words
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, marked, ngettext

PRODID = "-//allpath//treatment roadmap//EN"
DEFAULT_CALENDAR_NAME = marked("Treatment roadmap")
CALENDAR_DISCLAIMER = marked("Decision support, not a prescription; dates assume no delays.")
UID_DOMAIN = "allpath"
MEDIA_TYPE = "text/calendar"


class CalendarError(InputError):
    """The roadmap cannot be a calendar: names the input that is missing and why."""


def roadmap_to_ics(
    roadmap: Roadmap,
    *,
    record_id: str | None = None,
    calendar_name: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The roadmap (from ``allpath.engine.roadmap.build_roadmap``) as an iCalendar document (UTF-8, CRLF lines).

    ``record_id`` seeds the stable UIDs (it is digested, not written); ``stamp`` is the DTSTAMP of every event
    (default: the start date at 00:00 UTC); ``calendar_name`` defaults to "Treatment roadmap" in the current
    language. Raises ``CalendarError`` when the roadmap has no regimen or no
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
    disclaimer = gettext(CALENDAR_DISCLAIMER)

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
                        gettext("This phase of treatment is planned from {first} to {last} ({length}).").format(
                            first=_day(first), last=_day(last), length=_length(phase, first, last)
                        ),
                        *_basis(phase),
                        *_medicines(phase),
                        provisional,
                        disclaimer,
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
                    summary=gettext("{phase} begins").format(phase=phase["label"]),
                    description=[
                        gettext(
                            "This phase of treatment is planned to begin on {first}. The sources give no length "
                            "for it, so its end and the dates after it are not in this calendar."
                        ).format(first=_day(first)),
                        *_basis(phase),
                        *_medicines(phase),
                        provisional,
                        disclaimer,
                    ],
                )
            )
        else:
            undated.append(_undated_note(phase))
    phase_labels = {p["id"]: p["label"] for p in roadmap["phases"]}
    for checkpoint in roadmap["checkpoints"]:
        if not checkpoint["date"]:
            undated.append(gettext("{test}: no date, because its phase has no dates.").format(test=checkpoint["label"]))
            continue
        when = date.fromisoformat(checkpoint["date"])
        recorded = " " + gettext("The result is already recorded.") if checkpoint["result_known"] else ""
        events.append(
            _event(
                uid=_uid(*uid_seed, "checkpoint", checkpoint["id"]),
                stamp=dtstamp,
                first=when,
                last=when,
                summary=gettext("Test: {test}").format(test=checkpoint["label"]),
                description=[
                    checkpoint["purpose"] + recorded,
                    gettext("Planned for {day}, during or at the end of {phase}.").format(
                        day=_day(when), phase=phase_labels.get(checkpoint["phase"], checkpoint["phase"])
                    ),
                    provisional,
                    disclaimer,
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
                summary=gettext("Planned end of treatment"),
                description=[end["rule"], provisional, disclaimer],
            )
        )
    else:
        undated.append(gettext("End of treatment: no date, because the phase it is counted from has no dates."))

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = calendar_name if calendar_name is not None else gettext(DEFAULT_CALENDAR_NAME)
    calendar.add("name", name, parameters=_language())
    calendar.add("x-wr-calname", vText(name), parameters=_language())
    description = _text(
        [
            gettext("{regimen}, from {day}.").format(regimen=regimen["label"], day=_day(start)),
            provisional,
            (gettext("Not in this calendar:") + " " + " ".join(undated)) if undated else "",
            disclaimer,
            roadmap.get("disclaimer", ""),
        ]
    )
    calendar.add("description", description, parameters=_language())
    calendar.add("x-wr-caldesc", vText(description), parameters=_language())
    for note in undated:
        calendar.add("x-allpath-note", vText(note), parameters=_language())
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
    event.add("summary", summary, parameters=_language())
    event.add("description", _text(description), parameters=_language())
    event.add("transp", "TRANSPARENT")  # a treatment phase does not make the family "busy"
    return event


def _uid(record_id: str, regimen_id: str, kind: str, item: str) -> str:
    digest = hashlib.sha256("\x1f".join((record_id, regimen_id, kind, item)).encode("utf-8")).hexdigest()
    return f"{digest[:32]}@{UID_DOMAIN}"


def _text(parts: list[str]) -> str:
    return "\n\n".join(p for p in parts if p)


def _language() -> dict[str, str]:
    """The ``LANGUAGE`` parameter of a text property: the language its words are in."""
    return {"LANGUAGE": current_locale()}


def _day(day: date) -> str:
    """A date in words: "Monday 5 January 2026" in English, the locale's own long form elsewhere ("lunes, 5 de
    enero de 2026")."""
    return in_words(day) if current_locale() == DEFAULT_LOCALE else format_date(day, "full", locale=current_locale())


def _count(value: float) -> str:
    """A count of weeks as a person reads it in the current language (4, 4.5; Spanish 4,5)."""
    return f"{value:g}" if current_locale() == DEFAULT_LOCALE else format_decimal(value, locale=current_locale())


def _weeks(value: float) -> str:
    return ngettext("{count} week", "{count} weeks", 1 if value == 1 else 2).format(count=_count(value))


def _length(phase: RoadmapPhase, first: date, last: date) -> str:
    days = (last - first).days + 1
    weeks, cycle_weeks = phase.get("weeks"), phase.get("cycle_weeks")
    if weeks:
        text = _weeks(weeks)
    elif days % 7 == 0:
        text = _weeks(days // 7)
    else:
        text = ngettext("{count} day", "{count} days", days).format(count=days)
    if cycle_weeks:
        cycles = phase.get("cycles")
        text += gettext(", in cycles of {weeks}").format(weeks=_weeks(cycle_weeks))
        if cycles:
            text += " " + ngettext("(about {count} cycle)", "(about {count} cycles)", cycles).format(count=cycles)
    if phase.get("until") == "total_duration":
        text += gettext(", until the planned end of treatment")
    return text


def _basis(phase: RoadmapPhase) -> list[str]:
    out = []
    if phase.get("length_basis"):
        out.append(gettext("How its length is known: {basis}.").format(basis=phase["length_basis"]))
    if phase.get("confidence") == "moderate":
        out.append(gettext("Moderate confidence: check these dates with the care team."))
    return out


def _medicines(phase: RoadmapPhase) -> list[str]:
    names = list(dict.fromkeys(d["drug"] for d in phase.get("drugs") or []))
    return [gettext("Medicines in this phase: {names}.").format(names=", ".join(names))] if names else []


def _undated_note(phase: RoadmapPhase) -> str:
    if phase["end"]:
        return gettext(
            "{phase}: its start is not known (a phase before it has no length in the sources); planned to end on {day}."
        ).format(phase=phase["label"], day=_day(date.fromisoformat(phase["end"])))
    return gettext("{phase}: no dates (the sources give no length for it or for a phase before it).").format(
        phase=phase["label"]
    )


def _provisional_text(roadmap: Roadmap) -> str:
    if not roadmap.get("provisional"):
        return ""
    missing = [m for m in roadmap.get("missing") or [] if m != "treatment_start_date"]
    if missing:
        return gettext("Provisional: the plan may still change when these results are known: {missing}.").format(
            missing=", ".join(missing)
        )
    return gettext("Provisional: the plan may still change.")
