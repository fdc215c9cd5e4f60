"""The condition vocabulary of the knowledge base, evaluated in three-valued logic.

A condition is written in YAML as a small mapping. Every kind below is one class; its docstring is the
authoring documentation (``docs/knowledge-authoring.md`` is generated from these docstrings).

Evaluation returns a ``Verdict``: ``True``, ``False`` or ``None`` (unknown) together with the facts whose
absence made it unknown. Unknown is never turned into a default: ``all`` is false as soon as one part is
false (whatever else is missing), true only when every part is true, and otherwise unknown; ``any`` is the
mirror image. This is what lets an assessment say exactly which missing input could still change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from allpath.errors import KnowledgeError
from allpath.knowledge import checks
from allpath.knowledge.checks import NO_FACTS as NO_FACTS
from allpath.knowledge.checks import Check
from allpath.knowledge.checks import Fact as Fact
from allpath.knowledge.checks import Facts as Facts
from allpath.knowledge.checks import PartialSet as PartialSet


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a condition: ``value`` is True, False or None (unknown)."""

    value: bool | None
    missing: frozenset[str] = NO_FACTS


TRUE = Verdict(True)
FALSE = Verdict(False)


def _partial(value: Any, tokens: frozenset[str]) -> frozenset[str]:
    return value.open_among(tokens) if isinstance(value, PartialSet) else NO_FACTS


class Condition:
    """Base class of all condition kinds. ``check`` (the compiled form, knowledge/checks.py) and ``reads`` are
    set by ``compiled``, at the latest when first read."""

    __slots__ = ("check", "reads")
    check: Check
    reads: tuple[str, ...]  # facts_used(), sorted (what an explanation lists)

    def __getattr__(self, name: str) -> Check | tuple[str, ...]:
        # Only for a condition not compiled yet: built by hand, or read back from a pickle (which leaves both out).
        if name not in ("check", "reads"):
            raise AttributeError(name)
        return getattr(compiled(self), name)  # type: ignore[no-any-return]

    def __getstate__(self) -> tuple[None, dict[str, object]]:
        slots = (n for c in type(self).__mro__ for n in getattr(c, "__slots__", ()))
        return None, {n: getattr(self, n) for n in slots if n not in ("check", "reads")}

    def evaluate(self, facts: Facts) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def facts_used(self) -> frozenset[str]:  # pragma: no cover - abstract
        raise NotImplementedError


class FactCondition(Condition):
    """A condition on one fact: unknown when the fact is absent, otherwise decided by ``test``."""

    __slots__ = ("fact",)

    def __init__(self, fact: str) -> None:
        self.fact = fact

    def evaluate(self, facts: Facts) -> Verdict:
        value = facts.get(self.fact)
        if value is None:
            return Verdict(None, frozenset((self.fact,)))
        return self.test(value)

    def test(self, value: Any) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def facts_used(self) -> frozenset[str]:
        return frozenset((self.fact,))


class Compare(FactCondition):
    """``{fact: F, lt|le|gt|ge: N}`` - a numeric fact compared with a number.

    ``N`` may be a number or ``{param: name}`` naming a threshold in ``definitions.yaml``. Boundaries are
    exactly as written: ``lt: 10`` is false at 10.0.
    """

    __slots__ = ("op", "threshold")

    def __init__(self, fact: str, op: str, threshold: float) -> None:
        super().__init__(fact)
        self.op, self.threshold = op, threshold

    def test(self, value: Any) -> Verdict:
        t = self.threshold
        op = self.op
        if op == "lt":
            return TRUE if value < t else FALSE
        if op == "le":
            return TRUE if value <= t else FALSE
        if op == "gt":
            return TRUE if value > t else FALSE
        return TRUE if value >= t else FALSE


class Equals(FactCondition):
    """``{fact: F, eq: V}`` - a fact equals a value (a string, a number or true/false)."""

    __slots__ = ("expected",)

    def __init__(self, fact: str, expected: Any) -> None:
        super().__init__(fact)
        self.expected = expected

    def test(self, value: Any) -> Verdict:
        return TRUE if value == self.expected else FALSE


class OneOf(FactCondition):
    """``{fact: F, in: [V1, V2]}`` - a fact equals one of the listed values."""

    __slots__ = ("allowed",)

    def __init__(self, fact: str, allowed: frozenset[Any]) -> None:
        super().__init__(fact)
        self.allowed = allowed

    def test(self, value: Any) -> Verdict:
        return TRUE if value in self.allowed else FALSE


class TokenCondition(FactCondition):
    """A condition on a list fact and a set of tokens."""

    __slots__ = ("tokens",)

    def __init__(self, fact: str, tokens: frozenset[str]) -> None:
        super().__init__(fact)
        self.tokens = tokens


