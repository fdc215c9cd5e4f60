"""What ``allpath assess`` writes once its records are valid: JSON, a one-line summary per record or the family
reports. No typer here, so that the command's fast start (``fast``) writes through the very same functions."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allpath.domain.record_model import PatientRecord
    from allpath.domain.results import Assessment
    from allpath.knowledge.loader import KnowledgeBase

# The rule between two family reports of a cohort, in plain text (the Markdown one is a thematic break).
TEXT_SEPARATOR = "\n" + "=" * 88 + "\n\n"
MARKDOWN_SEPARATOR = "\n---\n\n"

DEFAULT_LANGUAGE = "en"


class OutputFormat(StrEnum):
    json = "json"
    text = "text"
    markdown = "markdown"
    summary = "summary"


def write_assessments(records: list[PatientRecord], output_format: OutputFormat, lang: str, *, many: bool) -> None:
    """Assess ``records`` (valid) with the knowledge base in ``lang`` and write them in ``output_format``."""
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import assess_record

    kb = load_knowledge(locale=lang)
    results = (assess_record(kb, r) for r in _with_progress(records))
    # Each assessment is written as soon as it is made: a cohort never sits in memory as a whole.
    if output_format is OutputFormat.json:
        _write_json(results, many)
    elif output_format is OutputFormat.summary:
        _write_summary(results)
    else:
        from allpath.interfaces.i18n import use_locale  # only a report is in a language (JSON stays as is)

        with use_locale(lang):
            _write_reports(records, results, kb, markdown=output_format is OutputFormat.markdown)


def _write_summary(results: Iterable[Assessment]) -> None:
    from allpath.interfaces.summary import summary_row, summary_table

    rows, disclaimer = [], ""
    for index, result in enumerate(results):
        rows.append(summary_row(index, result))
        disclaimer = result["disclaimer"]
    sys.stdout.write(summary_table(rows, disclaimer))


def _write_reports(
    records: list[PatientRecord], results: Iterable[Assessment], kb: KnowledgeBase, *, markdown: bool
) -> None:
    """The family report of each record, in text or Markdown, one after the other."""
    from allpath.interfaces.report import build_blocks, render_markdown, render_text
    from allpath.service.records import roadmap_of

    render = render_markdown if markdown else render_text
    separator = MARKDOWN_SEPARATOR if markdown else TEXT_SEPARATOR
    for index, (record, result) in enumerate(zip(records, results, strict=True)):
        # The roadmap gives the report how long treatment lasts (the report shows no dates).
        roadmap = roadmap_of(record, kb, result)
        sys.stdout.write((separator if index else "") + render(build_blocks(result, kb, roadmap=roadmap)))


def _progress_wanted(count: int) -> bool:
    return count > 1 and sys.stderr.isatty() and os.environ.get("CI") != "true"


def _with_progress(records: list[PatientRecord]) -> Iterator[PatientRecord]:
    if not _progress_wanted(len(records)):
        return iter(records)
    from rich.console import Console
    from rich.progress import track

    return iter(track(records, description="Assessing", console=Console(stderr=True)))


def _write_json(results: Iterator[Assessment], many: bool) -> None:
    """One record: indented JSON. An array: a JSON array with one compact assessment per line, which
    keeps a cohort's output small and line-oriented (each line is one patient) while staying one JSON value."""
    out = sys.stdout
    if not many:
        out.write(json.dumps(next(results), indent=2, ensure_ascii=False) + "\n")
        return
    first = True
    for result in results:
        out.write(("[\n" if first else ",\n") + json.dumps(result, ensure_ascii=False, separators=(",", ":")))
        first = False
    out.write("[]\n" if first else "\n]\n")
