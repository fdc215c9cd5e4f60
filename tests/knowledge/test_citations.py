"""Every factor, therapy and drug in every output cites a section heading that exists in the source.

Checked over the whole exhaustive grid and over every bundled example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from allpath.domain.record import parse_record
from allpath.domain.results import Assessment, Factor, PlanDrug, PlanElement, PlanPhase, PlanTherapy
from allpath.engine.assess import assess
from allpath.engine.grid import complete_grid_records
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import EXAMPLES, optional_shared
from tests.grid_shards import over_grid_shards, shard_records
from tests.knowledge.test_knowledge_base import _checker_headings


def citations(root: object) -> set[tuple[str, str]]:
    """Every {document, section} pair anywhere in an output (walked with a stack: the whole-grid check walks
    over 100,000 outputs, and nested generators cost twice as much as the assessments' own walk)."""
    found: set[tuple[str, str]] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "document" in node and "section" in node:
                found.add((node["document"], node["section"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def cited_elements(result: Assessment) -> Iterator[Factor | PlanPhase | PlanElement | PlanTherapy | PlanDrug]:
    yield from result["factors"]
    yield from result["plan"]["phases"]
    yield from result["plan"]["elements"]
    elements = {e["id"] for e in result["plan"]["elements"]}
    entries: list[PlanTherapy | PlanDrug] = [*result["plan"]["therapies"], *result["plan"]["drugs"]]
    for entry in entries:
        yield entry
        assert entry["reasons"] and all(r["element"] in elements for r in entry["reasons"]), entry


def _check(results: Iterator[Assessment], kb: KnowledgeBase) -> tuple[int, set[tuple[str, str]]]:
    seen: set[tuple[str, str]] = set()
    count = 0
    for result in results:
        count += 1
        for element in cited_elements(result):
            source = element.get("source")
            assert source and source["document"] == kb.document("pdq") and source["section"], element
        seen.update(citations(result))
    return count, seen


def _assert_resolve(seen: set[tuple[str, str]], kb: KnowledgeBase) -> None:
    by_document = {src.document: set(src.sections) for src in kb.sources.values()}
    for document, section in seen:
        assert section in by_document[document], (document, section)
    shared = optional_shared()
    if shared is not None:
        headings = _checker_headings((shared / "source" / "childhood-all-treatment-pdq.txt").read_text("utf-8"))
        for document, section in seen:
            if document == kb.document("pdq"):
                assert section in headings, section


def _check_shard(kb: KnowledgeBase, shard: int, shards: int) -> tuple[int, set[tuple[str, str]]]:
    return _check((assess(parse_record(r), kb) for r in shard_records(kb, shard, shards)), kb)


def test_every_output_over_the_whole_grid_cites_existing_sections(kb: KnowledgeBase) -> None:
    checked = over_grid_shards(_check_shard, kb)
    assert sum(count for count, _ in checked) == sum(1 for _ in complete_grid_records(kb)) > 100_000
    _assert_resolve(set().union(*(seen for _, seen in checked)), kb)


def _example_records() -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        yield from data if isinstance(data, list) else [data]


def test_every_example_output_cites_existing_sections(kb: KnowledgeBase) -> None:
    count, seen = _check((assess(parse_record(r), kb) for r in _example_records()), kb)
    assert count >= 20
    _assert_resolve(seen, kb)
