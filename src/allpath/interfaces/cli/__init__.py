"""The ``allpath`` command line (the console script ``allpath``, or ``python -m allpath``).

Exit status: 0 on success; 2 on invalid input (the message on standard error names the field, the value and
what is allowed, and nothing is written to standard output); 1 when a knowledge-base check fails.
"""

from __future__ import annotations

from allpath.interfaces.cli.app import app, main

__all__ = ["app", "main"]
