"""A small conformance checker: one resource against the snapshot of a StructureDefinition.

It checks what matters for allpath's exported risk assessment: the cardinality of every element of the
snapshot (per parent instance), fixed and pattern values, the allowed types of choice elements, must-support
elements that are absent (reported in ``Report.missing_must_support``), and value set bindings — required ones
must hold (for value sets found in the packages), extensible ones are reported
as notes when a code lies outside the value set. Slices are not evaluated (the profiles we check slice only
``category``, openly). No network: value sets and code systems come from the unpacked npm packages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Terminology:
    valuesets: dict[str, dict[str, Any]] = field(default_factory=dict)
    codesystems: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_packages(cls, *folders: Path) -> Terminology:
        found = cls()
        for folder in folders:
            for path in folder.glob("ValueSet-*.json"):
                vs = json.loads(path.read_text(encoding="utf-8"))
                found.valuesets[vs["url"]] = vs
            for path in folder.glob("CodeSystem-*.json"):
                cs = json.loads(path.read_text(encoding="utf-8"))
                found.codesystems[cs["url"]] = cs
        return found

    def codes(self, url: str) -> set[tuple[str, str]] | None:
        """Every (system, code) of a value set, or None when it cannot be expanded here."""
        vs = self.valuesets.get(url.split("|")[0])
        if vs is None:
            return None
        result: set[tuple[str, str]] = set()
        for include in vs.get("compose", {}).get("include", []):
            system = include.get("system")
            if include.get("valueSet") or include.get("filter") or not system:
                return None
            if include.get("concept"):
                result |= {(system, c["code"]) for c in include["concept"]}
                continue
            cs = self.codesystems.get(system)
            if cs is None:
                return None
            pending = list(cs.get("concept", []))
            while pending:
                concept = pending.pop()
                result.add((system, concept["code"]))
                pending.extend(concept.get("concept", []))
        return result


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_bindings: list[str] = field(default_factory=list)
    missing_must_support: list[str] = field(default_factory=list)
    """Must-support elements (outside slices) absent where their parent is present. A primitive given only by
    its extensions (``_effectiveDateTime`` with a data-absent-reason) counts as present, as in FHIR JSON, and an
    Observation's value[x] as given when its ``dataAbsentReason`` says why it is missing (obs-6)."""


def _children(node: Any, name: str) -> list[Any]:
    """The values of one path step under a node (a choice step ``value[x]`` matches valueQuantity etc.)."""
    if not isinstance(node, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        values = []
        for key, item in node.items():
            if key.startswith(stem) and key[len(stem) : len(stem) + 1].isupper():
                values.extend(item if isinstance(item, list) else [item])
        return values
    item = node.get(name)
    if item is None:
        return []
    return item if isinstance(item, list) else [item]


def _extended(node: Any, name: str) -> bool:
    """Whether a primitive element is given by its extensions alone (``_name``, or ``_effectiveDateTime`` for
    a choice ``effective[x]``)."""
    if not isinstance(node, dict):
        return False
    if name == "value[x]" and "dataAbsentReason" in node:
        return True
    if name.endswith("[x]"):
        stem = "_" + name[:-3]
        return any(k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper() for k in node)
    return "_" + name in node


def _nodes(resource: dict[str, Any], steps: list[str]) -> list[Any]:
    nodes: list[Any] = [resource]
    for step in steps:
        nodes = [child for node in nodes for child in _children(node, step)]
    return nodes


def _contains(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_contains(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_contains(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


def _coded(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [("", value)]
    if isinstance(value, dict) and "coding" in value:
        return [(c.get("system", ""), c.get("code", "")) for c in value["coding"]]
    if isinstance(value, dict) and "code" in value:
        return [(value.get("system", ""), value["code"])]
    return []


def check(resource: dict[str, Any], structure: dict[str, Any], terminology: Terminology) -> Report:
    report = Report()
    root = structure["type"]
    if resource.get("resourceType") != root:
        report.errors.append(f"resourceType {resource.get('resourceType')} is not {root}")
        return report
    for element in structure["snapshot"]["element"]:
        if ":" in element["id"] or element.get("sliceName"):
            continue
        steps = element["path"].split(".")[1:]
        if not steps:
            continue
        parents = _nodes(resource, steps[:-1])
        for parent in parents:
            values = _children(parent, steps[-1])
            if element.get("mustSupport") and not values and not _extended(parent, steps[-1]):
                report.missing_must_support.append(element["path"])
            low, high = element.get("min", 0), element.get("max", "*")
            if len(values) < low:
                report.errors.append(f"{element['path']}: {len(values)} value(s), at least {low} required")
            if high != "*" and len(values) > int(high):
                report.errors.append(f"{element['path']}: {len(values)} value(s), at most {high} allowed")
            if steps[-1].endswith("[x]") and values and element.get("type"):
                stem = steps[-1][:-3]
                allowed = {t["code"] for t in element["type"]}
                used = {k[len(stem) :] for k in parent if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()}
                for kind in used:
                    if kind[0].lower() + kind[1:] not in allowed and kind not in allowed:
                        report.errors.append(f"{element['path']}: type {kind} not among {sorted(allowed)}")
            for key, pattern in element.items():
                if key.startswith(("pattern", "fixed")):
                    for value in values:
                        exact = key.startswith("fixed")
                        if (value != pattern) if exact else not _contains(value, pattern):
                            report.errors.append(f"{element['path']}: does not match {key} {json.dumps(pattern)}")
            binding = element.get("binding")
            if not binding or not values or binding.get("strength") not in ("required", "extensible"):
                continue
            allowed_codes = terminology.codes(binding.get("valueSet", ""))
            if allowed_codes is None:
                report.notes.append(f"{element['path']}: value set {binding.get('valueSet')} not available here")
                continue
            report.checked_bindings.append(f"{element['path']} ({binding['strength']}) {binding['valueSet']}")
            for value in values:
                codes = _coded(value)
                if not codes:
                    continue
                inside = any(
                    (system, code) in allowed_codes or (not system and any(code == c for _, c in allowed_codes))
                    for system, code in codes
                )
                if not inside:
                    message = f"{element['path']}: {codes} not in {binding['valueSet']}"
                    if binding["strength"] == "required":
                        report.errors.append(message)
                    else:
                        report.notes.append("extensible binding, code outside the value set: " + message)
    return report
