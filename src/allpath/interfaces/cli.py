"""The ``allpath`` command line.

Exit status: 0 on success; 2 on invalid input (the message on standard error names the field, the
value and what is allowed, and nothing is written to standard output); 1 when a knowledge-base check
fails.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from allpath import __version__

app = typer.Typer(
    help="allpath: a cited care pathway for childhood ALL. Decision support for clinicians, not a prescription.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect and check the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

EXIT_INVALID_INPUT = 2
EXIT_CHECK_FAILED = 1


class OutputFormat(StrEnum):
    json = "json"
    text = "text"
    markdown = "markdown"
    summary = "summary"


def _fail_input(message: str) -> typer.Exit:
    typer.echo(f"allpath: invalid input: {message}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def _read_input(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail_input(f"FILE: {source!r} does not exist; expected a JSON file or '-' for standard input") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise _fail_input(
            f"FILE: {source!r} cannot be read ({error.__class__.__name__}); expected a UTF-8 JSON file"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _fail_input(
            "record: JSON nested too deeply; expected a patient record object or an array of them"
        ) from None
    except json.JSONDecodeError as error:
        raise _fail_input(
            f"record: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); "
            "expected one patient record object or an array of them"
        ) from None


def _progress_wanted(count: int) -> bool:
    return count > 1 and sys.stderr.isatty() and os.environ.get("CI") != "true"


@app.command()
def assess(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="A patient record (JSON object) or an array of them; '-' reads standard input.",
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="json for software; text or markdown for a family-readable report; summary for one line per record.",
        ),
    ] = OutputFormat.json,
) -> None:
    """Assess patient records: disease state, risk groups, populations, plan, each with its source."""
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess as assess_record
    from allpath.errors import RecordError
    from allpath.knowledge.loader import load_knowledge

    data = _read_input(file)
    many = isinstance(data, list)
    raw_records = data if many else [data]
    records = []
    problems: list[str] = []
    for index, raw in enumerate(raw_records):
        try:
            records.append(parse_record(raw))
        except RecordError as error:
            where = f"record {index}: " if many else ""
            problems.extend(where + p.message() for p in error.problems)
    if problems:
        for line in problems:
            typer.echo(f"allpath: invalid input: {line}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT)

    kb = load_knowledge()
    results = (assess_record(r, kb) for r in _with_progress(records))
    # Each assessment is written as soon as it is made: a cohort never sits in memory as a whole.
    if output_format is OutputFormat.json:
        _write_json(results, many)
    elif output_format is OutputFormat.summary:
        from allpath.interfaces.summary import summary_row, summary_table

        rows, disclaimer = [], ""
        for index, result in enumerate(results):
            rows.append(summary_row(index, result))
            disclaimer = result["disclaimer"]
        sys.stdout.write(summary_table(rows, disclaimer))
    else:
        from allpath.interfaces.report import build_blocks, render_markdown, render_text

        render = render_markdown if output_format is OutputFormat.markdown else render_text
        separator = "\n---\n\n" if output_format is OutputFormat.markdown else "\n" + "=" * 88 + "\n\n"
        for index, result in enumerate(results):
            sys.stdout.write((separator if index else "") + render(build_blocks(result, kb)))


def _with_progress(records: list[Any]) -> Iterator[Any]:
    if not _progress_wanted(len(records)):
        return iter(records)
    from rich.progress import track

    return iter(track(records, description="Assessing", console=_stderr_console()))


def _write_json(results: Iterator[dict[str, Any]], many: bool) -> None:
    """One record: indented JSON. An array: a JSON array with one compact assessment per line, which
    keeps a cohort's output small and line-oriented (each line is one patient) while staying one JSON value."""
    out = sys.stdout
    if not many:
        out.write(json.dumps(next(results), indent=2, ensure_ascii=False) + "\n")
        return
    first = True
    for result in results:
        out.write(("[\n" if first else ",\n") + json.dumps(result, ensure_ascii=False, separators=(",", ":")))
        first = False
    out.write("[]\n" if first else "\n]\n")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@kb_app.command("lint")
def kb_lint(
    sources: Annotated[
        list[Path] | None,
        typer.Option("--sources", help="A folder holding the source documents, to verify their sha256 and headings."),
    ] = None,
) -> None:
    """Check the knowledge base: schema, citations, unique ids, nothing unused."""
    from allpath.errors import KnowledgeError
    from allpath.knowledge.lint import lint
    from allpath.knowledge.loader import load_knowledge

    try:
        kb = load_knowledge()
    except KnowledgeError as problem:
        typer.echo(f"allpath kb lint: {problem}", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    report = lint(kb, sources)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for message in report.errors:
        typer.echo(f"error: {message}", err=True)
    verified = ", ".join(report.documents_verified) or "none (pass --sources to verify the documents)"
    typer.echo(
        f"knowledge {kb.version}: {report.citations_checked} citations checked, "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s); documents verified: {verified}"
    )
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


@kb_app.command("grid")
def kb_grid(
    absent: Annotated[
        bool, typer.Option("--absent", help="Anchor records with every subset of the risk inputs removed.")
    ] = False,
) -> None:
    """Print every combination of boundary values of the risk inputs and the groups they give (CSV)."""
    from allpath.engine.grid import absent_grid_csv, complete_grid_csv
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge()
    sys.stdout.write(absent_grid_csv(kb) if absent else complete_grid_csv(kb))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Add demo accounts and the bundled example patients.")] = False,
) -> None:
    """Run the web application and JSON API (SQLite in ALLPATH_DATA_DIR unless ALLPATH_DATABASE_URL is set)."""
    import uvicorn

    from allpath.knowledge.loader import load_knowledge
    from allpath.settings import load_settings
    from allpath.storage.db import make_engine, migrate, session_factory

    settings = load_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)  # once, before any worker starts
    if demo:
        from allpath.storage.demo import seed_demo

        examples = Path(__file__).resolve().parents[3] / "examples"
        accounts = seed_demo(session_factory(engine), load_knowledge(), examples)
        typer.echo("Demo accounts (local demo only):")
        for role, username, password in accounts:
            typer.echo(f"  {role:<11} {username:<12} {password}")
    engine.dispose()
    if workers > 1:
        _tcp_nodelay_for_workers()
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    typer.echo(f"allpath is running at http://{shown}:{port}/  (API description: http://{shown}:{port}/api/docs)")
    uvicorn.run(
        "allpath.interfaces.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # request lines carry patient ids; they stay out of the logs
    )


def _tcp_nodelay_for_workers() -> None:
    """Keep TCP_NODELAY with several workers.

    For ``--workers`` > 1 uvicorn binds the listening socket itself and leaves its ``proto`` at 0; accepted
    connections inherit it, asyncio then does not set TCP_NODELAY, and every keep-alive response waits about
    40 ms for the client's delayed ACK (uvicorn issue #3149: 180 instead of 3,000 requests/s). Re-wrap the
    bound socket as IPPROTO_TCP (same file descriptor) before the workers get it.
    """
    import socket

    from uvicorn.config import Config

    bind = Config.bind_socket

    def bind_tcp(self: Config) -> socket.socket:
        sock = bind(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock

    Config.bind_socket = bind_tcp  # type: ignore[method-assign]


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


if __name__ == "__main__":
    main()
