"""A plain-language report of an assessment for a family, as plain text or Markdown.

The report is built once as a list of blocks (headings, paragraphs, bullet lists) and then rendered, so
the text and Markdown versions always say the same thing. Short sentences, terms explained, the source
section named for each statement, and the disclaimer first and last.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Literal

from allpath.engine.explain import source_of
from allpath.knowledge.loader import KnowledgeBase

BlockKind = Literal["title", "heading", "paragraph", "bullets", "numbered", "rule"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()


def _section(source: dict[str, str]) -> str:
    return f"(Source: \u201c{source['section']}\u201d)"


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
    if reasons:
        blocks.append(Block("paragraph", "The results behind it:"))
        blocks.append(Block("bullets", items=tuple(reasons)))
    if a["cog_risk_group"]:
        cog_label = kb.cog_risk_group.spec.labels[a["cog_risk_group"]]
        blocks.append(
            Block(
                "paragraph",
                f"The care team also uses a finer grouping from the Children's Oncology Group "
                f"(COG). In that grouping your child is: {cog_label}. The two groupings use different "
                "rules, so they do not always match; the team can explain any difference.",
            )
        )
    return blocks


def build_blocks(a: dict[str, Any], kb: KnowledgeBase) -> list[Block]:
    """The family report of one assessment, as blocks."""
    who = f"record {a['record_id']}" if a.get("record_id") else "your child"
    blocks: list[Block] = [
        Block("title", f"allpath family report for {who}"),
        Block("paragraph", kb.text.family_disclaimer),
        Block("heading", "Where things stand"),
        Block("paragraph", kb.text.disease_state_meaning[a["disease_state"]]),
    ]
    if a["disease_state"] == "newly_diagnosed":
        blocks += _risk_blocks(a, kb)
    if a["relapse"]:
        r = a["relapse"]
        sites = " and ".join(kb.text.relapse_site_labels[site] for site in r["sites"])
        text = f"This is relapse number {r['number']}. It was found in: {sites}."
        if r["timing"]:
            article = "an" if r["timing"][0] in "aeiou" else "a"
            text += f" The doctors call it {article} {r['timing']} relapse."
        if r["risk_group_meaning"]:
            text += " " + r["risk_group_meaning"]
        blocks += [Block("heading", "The relapse"), Block("paragraph", text)]

    populations = [f for f in a["factors"] if f["scheme"] == "populations"]
    if populations:
        blocks.append(Block("heading", "Things about your child that shape the plan"))
        blocks.append(Block("bullets", items=tuple(f"{f['plain']} {_section(f['source'])}" for f in populations)))

    if a["workup"]:
        blocks.append(Block("heading", "Tests still needed"))
        blocks.append(Block("paragraph", "These results are not in yet. Each one can change the plan:"))
        blocks.append(Block("bullets", items=tuple(f"{w['label']}: {w['purpose']}" for w in a["workup"])))

    recorded = [t for t in a["diagnostic_tests"] if t["status"] in ("recorded", "not part of the record")]
    if recorded:
        blocks.append(Block("heading", "What the tests are for"))
        blocks.append(Block("bullets", items=tuple(f"{t['label']}: {t['purpose']}" for t in recorded)))

    plan = a["plan"]
    if plan["phases"]:
        blocks.append(Block("heading", "The phases of treatment"))
        blocks.append(Block("numbered", items=tuple(f"{p['name']}: {p['goal']}" for p in plan["phases"])))
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

    symptoms = kb.text.symptoms_to_report
    blocks += [
        Block("heading", "Call the care team if you notice"),
        Block("bullets", items=tuple(symptoms.items)),
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
        Block("heading", "Words used in this report"),
        Block("bullets", items=tuple(f"{g.term}: {g.meaning}" for g in kb.text.glossary)),
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
