"""What every result shares: the closed configuration, the closed vocabularies and provenance."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

CLOSED = ConfigDict(extra="forbid")
"""Every result type forbids keys it does not declare (a TypedDict would ignore them)."""

DiseaseState = Literal["newly_diagnosed", "relapsed", "refractory"]
ConfidenceWord = Literal["high", "moderate"]
"""A knowledge confidence tag (H, M) as a reader sees it."""
Certainty = Literal["always", "usually", "may", "sometimes", "considered", "studied"]
FactValue = bool | int | float | str | list[str]
"""A known input value as shown in output (a set becomes a sorted list)."""


# ---- Provenance ---------------------------------------------------------------------------------------------


@with_config(CLOSED)
class Source(TypedDict):
    """Where a rule is written: the document and a heading of it."""

    document: str
    section: str


@with_config(CLOSED)
class EvidenceRef(TypedDict):
    """A deeper fact behind a rule: its document, section, reference and confidence."""

    document: str
    section: str
    reference: str
    confidence: ConfidenceWord


@with_config(CLOSED)
class NotCoveredNote(TypedDict):
    """Something the sources do not cover for this child, said explicitly."""

    id: str
    explanation: str
    source: Source
