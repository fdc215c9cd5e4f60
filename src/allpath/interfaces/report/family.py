"""A plain-language report of an assessment for a family, as plain text or Markdown.

The report is built once as a list of blocks (headings, paragraphs, bullet lists) and then rendered, so
the text and Markdown versions always say the same thing. Short sentences, terms explained, the source
section named for each statement, and the disclaimer first and last.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from allpath.engine.explain import source_of
from allpath.interfaces.dates import in_words
from allpath.knowledge.loader import KnowledgeBase

BlockKind = Literal["title", "heading", "paragraph", "bullets", "numbered", "rule"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()


_SOURCE_NOTE = re.compile(r"\(Source: \u201c[^\u201d]*\u201d\)")


def _section(source: dict[str, str]) -> str:
    return f"(Source: \u201c{source['section']}\u201d)"


def _genetics_seen(factors: list[dict[str, Any]]) -> list[str]:
    """The genetic findings that the group rules looked at, in the order first seen."""
    seen: list[str] = []
    for f in factors:
        if f["scheme"] in ("risk_group", "cog_risk_group"):
            for token in f["inputs"].get("genetics") or []:
                if token not in seen:
                    seen.append(token)
    return seen


def _risk_blocks(a: dict[str, Any], kb: KnowledgeBase) -> list[Block]:
    blocks = [Block("heading", "Risk group")]
    group = a["risk_group"]
    meaning = kb.text.risk_group_meaning[group or "none"]
    if group:
        label = kb.risk_group.spec.labels[group]
        blocks.append(Block("paragraph", f"Your child's risk group is: {label}. {meaning}"))
        if a["provisional"]:
            blocks.append(
                Block(
                    "paragraph",
                    "This is not final yet. Some results are still missing, and they could move "
                    "your child to a higher group. The list of tests below shows which ones.",
                )
            )
    else:
        blocks.append(Block("paragraph", meaning))
    reasons = [
        f"{f['plain'] or f['explanation']} {_section(f['source'])}"
        for f in a["factors"]
        if f["scheme"] == "risk_group" and (f.get("decides") or f["effect"] == "note")
    ]
    # Each genetic finding behind a group, favourable or not, in plain words.
    genetics = kb.text.genetic_results
    reasons += [
        f"{genetics.meanings[token]} {_section(source_of(kb, genetics.cite))}"
        for token in _genetics_seen(a["factors"])
        if token in genetics.meanings
    ]
    if reasons:
        blocks.append(Block("paragraph", "The results behind it:"))
        blocks.append(Block("bullets", items=tuple(reasons)))
    if a["cog_risk_group"]:
        cog = a["cog_risk_group"]
        cog_label = kb.cog_risk_group.spec.labels[cog]
        cog_meaning = kb.text.cog_risk_group_meaning
        blocks.append(
            Block(
                "paragraph",
                f"The care team also uses a finer grouping from the Children's Oncology Group "
                f"(COG). In that grouping your child is in {cog_label}. {cog_meaning.meanings[cog]} The two "
                "groupings use different rules, so they do not always match. The team can explain any difference. "
                f"{_section(source_of(kb, cog_meaning.cite))}",
            )
        )
        cog_reasons = [
            f"{f['plain']} {_section(f['source'])}"
            for f in a["factors"]
            if f["scheme"] == "cog_risk_group" and f.get("decides") and f["plain"]
        ]
        if cog_reasons:
            blocks.append(Block("paragraph", "The results behind the COG group:"))
            blocks.append(Block("bullets", items=tuple(cog_reasons)))
    return blocks


def _in_words(count: int, unit: str) -> str:
    return f"{count} {unit}" + ("" if count == 1 else "s")


def length_blocks(roadmap: dict[str, Any] | None, kb: KnowledgeBase) -> list[Block]:
    """How long treatment lasts: the length of the child's regimen (its first parts, then the total-duration
    rule), or that it depends on the plan when no regimen applies."""
    words = kb.text.treatment_length
    cite = _section(source_of(kb, words.cite))
    text = words.without_regimen
    rule = kb.therapy.regimens.total_duration
    if roadmap and roadmap.get("regimen") is not None:
        first: list[dict[str, Any]] = []
        for phase in roadmap["phases"]:
            if phase["id"] == rule.phase:
                break
            first.append(phase)
        if first and all(p.get("weeks") for p in first):
            first_weeks = sum(float(p["weeks"]) for p in first)
            years = rule.years_from_phase_start
            months = round(first_weeks * 12 / 52)
            total = _in_words(int(years), "year") + (f" and {_in_words(months, 'month')}" if months else "")
            text = words.with_regimen.format(total=total, first_weeks=f"{first_weeks:g}", years=f"{years:g}")
            text += f" {cite}"
    return [Block("heading", "How long treatment lasts"), Block("paragraph", text)]


def _relapse_blocks(a: dict[str, Any], kb: KnowledgeBase) -> list[Block]:
    """The relapse said plainly: where and when, its group in one sentence, the chemotherapy of relapse."""
    r = a["relapse"]
    words = kb.text.relapse
    sites = " and ".join(kb.text.relapse_site_labels[site] for site in r["sites"])
    text = f"This is relapse number {r['number']}. It was found in: {sites}."
    if r["timing"]:
        article = "an" if r["timing"][0] in "aeiou" else "a"
        text += f" The doctors call it {article} {r['timing']} relapse."
    paragraphs = [text]
    if r["risk_group"]:
        group = words.group_sentence.format(group=words.group_words[r["risk_group"]])
        paragraphs.append(f"{group} {r['risk_group_meaning'] or ''}".strip())
    else:
        paragraphs.append(words.group_unknown)
    if any(t["code"] == "combination_chemotherapy" for t in a["plan"]["therapies"]):
        paragraphs.append(f"{words.chemotherapy} {_section(source_of(kb, words.cite))}")
    return [Block("heading", "The relapse"), *(Block("paragraph", p) for p in paragraphs)]


def _glossary(blocks: list[Block], kb: KnowledgeBase) -> list[str]:
    """The glossary terms this report uses, each with its meaning: a term is explained where it is used."""
    # Source notes name documents (their titles may hold a term) and are not the report's own words.
    text = _SOURCE_NOTE.sub("", " ".join([b.text for b in blocks] + [i for b in blocks for i in b.items]))
    return [
        f"{g.term}: {g.meaning}"
        for g in kb.text.glossary
        if re.search(rf"\b{re.escape(g.term)}\b", text, flags=0 if g.term.isupper() else re.IGNORECASE)
    ]


# Text with a dose or a radiation dose in it stays out of the family report (doses are for the care team).
_DOSE_TEXT = re.compile(r"\bmg\b|mg/m2|\bGy\b", re.IGNORECASE)
_STRENGTH_WORDS = {
    "recommended": "recommended",
    "reasonable": "reasonable to do",
    "may_be_reasonable": "may be useful; the clinic will decide",
}


def day_in_words(iso: str) -> str:
    """An ISO date in words, independent of the machine's locale: "Monday 5 January 2026"."""
    return in_words(date.fromisoformat(iso))


