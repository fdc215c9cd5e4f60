"""The treatment parts of the family report: how long treatment lasts, the road ahead (the parts of the
treatment with their dates, the tests that show how it works, the planned end) and the check-ups after
treatment. In plain words, never a medicine's dose."""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_date

from allpath.domain.results import Roadmap, RoadmapPhase, ScreeningStart, SurvivorshipPlan
from allpath.interfaces.dates import in_words
from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale, gettext, marked, ngettext
from allpath.interfaces.report.blocks import Block, cited
from allpath.knowledge.loader import KnowledgeBase


def length_blocks(roadmap: Roadmap | None, kb: KnowledgeBase) -> list[Block]:
    """How long treatment lasts: the length of the child's regimen (its first parts, then the total-duration
    rule), or that it depends on the plan when no regimen applies."""
    words = kb.text.treatment_length
    cite = cited(words.cite, kb)
    text = words.without_regimen
    rule = kb.therapy.regimens.total_duration
    if roadmap and roadmap.get("regimen") is not None:
        first: list[float | None] = []  # the weeks of each phase before the one the total duration counts from
        for phase in roadmap["phases"]:
            if phase["id"] == rule.phase:
                break
            first.append(phase.get("weeks"))
        known = [float(weeks) for weeks in first if weeks]
        if first and len(known) == len(first):
            first_weeks = sum(known)
            years = rule.years_from_phase_start
            months = round(first_weeks * 12 / 52)
            total = ngettext("{count} year", "{count} years", int(years)).format(count=int(years))
            if months:
                total += " " + ngettext("and {count} month", "and {count} months", months).format(count=months)
            more_years = ngettext("{count} more year", "{count} more years", 1 if years == 1 else 2).format(
                count=f"{years:g}"
            )
            text = words.with_regimen.format(total=total, first_weeks=f"{first_weeks:g}", more_years=more_years)
            text += f" {cite}"
    return [Block("heading", gettext("How long treatment lasts")), Block("paragraph", text)]


# Text with a dose or a radiation dose in it stays out of the family report (doses are for the care team).
_DOSE_TEXT = re.compile(r"\bmg\b|mg/m2|\bGy\b", re.IGNORECASE)
_STRENGTH_WORDS = {
    "recommended": marked("recommended"),
    "reasonable": marked("reasonable to do"),
    "may_be_reasonable": marked("may be useful; the clinic will decide"),
}


def day_in_words(iso: str) -> str:
    """An ISO date in words, independent of the machine's locale: "Monday 5 January 2026" (in another language
    its own long form with the weekday: "lunes, 5 de enero de 2026")."""
    day = date.fromisoformat(iso)
    if current_locale() != DEFAULT_LOCALE:
        return format_date(day, "full", locale=current_locale())
    return in_words(day)


def _weeks(value: float) -> str:
    return ngettext("{count} week", "{count} weeks", 1 if value == 1 else 2).format(count=f"{value:g}")


def _phase_when(phase: RoadmapPhase, dated: bool) -> str:
    """When one part of the treatment is planned, in words."""
    start, end = phase.get("start"), phase.get("end")
    length = ""
    weeks, cycle_weeks = phase.get("weeks"), phase.get("cycle_weeks")
    if weeks:
        length = _weeks(weeks)
    elif phase.get("until") == "total_duration":
        length = gettext("until the end of treatment")
        if cycle_weeks:
            length += gettext(", in cycles of {weeks}").format(weeks=_weeks(cycle_weeks))
    if start and end:
        between = gettext("from {start} to {end}").format(start=day_in_words(start), end=day_in_words(end))
        return between + (f" ({length})" if length else "")
    if start:
        return gettext(
            "from {start}; the sources do not say how long it lasts, so the dates after it are not known yet"
        ).format(start=day_in_words(start))
    if end:
        return gettext("until {end}; its first day depends on the parts before it").format(end=day_in_words(end))
    if not phase.get("length_known"):
        return gettext("dates not given in the sources: the care team will tell you")
    if not dated:
        return length or gettext("dates not known yet")
    return gettext("dates not given in the sources: they depend on the parts before it")