class HasAny(TokenCondition):
    """``{fact: F, has_any: [T1, T2] | "set:name"}`` - a list fact contains at least one of the tokens.

    ``"set:name"`` refers to a named token set (for genetics, in ``genetics.yaml``).
    """

    __slots__ = ()

    def test(self, value: Any) -> Verdict:
        if not self.tokens.isdisjoint(value):
            return TRUE
        open_facts = _partial(value, self.tokens)
        return Verdict(None, open_facts) if open_facts else FALSE


class HasNone(TokenCondition):
    """``{fact: F, has_none: [T1, T2] | "set:name"}`` - a known list fact contains none of the tokens."""

    __slots__ = ()

    def test(self, value: Any) -> Verdict:
        if not self.tokens.isdisjoint(value):
            return FALSE
        open_facts = _partial(value, self.tokens)
        return Verdict(None, open_facts) if open_facts else TRUE


class Only(TokenCondition):
    """``{fact: F, only: [T1, T2]}`` - a known, non-empty list fact holds nothing but these tokens."""

    __slots__ = ()

    def test(self, value: Any) -> Verdict:
        return TRUE if value and self.tokens.issuperset(value) else FALSE


class _Junction(Condition):
    """An "all" or an "any": the first part whose verdict is ``decided_by`` decides; otherwise unknown on every
    missing fact when a part is unknown, else the other answer."""

    __slots__ = ("parts",)
    decided_by: ClassVar[bool]

    def __init__(self, parts: tuple[Condition, ...]) -> None:
        self.parts = parts

    def evaluate(self, facts: Facts) -> Verdict:
        missing: frozenset[str] = NO_FACTS
        unknown = False
        decided_by = self.decided_by
        for part in self.parts:
            verdict = part.evaluate(facts)
            if verdict.value is decided_by:
                return TRUE if decided_by else FALSE
            if verdict.value is None:
                unknown = True
                missing = missing | verdict.missing
        return Verdict(None, missing) if unknown else (FALSE if decided_by else TRUE)

    def facts_used(self) -> frozenset[str]:
        return frozenset().union(*(p.facts_used() for p in self.parts))


class All(_Junction):
    """``{all: [C1, C2, ...]}`` - every part holds. False as soon as one part is false."""

    __slots__ = ()
    decided_by = False


class AnyOf(_Junction):
    """``{any: [C1, C2, ...]}`` - at least one part holds. True as soon as one part is true."""

    __slots__ = ()
    decided_by = True


class Not(Condition):
    """``{not: C}`` - the part does not hold (unknown stays unknown)."""

    __slots__ = ("part",)

    def __init__(self, part: Condition) -> None:
        self.part = part

    def evaluate(self, facts: Facts) -> Verdict:
        verdict = self.part.evaluate(facts)
        if verdict.value is None:
            return verdict
        return FALSE if verdict.value else TRUE

    def facts_used(self) -> frozenset[str]:
        return self.part.facts_used()


def compiled(condition: Condition) -> Condition:
    """``condition`` with its compiled form and the facts it reads set."""
    condition.check = compile_check(condition)
    condition.reads = tuple(sorted(condition.facts_used()))
    return condition


def compile_check(condition: Condition) -> Check:
    """The compiled form of ``condition`` (knowledge/checks.py); a part already compiled is reused."""
    if isinstance(condition, All | AnyOf):
        parts = tuple(check for part in condition.parts for check in _parts(part, type(condition)))
        return checks.all_of(parts) if isinstance(condition, All) else checks.any_of(parts)
    if isinstance(condition, Not):
        return checks.not_(*_parts(condition.part))
    if isinstance(condition, Compare):
        return checks.compare(condition.fact, condition.op, condition.threshold)
    if isinstance(condition, Equals):
        return checks.equals(condition.fact, condition.expected)
    if isinstance(condition, OneOf):
        return checks.one_of(condition.fact, condition.allowed)
    if isinstance(condition, HasAny | HasNone):
        return checks.has_tokens(condition.fact, condition.tokens, has_any=isinstance(condition, HasAny))
    if isinstance(condition, Only):
        return checks.only(condition.fact, condition.tokens)
    raise TypeError(f"no compiled form for {type(condition).__name__}")  # pragma: no cover


def _parts(condition: Condition, kind: type[Condition] | None = None) -> tuple[Check, ...]:
    if isinstance(condition, All | AnyOf) and type(condition) is kind:  # an "all" in an "all": its parts in its place
        return tuple(check for part in condition.parts for check in _parts(part, kind))  # the same answer, a call less
    found: Check | None = getattr(condition, "check", None)
    return (found if found is not None else compile_check(condition),)


CONDITION_KINDS: tuple[type[Condition], ...] = (Compare, Equals, OneOf, HasAny, HasNone, Only, All, AnyOf, Not)
"""Every kind of condition, in the order the authoring guide documents them. ``{ref: name}`` is not a
kind of its own: it is replaced at load time by the named condition of ``definitions.yaml``."""