def _weeks(value: float) -> str:
    return f"{value:g} week" + ("" if value == 1 else "s")


def _phase_when(phase: dict[str, Any], dated: bool) -> str:
    """When one part of the treatment is planned, in words."""
    start, end = phase.get("start"), phase.get("end")
    length = ""
    if phase.get("weeks"):
        length = _weeks(phase["weeks"])
    elif phase.get("until") == "total_duration":
        length = "until the end of treatment"
        if phase.get("cycle_weeks"):
            length += f", in cycles of {_weeks(phase['cycle_weeks'])}"
    if start and end:
        return f"from {day_in_words(start)} to {day_in_words(end)}" + (f" ({length})" if length else "")
    if start:
        return (
            f"from {day_in_words(start)}; the sources do not say how long it lasts, so the dates after it are "
            "not known yet"
        )
    if end:
        return f"until {day_in_words(end)}; its first day depends on the parts before it"
    if not phase.get("length_known"):
        return "dates not given in the sources: the care team will tell you"
    if not dated:
        return length or "dates not known yet"
    return "dates not given in the sources: they depend on the parts before it"


def roadmap_blocks(roadmap: dict[str, Any]) -> list[Block]:
    """The road ahead in plain language: the parts of the treatment with their dates when known, the tests
    that show how the treatment is working, and the planned end of treatment. No medicines or doses."""
    blocks = [Block("heading", "The road ahead")]
    if roadmap.get("regimen") is None:
        reasons = " ".join(roadmap.get("not_covered") or [])
        if reasons:
            text = (
                f"allpath cannot show a timetable for your child's treatment. {reasons} The care team will "
                "explain the plan and when each part happens."
            )
        else:
            text = (
                "The timetable of the treatment depends on results that are not in yet. The care team will "
                "explain it once they are known."
            )
        return blocks + [Block("paragraph", text)]
    dated = bool(roadmap.get("start_date"))
    if dated:
        intro = (
            f"Treatment started on {day_in_words(roadmap['start_date'])}. These are its parts, with the dates "
            "they are planned for if every part starts on time."
        )
    else:
        intro = (
            "These are the parts of the treatment and how long each usually lasts. The dates will show here "
            "once the care team records the first day of treatment."
        )
    blocks.append(Block("paragraph", intro + " Dates can move; the care team will confirm."))
    if roadmap.get("provisional"):
        blocks.append(Block("paragraph", "This plan may still change when the results that are still missing come in."))
    blocks.append(Block("numbered", items=tuple(f"{p['label']}: {_phase_when(p, dated)}." for p in roadmap["phases"])))
    checkpoints = roadmap.get("checkpoints") or []
    if checkpoints:
        items = []
        for c in checkpoints:
            when = f"planned for {day_in_words(c['date'])}" if c.get("date") else "date not known yet"
            done = " The result is in." if c.get("result_known") else ""
            items.append(f"{c['label']} ({when}): {c['purpose']}{done}")
        blocks += [
            Block("paragraph", "Tests to see how the treatment is working:"),
            Block("bullets", items=tuple(items)),
        ]
    end = roadmap.get("end_of_therapy") or {}
    if end.get("date"):
        text = f"The planned end of treatment is around {day_in_words(end['date'])}. {end.get('rule', '')}"
    else:
        text = f"The planned end of treatment will show here once the dates are known. {end.get('rule', '')}"
    blocks.append(Block("paragraph", text.strip() + " Dates can move; the care team will confirm."))
    for note in roadmap.get("notes") or []:
        blocks.append(Block("paragraph", note["text"]))
    return blocks


