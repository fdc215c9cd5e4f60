"""``allpath users``: the operator's break-glass on the server's shell (who has the database anyway).

``create-admin NAME`` makes an administrator account and prints its one-time activation code: the only way
to make the first administrator outside the demo. ``confirm NAME`` grants a clinician, researcher or family
account its patient data when no colleague remains to confirm it. ``withdraw --user NAME --team TEAM`` (or
``withdraw NAME --team TEAM``) withdraws a team's grant from an account when no clinician of the team can (the
account's own page then says so). All are audited as the operator; none prints patient data.
Exit status: 0 on success; 2 on a name or team that does not fit (the message on standard error).
"""

from __future__ import annotations

from typing import Annotated

import typer

EXIT_INVALID_INPUT = 2

users_app = typer.Typer(
    help="Operator break-glass: make the first administrator, confirm or withdraw an account's access when no "
    "colleague can.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"allpath users: {message}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Argument(help="The new administrator's user name.")],
    display_name: Annotated[str, typer.Option("--name", help="The person's name (default: the user name).")] = "",
) -> None:
    """Create an administrator account and print its one-time activation code (its owner chooses the
    password at /activate)."""
    from pydantic import ValidationError

    from allpath.interfaces.http.schemas import UserIn
    from allpath.service import accounts
    from allpath.service.database import operator_work
    from allpath.settings import load_settings

    try:
        body = UserIn(username=username, display_name=display_name or username, role="admin")
    except ValidationError as error:
        first = error.errors()[0]
        raise _fail(f"{first['loc'][0]}: {first['msg']}") from None
    settings = load_settings()
    try:
        with operator_work(settings.database_url) as work:
            activation = accounts.operator_create_admin(
                work, body.username, body.display_name, settings.activation_hours
            )
    except accounts.AccountError as error:
        raise _fail(str(error)) from None
    typer.echo(f"Administrator {body.username} created. One-time activation code (shown only now):")
    typer.echo(f"  {activation.code}")
    typer.echo(f"Its owner chooses the password at /activate before {activation.expires_at:%Y-%m-%d %H:%M} UTC.")


@users_app.command("confirm")
def confirm(
    username: Annotated[str, typer.Argument(help="The account to grant its patient data.")],
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="For a researcher: a team whose de-identified data it may export."),
    ] = None,
) -> None:
    """Grant an account its patient data when no colleague of its team remains to confirm it: a clinician
    their team, a family their child's team, a researcher the teams named with --team."""
    from allpath.service import accounts
    from allpath.service.database import operator_work
    from allpath.settings import load_settings

    settings = load_settings()
    try:
        with operator_work(settings.database_url) as work:
            names = accounts.operator_confirm(work, username, list(team or []))
    except accounts.AccountError as error:
        raise _fail(str(error)) from None
    typer.echo(f"{username} may read the patient data of: {', '.join(names) if names else 'no team yet'}")


@users_app.command("withdraw")
def withdraw(
    team: Annotated[str, typer.Option("--team", help="The team whose patient data the account no longer reads.")],
    username: Annotated[str | None, typer.Argument(help="The account (or --user).", show_default=False)] = None,
    user: Annotated[str | None, typer.Option("--user", help="The account whose access to withdraw.")] = None,
) -> None:
    """Withdraw a team's grant from an account when no clinician of the team can (the account's page then says
    that the team withdrew its access, and when); its sessions and tokens read none of the team's data from
    their next request."""
    from allpath.service import accounts
    from allpath.service.database import operator_work
    from allpath.settings import load_settings

    if username and user and username != user:
        raise _fail("name the account once (NAME or --user)")
    name = username or user
    if not name:
        raise _fail("name the account (--user NAME)")
    settings = load_settings()
    try:
        with operator_work(settings.database_url) as work:
            accounts.operator_withdraw(work, name, team)
    except accounts.AccountError as error:
        raise _fail(str(error)) from None
    typer.echo(f"{name} no longer reads the patient data of {team}; a clinician of that team can grant it again.")
