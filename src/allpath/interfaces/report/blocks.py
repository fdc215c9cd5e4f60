"""The family report's building blocks (title, headings, paragraphs, bullet and numbered lists, a rule) and
their two renderings, plain text and Markdown: the report is built once as blocks, so both always say the same
thing."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from allpath.interfaces.i18n import gettext
from allpath.knowledge.cite import Cite

BlockKind = Literal["title", "heading", "paragraph", "bullets", "numbered", "rule"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()


def section(source: Mapping[str, object]) -> str:
    """The source note that ends a statement: the heading of the source it comes from."""
    return gettext("(Source: \u201c{section}\u201d)").format(section=source["section"])


def cited(cite: Cite) -> str:
    """The source note of a statement of the knowledge base's family-report words (its ``cite``)."""
    return section({"section": cite.section})


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