def _interval(years: float | None) -> str:
    if years is None:
        return "how often: your survivorship clinic will decide (the sources do not say)"
    if years == 1:
        return "once a year"
    return f"every {years:g} years"


def _first_check(start: dict[str, Any] | None) -> str:
    if not start:
        return ""
    if start.get("not_before") and start.get("no_later_than"):
        return f"starting between {day_in_words(start['not_before'])} and {day_in_words(start['no_later_than'])}"
    if start.get("no_later_than"):
        return f"the first one no later than {day_in_words(start['no_later_than'])}"
    rule = str(start.get("rule") or "")
    return rule.replace("start between", "starting between", 1)


def survivorship_blocks(plan: dict[str, Any]) -> list[Block]:
    """The follow-up after treatment in plain language: what to watch for, which checks and how often,
    starting when; what allpath does not cover is left to the survivorship clinic. No doses."""
    blocks = [Block("heading", "Check-ups after treatment")]
    end = plan.get("end_of_therapy_date")
    ends = f" (planned around {day_in_words(end)})" if end else ""
    if plan.get("basis") == "none":
        blocks.append(
            Block(
                "paragraph",
                f"After treatment ends{ends}, your child will have regular check-ups to find late effects of "
                "treatment early. allpath does not know the treatment yet, so your survivorship clinic will plan "
                "them.",
            )
        )
    else:
        basis = "the treatment your child has had" if plan.get("basis") == "recorded" else "the planned treatment"
        blocks.append(
            Block(
                "paragraph",
                f"After treatment ends{ends}, your child will have regular check-ups at a survivorship (long-term "
                f"follow-up) clinic, to find late effects of treatment early. Based on {basis}, these are the "
                "things to watch for and the checks the sources give:",
            )
        )
    items = []
    later: list[str] = []
    for item in plan.get("items") or []:
        if item.get("not_covered"):
            later.append(f"Follow-up for {item['late_effect']}.")
            continue
        text = f"What to watch for: {item['late_effect']}."
        if item.get("test"):
            strength = _STRENGTH_WORDS.get(str(item.get("strength")), "")
            parts = [f"{item['test']}" + (f" ({strength})" if strength else "")]
            first = _first_check(item.get("start"))
            interval = _interval(item.get("interval_years"))
            parts += [interval, first] if item.get("interval_years") is not None else [first, interval]
            text += " Check: " + "; ".join(p for p in parts if p) + "."
        else:
            # The explanation only when it is advice (not a statement of what is not covered) and holds no dose.
            explanation = str(item.get("explanation") or "")
            if explanation and "not covered" not in explanation and not _DOSE_TEXT.search(explanation):
                text += f" {explanation}"
            text += " Your survivorship clinic will plan the checks for this."
        items.append(text)
    if items:
        blocks.append(Block("bullets", items=tuple(items)))
    later += [n["text"] for n in plan.get("not_covered") or [] if not _DOSE_TEXT.search(n["text"])]
    if later:
        blocks += [
            Block("paragraph", "Your survivorship clinic will plan these:"),
            Block("bullets", items=tuple(later)),
        ]
    return blocks


