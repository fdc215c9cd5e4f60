"""``allpath kb lint`` and ``kb grid``: check the knowledge base, print the risk grid."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from allpath.interfaces.cli.console import EXIT_CHECK_FAILED


def lint(
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


def grid(
    absent: Annotated[
        bool, typer.Option("--absent", help="Anchor records with every subset of the risk inputs removed.")
    ] = False,
) -> None:
    """Print every combination of boundary values of the risk inputs and the groups they give (CSV)."""
    from allpath.knowledge.loader import load_knowledge
    from allpath.service.grid import risk_grid_csv

    sys.stdout.write(risk_grid_csv(load_knowledge(), absent=absent))
