"""The parts of an assessment worked out once per knowledge base (engine/prepared.py): every assessment gets its
own copies, so changing one answer in place changes no other; and they live as long as their knowledge base."""

from __future__ import annotations

import gc
import json
import pickle
from pathlib import Path
from typing import Any

from allpath.domain.record import parse_record
from allpath.engine import prepared as prepared_module
from allpath.engine.assess import assess
from allpath.knowledge.loader import load_knowledge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _vandalize(value: Any) -> None:
    """Change every dict and list inside ``value`` in place."""
    if isinstance(value, dict):
        for key in list(value):
            _vandalize(value[key])
            value[key] = "changed"
    elif isinstance(value, list):
        for item in value:
            _vandalize(item)
        value.append("changed")


def test_changing_an_assessment_in_place_changes_no_later_one() -> None:
    kb = load_knowledge()
    bodies = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))]
    records = [parse_record(body) for body in bodies if isinstance(body, dict)]  # a list is a cohort
    assert len(records) > 20
    expected = [json.dumps(assess(record, kb)) for record in records]
    for record in records:
        _vandalize(assess(record, kb))
    assert [json.dumps(assess(record, kb)) for record in records] == expected


def test_the_prepared_parts_are_kept_with_their_knowledge_base_and_dropped_with_it() -> None:
    kb = load_knowledge()
    assert prepared_module.prepared(kb) is prepared_module.prepared(kb)
    other = pickle.loads(pickle.dumps(kb))
    assert prepared_module.prepared(other) is not prepared_module.prepared(kb)
    key = id(other)
    del other
    gc.collect()
    assert key not in prepared_module._PREPARED