def build_blocks(  # noqa: C901 - complexity 16, a ceiling in tests/test_module_size.py (issue 11)
    a: dict[str, Any],
    kb: KnowledgeBase,
    *,
    treatment: dict[str, Any] | None = None,
    roadmap: dict[str, Any] | None = None,
    child_name: str = "",
) -> list[Block]:
    """The family report of one assessment, as blocks; with ``treatment`` (``treatment_overview``) also the
    road ahead and the check-ups after treatment. Never the doses. ``roadmap`` (``build_roadmap``, or the
    one of ``treatment``) gives how long treatment lasts. The report names the child by ``child_name`` or
    says "your child": a record id is for software, never a heading for a family."""
    who = child_name.strip() or "your child"
    fever = kb.text.fever_during_treatment
    blocks: list[Block] = [
        Block("title", f"Family report for {who}"),
        Block("paragraph", kb.text.family_disclaimer),
        # First, before anything else: during treatment any fever is an emergency.
        Block("heading", fever.title),
        Block("bullets", items=(*fever.items[:-1], f"{fever.items[-1]} {_section(source_of(kb, fever.cite))}")),
        Block("heading", "Where things stand"),
        Block("paragraph", kb.text.disease_state_meaning[a["disease_state"]]),
    ]
    if a.get("warnings"):
        # Values worth a second look (a unit, results that contradict each other): the care team checks them.
        blocks += [
            Block("heading", "Results to check with the care team"),
            Block("bullets", items=tuple(w["message"] for w in a["warnings"])),
        ]
    if a["disease_state"] == "newly_diagnosed":
        blocks += _risk_blocks(a, kb)
    if a["relapse"]:
        blocks += _relapse_blocks(a, kb)

    populations = [f for f in a["factors"] if f["scheme"] == "populations"]
    if populations:
        blocks.append(Block("heading", "Things about your child that shape the plan"))
        blocks.append(Block("bullets", items=tuple(f"{f['plain']} {_section(f['source'])}" for f in populations)))

    if a["workup"]:
        blocks.append(Block("heading", "Tests still needed"))
        blocks.append(Block("paragraph", "These results are not in yet. Each one can change the plan:"))
        blocks.append(Block("bullets", items=tuple(f"{w['label']}: {w['purpose']}" for w in a["workup"])))

    relapse_tests = kb.text.relapse.tests
    if a["relapse"]:
        # A relapse is judged by the tests at relapse, not by the work-up at diagnosis.
        tests = [t for t in a["diagnostic_tests"] if t["test"] in relapse_tests]
        heading = "The tests at relapse"
    else:
        tests = [
            t
            for t in a["diagnostic_tests"]
            if t["status"] in ("recorded", "not part of the record") and t["test"] not in relapse_tests
        ]
        heading = "What the tests are for"
    if tests:
        blocks.append(Block("heading", heading))
        blocks.append(Block("bullets", items=tuple(f"{t['label']}: {t['purpose']}" for t in tests)))

    plan = a["plan"]
    if plan["phases"]:
        blocks.append(Block("heading", "The phases of treatment"))
        blocks.append(Block("numbered", items=tuple(f"{p['name']}: {p['goal']}" for p in plan["phases"])))
    if treatment is not None:
        roadmap = treatment["roadmap"]
    blocks += length_blocks(roadmap, kb)
    if treatment is not None:
        blocks += roadmap_blocks(treatment["roadmap"])
    if plan["therapies"]:
        blocks.append(Block("heading", "Treatments in the plan"))
        blocks.append(
            Block(
                "bullets",
                items=tuple(
                    f"{t['label']} ({t['certainty_meaning']}). {t['plain']} {_section(t['source'])}"
                    for t in plan["therapies"]
                ),
            )
        )
    withheld = plan.get("withheld") or []
    if withheld:
        # What the rules held back, and why: a family should not wonder why a treatment is not there.
        blocks.append(Block("paragraph", "Left out of the plan:"))
        blocks.append(
            Block(
                "bullets",
                items=tuple(
                    f"{w['label']}. {w['plain'] or w['explanation']} {_section(w['source'])}" for w in withheld
                ),
            )
        )
    if plan["drugs"]:
        names = ", ".join(d["label"] for d in plan["drugs"])
        blocks.append(
            Block(
                "paragraph",
                f"Medicines named for this plan: {names}. The care team decides which ones your child gets, and when.",
            )
        )

    counseling = [f for f in a["factors"] if f["scheme"] == "genetic_counseling"]
    if counseling:
        blocks.append(Block("heading", "Genetic counseling"))
        blocks.append(Block("paragraph", f"{counseling[0]['plain']} {_section(counseling[0]['source'])}"))

    blocks += [
        Block("heading", "Who is on the care team"),
        Block("bullets", items=tuple(kb.text.care_team.items)),
        Block("heading", "Support for your family"),
        Block("paragraph", f"{kb.text.support.text} {_section(source_of(kb, kb.text.support.cite))}"),
        Block("heading", "Questions you may want to ask"),
        Block("bullets", items=tuple(kb.text.questions_to_ask)),
        Block("heading", "After treatment"),
        Block(
            "bullets",
            items=tuple(
                i["text"]
                for i in a["follow_up"]["follow_up"] + a["follow_up"]["late_effects"] + a["follow_up"]["cautions"]
            ),
        ),
        *(survivorship_blocks(treatment["survivorship"]) if treatment is not None else []),
    ]
    glossary = _glossary(blocks, kb)
    if glossary:
        blocks += [Block("heading", "Words used in this report"), Block("bullets", items=tuple(glossary))]
    blocks += [
        Block("rule"),
        Block("paragraph", a["disclaimer"]),
        Block(
            "paragraph",
            f"Based on: {kb.sources['pdq'].title}, revised {kb.sources['pdq'].revised}, and the "
            f"allpath clinical facts. Knowledge version {a['knowledge_version']}, engine version "
            f"{a['engine_version']}.",
        ),
    ]
    return blocks


def render_text(blocks: list[Block], width: int = 88) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind == "title":
            lines += [block.text, "=" * len(block.text), ""]
        elif block.kind == "heading":
            lines += [block.text, "-" * len(block.text)]
        elif block.kind == "paragraph":
            lines += textwrap.wrap(block.text, width) + [""]
        elif block.kind in ("bullets", "numbered"):
            for i, item in enumerate(block.items, start=1):
                mark = "- " if block.kind == "bullets" else f"{i}. "
                lines += textwrap.wrap(item, width, initial_indent=mark, subsequent_indent=" " * len(mark))
            lines.append("")
        else:
            lines += ["-" * width, ""]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind == "title":
            lines += [f"# {block.text}", ""]
        elif block.kind == "heading":
            lines += [f"## {block.text}", ""]
        elif block.kind == "paragraph":
            lines += [block.text, ""]
        elif block.kind in ("bullets", "numbered"):
            for i, item in enumerate(block.items, start=1):
                lines.append(f"- {item}" if block.kind == "bullets" else f"{i}. {item}")
            lines.append("")
        else:
            lines += ["---", ""]
    return "\n".join(lines).rstrip() + "\n"
