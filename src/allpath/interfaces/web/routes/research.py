"""The researcher's outcomes by group (issue 15, item 4): ``/research/outcomes``.

The researcher uploads a de-identified cohort with its follow-up (one CSV or Parquet file: the record columns
and the outcome columns), or asks for the synthetic demo cohort, chooses the grouping and reads Kaplan-Meier
curves, 5-year figures with 95% intervals, log-rank tests and the cumulative incidence of relapse and of death
in remission (``allpath.service.cohort.research_outcomes``).

Limits come before work: the file's size and rows (``Settings.research``) are checked before it is parsed, and
the request guard cuts a body much larger than that before it is read. Nothing uploaded is stored or logged:
the records pass through a temporary file that is deleted when the request ends, and the audit log holds counts
only. Each use and each refusal is audited.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from allpath.interfaces.cohort import CohortFileError, read_cohort
from allpath.interfaces.http.deps import KB
from allpath.interfaces.http.unit_of_work import KernelRoute
from allpath.interfaces.i18n import marked, shown_decimal
from allpath.interfaces.web.outcome_charts import chart
from allpath.interfaces.web.pages import ResearcherPage, page
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.cohort.research_outcomes import (
    GROUPINGS,
    Grouping,
    ResearchOutcomes,
    research_outcomes,
    synthetic_outcomes,
)
from allpath.service.cohort.research_upload import (
    OUTCOME_COLUMNS,
    OutcomeLimits,
    UploadKind,
    UploadRefused,
    split_upload,
)
from allpath.settings import ResearchLimits

router = APIRouter(route_class=KernelRoute)

PATH = "/research/outcomes"
RESOURCE = "research_outcomes"
DEMO_ROWS = 5_000
DEMO_SEED = 15  # fixed, so that the demo shows the same cohort each time
FILE_FIELD = "cohort_file"
_KINDS: dict[str, UploadKind] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

GROUPING_WORDS = {
    "risk_group": marked("NCI risk group"),
    "cog_risk_group": marked("COG risk group"),
    "immunophenotype": marked("Lineage (B or T)"),
}
_REFUSALS = {
    "too_large": marked("The file is larger than %(most)s. Upload a smaller file, or split the cohort."),
    "too_many_rows": marked("The file has more than %(most)s rows. At most %(most)s children are analysed at once."),
    "not_parquet": marked("The file is not a Parquet file that can be read."),
    "not_utf8": marked("The CSV file is not text in UTF-8."),
    "no_header": marked("The CSV file is empty: its first line must name the columns."),
    "outcome_columns": marked(
        "The file lacks the outcome columns %(missing)s. Each row needs the record's columns and these outcome "
        "columns: %(expected)s."
    ),
    "record_columns": marked("The file has no record columns: its columns must name the record's fields."),
    "no_file": marked("Choose a CSV or Parquet file first, or use the synthetic demo cohort."),
    "format": marked("The file's name does not say CSV or Parquet: use a name ending in .csv, .parquet or .pq."),
    "unreadable": marked("The file could not be read as a cohort. What the cohort reader found:"),
}


class _Shown:
    """A number in a refusal, written in the page's language when the page renders (Spanish 100.000; 0,5)."""

    def __init__(self, value: float, unit: str = "") -> None:
        self.value = value
        self.unit = unit

    def __str__(self) -> str:
        return shown_decimal(self.value) + self.unit


def _limits(request: Request) -> tuple[ResearchLimits, OutcomeLimits]:
    research: ResearchLimits = request.app.state.settings.research
    return research, OutcomeLimits(research.upload_bytes, research.max_rows, research.min_group_size)


def _size(size: int) -> _Shown:
    """A size in MB, or in KB under one MB (an operator may set a small limit), to one decimal."""
    if size >= 1024 * 1024:
        return _Shown(round(size / (1024 * 1024), 1), " MB")
    return _Shown(round(size / 1024, 1), " KB")


def _context(request: Request, grouping: Grouping, result: ResearchOutcomes | None) -> dict[str, object]:
    research, _ = _limits(request)
    context: dict[str, object] = {
        "groupings": [(key, GROUPING_WORDS[key]) for key in GROUPINGS],
        "grouping": grouping,
        "grouping_words": GROUPING_WORDS[grouping],
        "outcome_columns": OUTCOME_COLUMNS,
        "max_size": _size(research.upload_bytes),
        "max_rows_shown": _Shown(research.max_rows),
        "max_rows": research.max_rows,
        "min_group_size": research.min_group_size,
        "demo_rows": DEMO_ROWS,
        "result": result,
        "error": None,
        "detail": None,
    }
    if result is not None:
        analysis = result.analysis
        context["charts"] = {
            "event_free": chart(analysis.event_free, 1.0),
            "overall": chart(analysis.overall, 1.0),
            "relapse": chart(analysis.relapse, 0.0),
            "death_in_remission": chart(analysis.death_in_remission, 0.0),
        }
    return context


