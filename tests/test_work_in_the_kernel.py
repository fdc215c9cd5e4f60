"""The unit of work and its audit entries are made, committed and stored in one place (issue 11): the HTTP kernel
(``allpath.interfaces.http``) and the application's composition root. The API, web and CDS Hooks routes only
note audit entries on the work the kernel hands them; none of them opens a unit of work of its own or commits."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "allpath" / "interfaces"
ROUTE_PACKAGES = ("api", "web", "cds")


def work_calls(source: str) -> list[str]:
    """The calls in ``source`` that open a unit of work (``unit_of_work(...)``) or commit (``x.commit()``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id == "unit_of_work":
            found.append(f"line {node.lineno}: unit_of_work(...)")
        elif isinstance(function, ast.Attribute) and function.attr in ("unit_of_work", "commit"):
            found.append(f"line {node.lineno}: .{function.attr}(...)")
    return found


def test_the_check_finds_a_unit_of_work_and_a_commit() -> None:
    planted = "def route(request):\n    with unit_of_work(sessions, None) as w:\n        w.session.commit()\n"
    assert work_calls(planted) == ["line 2: unit_of_work(...)", "line 3: .commit(...)"]
    assert work_calls("def route(work):\n    work.audit('access', 'route')\n") == []


def test_no_route_module_opens_a_unit_of_work_or_commits() -> None:
    problems = [
        f"{path.relative_to(PACKAGE)} {call}"
        for package in ROUTE_PACKAGES
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for call in work_calls(path.read_text(encoding="utf-8"))
    ]
    assert problems == [], "a route module makes or ends work itself: use the kernel's (allpath.interfaces.http)"
