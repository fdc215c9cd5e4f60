"""CDS Hooks cards: the fields the specification requires, citations as Markdown and links to the sources.

Every card has a ``uuid`` (for feedback), a one-sentence ``summary`` under 140 characters, an ``indicator``
(info, warning or critical), ``source.label`` and a Markdown ``detail`` that ends with the disclaimer. Text
that came from the request (a drug name of an order, a unit) is escaped before it goes into Markdown, so a
CDS client's data cannot add links or HTML to a card. Optional fields without a value are left out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NotRequired

from typing_extensions import TypedDict

from allpath.interfaces.fhir import codes as c
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import SourceSpec

SOURCE_LABEL = "allpath (NCI PDQ + cited facts)"
SUMMARY_LIMIT = 139  # the specification: a summary of fewer than 140 characters
INDICATORS = ("info", "warning", "critical")
OVERRIDE_SYSTEM = c.LOCAL_SYSTEM.rsplit("/", 1)[0] + "/cds-override-reason"
OVERRIDE_REASONS = {
    "patient-tolerated-previously": "Patient tolerated this dose previously",
    "protocol-specified-dose": "Dose specified by the treatment protocol",
    "clinical-judgement": "Clinical judgement of the care team",
    "titrated-to-blood-counts": "Dose titrated to the blood counts",
    "phenotype-known-elsewhere": "TPMT/NUDT15 results are known but not in the record",
}


Indicator = Literal["info", "warning", "critical"]


class Coding(TypedDict):
    system: str
    code: str
    display: str


class Link(TypedDict):
    label: str
    url: str
    type: Literal["absolute"]


class Source(TypedDict):
    label: str
    url: NotRequired[str]


class Action(TypedDict):
    """An action of a suggestion: here always an update of the draft order (``resource``, the order as sent
    with its dose changed)."""

    type: Literal["update"]
    description: str
    resource: dict[str, object]


class Suggestion(TypedDict):
    label: str
    uuid: str
    actions: list[Action]


class Card(TypedDict):
    """A CDS Hooks card as allpath answers it (optional fields only when they have a value)."""

    uuid: str
    summary: str
    indicator: Indicator
    detail: str
    source: Source
    suggestions: NotRequired[list[Suggestion]]
    selectionBehavior: NotRequired[Literal["at-most-one"]]
    overrideReasons: NotRequired[list[Coding]]
    links: NotRequired[list[Link]]


@dataclass(frozen=True)
class Cards:
    """Builds the cards of one response."""

    kb: KnowledgeBase
    base_url: str | None  # the service's public base URL, for absolute links (None: no links)

    def card(
        self,
        summary: str,
        indicator: Indicator,
        detail: str,
        *,
        links: list[Link] | None = None,
        suggestions: list[Suggestion] | None = None,
        override: Iterable[str] = (),
    ) -> Card:
        assert indicator in INDICATORS, indicator
        out: Card = {
            "uuid": str(uuid.uuid4()),
            "summary": clip(summary),
            "indicator": indicator,
            "detail": detail.rstrip() + "\n\n_" + self.kb.text.disclaimer + "_",
            "source": self.source(),
        }
        if suggestions:
            out["suggestions"] = suggestions
            out["selectionBehavior"] = "at-most-one"
        reasons: list[Coding] = [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": OVERRIDE_REASONS[code]} for code in override
        ]
        if reasons:
            out["overrideReasons"] = reasons
        if links:
            out["links"] = links
        return out

    def source(self) -> Source:
        source: Source = {"label": SOURCE_LABEL}
        if self.base_url:
            source["url"] = f"{self.base_url}/sources"
        return source

    def cite(self, citation: Mapping[str, object] | None) -> str:
        """A citation as Markdown: *section*, document title (and the reference of a deeper fact)."""
        if not citation:
            return ""
        spec = _source(self.kb, str(citation.get("document", "")))
        title = spec.title if spec is not None else str(citation.get("document", ""))
        text = f"*{citation.get('section', '')}*, {title}"
        if citation.get("reference"):
            text += f" ({citation['reference']})"
        url = self.cite_url(citation)
        return f"[{text}]({url})" if url else text

    def cite_url(self, citation: Mapping[str, object] | None) -> str | None:
        """The absolute URL of the page of a citation: ``/sources/<id>#<slug of the section>``."""
        if not citation or not self.base_url:
            return None
        spec = _source(self.kb, str(citation.get("document", "")))
        if spec is None:
            return None
        return f"{self.base_url}/sources/{spec.id}#{slug(str(citation.get('section', '')))}"

    def link(self, label: str, citation: Mapping[str, object] | None) -> Link | None:
        url = self.cite_url(citation)
        return {"label": clip(label), "url": url, "type": "absolute"} if url else None


def _source(kb: KnowledgeBase, document: str) -> SourceSpec | None:
    return next((spec for spec in kb.sources.values() if spec.document == document), None)


def slug(text: str) -> str:
    """The anchor of a source section on the sources page (as the web app writes it)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def clip(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """One line of at most ``limit`` characters (cut at a word, with an ellipsis)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#!|~:])")


def escape(text: object) -> str:
    """Text from the request, safe inside Markdown: no markup, links or HTML (``:`` and ``www.`` escaped
    against autolinks), one line."""
    plain = " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", plain).replace("www.", "www\\.")


def number(value: float) -> str:
    """A dose or measurement without trailing zeros (2, 1.25, 0.8)."""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)
