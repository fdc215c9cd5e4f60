"""The compiled stratifier of the bundled knowledge base, compiled once for the columnar tests."""

from __future__ import annotations

import pytest

from allpath.engine.columnar import Stratifier, compile_stratifier
from allpath.knowledge.loader import KnowledgeBase


@pytest.fixture(scope="session")
def stratifier(kb: KnowledgeBase) -> Stratifier:
    return compile_stratifier(kb)
