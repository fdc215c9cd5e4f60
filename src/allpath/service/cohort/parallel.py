"""Stratify a Parquet cohort on every core (issue 15): worker processes, each with its own compiled stratifier.

The columnar stratifier's Python-side work holds the interpreter lock, so a second thread does not make it
faster; processes do. The pool lives here, above the engine, because its workers open files: the engine stays
pure (tables in, tables out). Each worker compiles the knowledge base once when it starts (the knowledge base
is sent, not the compiled plan), then reads its row groups of the file itself (the caller sends the path and
the row-group numbers, never the data), stratifies them batch by batch and hands back its answers as an Arrow
IPC stream. The caller yields the answers in the file's order and keeps at most ``in_flight`` shares
submitted and not yet taken, so memory stays bounded whatever the size of the file.

The file must already be in the cohort table's shape (``domain.cohort_table``: a ``row`` column and the record
columns, as the synthetic cohort and ``allpath cohort assess`` write them): its rows are not checked here.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.engine.columnar.stratifier import KEPT_COLUMNS
from allpath.knowledge.loader import KnowledgeBase

DEFAULT_BATCH_ROWS = 131_072  # the batch size that measured best on the 2-core machine (benchmarks/)

_POLARS_THREADS = "POLARS_MAX_THREADS"
_STARTING = threading.Lock()  # the environment is the process's: one pool starts its workers at a time
_Task = TypeVar("_Task")
_Result = TypeVar("_Result")


class NotInTableShape(ValueError):
    """The Parquet file lacks columns the stratifier reads: it is not in the cohort table's shape."""


def machine_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Part:
    """One worker's share: row groups of one file and the columns to read."""

    path: str
    row_groups: tuple[int, ...]
    columns: tuple[str, ...]
    batch_rows: int


_worker_stratifier: Stratifier | None = None  # one per worker process, compiled when the worker starts


def _start_worker(kb: KnowledgeBase) -> None:
    global _worker_stratifier
    _worker_stratifier = compile_stratifier(kb)


def _ready() -> int:
    """A task that does nothing: submitted once per worker so that every worker starts at once."""
    return pl.thread_pool_size()


def _answers(stratifier: Stratifier, part: _Part) -> pl.DataFrame:
    parquet = pq.ParquetFile(part.path)
    batches = parquet.iter_batches(
        batch_size=part.batch_rows, row_groups=list(part.row_groups), columns=list(part.columns)
    )
    answers = list(stratifier.stratify_batches(batches))
    return pl.concat(answers) if answers else stratifier.stratify(parquet.schema_arrow.empty_table())


def _stratify_part(part: _Part) -> bytes:
    """In a worker: the part's answers as an Arrow IPC stream (cheap to send, no pickled Python objects)."""
    if _worker_stratifier is None:
        raise RuntimeError("the worker process was started without its stratifier")
    sink = io.BytesIO()
    _answers(_worker_stratifier, part).write_ipc_stream(sink, compression="uncompressed")
    return sink.getvalue()


def in_order(
    submit: Callable[[_Task], Future[_Result]], tasks: Iterable[_Task], in_flight: int
) -> Generator[_Result, None, None]:
    """The tasks' results in the tasks' order, with at most ``in_flight`` tasks submitted and not yet taken (the
    one being handed over included). Stopping early cancels the tasks not yet started."""
    pending: deque[Future[_Result]] = deque()
    try:
        for task in tasks:
            pending.append(submit(task))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _columns(path: Path, stratifier: Stratifier, kept: Sequence[str]) -> tuple[str, ...]:
    names = pq.ParquetFile(path).schema_arrow.names
    lacking = [c for c in stratifier.reads if c not in names]
    if lacking:
        raise NotInTableShape(
            f"The Parquet file is not in the cohort table's shape: it has no column {', '.join(lacking[:5])}."
        )
    return tuple(c for c in (*kept, *stratifier.reads) if c in names)