def roadmap_blocks(roadmap: Roadmap) -> list[Block]:
    """The road ahead in plain language: the parts of the treatment with their dates when known, the tests
    that show how the treatment is working, and the planned end of treatment. No medicines or doses."""
    blocks = [Block("heading", gettext("The road ahead"))]
    if roadmap.get("regimen") is None:
        reasons = " ".join(roadmap.get("not_covered") or [])
        if reasons:
            cannot = gettext("allpath cannot show a timetable for your child's treatment.")
            team = gettext("The care team will explain the plan and when each part happens.")
            text = f"{cannot} {reasons} {team}"
        else:
            text = gettext(
                "The timetable of the treatment depends on results that are not in yet. The care team will "
                "explain it once they are known."
            )
        return blocks + [Block("paragraph", text)]
    start_date = roadmap.get("start_date")
    dated = bool(start_date)
    if start_date:
        intro = gettext(
            "Treatment started on {day}. These are its parts, with the dates they are planned for if every part "
            "starts on time."
        ).format(day=day_in_words(start_date))
    else:
        intro = gettext(
            "These are the parts of the treatment and how long each usually lasts. The dates will show here "
            "once the care team records the first day of treatment."
        )
    dates_can_move = gettext("Dates can move; the care team will confirm.")
    blocks.append(Block("paragraph", f"{intro} {dates_can_move}"))
    if roadmap.get("provisional"):
        blocks.append(
            Block("paragraph", gettext("This plan may still change when the results that are still missing come in."))
        )
    blocks.append(Block("numbered", items=tuple(f"{p['label']}: {_phase_when(p, dated)}." for p in roadmap["phases"])))
    checkpoints = roadmap.get("checkpoints") or []
    if checkpoints:
        items = []
        for c in checkpoints:
            day = c.get("date")
            when = gettext("planned for {day}").format(day=day_in_words(day)) if day else gettext("date not known yet")
            done = " " + gettext("The result is in.") if c.get("result_known") else ""
            items.append(f"{c['label']} ({when}): {c['purpose']}{done}")
        blocks += [
            Block("paragraph", gettext("Tests to see how the treatment is working:")),
            Block("bullets", items=tuple(items)),
        ]
    end = roadmap.get("end_of_therapy")
    end_date, rule = (end.get("date"), end.get("rule", "")) if end else (None, "")
    if end_date:
        text = gettext("The planned end of treatment is around {day}.").format(day=day_in_words(end_date)) + f" {rule}"
    else:
        text = gettext("The planned end of treatment will show here once the dates are known.") + f" {rule}"
    blocks.append(Block("paragraph", f"{text.strip()} {dates_can_move}"))
    for note in roadmap.get("notes") or []:
        blocks.append(Block("paragraph", note["text"]))
    return blocks


def _interval(years: float | None) -> str:
    if years is None:
        return gettext("how often: your survivorship clinic will decide (the sources do not say)")
    if years == 1:
        return gettext("once a year")
    return gettext("every {years} years").format(years=f"{years:g}")


def _first_check(start: ScreeningStart | None) -> str:
    if not start:
        return ""
    not_before, no_later_than = start.get("not_before"), start.get("no_later_than")
    if not_before and no_later_than:
        return gettext("starting between {first} and {last}").format(
            first=day_in_words(not_before), last=day_in_words(no_later_than)
        )
    if no_later_than:
        return gettext("the first one no later than {day}").format(day=day_in_words(no_later_than))
    # No date (no birth date, no date of the last exposure): the rule in the knowledge base's words.
    return str(start.get("rule") or "")


def survivorship_blocks(plan: SurvivorshipPlan) -> list[Block]:
    """The follow-up after treatment in plain language: what to watch for, which checks and how often,
    starting when; what allpath does not cover is left to the survivorship clinic. No doses."""
    blocks = [Block("heading", gettext("Check-ups after treatment"))]
    end = plan.get("end_of_therapy_date")
    ends = " " + gettext("(planned around {day})").format(day=day_in_words(end)) if end else ""
    if plan.get("basis") == "none":
        blocks.append(
            Block(
                "paragraph",
                gettext(
                    "After treatment ends{ends}, your child will have regular check-ups to find late effects of "
                    "treatment early. allpath does not know the treatment yet, so your survivorship clinic will plan "
                    "them."
                ).format(ends=ends),
            )
        )
    else:
        basis = (
            gettext("the treatment your child has had")
            if plan.get("basis") == "recorded"
            else gettext("the planned treatment")
        )
        blocks.append(
            Block(
                "paragraph",
                gettext(
                    "After treatment ends{ends}, your child will have regular check-ups at a survivorship (long-term "
                    "follow-up) clinic, to find late effects of treatment early. Based on {basis}, these are the "
                    "things to watch for and the checks the sources give:"
                ).format(ends=ends, basis=basis),
            )
        )
    items = []
    later: list[str] = []
    for item in plan.get("items") or []:
        if item.get("not_covered"):
            later.append(gettext("Follow-up for {late_effect}.").format(late_effect=item["late_effect"]))
            continue
        text = gettext("What to watch for: {late_effect}.").format(late_effect=item["late_effect"])
        if item.get("test"):
            strength = gettext(_STRENGTH_WORDS.get(str(item.get("strength")), ""))
            parts = [f"{item['test']}" + (f" ({strength})" if strength else "")]
            first = _first_check(item.get("start"))
            interval = _interval(item.get("interval_years"))
            parts += [interval, first] if item.get("interval_years") is not None else [first, interval]
            text += " " + gettext("Check: {checks}.").format(checks="; ".join(p for p in parts if p))
        else:
            # The explanation only when the item is covered (a not-covered item is said below, among the checks
            # the clinic plans) and the explanation holds no dose.
            explanation = str(item.get("explanation") or "")
            if explanation and not item.get("not_covered") and not _DOSE_TEXT.search(explanation):
                text += f" {explanation}"
            text += " " + gettext("Your survivorship clinic will plan the checks for this.")
        items.append(text)
    if items:
        blocks.append(Block("bullets", items=tuple(items)))
    later += [n["text"] for n in plan.get("not_covered") or [] if not _DOSE_TEXT.search(n["text"])]
    if later:
        blocks += [
            Block("paragraph", gettext("Your survivorship clinic will plan these:")),
            Block("bullets", items=tuple(later)),
        ]
    return blocks
