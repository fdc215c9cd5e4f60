"""The local trial registry's use cases on SQLite and PostgreSQL: importing the snapshot of 20 childhood-ALL
studies (``/work/shared/trials/studies.json``) twice changes nothing the second time; a newer last-update date
replaces a study, the same or an older one does not; bad studies are refused with the field and what is
allowed; every refresh is noted and audited with counts only."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allpath.service import unit_of_work
from allpath.service.trials import (
    Refusal,
    Study,
    import_studies,
    registry_state,
    registry_studies,
    sync_studies,
)
from allpath.storage import tables as t
from allpath.storage.db import make_engine, migrate, session_factory
from tests.api.conftest import database_url, postgres_server, postgres_template  # noqa: F401 (both backends)
from tests.conftest import require_shared


@pytest.fixture
def snapshot() -> list[dict[str, Any]]:
    page = json.loads((require_shared() / "trials" / "studies.json").read_text())
    studies: list[dict[str, Any]] = page["studies"]
    return studies


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:  # noqa: F811 (the imported fixture)
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def _import(factory: sessionmaker[Session], studies: list[Any], detail: str = "studies.json") -> Any:
    with unit_of_work(factory, None) as work:
        return import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate(studies)], detail=detail)


def _rows(factory: sessionmaker[Session]) -> dict[str, tuple[Any, Any, str]]:
    with factory() as s:
        return {
            row.nct_id: (row.last_update, row.imported_at, json.dumps(row.study, sort_keys=True))
            for row in s.scalars(select(t.TrialStudy))
        }


def _with_update(study: dict[str, Any], day: str | None, title: str = "") -> dict[str, Any]:
    changed = copy.deepcopy(study)
    status = changed["protocolSection"]["statusModule"]
    if day is None:
        status.pop("lastUpdatePostDateStruct", None)
    else:
        status["lastUpdatePostDateStruct"] = {"date": day}
    if title:
        changed["protocolSection"]["identificationModule"]["briefTitle"] = title
    return changed


def test_importing_the_snapshot_twice_changes_nothing_the_second_time(
    factory: sessionmaker[Session], snapshot: list[dict[str, Any]]
) -> None:
    first = _import(factory, snapshot)
    assert (len(first.added), len(first.updated), len(first.unchanged), first.refused) == (20, 0, 0, [])
    assert first.studies_held == 20
    stored = _rows(factory)
    assert len(stored) == 20
    by_id = {s["protocolSection"]["identificationModule"]["nctId"]: s for s in snapshot}
    assert stored["NCT03914625"][0].isoformat() == "2025-11-17"  # AALL1731's last update, as given
    assert stored["NCT03959085"][0] is None  # the snapshot gives no last-update date for this one
    assert all(json.loads(text) == by_id[nct] for nct, (_, _, text) in stored.items())  # the whole study object

    second = _import(factory, snapshot)
    assert (len(second.added), len(second.updated), len(second.unchanged), second.refused) == (0, 0, 20, [])
    assert _rows(factory) == stored  # no new row, no changed date, import time or study
    with factory() as s:
        refreshes = list(s.scalars(select(t.TrialRegistryRefresh).order_by(t.TrialRegistryRefresh.id)))
    assert [(r.source, r.detail, r.added, r.unchanged) for r in refreshes] == [
        ("file", "studies.json", 20, 0),
        ("file", "studies.json", 0, 20),
    ]
    with unit_of_work(factory, None) as work:
        state = registry_state(work)
    assert (state.studies, state.refreshed_from, state.refreshed_at) == (20, "file", refreshes[-1].at)
    with unit_of_work(factory, None) as work:
        _, studies = registry_studies(work)
    assert [s.nct_id for s in studies] == sorted(by_id)
    aall1731 = next(s for s in studies if s.nct_id == "NCT03914625")
    assert aall1731.org_study_id == "AALL1731" and str(aall1731.last_update_post_date) == "2025-11-17"


def test_a_newer_update_replaces_a_study_and_the_same_or_an_older_one_does_not(
    factory: sessionmaker[Session], snapshot: list[dict[str, Any]]
) -> None:
    aall1731 = snapshot[0]  # last update 2025-11-17
    _import(factory, [aall1731])
    before = _rows(factory)["NCT03914625"]
    same_day = _import(factory, [_with_update(aall1731, "2025-11-17", "Other title, same date")])
    older = _import(factory, [_with_update(aall1731, "2025-11-16", "An older copy")])
    assert same_day.unchanged == older.unchanged == ["NCT03914625"]
    assert _rows(factory)["NCT03914625"] == before
    newer = _import(factory, [_with_update(aall1731, "2025-11-18", "The newer copy")])
    assert newer.updated == ["NCT03914625"]
    last_update, imported_at, text = _rows(factory)["NCT03914625"]
    assert last_update.isoformat() == "2025-11-18" and imported_at > before[1]
    assert json.loads(text)["protocolSection"]["identificationModule"]["briefTitle"] == "The newer copy"


def test_a_study_without_a_date_gives_way_to_a_dated_or_different_copy(
    factory: sessionmaker[Session], snapshot: list[dict[str, Any]]
) -> None:
    undated = snapshot[1]  # NCT03959085 has no lastUpdatePostDateStruct in the snapshot
    assert "lastUpdatePostDateStruct" not in undated["protocolSection"]["statusModule"]
    _import(factory, [undated])
    assert _import(factory, [undated]).unchanged == ["NCT03959085"]
    assert _import(factory, [_with_update(undated, None, "A changed undated copy")]).updated == ["NCT03959085"]
    assert _import(factory, [_with_update(undated, "2024-01-01")]).updated == ["NCT03959085"]
    assert _import(factory, [_with_update(undated, None, "undated again")]).unchanged == ["NCT03959085"]
    assert _rows(factory)["NCT03959085"][0].isoformat() == "2024-01-01"
    month_only = _import(factory, [_with_update(undated, "2024-02")])  # month precision: the first of the month
    assert month_only.updated == ["NCT03959085"] and _rows(factory)["NCT03959085"][0].isoformat() == "2024-02-01"


@pytest.mark.parametrize(
    ("study", "expected"),
    [
        ([1, 2], "a study must be a JSON object"),
        ({"protocolSection": {}}, "identificationModule.nctId is missing; expected NCT followed by eight digits"),
        (
            {"protocolSection": {"identificationModule": {"nctId": "NCT0391462"}}},  # seven digits
            "nctId is not an NCT number; expected NCT followed by eight digits",
        ),
        (
            {"protocolSection": {"identificationModule": {"nctId": "NCT039146250"}}},  # nine digits
            "nctId is not an NCT number",
        ),
        (
            {
                "protocolSection": {
                    "identificationModule": {"nctId": "NCT03914625"},
                    "statusModule": {"lastUpdatePostDateStruct": {"date": "2025/11/17"}},
                }
            },
            "NCT03914625: protocolSection.statusModule.lastUpdatePostDateStruct.date is not a calendar date; "
            "expected a date written YYYY-MM-DD",
        ),
        (
            {
                "protocolSection": {
                    "identificationModule": {"nctId": "NCT03914625"},
                    "statusModule": {"lastUpdatePostDateStruct": {"date": "2025-02-30"}},
                }
            },
            "lastUpdatePostDateStruct.date is not a calendar date",
        ),
    ],
)
def test_a_bad_study_is_refused_with_the_field_and_what_is_allowed(
    factory: sessionmaker[Session], snapshot: list[dict[str, Any]], study: object, expected: str
) -> None:
    summary = _import(factory, [snapshot[0], study])
    assert summary.added == ["NCT03914625"]  # the good study is stored all the same
    assert len(summary.refused) == 1 and summary.refused[0].where == "study 2"
    assert expected in summary.refused[0].why


def test_refreshes_are_audited_with_counts_only(factory: sessionmaker[Session], snapshot: list[dict[str, Any]]) -> None:
    with unit_of_work(factory, None) as work:
        import_studies(
            work, [Study("a", s) for s in snapshot[:3]], detail="a.json", refused=[Refusal("b.json", "not JSON")]
        )
    with unit_of_work(factory, None) as work:
        summary = sync_studies(work, [snapshot[:2], snapshot[2:5]], detail="http://127.0.0.1/api/v2/studies")
    assert (len(summary.added), len(summary.unchanged)) == (2, 3)
    with factory() as s:
        entries = [(e.action, e.resource, e.detail) for e in s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id))]
        last = s.scalars(select(t.TrialRegistryRefresh).order_by(t.TrialRegistryRefresh.id.desc())).first()
    assert entries == [
        ("import", "trial_registry", "3 added, 0 updated, 0 unchanged, 1 refused"),
        ("sync", "trial_registry", "2 added, 0 updated, 3 unchanged, 0 refused"),
    ]
    assert last is not None and (last.source, last.detail) == ("sync", "http://127.0.0.1/api/v2/studies")


def test_a_sync_that_fails_part_way_stores_nothing_and_is_audited(
    factory: sessionmaker[Session], snapshot: list[dict[str, Any]]
) -> None:
    def pages() -> Iterator[list[object]]:
        yield list(snapshot[:5])
        raise ConnectionError("the network went away")

    with pytest.raises(ConnectionError), unit_of_work(factory, None) as work:
        sync_studies(work, pages(), detail="http://127.0.0.1/api/v2/studies")
    assert _rows(factory) == {}
    with factory() as s:
        entries = [(e.action, e.resource, e.outcome) for e in s.scalars(select(t.AuditEntry))]
        refreshes = list(s.scalars(select(t.TrialRegistryRefresh)))
    assert entries == [("sync", "trial_registry", "failed")] and refreshes == []
