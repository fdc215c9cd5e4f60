"""The ``allpath`` command line (the console script ``allpath``, or ``python -m allpath``).

Exit status: 0 on success; 2 on invalid input (the message on standard error names the field, the value and
what is allowed, and nothing is written to standard output); 1 when a knowledge-base check fails.

``main`` answers ``allpath assess FILE`` with valid records without importing typer (``fast``); every other
command line, and every problem, goes to the typer application ``app`` (built in the module ``app``), imported
on first use.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allpath.interfaces.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    from allpath.interfaces.cli.fast import answered

    if answered(sys.argv[1:]):
        return
    from allpath.interfaces.cli.app import main as typer_main

    typer_main()


def __getattr__(name: str) -> object:
    if name == "app":
        from allpath.interfaces.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(ModuleType):
    """This package, whose attribute ``app`` stays the typer application (as when it was imported here eagerly):
    importing the submodule ``app`` would otherwise bind the name ``app`` to that module."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "app" and isinstance(value, ModuleType):
            value = getattr(value, "app")  # noqa: B009  (the application the submodule made)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
