"""The family report's building blocks (title, headings, paragraphs, bullet and numbered lists, a rule) and
their two renderings, plain text and Markdown: the report is built once as blocks, so both always say the same
thing."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

from allpath.interfaces.i18n import SOURCES_LANGUAGE, current_locale, gettext, marked
from allpath.knowledge.cite import Cite
from allpath.knowledge.loader import KnowledgeBase

BlockKind = Literal["title", "heading", "paragraph", "bullets", "numbered", "rule"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()
    # Words of the block's text or items that are English as their source writes them (a cited heading, a
    # study's registered title) in a report in another language: a web page marks them lang="en", so that a
    # screen reader reads them as English. Empty in an English report.
    english: tuple[str, ...] = ()


# The source note in English: the heading alone (the closing names the documents).
_ENGLISH_NOTE = "(Source: \u201c{section}\u201d)"
# In another language the note says that the source is in English and which document it is: the heading is
# cited as the document writes it (there is no translated heading to cite), so the reader knows why.
_TRANSLATED_NOTE = marked("(Source in English: {document}, section \u201c{section}\u201d)")
_TRANSLATED_NOTE_UNNAMED = marked("(Source in English: section \u201c{section}\u201d)")
# The documents a family report cites, by their ``document`` in sources.yaml, as a note in another language names
# them; a document not listed here is cited by its heading only.
_DOCUMENT_WORDS = {
    "childhood-all-treatment-pdq": marked("NCI summary"),
    "allpath-clinical-facts": marked("allpath clinical facts"),
}


def in_sources_language() -> bool:
    """Whether the report is written in its sources' language (nothing then needs marking as quoted)."""
    return current_locale() == SOURCES_LANGUAGE


def section(source: Mapping[str, object]) -> str:
    """The source note that ends a statement: the heading of the source it comes from (its ``section``), and in
    another language than the sources' also that the source is in English, and which document (``document``)."""
    heading = source["section"]
    if in_sources_language():
        return _ENGLISH_NOTE.format(section=heading)
    document = _DOCUMENT_WORDS.get(str(source.get("document", "")))
    if document is None:
        return gettext(_TRANSLATED_NOTE_UNNAMED).format(section=heading)
    return gettext(_TRANSLATED_NOTE).format(section=heading, document=gettext(document))


def cited(cite: Cite, kb: KnowledgeBase) -> str:
    """The source note of a statement of the knowledge base's family-report words (its ``cite``)."""
    return section({"document": kb.document(cite.source), "section": cite.section})


@cache
def _note_pattern(template: str) -> re.Pattern[str]:
    """A source note written from ``template`` (in the current language), its heading as the group ``section``."""
    parts = []
    for piece in re.split(r"(\{section\}|\{document\})", template):
        if piece == "{section}":
            parts.append(r"(?P<section>[^\n]+?)")
        elif piece == "{document}":
            parts.append(r"[^()\n]+?")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def _note_patterns() -> list[re.Pattern[str]]:
    """The source notes as ``section`` writes them in the current language."""
    if in_sources_language():
        return [_note_pattern(_ENGLISH_NOTE)]
    return [_note_pattern(gettext(_TRANSLATED_NOTE)), _note_pattern(gettext(_TRANSLATED_NOTE_UNNAMED))]


def source_notes(text: str) -> Iterator[re.Match[str]]:
    """The source notes in ``text``."""
    for pattern in _note_patterns():
        yield from pattern.finditer(text)


def without_source_notes(text: str) -> str:
    """``text`` without its source notes."""
    for pattern in _note_patterns():
        text = pattern.sub("", text)
    return text


def english(*words: str | None) -> tuple[str, ...]:
    """``words`` of a source (a title as it is registered) for a block's ``english``, in a report in another
    language than the sources'; none in theirs, where nothing needs marking."""
    return () if in_sources_language() else tuple(word for word in words if word)


def with_english(block: Block) -> Block:
    """``block`` with the headings its source notes cite among its English words (a report in another
    language than the sources'; the block unchanged in theirs)."""
    if in_sources_language():
        return block
    found = list(block.english)
    for text in (block.text, *block.items):
        for note in source_notes(text):
            if note.group("section") not in found:
                found.append(note.group("section"))
    return replace(block, english=tuple(found)) if len(found) > len(block.english) else block


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
