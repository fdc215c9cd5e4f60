"""Size and complexity ratchet for src/ (issue 11: no module over 400 lines, no function over complexity 15).

Today's code breaks both limits in a few places. Those places are listed below with their current figure as a
ceiling: a listed module or function may shrink, never grow past its ceiling; one that comes within the limit
leaves the list (the test says so), and nothing new may cross the limit. Lower a ceiling freely; never raise it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

MAX_MODULE_LINES = 400
MAX_COMPLEXITY = 15

# Modules over 400 lines today, with their line count on 2026-12-01 as the ceiling (issue 11 splits them).
MODULE_LINE_CEILINGS: dict[str, int] = {}

# Functions over complexity 15 today (ruff's mccabe count, C901), with that count as the ceiling. Each carries
# a noqa comment for C901 on its def line; issue 11 splits them.
COMPLEXITY_CEILINGS: dict[tuple[str, str], int] = {}

_TOO_COMPLEX = re.compile(r"^`(?P<name>[^`]+)` is too complex \((?P<complexity>\d+) > \d+\)$")


def module_lines() -> dict[str, int]:
    """Every Python module under src/, by its path below src/, with its number of lines."""
    return {
        path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(SRC.rglob("*.py"))
    }


def ceiling_problems(measured: dict[str, int], ceilings: dict[str, int], limit: int) -> list[str]:
    """What breaks the module ratchet: an unlisted module over the limit, a listed one past its ceiling, a listed
    one that is gone or back within the limit (its entry must go, so that it cannot grow again)."""
    problems = []
    for module, lines in measured.items():
        ceiling = ceilings.get(module, limit)
        if lines > ceiling:
            problems.append(f"{module} has {lines} lines; its limit is {ceiling}")
    for module, ceiling in ceilings.items():
        if module not in measured:
            problems.append(f"{module} is listed with a ceiling of {ceiling} lines but no longer exists")
        elif measured[module] <= limit:
            problems.append(f"{module} is within {limit} lines now ({measured[module]}): remove it from the list")
    return problems


def test_no_module_grows_past_its_ceiling() -> None:
    problems = ceiling_problems(module_lines(), MODULE_LINE_CEILINGS, MAX_MODULE_LINES)
    assert not problems, "\n".join(problems)


def test_the_module_ratchet_holds_at_the_limit_and_fails_one_past_it() -> None:
    assert ceiling_problems({"allpath/new.py": 400}, {}, MAX_MODULE_LINES) == []
    assert ceiling_problems({"allpath/new.py": 401}, {}, MAX_MODULE_LINES) == [
        "allpath/new.py has 401 lines; its limit is 400"
    ]
    listed = {"allpath/big.py": 600}
    assert ceiling_problems({"allpath/big.py": 600}, listed, MAX_MODULE_LINES) == []
    assert ceiling_problems({"allpath/big.py": 599}, listed, MAX_MODULE_LINES) == []
    assert ceiling_problems({"allpath/big.py": 601}, listed, MAX_MODULE_LINES) == [
        "allpath/big.py has 601 lines; its limit is 600"
    ]
    assert ceiling_problems({"allpath/big.py": 400}, listed, MAX_MODULE_LINES) == [
        "allpath/big.py is within 400 lines now (400): remove it from the list"
    ]
    assert ceiling_problems({}, listed, MAX_MODULE_LINES) == [
        "allpath/big.py is listed with a ceiling of 600 lines but no longer exists"
    ]


def measured_complexity() -> dict[tuple[str, str], int]:
    """Every function in src/ over the complexity limit, as ruff counts it, `# noqa: C901` or not."""
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "C901", "--ignore-noqa", "--output-format", "json"]
        + ["--exit-zero", "--no-cache", str(SRC)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[tuple[str, str], int] = {}
    for finding in json.loads(completed.stdout):
        match = _TOO_COMPLEX.match(finding["message"])
        assert match, f"ruff's C901 message changed its form: {finding['message']}"
        module = Path(finding["filename"]).resolve().relative_to(SRC).as_posix()
        measured[(module, match["name"])] = int(match["complexity"])
    return measured


def test_no_function_grows_past_its_complexity_ceiling() -> None:
    measured = measured_complexity()
    problems = []
    for (module, function), complexity in sorted(measured.items()):
        ceiling = COMPLEXITY_CEILINGS.get((module, function), MAX_COMPLEXITY)
        if complexity > ceiling:
            problems.append(f"{function} in {module} has complexity {complexity}; its limit is {ceiling}")
    for module, function in sorted(COMPLEXITY_CEILINGS):
        if (module, function) not in measured:
            problems.append(
                f"{function} in {module} is within complexity {MAX_COMPLEXITY} now (or gone): remove it from the "
                "list and its `# noqa: C901`"
            )
    assert not problems, "\n".join(problems)


def test_the_complexity_limit_in_pyproject_is_15() -> None:
    """The ceilings above are counted against this limit; raising it would let every function grow unseen."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "C901" in lint["select"]
    assert lint["mccabe"]["max-complexity"] == MAX_COMPLEXITY


def _function_of_complexity(complexity: int) -> str:
    """A function whose mccabe complexity is exactly ``complexity``: one path plus one per ``if``."""
    branches = "".join(f"    if value == {n}:\n        return {n}\n" for n in range(complexity - 1))
    return f"def pick(value: int) -> int:\n{branches}    return -1\n"


def test_ruff_with_the_project_config_allows_15_and_refuses_16(tmp_path: Path) -> None:
    for complexity, refused in ((15, False), (16, True)):
        module = tmp_path / f"complexity_{complexity}.py"
        module.write_text(_function_of_complexity(complexity), encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml")]
            + ["--select", "C901", "--output-format", "json", "--exit-zero", str(module)],
            capture_output=True,
            text=True,
            check=True,
        )
        messages = [finding["message"] for finding in json.loads(completed.stdout)]
        assert messages == (["`pick` is too complex (16 > 15)"] if refused else []), complexity
