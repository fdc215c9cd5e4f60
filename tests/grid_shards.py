"""A check over every record of the exhaustive risk grid, shared out between the machine's CPU cores.

pytest runs one test at a time on one core, and a whole-grid check assesses over 100,000 records one after
the other, so the other cores sit idle for minutes. ``over_grid_shards`` gives each core one shard of the grid
(every n-th record, so each shard holds every kind of row), this process one and each of the others a fresh
interpreter (spawned, not forked: a test session may hold threads and servers that a fork would copy
half-way), and returns every shard's answer. The shards together hold every record of the grid exactly
once; each shard counts its records so that a test can check that.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from allpath.engine.grid import PatientJson, complete_grid_records
from allpath.knowledge.loader import KnowledgeBase, load_knowledge

T = TypeVar("T")

MAX_SHARDS = 4
"""More processes than this gain little on the machines that run the suite and hold a knowledge base each."""


def shard_records(kb: KnowledgeBase, shard: int, shards: int) -> Iterator[PatientJson]:
    """Records shard, shard + shards, shard + 2 x shards, ... of the complete grid."""
    return itertools.islice(complete_grid_records(kb), shard, None, shards)


def _run(check: Callable[[KnowledgeBase, int, int], T], shard: int, shards: int) -> T:
    return check(load_knowledge(), shard, shards)


def shard_count() -> int:
    """The cores this process may run on (``taskset -c 0`` gives one shard), at most ``MAX_SHARDS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_SHARDS))


def over_grid_shards(check: Callable[[KnowledgeBase, int, int], T], kb: KnowledgeBase) -> list[T]:
    """``check(kb, shard, shards)`` for every shard of the grid, one shard per core: the first in this
    process, each of the others in a process of its own. ``check`` must be a module-level function, for the
    other processes to import it."""
    shards = shard_count()
    if shards == 1:
        return [check(kb, 0, 1)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=shards - 1, mp_context=context) as pool:
        others = [pool.submit(_run, check, shard, shards) for shard in range(1, shards)]
        first = check(kb, 0, shards)
        return [first, *(future.result() for future in others)]
