"""A refresh of the trial registry reads again only the studies it added or replaced (``service/trial_search.py``):
the studies read at the last refresh are kept by NCT number and import time, with the matcher that read them,
for the same database and knowledge base (issue 13, the first search after a sync)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import allpath.service.trial_search as trial_search
from allpath.domain.record import parse_record
from allpath.domain.results.trials import TrialSearch
from allpath.domain.trials import Study as ParsedStudy
from allpath.domain.trials import parse_study
from allpath.knowledge.loader import load_knowledge
from allpath.service import unit_of_work
from allpath.service.records import stamped_assessment
from allpath.service.trial_search import TrialSearchOptions, search_trials
from allpath.service.trials import Study, import_studies
from allpath.storage.db import make_engine, migrate, session_factory
from tests.builders import record
from tests.conftest import require_shared

SEARCH_DAY = date(2026, 12, 1)


def _snapshot() -> list[dict[str, Any]]:
    page = json.loads((require_shared() / "trials" / "studies.json").read_text(encoding="utf-8"))
    studies: list[dict[str, Any]] = page["studies"]
    return studies


def _database(path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    yield from _database(tmp_path / "registry.db")


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The NCT numbers of the studies the search parses."""
    seen: list[str | None] = []

    def counting(raw: object) -> ParsedStudy:
        study = parse_study(raw)
        seen.append(study.nct_id)
        return study

    monkeypatch.setattr(trial_search, "parse_study", counting)
    return seen


def _import(factory: sessionmaker[Session], studies: list[dict[str, Any]]) -> None:
    with unit_of_work(factory, None) as work:
        import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate(studies)], detail="test")


def _search(factory: sessionmaker[Session]) -> TrialSearch:
    kb = load_knowledge()
    child = parse_record(record(age_years=None, birth_date="2021-08-14", diagnosis_date="2026-11-20"))
    with unit_of_work(factory, None) as work:
        return search_trials(
            work, kb, child, stamped_assessment(child, kb), TrialSearchOptions(status="any"), SEARCH_DAY
        )


def _titles(search: TrialSearch) -> dict[str | None, str | None]:
    return {result["nct_id"]: result["title"] for result in search["results"]}


def test_a_refresh_reads_again_only_the_studies_it_replaced(
    registry: sessionmaker[Session], parsed: list[str | None], tmp_path: Path
) -> None:
    studies = _snapshot()
    _import(registry, studies)
    before = _search(registry)
    assert len(parsed) == len(studies) == 20
    parsed.clear()
    # A newer copy of AALL1731 with another title, and the other 19 as they were.
    newer = copy.deepcopy(
        next(s for s in studies if s["protocolSection"]["identificationModule"]["nctId"] == "NCT03914625")
    )
    newer["protocolSection"]["identificationModule"]["briefTitle"] = "AALL1731, its entry updated"
    newer["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2026-11-30"}
    _import(registry, [*studies, newer])
    after = _search(registry)
    assert parsed == ["NCT03914625"]
    assert _titles(after)["NCT03914625"] == "AALL1731, its entry updated"
    assert {k: v for k, v in _titles(after).items() if k != "NCT03914625"} == {
        k: v for k, v in _titles(before).items() if k != "NCT03914625"
    }
    assert after["registry"]["studies"] == 20
    parsed.clear()
    _search(registry)
    assert parsed == []  # nothing refreshed: the registry in memory answers
    # The answer from the kept studies is the answer of a registry read whole (a new engine: as a new process).
    anew = _database(tmp_path / "registry.db")
    assert _search(next(anew))["results"] == after["results"]
    next(anew, None)


def test_another_database_is_read_whole(tmp_path: Path, parsed: list[str | None]) -> None:
    first, second = _database(tmp_path / "first.db"), _database(tmp_path / "second.db")
    one, other = next(first), next(second)
    _import(one, _snapshot())
    _import(other, _snapshot())
    _search(one)
    parsed.clear()
    _search(other)  # the same studies at the same NCT numbers, but another database: nothing of the first is kept
    assert len(parsed) == 20
    for rest in (first, second):
        next(rest, None)
