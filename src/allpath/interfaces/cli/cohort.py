"""``allpath cohort``: registries at scale (issue 15). ``assess`` stratifies a cohort file into an answers file
and a problems file; ``generate`` writes a synthetic cohort; ``outcomes`` gives survival by group.

The input is read here (``interfaces.cohort.read_cohort``) and its batches handed to the use case
(``service.cohort.assess``). Progress goes to standard error, only on a terminal and without ``--quiet``; the
summary at the end goes to standard output. A bad option, an input that cannot be read or an output that cannot
be written is one line naming the option, and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from allpath.interfaces.cli.cohort_diff import cohort_diff
from allpath.interfaces.cli.cohort_outcomes import cohort_outcomes
from allpath.interfaces.cli.console import fail_input, shown_name

if TYPE_CHECKING:
    from allpath.interfaces.cohort import CohortBatch
    from allpath.knowledge.loader import KnowledgeBase
    from allpath.service.cohort.assess import CohortAssessment, CohortCounts

T = TypeVar("T")

cohort_app = typer.Typer(
    help="Cohorts and registries: stratify many records at once, make a synthetic cohort, outcomes by group.",
    no_args_is_help=True,
)


class AnswerFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


class Engine(StrEnum):
    local = "local"
    spark = "spark"


class SyntheticFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"


_BY_SUFFIX = {".parquet": AnswerFormat.parquet, ".pq": AnswerFormat.parquet, ".csv": AnswerFormat.csv}
_BY_SUFFIX |= {".jsonl": AnswerFormat.jsonl, ".ndjson": AnswerFormat.jsonl}

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
KnowledgeOption = Annotated[
    Path | None,
    typer.Option("--knowledge", metavar="DIR", help="A knowledge base folder (default: the bundled one)."),
]
BatchRowsOption = Annotated[
    int, typer.Option("--batch-rows", min=1, help="Input rows per batch: memory holds about one batch.")
]


def load_kb(folder: Path | None, option: str = "--knowledge", locale: str = "en") -> KnowledgeBase:
    """The knowledge base of ``option`` (or the bundled one), its texts in ``locale``; exit 2 naming the option
    when it cannot load."""
    from allpath.errors import KnowledgeError
    from allpath.knowledge.loader import load_knowledge

    if folder is not None and not folder.is_dir():
        raise fail_input(f"{option}: {shown_name(folder)} is not a folder; expected a knowledge base folder")
    try:
        return load_knowledge(folder, locale=locale)
    except KnowledgeError as problem:
        raise fail_input(f"{option}: {shown_name(folder)} is not a valid knowledge base ({problem})") from None


def answer_format(chosen: AnswerFormat | None, out: Path) -> AnswerFormat:
    """The format ``--format`` names, else the one the name of ``--out`` says; exit 2 when neither says one."""
    if chosen is not None:
        return chosen
    found = _BY_SUFFIX.get(out.suffix.lower())
    if found is None:
        raise fail_input(
            f"--format: the name {shown_name(out.name)} does not say a format; name one (parquet, csv or jsonl) or end "
            "--out in .parquet, .csv or .jsonl"
        )
    return found


def default_problems_path(out: Path) -> Path:
    """Where the problems go when ``--problems`` is not given: beside the answers, ``<name>.problems.csv``."""
    return out.with_name(out.stem + ".problems.csv")


def known_rows(source: Path) -> int | None:
    """The number of rows when the input says it without being read (a Parquet file's footer), else None."""
    if source.suffix.lower() not in (".parquet", ".pq") or not source.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(source).metadata.num_rows)
    except (OSError, ValueError):
        return None  # the reader says what is wrong with the file


def show_progress(quiet: bool) -> bool:
    """A progress bar only for a person watching: standard error is a terminal and ``--quiet`` is not given."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress_bar(shown: bool, what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on standard error (rows, rows/s, elapsed), or a callback that does nothing."""
    if not shown:
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(what, total=total, rate="")

        def advance(done: int) -> None:
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:,.0f} rows/s" if elapsed > 0 else ""
            progress.update(task, completed=done, rate=rate)

        yield advance


@contextmanager
def working(shown: bool, what: str) -> Iterator[None]:
    """A spinner with the time taken, on standard error, for a long step that counts no rows (estimating the
    curves of 100,000 children takes half a minute); nothing when no progress is shown."""
    if not shown:
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        progress.add_task(what, total=None)
        yield


