"""What changed between two assessments of the same patient, and why.

A re-assessment is only useful to a care team if it says what moved and which new result moved it:
"risk group: standard -> very high, because end-of-induction bone marrow MRD 1.2".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from allpath.domain.labels import field_label
from allpath.domain.limits import number
from allpath.domain.results import Assessment, Change
from allpath.knowledge.loader import KnowledgeBase

_WATCHED: tuple[tuple[Literal["disease_state", "risk_group", "cog_risk_group"], str], ...] = (
    ("disease_state", "disease state"),
    ("risk_group", "risk group"),
    ("cog_risk_group", "COG risk group"),
)


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    """Record paths to values; lists are compared whole (a relapse list is one fact)."""
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def changed_fields(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """Record paths whose value differs between two records (added, removed or changed)."""
    a, b = _flatten(before), _flatten(after)
    return sorted(path for path in set(a) | set(b) if a.get(path) != b.get(path))


def _shown(value: object) -> str:
    if value is None:
        return "none"
    return str(value).replace("_", " ")


def _input_path(kb: KnowledgeBase, fact: str) -> str | None:
    spec = kb.inputs.get(fact)
    return spec.field if spec else None


def _because(kb: KnowledgeBase, result: Assessment, scheme: str, changed: list[str]) -> list[str]:
    deciding = [f for f in result["factors"] if f["scheme"] == scheme and f.get("decides")]
    reasons = []
    for f in deciding:
        for fact, value in f["inputs"].items():
            path = _input_path(kb, fact)
            if path is not None and path in changed:
                spec = kb.inputs[fact]
                if isinstance(value, list):
                    shown = ", ".join(value)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    shown = number(value) + (f" {spec.unit}" if spec.unit else "")
                else:
                    shown = str(value)
                reasons.append(f"{spec.label} {shown}")
    if not reasons:
        reasons = [f["explanation"] for f in deciding]
    return reasons


def explain_changes(
    kb: KnowledgeBase,
    before_record: Mapping[str, object] | None,
    before: Assessment | None,
    after_record: Mapping[str, object],
    after: Assessment,
) -> list[Change]:
    """The changes from ``before`` to ``after``, each with the new results that explain it."""
    if before is None or before_record is None:
        return []
    changed = changed_fields(before_record, after_record)
    changes: list[Change] = []
    for key, label in _WATCHED:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        reasons = _because(kb, after, key, changed) if new is not None else []
        message = f"{label}: {_shown(old)} -> {_shown(new)}"
        if reasons:
            message += ", because " + "; ".join(reasons)
        changes.append({"field": key, "before": old, "after": new, "because": reasons, "message": message})
    old_pops, new_pops = set(before.get("populations", [])), set(after.get("populations", []))
    for pop in sorted(new_pops - old_pops):
        changes.append(
            {
                "field": "populations",
                "before": None,
                "after": pop,
                "because": [],
                "message": f"now in the population: {_shown(pop)}",
            }
        )
    for pop in sorted(old_pops - new_pops):
        changes.append(
            {
                "field": "populations",
                "before": pop,
                "after": None,
                "because": [],
                "message": f"no longer in the population: {_shown(pop)}",
            }
        )
    if before.get("provisional") and not after.get("provisional"):
        changes.append(
            {
                "field": "provisional",
                "before": True,
                "after": False,
                "because": [],
                "message": "the assessment is complete: no input it depends on is missing any more",
            }
        )
    if changed:
        changes.append(
            {
                "field": "record",
                "before": None,
                "after": None,
                "because": [],
                # Software reads the record paths in "fields"; a person reads the fields' labels.
                "fields": list(changed),
                "message": "changed in the record: " + ", ".join(field_label(path) for path in changed),
            }
        )
    return changes
