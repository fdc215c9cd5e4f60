"""``allpath.service`` resolves its use cases lazily (a module ``__getattr__``), so that the command line does
not import SQLAlchemy with the stateless use cases. These tests hold the three lists of that module together
(what mypy sees under TYPE_CHECKING, what ``__getattr__`` resolves, what ``__all__`` promises) and check that
the laziness still buys what it is for."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from allpath import service

PACKAGE_SOURCE = Path(service.__file__)


def _type_checking_imports() -> dict[str, str]:
    """Each name imported under ``if TYPE_CHECKING:`` in the package's module, with its module's last part."""
    tree = ast.parse(PACKAGE_SOURCE.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module is not None
                for alias in statement.names:
                    names[alias.asname or alias.name] = statement.module.rsplit(".", 1)[1]
    return names


def test_what_mypy_sees_is_what_the_package_resolves() -> None:
    assert _type_checking_imports() == service._MODULE_OF


def test_every_exported_name_resolves_to_the_object_of_its_module() -> None:
    lazy = set(service._MODULE_OF)
    assert lazy <= set(service.__all__)
    for name in service.__all__:
        found = getattr(service, name)
        if name in lazy:
            assert found is getattr(import_module(f"allpath.service.{service._MODULE_OF[name]}"), name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_use_case'"):
        getattr(service, "no_such_use_case")  # noqa: B009  (the look-up under test)


def test_the_stateless_use_cases_do_not_import_the_database() -> None:
    """What the laziness is for: ``allpath assess`` imports SQLAlchemy not at all (benchmarks/bench_cli.py)."""
    program = (
        "import sys\n"
        "from allpath.service import assess_record, record_roadmap, record_doses, record_survivorship\n"
        "print(sorted(m for m in ('sqlalchemy', 'allpath.storage', 'allpath.service.patients') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_use_case_is_resolved_once_then_read_as_the_module_s_own_name() -> None:
    """``POST /api/assess`` reads ``service.assess_record`` on every request: only the first look-up goes through
    ``__getattr__`` (and ``import_module``)."""
    program = (
        "from allpath import service\n"
        "assert 'assess_record' not in vars(service)\n"
        "first = service.assess_record\n"
        "from allpath.service import records\n"
        "print(vars(service).get('assess_record') is first is records.assess_record)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
