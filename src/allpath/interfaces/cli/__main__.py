"""``python -m allpath.interfaces.cli``: the command line, as the ``allpath`` console script runs it."""

from allpath.interfaces.cli import main

if __name__ == "__main__":  # importing the module (a tool that imports every module) runs nothing
    main()
