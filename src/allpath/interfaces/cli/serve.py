"""``allpath serve``: run the web application and the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allpath.interfaces.cli.console import EXIT_CHECK_FAILED, EXIT_INVALID_INPUT


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Add demo accounts and the bundled example patients.")] = False,
) -> None:
    """Run the web application and JSON API (SQLite in ALLPATH_DATA_DIR unless ALLPATH_DATABASE_URL is set).

    The address is printed once the service answers on it; a port in use is exit status 1.
    """
    from allpath.interfaces.serving import ListenError, address_shown, listening_socket, run_service, startup_warnings
    from allpath.knowledge.loader import load_knowledge
    from allpath.service.database import prepare_database
    from allpath.settings import load_settings

    try:
        sock = listening_socket(host, port)  # first: a port in use is told before any work
    except ListenError as problem:
        typer.echo(f"allpath serve: {problem}", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    try:
        settings = load_settings()
        try:  # CDS Hooks enabled but unusable (no ALLPATH_CDS_BASE_URL): said here; the rest is served
            for warning in startup_warnings(settings):
                typer.echo(f"allpath serve: warning: {warning}", err=True)
        except ValueError as problem:  # a CDS setting that cannot work (it names the setting)
            typer.echo(f"allpath serve: {problem}", err=True)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        # Migrated once, before any worker starts (with the demo accounts and patients when asked).
        examples = Path(__file__).resolve().parents[4] / "examples"
        accounts = prepare_database(settings.database_url, demo=(load_knowledge(), examples) if demo else None)
        if demo:
            typer.echo("Demo accounts (local demo only):")
            for role, username, password in accounts:
                typer.echo(f"  {role:<11} {username:<12} {password}")
        address = address_shown(sock)

        def announce() -> None:
            typer.echo(f"allpath is running at {address}  (API description: {address}api/docs)")

        started = run_service(sock, workers, announce, settings.trusted_proxies)
    except ModuleNotFoundError as missing:  # an installation without a runtime dependency
        typer.echo(f"allpath serve: the package {missing.name} is not installed; reinstall allpath", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    if not started:
        typer.echo("allpath serve: the service did not start (see the messages above)", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED)