def _shares(path: Path, batch_rows: int) -> list[tuple[int, ...]]:
    """The file's row groups that hold rows, gathered in order into shares of at most ``batch_rows`` rows (a
    larger row group is a share of its own, read in batches): running the plan costs about as much on a small
    batch as on a large one, so small row groups are not sent one by one."""
    metadata = pq.ParquetFile(path).metadata
    shares: list[tuple[int, ...]] = []
    share: list[int] = []
    rows = 0
    for group in range(metadata.num_row_groups):
        count = metadata.row_group(group).num_rows
        if not count:  # an empty file may have one row group of no rows
            continue
        if share and rows + count > batch_rows:
            shares.append(tuple(share))
            share, rows = [], 0
        share.append(group)
        rows += count
    return [*shares, tuple(share)] if share else shares


class StratifierPool:
    """Worker processes with the knowledge base compiled in each, reusable for several files.

    Use it as a context manager (the workers stop on leaving it). ``submitted`` counts the shares of row groups
    handed to the workers so far (what ``in_flight`` bounds)."""

    def __init__(self, kb: KnowledgeBase, workers: int | None = None) -> None:
        self.kb = kb
        self.stratifier = compile_stratifier(kb)  # for the columns to read
        self.workers = max(1, workers or machine_cores())
        # spawn, not fork: polars' thread pool does not survive a fork safely.
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker, initargs=(kb,))
        # Each worker gets its share of the cores for polars' threads (read once, when polars starts): with the
        # default, every worker would run a thread per core and they would spin against each other. The workers
        # are started here, all at once, while the variable is set (a spawned worker copies the environment).
        threads = str(max(1, machine_cores() // self.workers))
        with _STARTING:
            previous = os.environ.get(_POLARS_THREADS)
            os.environ[_POLARS_THREADS] = threads
            try:
                started = [self._pool.submit(_ready) for _ in range(self.workers)]
            finally:
                if previous is None:
                    del os.environ[_POLARS_THREADS]
                else:
                    os.environ[_POLARS_THREADS] = previous
        for future in started:
            future.result()
        self.submitted = 0

    def __enter__(self) -> StratifierPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, part: _Part) -> Future[bytes]:
        self.submitted += 1
        return self._pool.submit(_stratify_part, part)

    def stratify_parquet(
        self,
        path: Path,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        in_flight: int | None = None,
        kept: Sequence[str] = KEPT_COLUMNS,
    ) -> Iterator[pl.DataFrame]:
        """The answers of each share of ``path``'s row groups (consecutive row groups of at most ``batch_rows``
        rows in all), in the file's order: ``row``/``id`` when the file has them, the stratification columns,
        ``fallback`` and the knowledge version. ``kept``: the input columns copied to the answers."""
        columns = _columns(path, self.stratifier, kept)
        parts = (_Part(str(path), share, columns, batch_rows) for share in _shares(path, batch_rows))
        limit = in_flight or 2 * self.workers  # each worker busy, one more queued for it
        for stream in in_order(self._submit, parts, limit):
            # Read with Arrow (no copy) and then handed to polars: many times cheaper than polars' own IPC reader.
            yield pl.DataFrame(pl.from_arrow(pa.ipc.open_stream(stream).read_all()))


def stratify_parquet(
    path: Path,
    kb: KnowledgeBase,
    workers: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    in_flight: int | None = None,
    kept: Sequence[str] = KEPT_COLUMNS,
) -> Iterator[pl.DataFrame]:
    """Stratify a Parquet cohort in the table's shape on ``workers`` processes (default: the machine's cores, at
    most the file's shares of row groups), the answers in the file's order, one frame per share. With one worker
    the file is stratified in this process, batch by batch (no process is started)."""
    shares = _shares(path, batch_rows)
    count = min(workers or machine_cores(), len(shares))
    if count <= 1:
        stratifier = compile_stratifier(kb)
        columns = _columns(path, stratifier, kept)
        yield from (_answers(stratifier, _Part(str(path), share, columns, batch_rows)) for share in shares)
        return
    with StratifierPool(kb, count) as pool:
        yield from pool.stratify_parquet(path, batch_rows, in_flight, kept)
