"""The facts a condition reads, and the compiled form of a condition: a Python closure per condition node.

``Condition.evaluate`` walks the condition tree and answers with a ``Verdict``; it stays the reference (the
authoring guide, the lint and the columnar engine read it). The per-patient engine calls ``Condition.check``
instead: a closure made from the builders below when the knowledge is compiled or read back from the knowledge
cache (``conditions.compile_check``), which gives the same answer without ``isinstance`` dispatch and without a
``Verdict`` per node: ``True``, ``False``, or, for unknown, the frozenset of the facts whose absence leaves it
open (the reference's ``Verdict.missing``). tests/unit/test_checks.py proves the two equal on generated
conditions and facts. (Writing each condition as the source of one function and compiling it was about 10 %
faster per assessment, but compiling a thousand functions at every start cost 200-300 ms.)"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

# One fact's value as a condition reads it: a number, a word, a yes/no, a set of tokens (a ``PartialSet`` for
# the populations) or None when the input is absent.
Fact: TypeAlias = bool | int | float | str | frozenset[str] | None
Facts: TypeAlias = Mapping[str, Fact]
NO_FACTS: frozenset[str] = frozenset()


class PartialSet(frozenset[str]):
    """A set fact whose membership is only partly known.

    The set itself holds the members that are certain; ``unknown`` maps each member that may or may not
    belong to the input facts whose absence leaves it open. The engine uses it for ``populations``: a
    child with no genetics result is not known to be Ph-positive, nor known not to be.
    """

    unknown: Mapping[str, frozenset[str]]

    def __new__(cls, members: frozenset[str], unknown: Mapping[str, frozenset[str]]) -> PartialSet:
        self = super().__new__(cls, members)
        self.unknown = unknown
        return self

    def open_among(self, tokens: frozenset[str]) -> frozenset[str]:
        """The facts that would settle whether any of ``tokens`` belongs."""
        missing: frozenset[str] = NO_FACTS
        for token in tokens:
            if token in self.unknown:
                missing = missing | self.unknown[token]
        return missing


Outcome: TypeAlias = bool | frozenset[str]  # True, False, or unknown: the facts whose absence leaves it open
Check: TypeAlias = Callable[[Facts], Outcome]
# An ``equals`` or ``compare`` check carries what it tests under LEAF, for ``all_of`` to test it inline:
# (fact, the outcome when it is absent, the comparison, the value compared with).
LEAF = "leaf"
Leaf: TypeAlias = tuple[str, frozenset[str], Callable[[Any, Any], Any], Any]
_OPERATORS = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


def equals(fact: str, expected: Any) -> Check:
    absent = frozenset((fact,))

    def check(facts: Facts) -> Outcome:
        value = facts.get(fact)
        if value is None:
            return absent
        return True if value == expected else False

    setattr(check, LEAF, (fact, absent, operator.eq, expected))
    return check


def one_of(fact: str, allowed: frozenset[Any]) -> Check:
    absent = frozenset((fact,))

    def check(facts: Facts) -> Outcome:
        value = facts.get(fact)
        if value is None:
            return absent
        return True if value in allowed else False

    return check


def only(fact: str, tokens: frozenset[str]) -> Check:
    absent = frozenset((fact,))

    def check(facts: Facts) -> Outcome:
        value: Any = facts.get(fact)
        if value is None:
            return absent
        return True if value and tokens.issuperset(value) else False

    return check


def compare(fact: str, op: str, threshold: float) -> Check:
    absent = frozenset((fact,))
    t = threshold
    # One closure per operator, so that the comparison itself is not a dispatch.
    if op == "lt":

        def check(facts: Facts) -> Outcome:
            value: Any = facts.get(fact)
            return absent if value is None else (True if value < t else False)

    elif op == "le":

        def check(facts: Facts) -> Outcome:
            value: Any = facts.get(fact)
            return absent if value is None else (True if value <= t else False)

    elif op == "gt":

        def check(facts: Facts) -> Outcome:
            value: Any = facts.get(fact)
            return absent if value is None else (True if value > t else False)

    else:

        def check(facts: Facts) -> Outcome:
            value: Any = facts.get(fact)
            return absent if value is None else (True if value >= t else False)

    setattr(check, LEAF, (fact, absent, _OPERATORS[op], t))
    return check


def has_tokens(fact: str, tokens: frozenset[str], *, has_any: bool) -> Check:
    absent = frozenset((fact,))
    found, not_found = (True, False) if has_any else (False, True)

    def check(facts: Facts) -> Outcome:
        value = facts.get(fact)
        if value is None:
            return absent
        if not tokens.isdisjoint(value):  # type: ignore[arg-type]
            return found
        if isinstance(value, PartialSet) and value.unknown:  # nothing open: nothing to look up
            open_facts = value.open_among(tokens)
            if open_facts:
                return open_facts
        return not_found

    return check


def all_of(parts: tuple[Check, ...]) -> Check:
    leaves: tuple[Leaf, ...] = tuple(leaf for part in parts if (leaf := getattr(part, LEAF, None)) is not None)
    if len(leaves) > 1:
        # Comparisons of one fact are tested inline, before the other parts, without a call each: the answer of an
        # "all" does not depend on the order of its parts (false if one is, true if all are, else unknown on every
        # missing fact), and no part has an effect.
        return _junction(tuple(part for part in parts if not hasattr(part, LEAF)), False, leaves)
    return _junction(parts, False)


def any_of(parts: tuple[Check, ...]) -> Check:
    return _junction(parts, True)


def _junction(parts: tuple[Check, ...], stop: bool, leaves: tuple[Leaf, ...] = ()) -> Check:
    """An "all" (``stop`` False: the first false part decides) or an "any" (``stop`` True: the first true part
    decides); unknown on every missing fact when no part decides and one is unknown. ``leaves``: only for an "all"."""
    settled = not stop  # the answer when every part gives it

    def check(facts: Facts) -> Outcome:
        missing: frozenset[str] | None = None
        if leaves:
            get = facts.get
            for fact, absent, test, expected in leaves:
                value = get(fact)
                if value is None:
                    missing = absent if missing is None else missing | absent
                elif not test(value, expected):
                    return False
        for part in parts:
            outcome = part(facts)
            if outcome is stop:
                return stop
            if outcome is not True and outcome is not False:  # unknown (the other answer goes on)
                missing = outcome if missing is None else missing | outcome
        return settled if missing is None else missing

    return check


def not_(part: Check) -> Check:
    def check(facts: Facts) -> Outcome:
        outcome = part(facts)
        if outcome is True:
            return False
        if outcome is False:
            return True
        return outcome

    return check