_COMPARE_OPS = ("lt", "le", "gt", "ge")


class ConditionCompiler:
    """Turns YAML condition mappings into ``Condition`` objects, resolving refs, sets and params."""

    def __init__(
        self,
        definitions: Mapping[str, object],
        token_sets: Mapping[str, list[str]],
        parameters: Mapping[str, float],
        known_facts: frozenset[str],
    ) -> None:
        self._definitions = definitions
        self._token_sets = token_sets
        self._parameters = parameters
        self._known_facts = known_facts
        self._compiled_refs: dict[str, Condition] = {}
        self._resolving: set[str] = set()
        self.used_refs: set[str] = set()
        self.used_sets: set[str] = set()
        self.used_parameters: set[str] = set()

    def compile(self, spec: Any, where: str) -> Condition:
        return compiled(self._compile(spec, where))

    def _compile(self, spec: Any, where: str) -> Condition:
        if not isinstance(spec, Mapping):
            raise KnowledgeError(f"{where}: a condition must be a mapping, got {spec!r}")
        if "all" in spec or "any" in spec:
            key = "all" if "all" in spec else "any"
            self._expect_keys(spec, {key}, where)
            parts = spec[key]
            if not isinstance(parts, list) or not parts:
                raise KnowledgeError(f"{where}: '{key}' needs a non-empty list")
            compiled = tuple(self.compile(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts))
            return All(compiled) if key == "all" else AnyOf(compiled)
        if "not" in spec:
            self._expect_keys(spec, {"not"}, where)
            return Not(self.compile(spec["not"], f"{where}.not"))
        if "ref" in spec:
            self._expect_keys(spec, {"ref"}, where)
            return self._ref(spec["ref"], where)
        if "fact" not in spec:
            raise KnowledgeError(f"{where}: unknown condition {dict(spec)!r}")
        fact = spec["fact"]
        if fact not in self._known_facts:
            raise KnowledgeError(f"{where}: unknown fact {fact!r}")
        ops = [k for k in spec if k != "fact"]
        if len(ops) != 1:
            raise KnowledgeError(f"{where}: a fact condition needs exactly one operator, got {ops}")
        op = ops[0]
        arg = spec[op]
        if op in _COMPARE_OPS:
            return Compare(fact, op, self._number(arg, where))
        if op == "eq":
            return Equals(fact, arg)
        if op == "in":
            return OneOf(fact, frozenset(self._list(arg, where)))
        if op in ("has_any", "has_none", "only"):
            tokens = frozenset(self._tokens(arg, where))
            return {"has_any": HasAny, "has_none": HasNone, "only": Only}[op](fact, tokens)
        raise KnowledgeError(f"{where}: unknown operator {op!r}")

    def _expect_keys(self, spec: Mapping[str, object], keys: set[str], where: str) -> None:
        extra = set(spec) - keys
        if extra:
            raise KnowledgeError(f"{where}: unexpected keys {sorted(extra)}")

    def _ref(self, name: Any, where: str) -> Condition:
        if name not in self._definitions:
            raise KnowledgeError(f"{where}: unknown definition {name!r}")
        self.used_refs.add(name)
        if name in self._compiled_refs:
            return self._compiled_refs[name]
        if name in self._resolving:
            raise KnowledgeError(f"{where}: definition {name!r} refers to itself")
        self._resolving.add(name)
        compiled = self.compile(self._definitions[name], f"definitions.{name}")
        self._resolving.discard(name)
        self._compiled_refs[name] = compiled
        return compiled

    def _number(self, arg: Any, where: str) -> float:
        if isinstance(arg, Mapping) and set(arg) == {"param"}:
            name = arg["param"]
            if name not in self._parameters:
                raise KnowledgeError(f"{where}: unknown parameter {name!r}")
            self.used_parameters.add(name)
            return float(self._parameters[name])
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise KnowledgeError(f"{where}: expected a number, got {arg!r}")
        return float(arg)

    def resolve_number(self, arg: Any, where: str) -> float:
        """A number or ``{param: name}`` used outside a condition (e.g. a cut-off shown in output)."""
        return self._number(arg, where)

    def _list(self, arg: Any, where: str) -> list[Any]:
        if not isinstance(arg, list) or not arg:
            raise KnowledgeError(f"{where}: expected a non-empty list, got {arg!r}")
        return arg

    def _tokens(self, arg: Any, where: str) -> list[str]:
        if isinstance(arg, str) and arg.startswith("set:"):
            name = arg[4:]
            if name not in self._token_sets:
                raise KnowledgeError(f"{where}: unknown token set {name!r}")
            self.used_sets.add(name)
            return list(self._token_sets[name])
        return [str(t) for t in self._list(arg, where)]
