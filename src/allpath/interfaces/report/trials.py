"""The "Trials to ask about" section: the studies of a trial search that may fit a child, in plain words.

A family reads it (the family report, the patient page, ``allpath trials search --format text``), so it says
for each study that may fit (verdict ``eligible`` or ``possibly``, best first, at most ``SHOWN_STUDIES``) what
it tests in the registry's own words (its title, and the first sentence of its summary when the registry gives
one: the summaries are long and technical), where (the nearest site and how far, when a place was given), its
status and how fresh its entry is, its NCT number and page, why it may fit and what is still to check. It never
promises a place in a study: a study "may fit", and only the care team and the study team can confirm. The
registry's snapshot date and the disclaimer are always said. Every fixed sentence is ``text.yaml``'s
``trials_section`` but the sentences with a count in them (how many more studies, how many in the registry, how
many days make an entry old, how many sites a study lists), which are plural messages of the catalogs
(ngettext: "1 study", "2 studies", and each language's own plural forms), and the sentence that only another
language than English says: that the titles and the quoted sentences are the registry's English (each marked so
in HTML, ``Block.english``). The status labels are ``trials.yaml``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from babel.numbers import format_decimal

from allpath.domain.results.trials import NearestSite, Place, TrialResult, TrialSearch
from allpath.interfaces.dates import MONTHS
from allpath.interfaces.i18n import (
    DEFAULT_LOCALE,
    current_locale,
    gettext,
    marked,
    ngettext,
    shown_date,
)
from allpath.interfaces.report.blocks import Block, english, in_sources_language
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.text_schema import TrialSection
from allpath.service.places import place_note_parts

SHOWN_STUDIES = 5
"""A handful: a longer list is not read; the rest are counted ("N more studies may also fit")."""
KM_PER_MILE = 1.609344  # the international mile
SUMMARY_CHARACTERS = 300
"""The summary's first sentence is shown up to this length (cut at a word): a family reads a sentence, not a
paragraph."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_REGISTRY_LANGUAGE = marked(
    "The studies' titles, and the sentences quoted from their summaries, are in English, as they are registered."
)


def trial_blocks(search: TrialSearch, kb: KnowledgeBase) -> list[Block]:
    """The "Trials to ask about" section of one search, as blocks of the family report."""
    words = kb.text.trials_section
    fitting = [r for r in search["results"] if r["verdict"] != "not_eligible"]
    blocks = [Block("heading", words.heading)]
    if search["registry"]["studies"] == 0:
        blocks.append(Block("paragraph", words.registry_empty))
        return blocks + _closing(search, words)
    if not fitting:
        blocks += [Block("paragraph", words.nothing_fits), Block("paragraph", words.nothing_fits_ask)]
        # A place and a radius may be why nothing is listed: say them (and say nothing of no place).
        blocks += _place_blocks(search, words) if search["place"] is not None else []
        return blocks + _closing(search, words)
    blocks += [Block("paragraph", words.intro), *_place_blocks(search, words)]
    if not in_sources_language():
        # The registry's words are quoted as it gives them (a translated title would name no registered study):
        # a reader of another language is told once, before the list.
        blocks.append(Block("paragraph", gettext(_REGISTRY_LANGUAGE)))
    for number, result in enumerate(fitting[:SHOWN_STUDIES], start=1):
        blocks += _study_blocks(number, result, search, kb)
    hidden = len(fitting) - SHOWN_STUDIES
    if hidden > 0:
        more = ngettext(
            "{count} more study may also fit. Ask your care team about it too.",
            "{count} more studies may also fit. Ask your care team about them too.",
            hidden,
        )
        blocks.append(Block("paragraph", more.format(count=hidden)))
    blocks.append(Block("paragraph", words.how_to_ask))
    return blocks + _closing(search, words)


def place_note(place: Place | None) -> str:
    """The note of a place chosen among several of its name, in the current language: the search's answer
    carries it in English (the API's words); another language writes it from its template and values."""
    if place is None or not place["note"]:
        return ""
    if current_locale() == DEFAULT_LOCALE:
        return place["note"]
    parts = place_note_parts(place["query"])
    if parts is None:
        return place["note"]
    template, params = parts
    return gettext(template) % params


def _place_blocks(search: TrialSearch, words: TrialSection) -> list[Block]:
    place = search["place"]
    if place is None:
        return [Block("paragraph", words.no_place)]
    said = words.place.format(place=place["name"])
    note = place_note(place)
    if note:
        said += f" {note}"
    if search["radius_km"] is not None:
        km = search["radius_km"]
        said += " " + words.radius.format(km=_number(km), miles=_number(km / KM_PER_MILE))
    return [Block("paragraph", said)]


def _study_blocks(number: int, result: TrialResult, search: TrialSearch, kb: KnowledgeBase) -> list[Block]:
    words = kb.text.trials_section
    title = result["title"] or result["nct_id"] or ""
    sentence = _summary_sentence(result)
    items = [words.summary.format(sentence=sentence) if sentence else "", _where(result, search, words)]
    items += [_status(result, kb), _freshness(result, search, words)]
    items += [_fits(result, words), _unknowns(result, words)]
    if result["nct_id"] and result["registry_url"]:
        items.append(words.link.format(nct_id=result["nct_id"], url=result["registry_url"]))
    return [
        # The title and the summary's sentence are the registry's English, marked so in another language.
        Block("paragraph", words.study.format(number=number, title=title), english=english(result["title"])),
        Block("bullets", items=tuple(item for item in items if item), english=english(sentence)),
    ]


