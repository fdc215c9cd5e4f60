"""``allpath trials``: the local trial registry (ClinicalTrials.gov studies kept in allpath's database).

``import FILE...`` stores the studies of files in the API v2 format (a ``studies`` page or NDJSON);
``sync`` fetches childhood-ALL studies from the registry's API. Both print what they did (added, updated,
unchanged, refused with why) and the registry's size and refresh time. A study already stored with the same
or a newer last-update date is left as it is, so running either twice changes nothing.
Exit status: 0 when everything was stored; 2 when a file, a line or a study was refused (the others are
stored) or the registry could not be reached (nothing is stored then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from allpath.service.trials import RefreshSummary

EXIT_REFUSED = 2
SHOWN_REFUSALS = 50

trials_app = typer.Typer(
    help="The local trial registry: import ClinicalTrials.gov studies from files, or sync them.",
    no_args_is_help=True,
)


@trials_app.command("import")
def trials_import(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE...",
            help="ClinicalTrials.gov API v2 files: a studies page as the API returns it, or NDJSON (one study a line).",
        ),
    ],
) -> None:
    """Store the studies of one or more files in the registry (a newer last-update date replaces a study)."""
    from pathlib import Path

    from allpath.interfaces.cli.trial_files import read_study_files
    from allpath.service.database import operator_work
    from allpath.service.trials import import_studies
    from allpath.settings import load_settings

    read = read_study_files(files)
    detail = ", ".join(Path(name).name for name in files)
    with operator_work(load_settings().database_url) as work:
        summary = import_studies(work, read.studies, detail=detail[:500], refused=read.refused)
    _report(summary, f"from {detail}")


@trials_app.command("sync")
def trials_sync(
    max_studies: Annotated[
        int, typer.Option("--max-studies", min=1, max=10_000, help="Stop after this many studies.")
    ] = 1000,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=1000, help="Studies asked for per page (the API allows 1000).")
    ] = 100,
    timeout: Annotated[float, typer.Option("--timeout", min=1, max=300, help="Seconds to wait for one page.")] = 30.0,
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            envvar="ALLPATH_TRIALS_API_URL",
            help="The studies address of ClinicalTrials.gov API v2 (another only for a mirror or a test).",
        ),
    ] = "https://clinicaltrials.gov/api/v2/studies",
) -> None:
    """Fetch childhood acute lymphoblastic leukemia studies from ClinicalTrials.gov and store them."""
    from allpath.interfaces.cli.registry_client import RegistryClient, RegistryUnavailable
    from allpath.service.database import operator_work
    from allpath.service.trials import sync_studies
    from allpath.settings import load_settings

    client = RegistryClient(base_url=base_url, page_size=page_size, timeout_s=timeout)
    try:
        with operator_work(load_settings().database_url) as work:
            summary = sync_studies(work, client.pages(max_studies), detail=base_url[:500])
    except RegistryUnavailable as error:
        typer.echo(f"allpath trials sync: {error}; nothing was changed", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    _report(summary, "from ClinicalTrials.gov")


def _report(summary: RefreshSummary, origin: str) -> None:
    typer.echo(f"Trial registry {origin}: {summary.counts()}.")
    for refusal in summary.refused[:SHOWN_REFUSALS]:
        line = f"  refused: {refusal.where}: {refusal.why}"
        typer.echo("".join(c if c.isprintable() else "?" for c in line))
    if len(summary.refused) > SHOWN_REFUSALS:
        typer.echo(f"  ... and {len(summary.refused) - SHOWN_REFUSALS} more refused")
    when = f"{summary.refreshed_at:%Y-%m-%d %H:%M} UTC" if summary.refreshed_at else "now"
    typer.echo(f"The registry holds {summary.studies_held} studies, refreshed {when}.")
    if summary.refused:
        raise typer.Exit(EXIT_REFUSED)
