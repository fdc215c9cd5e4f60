"""Ratchet for untyped JSON in src/ (issue 11: `dict[str, Any]` down to a short justified list).

`dict[str, Any]` lets any key and any value through unchecked, so strict mypy checks nothing across the seam it
marks. Results are the TypedDicts of `allpath.domain.results`; JSON read from outside is `Mapping[str, object]`
narrowed with isinstance; JSON built for output is `dict[str, object]` or a small TypedDict. What may stay is
listed below by module with its count as a ceiling, and with its reason (README.md's layout section says the
same): a listed module may go below its ceiling, never above it, and leaves the list once it is at zero.
An alias (`Json = dict[str, Any]`) is counted where it is written, and an alias of bare `Any` is refused, so
that no count is kept low by hiding `Any` behind a name.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# `dict[str, Any]` that stays, by module below src/. None today: every one has a precise type.
DICT_ANY_CEILINGS: dict[str, int] = {}

# `Mapping[str, Any]` that stays (the same rule, for read-only mappings). None today: the condition facts are
# `Mapping[str, Fact]` (a number, a word, a yes/no, a token set or None), narrowed where the engine reads them.
MAPPING_ANY_CEILINGS: dict[str, int] = {}

PATTERNS = {
    "dict[str, Any]": re.compile(r"\bdict\[str, Any\]"),
    "Mapping[str, Any]": re.compile(r"\bMapping\[str, Any\]"),
}
# A name for bare Any (`Json = Any`, `Json: TypeAlias = Any`) would hide it from the counts above.
_ALIAS_OF_ANY = re.compile(r"^\s*\w+\s*(?::\s*TypeAlias\s*)?=\s*(?:typing\.)?Any\s*(?:#.*)?$", re.MULTILINE)


def counts(source_root: Path, pattern: re.Pattern[str]) -> dict[str, int]:
    """How often ``pattern`` occurs in each Python module under ``source_root`` (modules without it left out)."""
    found: dict[str, int] = {}
    for path in sorted(source_root.rglob("*.py")):
        n = len(pattern.findall(path.read_text(encoding="utf-8")))
        if n:
            found[path.relative_to(source_root).as_posix()] = n
    return found


def ratchet_problems(measured: dict[str, int], ceilings: dict[str, int], what: str) -> list[str]:
    """An unlisted module that has any, a listed one past its ceiling, a listed one at zero (its entry goes)."""
    problems = []
    for module, n in sorted(measured.items()):
        ceiling = ceilings.get(module, 0)
        if n > ceiling:
            problems.append(f"{module} has {n} × {what}; its limit is {ceiling}: use a precise type")
    for module, ceiling in sorted(ceilings.items()):
        if module not in measured:
            problems.append(f"{module} has no {what} any more: remove it from the list (ceiling {ceiling})")
    return problems


def test_dict_str_any_stays_within_the_justified_list() -> None:
    problems = ratchet_problems(counts(SRC, PATTERNS["dict[str, Any]"]), DICT_ANY_CEILINGS, "dict[str, Any]")
    assert not problems, "\n".join(problems)


def test_mapping_str_any_stays_within_the_justified_list() -> None:
    measured = counts(SRC, PATTERNS["Mapping[str, Any]"])
    problems = ratchet_problems(measured, MAPPING_ANY_CEILINGS, "Mapping[str, Any]")
    assert not problems, "\n".join(problems)


def test_no_alias_hides_any() -> None:
    hidden = counts(SRC, _ALIAS_OF_ANY)
    assert not hidden, f"an alias of Any hides it from the counts: {hidden}"


def test_the_ratchet_counts_aliases_and_fails_one_past_the_limit(tmp_path: Path) -> None:
    package = tmp_path / "allpath"
    package.mkdir()
    (package / "typed.py").write_text("def f(x: dict[str, object]) -> Mapping[str, object]: ...\n", encoding="utf-8")
    (package / "loose.py").write_text(
        "Json = dict[str, Any]\ndef f(x: dict[str, Any]) -> list[dict[str, Any]]: ...\n", encoding="utf-8"
    )
    (package / "hidden.py").write_text(
        "Json = Any\nOther: TypeAlias = Any  # why\nfine: Any = None\n", encoding="utf-8"
    )
    measured = counts(tmp_path, PATTERNS["dict[str, Any]"])
    assert measured == {"allpath/loose.py": 3}
    assert ratchet_problems(measured, {"allpath/loose.py": 3}, "dict[str, Any]") == []
    assert ratchet_problems(measured, {"allpath/loose.py": 2}, "dict[str, Any]") == [
        "allpath/loose.py has 3 × dict[str, Any]; its limit is 2: use a precise type"
    ]
    assert ratchet_problems(measured, {}, "dict[str, Any]") == [
        "allpath/loose.py has 3 × dict[str, Any]; its limit is 0: use a precise type"
    ]
    assert ratchet_problems({}, {"allpath/loose.py": 3}, "dict[str, Any]") == [
        "allpath/loose.py has no dict[str, Any] any more: remove it from the list (ceiling 3)"
    ]
    assert counts(tmp_path, _ALIAS_OF_ANY) == {"allpath/hidden.py": 2}
