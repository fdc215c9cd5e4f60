"""The second-opinion package of one patient record: everything the CLI, the API and the web app export.

``second_opinion(record, kb)`` validates the record, assesses it (or takes the stored assessment), builds the
roadmap and the survivorship plan with the knowledge base, and returns ``second_opinion_bundle`` of all of it.
Pure: no I/O, nothing logged.
"""

from __future__ import annotations

from typing import Any

from allpath import __version__
from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.interfaces.fhir.exporter import second_opinion_bundle
from allpath.knowledge.loader import KnowledgeBase

MEDIA_TYPE = "application/fhir+json"


def treatment_views(
    record: dict[str, Any], kb: KnowledgeBase, assessment: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The assessment, roadmap and survivorship plan of a record (``RecordError`` if it is invalid); the
    roadmap and the plan carry the versions that made them."""
    parsed = parse_record(record)
    if assessment is None:
        assessment = assess(parsed, kb)
    versions = {"knowledge_version": kb.version, "engine_version": __version__}
    roadmap = build_roadmap(parsed, assessment, kb)
    survivorship = survivorship_plan(parsed, kb, roadmap)
    return assessment, {**roadmap, **versions}, {**survivorship, **versions}


def second_opinion(
    record: dict[str, Any], kb: KnowledgeBase, assessment: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The record, risk assessment, plan, roadmap (when the child has a regimen) and survivorship plan (when
    there is treatment to follow up) as one collection Bundle. Raises ``RecordError`` for an invalid record."""
    assessment, roadmap, survivorship = treatment_views(record, kb, assessment)
    return second_opinion_bundle(record, assessment, survivorship=survivorship, roadmap=roadmap)
