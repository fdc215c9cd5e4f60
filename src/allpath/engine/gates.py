"""Conditions indexed by the facts that gate them, so that an assessment checks only what can still hold.

Most plan elements start with ``{fact: disease_state, eq: ...}`` and many with ``{fact: risk_group, eq: ...}``:
an "all" whose equality part is false is false whatever its other parts say, and an "all" whose equality part is
true answers as its other parts do. ``Gated`` finds such parts (``eq`` and ``in`` at the top of a condition or of
an "all" in it) on the facts that gate many conditions (the *key facts*), and works out once per combination of
their values which conditions can still hold and what is left to check of each: ``None`` when nothing is (the
condition holds). A key fact that is absent leaves its part to be checked, so the missing facts stay the same.
Which conditions are kept and in which order, and what each answers, are exactly as checking every condition in
full; tests/unit/test_gates.py compares the two on generated conditions and facts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic, TypeVar

from allpath.knowledge import checks
from allpath.knowledge.checks import Check
from allpath.knowledge.conditions import All, Condition, Equals, Fact, Facts, OneOf

T = TypeVar("T")
_LIMIT = 512  # combinations of key-fact values kept; beyond it a combination is worked out each time (never wrong)


def _parts(condition: Condition) -> tuple[Condition, ...]:
    """The parts of an "all" (of an "all" in it, in their place), or the condition itself."""
    if isinstance(condition, All):
        return tuple(leaf for part in condition.parts for leaf in _parts(part))
    return (condition,)


def _gate_fact(part: Condition) -> str | None:
    return part.fact if isinstance(part, Equals | OneOf) else None


class Gated(Generic[T]):
    """``items``, each with its condition, selected by the values of their key facts."""

    def __init__(self, items: Sequence[T], conditions: Sequence[Condition]) -> None:
        self._items = tuple(items)
        self._conditions = tuple(conditions)
        self._parts = tuple(_parts(c) for c in self._conditions)
        counts: dict[str, int] = {}
        for parts in self._parts:
            for fact in {f for p in parts if (f := _gate_fact(p)) is not None}:
                counts[fact] = counts.get(fact, 0) + 1
        enough = max(2, len(self._items) // 4)
        self.key_facts: tuple[str, ...] = tuple(sorted(f for f, n in counts.items() if n >= enough))
        self._cache: dict[tuple[Fact, ...], tuple[tuple[T, Check | None], ...]] = {}
        self._lock = threading.Lock()

    def select(self, facts: Facts) -> tuple[tuple[T, Check | None], ...]:
        """The items whose condition can still hold, in order, each with what is left to check (None: nothing)."""
        get = facts.get
        key = tuple([get(f) for f in self.key_facts])
        found = self._cache.get(key)
        if found is None:
            found = self._select(dict(zip(self.key_facts, key, strict=True)))
            with self._lock:
                if len(self._cache) < _LIMIT:
                    self._cache[key] = found
        return found

    def _select(self, values: dict[str, Fact]) -> tuple[tuple[T, Check | None], ...]:
        out: list[tuple[T, Check | None]] = []
        for item, condition, parts in zip(self._items, self._conditions, self._parts, strict=True):
            left: list[Check] = []
            for part in parts:
                fact = _gate_fact(part)
                if fact is None or fact not in values or values[fact] is None:
                    left.append(part.check)
                elif part.check(values) is False:
                    break  # this part is false: so is the condition
            else:
                if len(left) == len(parts):
                    out.append((item, condition.check))  # nothing settled: its own compiled check
                else:
                    out.append((item, None if not left else left[0] if len(left) == 1 else checks.all_of(tuple(left))))
        return tuple(out)