def cohort_assess(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="The cohort: .json, .jsonl, .csv, .parquet, or a folder of FHIR Bulk Data .ndjson files.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The answers file (one row per valid record).")],
    output_format: Annotated[
        AnswerFormat | None,
        typer.Option("--format", "-f", help="parquet, csv or jsonl (default: from the name of --out)."),
    ] = None,
    problems: Annotated[
        Path | None,
        typer.Option("--problems", help="The bad rows' problems, CSV (default: <out>.problems.csv beside --out)."),
    ] = None,
    batch_rows: BatchRowsOption = 65_536,
    knowledge: KnowledgeOption = None,
    engine: Annotated[
        Engine,
        typer.Option("--engine", help="Where the stratifier runs: local, or spark (--out is then a new folder)."),
    ] = Engine.local,
    spark_master: Annotated[
        str, typer.Option("--spark-master", help="Spark's master with --engine spark (local[N], spark://...).")
    ] = "local[2]",
    quiet: QuietOption = False,
) -> None:
    """Stratify every record of a cohort (disease state, both risk groups, populations, relapse) into a file."""
    if engine is Engine.spark:
        from allpath.interfaces.cli.cohort_spark import run_on_spark

        run_on_spark(source, out, load_kb(knowledge), spark_master, output_format, quiet=quiet)
        return
    chosen = answer_format(output_format, out)
    problems_path = problems or default_problems_path(out)
    kb = load_kb(knowledge)
    with progress_bar(show_progress(quiet), "Assessing", known_rows(source)) as advance:
        result = _run_local(source, out, chosen, problems_path, batch_rows, kb, advance)
    typer.echo(assess_summary(result))


def _run_local(
    source: Path,
    out: Path,
    chosen: AnswerFormat,
    problems_path: Path,
    batch_rows: int,
    kb: KnowledgeBase,
    advance: Callable[[int], None],
) -> CohortAssessment:
    from allpath.service.cohort.assess import assess_cohort

    def on_progress(counts: CohortCounts) -> None:
        advance(counts.rows_read)

    def run(batches: Iterable[CohortBatch]) -> CohortAssessment:
        return assess_cohort(batches, kb, out, chosen.value, problems_path, on_progress)

    return cohort_batches(source, batch_rows, run)


def cohort_batches(source: Path, batch_rows: int, use: Callable[[Iterable[CohortBatch]], T]) -> T:
    """Read the cohort in ``source`` and hand its batches to ``use``; exit 2 naming INPUT when it cannot be read
    as a cohort, or the output options when a file cannot be written."""
    from allpath.interfaces.cohort import CohortFileError, read_cohort

    if not source.exists():
        raise fail_input(f"INPUT: {shown_name(source)} does not exist; expected a cohort file or folder")
    try:
        return use(read_cohort(source, batch_rows=batch_rows))
    except CohortFileError as problem:
        raise fail_input(f"INPUT: {problem}") from None
    except OSError as error:
        raise fail_input(_file_problem(error, source)) from None


def _file_problem(error: OSError, source: Path) -> str:
    """Which file could not be used, by its option: the input (INPUT) or an output (--out / --problems)."""
    name = Path(error.filename) if error.filename else None
    reason = error.strerror or "error"
    if name is not None and (name == source or source in name.parents):
        return f"INPUT: {shown_name(name)} cannot be read ({reason})"
    where = f"{shown_name(name)} " if name is not None else "a file "
    return f"--out / --problems: {where}cannot be written ({reason})"


def assess_summary(result: CohortAssessment) -> str:
    """The end of a run in plain words: the counts, the knowledge version and the files."""
    c = result.counts
    lines = [
        f"Read {c.rows_read:,} rows: {c.assessed:,} assessed, {c.refused:,} refused.",
        f"Knowledge version: {result.knowledge_version}.",
        f"Answers ({result.output_format}): {result.output}",
        f"Problems of refused rows ({c.problems:,}): {result.problems_path}",
    ]
    if c.fallen_back:
        lines.insert(1, f"{c.fallen_back:,} assessed by the per-patient engine (parts the columnar plan leaves to it).")
    return "\n".join(lines)


def cohort_generate(
    rows: Annotated[int, typer.Option("--rows", min=0, help="How many records.")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="The folder to write the cohort into.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="The same seed gives the same cohort.")] = 0,
    file_format: Annotated[SyntheticFormat, typer.Option("--format", "-f", help="parquet or jsonl.")] = (
        SyntheticFormat.parquet
    ),
    quiet: QuietOption = False,
) -> None:
    """Write a SYNTHETIC cohort (records and outcomes) for demonstrations and benchmarks: not real children."""
    from allpath.service.cohort.files import write_synthetic

    if out.exists() and not out.is_dir():
        raise fail_input(f"--out: {shown_name(out)} is a file; expected a folder to write the cohort into")
    try:
        with progress_bar(show_progress(quiet), "Generating (synthetic)", rows) as advance:
            written = write_synthetic(rows, seed, out, file_format.value, advance)
    except OSError as error:
        raise fail_input(f"--out: {shown_name(out)} cannot be written ({error.strerror or 'error'})") from None
    typer.echo(
        f"Wrote {written.rows:,} SYNTHETIC records (seed {seed}), labelled synthetic, not real patients.\n"
        f"Records: {written.records_path}\nOutcomes: {written.outcomes_path}"
    )


cohort_app.command("assess")(cohort_assess)
cohort_app.command("generate")(cohort_generate)
cohort_app.command("outcomes")(cohort_outcomes)
cohort_app.command("diff")(cohort_diff)
