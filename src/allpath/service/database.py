"""The database of a command on the server's shell: opened (and brought to the current schema) for one unit
of work, then closed.

``allpath users`` runs its use cases in ``operator_work``; ``allpath serve`` prepares the database once,
before any worker starts (``prepare_database``, with the demo accounts and patients when asked). The HTTP
service builds its own engine in the composition root (``allpath.interfaces.app``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from allpath.knowledge.loader import KnowledgeBase
from allpath.service.unit_of_work import UnitOfWork, unit_of_work
from allpath.storage.db import make_engine, migrate, session_factory


@contextlib.contextmanager
def operator_work(database_url: str) -> Iterator[UnitOfWork]:
    """A unit of work acting as the server's operator (no account) on the database at ``database_url``:
    committed when the block ends, rolled back (its audit entries kept) when it raises."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with unit_of_work(session_factory(engine), None) as work:
            yield work
    finally:
        engine.dispose()


def prepare_database(
    database_url: str, *, demo: tuple[KnowledgeBase, Path] | None = None
) -> list[tuple[str, str, str]]:
    """Bring the database at ``database_url`` to the current schema; with ``demo`` (the knowledge base and
    the examples folder) add the demo accounts and example patients. The demo accounts made (role, user
    name, password), or none."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        if demo is None:
            return []
        from allpath.service.demo import seed_demo

        kb, examples = demo
        return seed_demo(session_factory(engine), kb, examples)
    finally:
        engine.dispose()
