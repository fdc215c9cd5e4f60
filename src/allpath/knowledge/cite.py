"""Citations and evidence: the models every knowledge schema shares.

They live in their own module, below ``schema`` and ``therapy_schema``, so that both schemas can use them
without importing each other (the two used to import each other in a circle).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Confidence = Literal["H", "M"]

FROZEN = ConfigDict(extra="forbid", frozen=True, defer_build=True)
"""Knowledge models are immutable, and an unknown key is an error (a misspelt key cannot drop a rule). Each
model builds its validator when it first validates, not when it is imported: a start whose knowledge base comes
from the cache (``allpath.knowledge.cache``) validates nothing and so builds none (about 40 ms of the CLI's start)."""

RULE_ID = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"
"""A stable rule id: dotted lower_snake with at least two parts (``risk.nci.high_wbc``)."""


class Cite(BaseModel):
    """A place in a registered source: ``source`` is an id from ``sources.yaml`` (default: the summary)."""

    model_config = FROZEN
    source: str = "pdq"
    section: str


class Evidence(BaseModel):
    """A deeper fact behind a rule, with its reference, confidence tag and the setting its source speaks of."""

    model_config = FROZEN
    source: str
    section: str
    reference: str
    confidence: Confidence
    # The setting (a name from settings.yaml) that the cited study or table speaks of: newly diagnosed,
    # relapsed or refractory disease, a lineage, an age band. The lint rejects a rule whose own setting this
    # one does not cover (a relapse-trial list behind a rule for newly diagnosed children, say).
    setting: str
    # A short phrase of the cited line of clinical-facts.md. The knowledge tests find the line and prove
    # that it is not marked [L] and that ``confidence`` is no higher than its tag.
    fact: str | None = None
