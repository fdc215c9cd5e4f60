"""The ``allpath`` command line: its command groups, in the order ``allpath --help`` lists them.

Each command lives in a module of its own (``assess``, ``treatment``, ``fhir``, ``kb``, ``serve``, ``users``,
``trials``);
they share ``console`` (reading the input, writing the output, saying a problem), and the treatment commands'
text renderers are in ``text``. Heavy modules (the engine, the knowledge base, the web service) are imported
inside the commands, so that ``allpath --help`` and ``allpath --version`` start fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from allpath import __version__
from allpath.interfaces.cli import assess, fhir, kb, serve, treatment
from allpath.interfaces.cli.cohort import cohort_app
from allpath.interfaces.cli.console import PlainRefusalGroup
from allpath.interfaces.cli.trials import trials_app
from allpath.interfaces.cli.users import users_app

app = typer.Typer(
    help="allpath: a cited care pathway for childhood ALL. Decision support for clinicians, not a prescription.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=PlainRefusalGroup,  # a value outside an option's choices is refused in plain words, for every command
)
kb_app = typer.Typer(help="Inspect and check the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
fhir_app = typer.Typer(
    help="FHIR R4: import a Bundle as a patient record, export a record and its plan.", no_args_is_help=True
)
app.add_typer(fhir_app, name="fhir")
app.add_typer(users_app, name="users")
app.add_typer(trials_app, name="trials")
app.add_typer(cohort_app, name="cohort")

app.command()(assess.assess)
app.command()(treatment.roadmap)
app.command()(treatment.doses)
app.command()(treatment.survivorship)
fhir_app.command("import")(fhir.fhir_import)
fhir_app.command("export")(fhir.fhir_export)
kb_app.command("lint")(kb.lint)
kb_app.command("grid")(kb.grid)
app.command()(serve.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"allpath {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """allpath command line."""


def main() -> None:
    app()