def _summary_sentence(result: TrialResult) -> str:
    """The first sentence of the registry's summary, cut at a word when it is long; nothing without one."""
    text = " ".join((result["brief_summary"] or "").split())
    if not text:
        return ""
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(sentence) > SUMMARY_CHARACTERS:
        sentence = sentence[:SUMMARY_CHARACTERS].rsplit(" ", 1)[0].rstrip(",;:") + "\u2026"
    return sentence


def _where(result: TrialResult, search: TrialSearch, words: TrialSection) -> str:
    place = search["place"]
    site = result["nearest_site"]
    if place is None:
        sites = result["sites"]
        where = ngettext(
            "Where: the study lists {sites} site. Your care team can tell you where it is.",
            "Where: the study lists {sites} sites. Your care team can tell you which one is nearest.",
            sites,
        )
        return where.format(sites=sites) if sites else ""
    if site is None or site["distance_km"] is None:
        return words.no_site_near.format(place=place["name"])
    km = site["distance_km"]
    return words.site.format(site=_site_name(site), km=_number(km), miles=_number(km / KM_PER_MILE))


def _site_name(site: NearestSite) -> str:
    named = [site["facility"], site["city"], site["state"], site["country"]]
    return ", ".join(part for part in named if part)


def _status(result: TrialResult, kb: KnowledgeBase) -> str:
    words = kb.text.trials_section
    statuses = kb.trials.statuses
    status = result["overall_status"]
    if status is None:
        return words.status_meaning.unknown
    meanings = words.status_meaning
    meaning = (
        meanings.recruiting
        if status in statuses.recruiting
        else meanings.open
        if status in statuses.open
        else meanings.closed
    )
    label = statuses.labels.get(status, status.lower().replace("_", " "))
    return words.status.format(label=label[:1].upper() + label[1:], meaning=meaning)


def _freshness(result: TrialResult, search: TrialSearch, words: TrialSection) -> str:
    if result["last_update"] is None:
        return words.outdated_no_date
    changed = _day_in_words(result["last_update"])
    if result["possibly_outdated"]:
        days = search["registry"]["outdated_after_days"]
        outdated = ngettext(
            "Its entry was last changed on {date}. That is more than {days} day before this search, so some "
            "details may be old.",
            "Its entry was last changed on {date}. That is more than {days} days before this search, so some "
            "details may be old.",
            days,
        )
        return outdated.format(date=changed, days=days)
    return words.updated.format(date=changed)


def _fits(result: TrialResult, words: TrialSection) -> str:
    """The criteria the study's entry speaks of and the child meets (one a study says nothing about is no
    reason it fits)."""
    points = _distinct(
        words.fits_points[c["criterion"]]
        for c in result["criteria"]
        if c["outcome"] == "met" and c["study_value"] is not None and c["criterion"] in words.fits_points
    )
    return words.fits.format(points=_listed(points)) if points else ""


def _unknowns(result: TrialResult, words: TrialSection) -> str:
    points = _distinct(
        words.unknown_points.get(c["criterion"], words.unknown_points["other"])
        for c in result["criteria"]
        if c["outcome"] == "unknown"
    )
    return words.unknown.format(points=_listed(points)) if points else ""


def _closing(search: TrialSearch, words: TrialSection) -> list[Block]:
    """Always: only the care team and the study team can confirm, the registry's snapshot date, the
    disclaimer."""
    registry = search["registry"]
    blocks = [Block("paragraph", words.confirm)]
    if registry["studies"]:
        snapshot, count = registry["snapshot_date"], registry["studies"]
        said = (
            ngettext(
                "This list comes from a copy of the ClinicalTrials.gov list made on {date}, with {studies} study. "
                "Studies open and close often.",
                "This list comes from a copy of the ClinicalTrials.gov list made on {date}, with {studies} studies. "
                "Studies open and close often.",
                count,
            ).format(date=_day_in_words(snapshot), studies=count)
            if snapshot
            else ngettext(
                "This list comes from a copy of the ClinicalTrials.gov list, with {studies} study. It does not say "
                "when the copy was made. Studies open and close often.",
                "This list comes from a copy of the ClinicalTrials.gov list, with {studies} studies. It does not say "
                "when the copy was made. Studies open and close often.",
                count,
            ).format(studies=count)
        )
        blocks.append(Block("paragraph", said))
    return [*blocks, Block("paragraph", search["disclaimer"])]


# ---- small helpers ---------------------------------------------------------------------------------------------


def _distinct(points: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for point in points:
        if point not in seen:
            seen.append(point)
    return seen


def _listed(points: list[str]) -> str:
    """The points joined: "a", "a and b", "a, b and c"."""
    last_joiner = " " + gettext("and") + " "
    return points[0] if len(points) == 1 else ", ".join(points[:-1]) + last_joiner + points[-1]


def _number(value: float) -> str:
    """A distance for a person: one decimal under 10, whole numbers (with thousands separators) above. Another
    language writes it its own way (Spanish: "6808", "12.345", "9,5": an English "6,808" would read as 6.8)."""
    if current_locale() != DEFAULT_LOCALE:
        return format_decimal(round(value, 1) if value < 10 else round(value), locale=current_locale())
    return f"{value:.1f}" if value < 10 else f"{round(value):,}"


def _day_in_words(iso: str) -> str:
    """A registry date in words, "2 December 2026" (no weekday: a registry date, not an appointment); in another
    language the one way the report writes a date ("2 de diciembre de 2026")."""
    day = date.fromisoformat(iso)
    if current_locale() != DEFAULT_LOCALE:
        return shown_date(day)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
