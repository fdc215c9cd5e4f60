"""``python -m allpath``: the command line, as the ``allpath`` console script runs it."""

from allpath.interfaces.cli import main

main()
