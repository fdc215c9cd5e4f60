"""``allpath trials``: the local trial registry (ClinicalTrials.gov studies kept in allpath's database).

``import FILE...`` stores the studies of files in the API v2 format (a ``studies`` page or NDJSON);
``sync`` fetches childhood-ALL studies from the registry's API. Both print what they did (added, updated,
unchanged, refused with why) and the registry's size and refresh time. A study already stored with the same
or a newer last-update date is left as it is, so running either twice changes nothing.
Exit status: 0 when everything was stored; 2 when a file, a line or a study was refused (the others are
stored) or the registry could not be reached (nothing is stored then).

``search RECORD`` finds the studies of the registry a child may join (``allpath.service.trial_search``): JSON
(design.md, "Trial search"), or text: the plain-words section a family reads ("Trials to ask about") and, for
the care team, a table of every study with its verdict and the criterion that decided it. Exit status 2, with
the option or field named on standard error and nothing on standard output, for an invalid record, place,
radius or date, and for an empty registry (there is nothing to search: the message says how to fill it); 0
otherwise, also when no study fits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from allpath.interfaces.cli.assess import DEFAULT_LANGUAGE, LanguageOption
from allpath.interfaces.cli.console import FileArgument, fail_input, iso_day, one_record

if TYPE_CHECKING:
    from collections.abc import Mapping

    from allpath.domain.results.trials import TrialResult, TrialSearch
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


# ---- search ----------------------------------------------------------------------------------------------------


class StatusChoice(StrEnum):
    recruiting = "recruiting"
    open = "open"
    any = "any"


class SearchFormat(StrEnum):
    json = "json"
    text = "text"


EMPTY_REGISTRY = (
    "the trial registry is empty, so there is nothing to search; fill it with "
    "'allpath trials import FILE...' (ClinicalTrials.gov API v2 files) or 'allpath trials sync'"
)
# The options of the search, by the field the use case names when it refuses one.
_OPTION_OF_FIELD = {"near": "--near", "radius_km": "--radius-km"}


@trials_app.command("search")
def trials_search(
    file: FileArgument,
    near: Annotated[
        str | None,
        typer.Option("--near", metavar="PLACE", help="A US ZIP code or a city (with its state or country)."),
    ] = None,
    radius_km: Annotated[
        str | None,
        typer.Option(
            "--radius-km", metavar="N", help="Keep studies with a site within N km (and those of unknown distance)."
        ),
    ] = None,
    status: Annotated[
        StatusChoice,
        typer.Option(help="recruiting; open adds not yet recruiting and enrolling by invitation; any status."),
    ] = StatusChoice.open,
    on: Annotated[
        str | None, typer.Option("--on", help="The day of the search (YYYY-MM-DD): the child's age on it. Today.")
    ] = None,
    output_format: Annotated[
        SearchFormat,
        typer.Option("--format", "-f", help="json for software; text for the family's section and a care-team table."),
    ] = SearchFormat.json,
    lang: LanguageOption = DEFAULT_LANGUAGE,
) -> None:
    """The studies of the local registry a child may join, best first, with the reason for each verdict."""
    import json
    from datetime import UTC, datetime

    from allpath.errors import InputError
    from allpath.knowledge.loader import load_knowledge
    from allpath.service import assess_record
    from allpath.service.database import operator_work
    from allpath.service.trial_search import TrialSearchOptions, search_trials
    from allpath.settings import load_settings

    record = one_record(file)
    day = iso_day(on, "--on") if on is not None else datetime.now(UTC).date()
    radius = _radius(radius_km)
    # JSON is for software and never translated: only the text a person reads is in --lang's language.
    kb = load_knowledge(locale=lang if output_format is SearchFormat.text else "en")
    settings = load_settings()
    options = TrialSearchOptions(near, radius, status.value, settings.trials_outdated_days)
    try:
        with operator_work(settings.database_url) as work:
            search = search_trials(work, kb, record, assess_record(kb, record), options, day)
    except InputError as error:
        raise fail_input(f"{_OPTION_OF_FIELD.get(error.field, error.field)}: {error.message}") from None
    if search["registry"]["studies"] == 0:
        typer.echo(f"allpath trials search: {EMPTY_REGISTRY}", err=True)
        raise typer.Exit(EXIT_REFUSED)
    if output_format is SearchFormat.json:
        typer.echo(json.dumps(search, indent=2, ensure_ascii=False))
        return
    from allpath.interfaces.i18n import use_locale
    from allpath.interfaces.report.blocks import render_text
    from allpath.interfaces.report.trials import trial_blocks

    with use_locale(lang):
        typer.echo(render_text(trial_blocks(search, kb)), nl=False)
        typer.echo("\n" + _care_team_table(search, kb.trials.statuses.labels), nl=False)


def _radius(value: str | None) -> float | None:
    """The radius as given (the use case checks its range); exit 2 naming the option when it is no number."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise fail_input(f"--radius-km: {value!r} is not a number; expected a distance in km, such as 500") from None


