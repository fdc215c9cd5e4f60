"""Evaluate a classification scheme (risk groups) over facts, in three-valued logic.

Each rule of a scheme sets a floor when its condition holds; the group is the highest floor. A rule
whose condition is unknown, and whose group is above the floor, could still raise the group: the
inputs it waits for are *pending*. Whether a pending input blocks the answer depends on the scheme:
- inputs listed as ``decisive`` (all inputs when the scheme says ``all``) block it: the group is null;
- other inputs leave the group standing but provisional.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

from allpath.knowledge.checks import Check
from allpath.knowledge.compiled import Note, Rule, Scheme
from allpath.knowledge.conditions import NO_FACTS, Facts


class SchemeResult(NamedTuple):
    """The outcome of one scheme for one child (a named tuple: made several times an assessment, where a frozen
    dataclass sets each field through ``object.__setattr__``)."""

    applicable: bool | None  # None: whether the scheme applies is itself unknown
    group: str | None
    applied: tuple[Rule, ...]  # rules whose condition holds
    decisive_rules: tuple[Rule, ...]  # the applied rules at the final group
    pending: tuple[tuple[Rule, frozenset[str]], ...]  # rules that could still raise the group
    notes: tuple[Note, ...]
    missing: frozenset[str]  # inputs that could still change the group

    @property
    def provisional(self) -> bool:
        return bool(self.missing)


NOT_APPLICABLE = SchemeResult(False, None, (), (), (), (), NO_FACTS)


class _Checks(NamedTuple):
    """A scheme's compiled checks beside what they decide, read without an attribute lookup each."""

    rules: tuple[tuple[Check, int, Rule], ...]
    notes: tuple[tuple[Check, Note], ...]


_CHECKS: dict[int, tuple[weakref.ref[Scheme], _Checks]] = {}


def _checks(scheme: Scheme) -> _Checks:
    """The checks of ``scheme``, worked out at its first evaluation and dropped with it."""
    found = _CHECKS.get(id(scheme))
    if found is not None and found[0]() is scheme:
        return found[1]
    made = _Checks(
        tuple((rule.condition.check, rule.rank, rule) for rule in scheme.rules),
        tuple((note.condition.check, note) for note in scheme.notes),
    )
    _CHECKS[id(scheme)] = (weakref.ref(scheme), made)
    weakref.finalize(scheme, _CHECKS.pop, id(scheme), None)
    return made


def evaluate_scheme(scheme: Scheme, facts: Facts) -> SchemeResult:
    """Classify one child under ``scheme``."""
    checks = _checks(scheme)
    notes = tuple([n for check, n in checks.notes if check(facts) is True]) if checks.notes else ()
    applies = scheme.applies.check(facts)
    if applies is False:
        return SchemeResult(False, None, (), (), (), notes, NO_FACTS)

    applied: list[Rule] = []
    unknown: list[tuple[Rule, frozenset[str]]] = []
    floor = -1
    for check, rank, rule in checks.rules:
        outcome = check(facts)
        if outcome is True:
            applied.append(rule)
            if rank > floor:
                floor = rank
        elif outcome is not False:
            unknown.append((rule, outcome))
    pending = tuple((r, m) for r, m in unknown if r.rank > floor)
    missing = frozenset().union(*(m for _, m in pending)) if pending else NO_FACTS

    if applies is not True:
        # Whether the scheme applies at all is open (e.g. lineage unknown for the COG scheme).
        return SchemeResult(None, None, tuple(applied), (), pending, notes, missing | applies)

    if scheme.decisive is None:
        blocked = bool(pending)
    else:
        decisive = scheme.decisive
        blocked = any(m & decisive for _, m in pending)
    if floor < 0 or blocked:
        return SchemeResult(True, None, tuple(applied), (), pending, notes, missing)
    decisive_rules = tuple(r for r in applied if r.rank == floor)
    return SchemeResult(True, scheme.spec.order[floor], tuple(applied), decisive_rules, pending, notes, missing)
