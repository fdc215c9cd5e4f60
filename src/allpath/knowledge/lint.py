"""Lint the knowledge base: every citation resolves, ids are unique, nothing is orphaned.

Errors make ``allpath kb lint`` exit non-zero. With the source documents at hand (``source_dirs``), the
lint also proves that each registered document is the one whose sha256 is recorded and that every
registered section of the summary is a heading line of its text.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from allpath.knowledge import schema as s
from allpath.knowledge.loader import KnowledgeBase


@dataclass
class LintReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    citations_checked: int = 0
    documents_verified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every (path, model) pair inside a validated knowledge file."""
    if isinstance(node, BaseModel):
        yield path, node
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list | tuple):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _walk(item, f"{path}.{key}")


def heading_lines(text: str) -> set[str]:
    """Lines of a plain-text document that stand alone like headings."""
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith(" ")}


def lint(kb: KnowledgeBase, source_dirs: list[Path] | None = None) -> LintReport:
    report = LintReport()
    ids: Counter[str] = Counter()
    for name, model in kb.files.items():
        for path, node in _walk(model, name):
            if isinstance(node, s.Cite | s.Evidence):
                report.citations_checked += 1
                source = kb.sources.get(node.source)
                if source is None:
                    report.errors.append(f"{path}: cites unknown source {node.source!r}")
                elif node.section not in source.sections:
                    report.errors.append(f"{path}: section {node.section!r} is not a section of {source.id}")
            if isinstance(node, s._Explained):
                ids[node.id] += 1
                weakest = min((e.confidence for e in node.evidence), default="H", key="HM".index)
                if node.confidence == "H" and weakest == "M":
                    report.errors.append(f"{path}: {node.id} claims confidence H on evidence of confidence M")
    for rule_id, count in ids.items():
        if count > 1:
            report.errors.append(f"rule id {rule_id!r} is used {count} times")
    for item in kb.unused:
        report.errors.append(f"{item} is defined but never used")

    used_drugs = {d for e in kb.plan for d in e.spec.drugs}
    for drug in kb.drugs:
        if drug not in used_drugs:
            report.warnings.append(f"drug {drug!r} is catalogued from the source but no plan element uses it")
    used_therapies = {t for e in kb.plan for t in e.spec.therapies}
    for code in kb.therapies:
        if code not in used_therapies:
            report.errors.append(f"therapy {code!r} is catalogued but no plan element uses it")

    for directory in source_dirs or []:
        _verify_documents(kb, directory, report)
    return report


def _verify_documents(kb: KnowledgeBase, directory: Path, report: LintReport) -> None:
    for source in kb.sources.values():
        if not source.file:
            continue
        path = directory / source.file
        if not path.exists():
            continue
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if source.sha256 and digest != source.sha256:
            report.errors.append(f"{source.id}: {path} has sha256 {digest}, registry says {source.sha256}")
            continue
        report.documents_verified.append(source.id)
        text = data.decode("utf-8")
        if source.id == "pdq":
            headings = heading_lines(text)
            for section in source.sections:
                if section not in headings:
                    report.errors.append(f"{source.id}: section {section!r} is not a heading line of {path.name}")
        else:
            for section in source.sections:
                if not any(line.lstrip("#").strip() == section for line in text.splitlines() if line.startswith("#")):
                    report.errors.append(f"{source.id}: section {section!r} is not a heading of {path.name}")