@router.get(PATH)
def outcomes_form(request: Request, work: ResearcherPage) -> Response:
    """The upload form and the demo button."""
    return page(request, "research_outcomes.html", _context(request, "risk_group", None), work)


def _grouping(value: object) -> Grouping:
    for known in get_args(Grouping):
        if value == known:
            chosen: Grouping = known
            return chosen
    return "risk_group"


def _batches(path: Path, kind: UploadKind) -> Iterator[tuple[pa.Table, int]]:
    for batch in read_cohort(path, format=kind):
        yield batch.table, len({problem.row for problem in batch.problems})


def _analyse_upload(
    data: bytes, kind: UploadKind, grouping: Grouping, kb: KnowledgeBase, limits: OutcomeLimits
) -> ResearchOutcomes:
    split = split_upload(data, kind, limits)
    # The records go through a temporary file for the cohort reader, deleted as soon as the work is done.
    with tempfile.TemporaryDirectory(prefix="allpath-research-") as folder:
        path = Path(folder) / f"records.{kind}"
        path.write_bytes(split.records)
        return research_outcomes(_batches(path, kind), split.outcomes, grouping, kb, limits.min_group_size)


async def _upload(form: FormData, limits: OutcomeLimits) -> tuple[bytes, UploadKind]:
    """The uploaded file's bytes and kind; its size is checked before it is read (and again as it is read)."""
    upload = form.get(FILE_FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadRefused("no_file")
    kind = _KINDS.get(Path(upload.filename).suffix.lower())
    if kind is None:
        raise UploadRefused("format")
    if upload.size is not None and upload.size > limits.max_bytes:
        raise UploadRefused("too_large", most=limits.max_bytes)
    data = await upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise UploadRefused("too_large", most=limits.max_bytes)
    return data, kind


@router.post(PATH)
async def outcomes_page(request: Request, kb: KB, work: ResearcherPage) -> Response:
    """Analyse the uploaded cohort, or the synthetic demo cohort, and show the outcomes by group."""
    form = await request.form()
    grouping = _grouping(form.get("grouping"))
    _, limits = _limits(request)
    if form.get("action") == "demo":
        result = await run_in_threadpool(synthetic_outcomes, DEMO_ROWS, DEMO_SEED, grouping, kb, limits.min_group_size)
        work.audit("read", RESOURCE, detail=f"synthetic demo, {grouping}: {_counts(result)}")
        return page(request, "research_outcomes.html", _context(request, grouping, result), work)
    detail: str | None = None
    try:
        data, kind = await _upload(form, limits)
        result = await run_in_threadpool(_analyse_upload, data, kind, grouping, kb, limits)
    except UploadRefused as refusal:
        work.audit("read", RESOURCE, outcome="invalid", detail=f"upload refused: {refusal.reason}")
        status = 413 if refusal.reason == "too_large" else 422
        error = refusal
    except CohortFileError as problem:
        work.audit("read", RESOURCE, outcome="invalid", detail="upload refused: unreadable")
        status, error, detail = 422, UploadRefused("unreadable"), str(problem)
    else:
        work.audit("read", RESOURCE, detail=f"upload, {grouping}: {_counts(result)}")
        return page(request, "research_outcomes.html", _context(request, grouping, result), work)
    context = {
        **_context(request, grouping, None),
        "error": _REFUSALS[error.reason],
        "error_values": _shown_values(error),
        "detail": detail,
    }
    return page(request, "research_outcomes.html", context, work, status)


def _shown_values(refusal: UploadRefused) -> dict[str, object]:
    values: dict[str, object] = dict(refusal.values)
    if refusal.reason == "too_large":
        values["most"] = _size(int(refusal.values["most"]))
    elif refusal.reason == "too_many_rows":
        values["most"] = _Shown(int(refusal.values["most"]))
    return values


def _counts(result: ResearchOutcomes) -> str:
    """The audit entry's detail: counts only, never a value of the file."""
    return (
        f"{result.rows_read} rows, {result.rows_refused} refused, {result.rows_without_outcomes} without outcomes, "
        f"{result.analysed} analysed in {len(result.analysis.groups)} groups, {result.suppressed_groups} groups "
        f"under {result.min_group_size} not shown"
    )
