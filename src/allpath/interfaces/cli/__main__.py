"""``python -m allpath.interfaces.cli``: the command line, as the ``allpath`` console script runs it."""

from allpath.interfaces.cli.app import main

main()