def _care_team_table(search: TrialSearch, status_labels: Mapping[str, str]) -> str:
    """Every study searched, best first: its verdict and the criterion that decided it (the first one that
    excludes the child, else the first one still unknown)."""
    # The care team's words are in the reader's language too (i18n imported here: ``allpath --help`` stays fast).
    from allpath.interfaces.i18n import gettext

    header = (
        gettext("NCT number"),
        gettext("Study"),
        gettext("Verdict"),
        gettext("Nearest site"),
        gettext("Status"),
        gettext("Decided by"),
    )
    unmeasured = gettext("unknown") if search["place"] is not None else "-"  # no place given: nothing was measured
    rows = [header] + [_row(result, status_labels, unmeasured) for result in search["results"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]
    title = gettext("For the care team: every study searched, with its verdict and what decided it")
    return "\n".join([title, "-" * len(title), *lines, ""]) + (
        gettext("Each study's own eligibility text is in the JSON output (--format json).") + "\n"
    )


def _distance(km: float) -> str:
    """A distance in the reader's language (English 6,808.2 km; Spanish 6808,2 km)."""
    from babel.numbers import format_decimal

    from allpath.interfaces.i18n import DEFAULT_LOCALE, current_locale

    if current_locale() == DEFAULT_LOCALE:
        return f"{km:,.1f} km"
    return format_decimal(km, format="#,##0.0", locale=current_locale()) + " km"


def _row(result: TrialResult, status_labels: Mapping[str, str], unmeasured: str) -> tuple[str, str, str, str, str, str]:
    from allpath.interfaces.i18n import gettext

    verdicts = {
        "eligible": gettext("may fit"),
        "possibly": gettext("may fit, to check"),
        "not_eligible": gettext("does not fit"),
    }
    criteria = {
        "disease": gettext("disease"),
        "lineage": gettext("lineage"),
        "disease_state": gettext("disease state"),
        "risk_group": gettext("risk group"),
        "subgroup": gettext("subgroup"),
        "age": gettext("age"),
        "sex": gettext("sex"),
        "status": gettext("status"),
    }
    site = result["nearest_site"]
    distance = _distance(site["distance_km"]) if site and site["distance_km"] is not None else unmeasured
    deciding = next((c for c in result["criteria"] if c["outcome"] == "not_met"), None) or next(
        (c for c in result["criteria"] if c["outcome"] == "unknown"), None
    )
    decided = (
        f"{criteria.get(deciding['criterion'], deciding['criterion'])}: {deciding['explanation']}"
        if deciding is not None
        else gettext("nothing allpath checks stands in the way")
    )
    given = result["overall_status"]
    status = status_labels.get(given, given.lower().replace("_", " ")) if given else gettext("not given")
    return (
        result["nct_id"] or "-",
        result["org_study_id"] or "-",
        verdicts[result["verdict"]],
        distance,
        status,
        decided,
    )
