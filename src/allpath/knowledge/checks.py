"""The facts a condition reads, and the compiled form of a condition: one Python closure per condition.

``Condition.evaluate`` walks the condition tree and answers with a ``Verdict``; it stays the reference (the
authoring guide, the lint and the columnar engine read it). The per-patient engine calls ``Condition.check``
instead: a closure made from the builders below when the knowledge is compiled (``conditions.compile_check``),
which gives the same answer without the tree walk and without a ``Verdict`` per node: ``True``, ``False``, or,
for unknown, the frozenset of the facts whose absence leaves it open (the reference's ``Verdict.missing``).
tests/unit/test_checks.py proves the two equal on generated conditions and facts."""

from __future__ import annotations

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


Node: TypeAlias = tuple[str, Any, Any]
"""A condition as ``compile_node`` reads it: ``("all" | "any", parts, None)``, ``("not", part, None)`` or
``(operator, fact, argument)`` with the operators of the YAML (``lt``, ``eq``, ``in``, ``has_any`` ...)."""

_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class _Writer:
    """Writes one condition as the body of one Python function: every node inline, no call per node."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, object] = {"PartialSet": PartialSet}
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, prefix: str, value: object) -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name

    def node(self, node: Node, depth: int) -> str:
        """Write ``node`` at indentation ``depth``; the name of the variable that holds its outcome."""
        kind, first, argument = node
        if kind in ("all", "any"):
            return self._junction(kind == "all", first, depth)
        if kind == "not":
            part = self.node(first, depth)
            out = self.name("r")
            self.emit(depth, f"{out} = False if {part} is True else (True if {part} is False else {part})")
            return out
        return self._leaf(kind, first, argument, depth)

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def _junction(self, every: bool, parts: tuple[Node, ...], depth: int) -> str:
        # all: False at the first false part; any: True at the first true one. Otherwise the union of the
        # missing facts of the unknown parts, or (none unknown) True for all and False for any.
        out, missing = self.name("r"), self.name("m")
        decided, undecided = ("False", "True") if every else ("True", "False")
        self.emit(depth, f"{missing} = None")
        for part in parts:
            result = self.node(part, depth)
            self.emit(depth, f"if {result} is {decided}:")
            self.emit(depth + 1, f"{out} = {decided}")
            self.emit(depth, "else:")
            depth += 1
            self.emit(depth, f"if {result} is not {undecided}:")
            self.emit(depth + 1, f"{missing} = {result} if {missing} is None else {missing} | {result}")
        self.emit(depth, f"{out} = {undecided} if {missing} is None else {missing}")
        return out

    def _leaf(self, op: str, fact: str, argument: Any, depth: int) -> str:
        out, value = self.name("r"), self.name("v")
        absent = self.constant("absent", frozenset((fact,)))
        self.emit(depth, f"{value} = facts.get({fact!r})")
        self.emit(depth, f"if {value} is None:")
        self.emit(depth + 1, f"{out} = {absent}")
        if op in ("has_any", "has_none"):
            tokens = self.constant("tokens", argument)
            found, not_found = ("True", "False") if op == "has_any" else ("False", "True")
            self.emit(depth, f"elif not {tokens}.isdisjoint({value}):")
            self.emit(depth + 1, f"{out} = {found}")
            self.emit(depth, f"elif isinstance({value}, PartialSet) and {value}.open_among({tokens}):")
            self.emit(depth + 1, f"{out} = {value}.open_among({tokens})")
            self.emit(depth, "else:")
            self.emit(depth + 1, f"{out} = {not_found}")
            return out
        constant = self.constant("c", argument)
        if op in _COMPARE:
            test = f"{value} {_COMPARE[op]} {constant}"
        elif op == "eq":
            test = f"{value} == {constant}"
        elif op == "in":
            test = f"{value} in {constant}"
        else:  # only
            test = f"{value} and {constant}.issuperset({value})"
        self.emit(depth, "else:")
        self.emit(depth + 1, f"{out} = True if {test} else False")
        return out


def compile_node(node: Node) -> Check:
    """The compiled form of one condition: a function written for it and compiled once."""
    writer = _Writer()
    result = writer.node(node, 1)
    source = "\n".join(["def check(facts):", *writer.lines, f"    return {result}"])
    namespace = dict(writer.constants)
    exec(compile(source, "<condition>", "exec"), namespace)  # the text is written above from the knowledge
    check: Check = namespace["check"]  # type: ignore[assignment]
    return check
