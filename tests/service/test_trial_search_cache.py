"""The trial search reads the registry once per refresh and process (``service/trial_search.py``): a search after
an import or sync sees the new studies, a search of another database never sees this one's, and searches running
at the same time in threads each get their own child's verdicts."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from allpath.domain.record import parse_record
from allpath.domain.results.trials import TrialSearch
from allpath.knowledge.loader import load_knowledge
from allpath.service import unit_of_work
from allpath.service.records import stamped_assessment
from allpath.service.trial_search import TrialSearchOptions, search_trials
from allpath.service.trials import Study, import_studies
from allpath.storage.db import make_engine, migrate, session_factory
from tests.builders import record
from tests.conftest import require_shared

SEARCH_DAY = date(2026, 12, 1)
ANY = TrialSearchOptions(status="any")


@cache
def _snapshot() -> tuple[dict[str, Any], ...]:
    page = json.loads((require_shared() / "trials" / "studies.json").read_text(encoding="utf-8"))
    return tuple(page["studies"])


def _database(folder: Path, name: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{folder / name}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def first(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    yield from _database(tmp_path, "first.db")


@pytest.fixture
def second(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    yield from _database(tmp_path, "second.db")


def _import(factory: sessionmaker[Session], studies: list[dict[str, Any]]) -> None:
    with unit_of_work(factory, None) as work:
        import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate(studies)], detail="test")


def _search(factory: sessionmaker[Session], **changes: object) -> TrialSearch:
    kb = load_knowledge()
    child = parse_record(record(age_years=None, birth_date="2021-06-01", diagnosis_date="2026-11-20", **changes))
    with unit_of_work(factory, None) as work:
        return search_trials(work, kb, child, stamped_assessment(child, kb), ANY, SEARCH_DAY)


def _ids(search: TrialSearch) -> set[str | None]:
    return {result["nct_id"] for result in search["results"]}


def _renumbered(study: dict[str, Any], nct_id: str) -> dict[str, Any]:
    copied = copy.deepcopy(study)
    copied["protocolSection"]["identificationModule"]["nctId"] = nct_id
    return copied


def test_a_search_after_an_import_sees_the_new_studies(first: sessionmaker[Session]) -> None:
    studies = list(_snapshot())
    _import(first, studies[:5])
    before = _search(first)
    assert before["registry"]["studies"] == 5 and len(before["results"]) == 5

    _import(first, [_renumbered(studies[0], "NCT99999999")])
    after = _search(first)
    assert after["registry"]["studies"] == 6
    assert _ids(after) == _ids(before) | {"NCT99999999"}


def test_a_search_of_another_database_never_sees_this_ones_studies(
    first: sessionmaker[Session], second: sessionmaker[Session]
) -> None:
    studies = list(_snapshot())
    _import(first, studies[:3])
    _import(second, studies[3:4])
    assert len(_search(first)["results"]) == 3
    only = _search(second)
    assert _ids(only) == {studies[3]["protocolSection"]["identificationModule"]["nctId"]}
    assert _ids(_search(first)) == {s["protocolSection"]["identificationModule"]["nctId"] for s in studies[:3]}


def test_an_empty_registry_answers_with_no_study_and_no_snapshot_date(first: sessionmaker[Session]) -> None:
    empty = _search(first)
    assert empty["registry"] == {"snapshot_date": None, "source": None, "studies": 0, "outdated_after_days": 365}
    assert empty["results"] == []


def test_searches_at_the_same_time_each_get_their_own_childs_verdicts(first: sessionmaker[Session]) -> None:
    _import(first, list(_snapshot()))
    newly_diagnosed = _search(first)
    relapsed = _search(first, relapses=[{"months_from_diagnosis": 40, "sites": ["bone_marrow"]}])
    expected = {
        "new": {r["nct_id"]: r["verdict"] for r in newly_diagnosed["results"]},
        "relapsed": {r["nct_id"]: r["verdict"] for r in relapsed["results"]},
    }
    assert expected["new"] != expected["relapsed"]  # the two children differ, so a mix-up would show

    def run(which: str) -> tuple[str, dict[str | None, str]]:
        changes: dict[str, object] = (
            {"relapses": [{"months_from_diagnosis": 40, "sites": ["bone_marrow"]}]} if which == "relapsed" else {}
        )
        answer = _search(first, **changes)
        return which, {r["nct_id"]: r["verdict"] for r in answer["results"]}

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run, ["new", "relapsed"] * 6))
    for which, verdicts in outcomes:
        assert verdicts == expected[which]


def test_a_server_reads_the_registry_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first patient page or search after a start does not wait for the registry to be read."""
    from fastapi.testclient import TestClient

    from allpath.interfaces.app import create_app
    from allpath.service import trial_search
    from allpath.settings import load_settings

    settings = load_settings({"ALLPATH_DATA_DIR": str(tmp_path)})
    app = create_app(settings)
    _import(app.state.sessions, list(_snapshot()))
    monkeypatch.setattr(trial_search, "_cached", None)
    read: list[int] = []
    reading = trial_search._read_registry

    def counted(*args: Any) -> Any:
        answer = reading(*args)
        read.append(len(answer))
        return answer

    monkeypatch.setattr(trial_search, "_read_registry", counted)
    with TestClient(app):
        assert read == [20]  # read during start-up, before any request
        _search(app.state.sessions)
        assert read == [20]  # the first search found it read
