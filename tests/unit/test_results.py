"""The typed results (allpath.domain.results) describe exactly what the engine returns.

Every golden output and the results of every example patient (assessment, roadmap dated and undated, the
doses of every phase, survivorship plan, care overview, change explanation) are validated against their
TypedDict in pydantic's strict mode with extra keys forbidden, so a key the engine adds, drops or fills with
another kind of value fails here until the type says so. A second check walks the same outputs and requires
that every declared key was seen at least once, so the types cannot keep a key the engine no longer writes.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from typing_extensions import is_typeddict

from allpath.domain import results as r
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord
from allpath.engine.assess import assess
from allpath.engine.diff import explain_changes
from allpath.engine.doses import DoseError, phase_doses
from allpath.engine.roadmap import build_roadmap
from allpath.engine.survivorship import survivorship_plan
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service import care_overview
from tests.conftest import EXAMPLES, GOLDEN

ENVELOPE = ("record_id", "knowledge_version", "engine_version")  # what the CLI adds around a result
ROADMAP_START = date(2026, 1, 5)


def _examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.json") if p.stem != "all")


@cache
def _kb() -> KnowledgeBase:
    return load_knowledge()


def _strip(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in ENVELOPE}


def _golden_outputs() -> Iterator[tuple[str, Any, object]]:
    for path in sorted((GOLDEN / "examples").glob("*.json")):
        yield path.name, r.Assessment, json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((GOLDEN / "roadmaps").glob("*.roadmap.json")):
        yield path.name, r.Roadmap, _strip(json.loads(path.read_text(encoding="utf-8")))
    for path in sorted((GOLDEN / "survivorship").glob("*.json")):
        plan = json.loads(path.read_text(encoding="utf-8"))["survivorship"]
        yield path.name, r.SurvivorshipPlan, _strip(plan)


def _record(path: Path, **extra: Any) -> PatientRecord:
    return parse_record({**json.loads(path.read_text(encoding="utf-8")), **extra})


def _example_outputs(path: Path) -> Iterator[tuple[str, Any, object]]:
    """Every engine result for one example patient, undated and dated from ROADMAP_START."""
    kb = _kb()
    record = _record(path)
    assessment = assess(record, kb)
    yield "assessment", r.Assessment, assessment
    for start in (None, ROADMAP_START):
        roadmap = build_roadmap(record, assessment, kb, start)
        yield f"roadmap from {start}", r.Roadmap, roadmap
        yield f"survivorship from {start}", r.SurvivorshipPlan, survivorship_plan(record, kb, roadmap)
        yield f"overview from {start}", r.CareOverview, care_overview(kb, record, start=start)
        regimen = roadmap["regimen"]
        regimen_id = regimen["id"] if regimen is not None else None
        for phase in roadmap["phases"] if regimen_id is not None else ():
            on = date.fromisoformat(phase["start"]) if phase["start"] else None
            try:
                doses = phase_doses(record, kb, str(regimen_id), phase["id"], on=on)
            except DoseError:
                continue
            yield f"doses {phase['id']} on {on}", r.PhaseDoses, doses


def _change_outputs() -> Iterator[tuple[str, Any, object]]:
    """The changes between every example and a copy with a poor end-of-induction response."""
    kb = _kb()
    for path in _examples():
        before_record = json.loads(path.read_text(encoding="utf-8"))
        response = {**before_record.get("response", {}), "end_of_induction_marrow_mrd_pct": 2.0}
        after_record = {**before_record, "response": response}
        before, after = assess(parse_record(before_record), kb), assess(parse_record(after_record), kb)
        for change in explain_changes(kb, before_record, before, after_record, after):
            yield path.stem, r.Change, change


# Records beyond the examples, for the parts of a result no example shows.
EXTRA_RECORDS = {
    "a white count that looks like thousands": {"age_years": 5, "wbc_per_ul": 500, "immunophenotype": "B"},
}


@cache
def _all_outputs() -> list[tuple[str, Any, object]]:
    found = list(_golden_outputs())
    kb = _kb()
    found += [(name, r.Assessment, assess(parse_record(raw), kb)) for name, raw in EXTRA_RECORDS.items()]
    for path in _examples():
        found += [(f"{path.stem}: {what}", kind, value) for what, kind, value in _example_outputs(path)]
    found += list(_change_outputs())
    return found


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def test_there_are_outputs_of_every_kind() -> None:
    kinds = {kind for _, kind, _ in _all_outputs()}
    assert kinds == {r.Assessment, r.Roadmap, r.SurvivorshipPlan, r.CareOverview, r.PhaseDoses, r.Change}


def test_every_output_validates_strictly_against_its_type() -> None:
    problems = []
    for name, kind, value in _all_outputs():
        try:
            _adapter(kind).validate_python(value, strict=True)
        except ValueError as error:
            problems.append(f"{name} ({kind.__name__}): {error}")
    assert not problems, "\n".join(problems[:5])


def test_an_extra_key_fails_validation() -> None:
    name, kind, value = next(o for o in _all_outputs() if o[1] is r.Assessment)
    assert isinstance(value, dict)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        _adapter(kind).validate_python({**value, "surprise": 1}, strict=True)
    nested = {**value, "plan": {**value["plan"], "surprise": 1}}
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        _adapter(kind).validate_python(nested, strict=True)


def _typeddicts_in(annotation: Any) -> list[Any]:
    """The TypedDicts an annotation can hold, through lists, dicts and unions."""
    if is_typeddict(annotation):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict):
        return [t for arg in typing.get_args(annotation) for t in _typeddicts_in(arg)]
    return []


def _walk(kind: Any, value: object, seen: dict[str, set[str]]) -> None:
    """Record which keys of which TypedDict the value shows, following nested results."""
    if isinstance(value, list):
        for item in value:
            _walk(kind, item, seen)
        return
    candidates = _typeddicts_in(kind)
    if not isinstance(value, dict) or not candidates:
        return
    # A union of TypedDicts (doses or a refusal): the one whose required keys the value has.
    chosen = next((t for t in candidates if t.__required_keys__ <= value.keys()), candidates[0])
    hints = typing.get_type_hints(chosen)
    seen.setdefault(chosen.__name__, set()).update(value.keys())
    for key, item in value.items():
        if key in hints:
            _walk(hints[key], item, seen)


def _declared() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    pending = [r.Assessment, r.Roadmap, r.SurvivorshipPlan, r.CareOverview, r.PhaseDoses, r.Change]
    while pending:
        kind = pending.pop()
        if kind.__name__ in out:
            continue
        hints = typing.get_type_hints(kind)
        out[kind.__name__] = set(hints)
        pending += [t for hint in hints.values() for t in _typeddicts_in(hint)]
    return out


def test_every_declared_key_occurs_in_some_output() -> None:
    seen: dict[str, set[str]] = {}
    for _, kind, value in _all_outputs():
        _walk(kind, value, seen)
    unseen = {name: keys - seen.get(name, set()) for name, keys in _declared().items()}
    assert not {name: keys for name, keys in unseen.items() if keys}, "declared but never written by the engine"
