"""Fixtures of the abuse suite: the service of tests/api (SQLite; every role signed in by token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from allpath.knowledge.loader import KnowledgeBase
from tests.api.conftest import Service, _service, fast_password_hashing

__all__ = ["fast_password_hashing"]  # the cheap password hashing of tests/api, for these tests too


@pytest.fixture(scope="module")
def abuse_service(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Service]:
    """One service (SQLite) shared by the tests of a module: what is tested here is refused before storage."""
    folder: Path = tmp_path_factory.mktemp("abuse")
    yield from _service(f"sqlite:///{folder / 'allpath.db'}", folder, kb)
