"""The plan and the diagnostic tests are made once per combination of what decides them (engine/plan.py,
engine/guidance.py): children who share a combination get equal answers that share nothing, and the answers read
back from what was kept are the ones made afresh (a new knowledge base keeps nothing yet)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.prepared import prepared
from allpath.knowledge.loader import load_knowledge

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_plans_and_test_lists_are_kept_per_combination_and_read_back_unchanged() -> None:
    kb = pickle.loads(pickle.dumps(load_knowledge()))  # its own prepared parts: none kept by an earlier test
    bodies = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))]
    records = [parse_record(body) for body in bodies if isinstance(body, dict)]
    first = [assess(record, kb) for record in records]
    prep = prepared(kb)
    assert 0 < len(prep.plans) < len(records)
    assert 0 < len(prep.test_lists) < len(records)
    again = [assess(record, kb) for record in records]
    assert json.dumps(again) == json.dumps(first)
    for a, b in zip(first, again, strict=True):
        assert a["plan"] is not b["plan"] and a["diagnostic_tests"] is not b["diagnostic_tests"]
        for key in ("therapies", "drugs", "elements", "phases"):
            assert all(x is not y for x, y in zip(a["plan"][key], b["plan"][key], strict=True))
    fresh = pickle.loads(pickle.dumps(kb))  # its own prepared parts, nothing kept yet
    assert json.dumps([assess(record, fresh) for record in reversed(records)]) == json.dumps(first[::-1])
