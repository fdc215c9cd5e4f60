"""A batch of the audit group writer waits a moment for the entries of the other requests in flight
(``AuditWriter.expecting``): under load one commit, one disk flush, then serves several requests; a request
alone is committed at once, and a batch stops waiting as soon as nothing more is in flight."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import Engine

from allpath.storage import audit, audit_writer
from allpath.storage.db import make_engine, migrate
from tests.api.conftest import Service, _database
from tests.api.test_group_commit import _entry, _stored


class CountingWriter(audit.AuditWriter):
    """A group writer that notes each batch's size."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.batches: list[int] = []

    def _insert(self, rows: list[dict[str, object]]) -> None:
        self.batches.append(len(rows))
        super()._insert(rows)


# Each backend only where its rule holds (SQLite's batches wait, PostgreSQL's do not): no test is skipped.
@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database(request, "sqlite", tmp_path)


@pytest.fixture
def postgresql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database(request, "postgresql", tmp_path)


@pytest.fixture
def writer(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingWriter]:
    monkeypatch.setattr(audit_writer, "LINGER_SECONDS", 30.0)  # longer than any test: only its ends count
    engine = make_engine(sqlite_url)
    migrate(engine)
    made = CountingWriter(engine)
    try:
        yield made
    finally:
        made.close()
        engine.dispose()


def test_a_batch_waits_for_the_entries_of_the_other_requests_in_flight(writer: CountingWriter) -> None:
    first_done, second_done = writer.expecting(), writer.expecting()
    first = writer.submit([_entry("first")])
    time.sleep(0.2)  # the writer has taken the first unit and waits for the second request's entries
    assert not first.done()
    second = writer.submit([_entry("second")])
    started = time.monotonic()
    assert first.result(10) is None and second.result(10) is None
    assert time.monotonic() - started < 10  # committed once both came, not after LINGER_SECONDS
    first_done(), second_done()
    assert writer.batches == [2]  # one commit for both
    assert len(_stored(writer._engine, action="test")) == 2


def test_a_request_alone_is_committed_at_once(writer: CountingWriter) -> None:
    done = writer.expecting()
    started = time.monotonic()
    assert writer.submit([_entry("alone")]).result(10) is None
    assert time.monotonic() - started < 10
    done()
    assert writer.submit([_entry("without expecting")]).result(10) is None  # nothing in flight at all
    assert writer.batches == [1, 1]


def test_a_batch_stops_waiting_when_the_other_request_is_answered_without_entries(writer: CountingWriter) -> None:
    first_done, other_done = writer.expecting(), writer.expecting()
    first = writer.submit([_entry("first")])
    time.sleep(0.2)
    assert not first.done()  # waits for the other request
    other_done()  # answered without an entry (an invalid record): nothing more to wait for
    other_done()  # once is enough: a second call changes nothing
    assert first.result(10) is None
    first_done()
    assert writer.batches == [1]
    assert writer._expected == 0


def test_every_assessment_in_flight_is_expected_until_it_is_answered(service: Service) -> None:
    writer = audit.writer_for(service.engine)
    seen: list[int] = []
    real = writer.submit

    def submit(entries: list[dict[str, object]], *, on_loop: bool = False) -> Future[None]:
        seen.append(writer._expected)  # the request submitting is still in flight
        return real(entries, on_loop=on_loop)

    writer.submit = submit  # type: ignore[method-assign]
    client = service.client()
    record = {"age_years": 5, "wbc_per_ul": 12000, "immunophenotype": "B", "sex": "female"}
    assert client.post("/api/assess", json=record, headers=service.bearer("clinician")).status_code == 200
    assert client.post("/api/assess", json=record, headers=service.bearer("family")).status_code == 403
    assert client.post("/api/assess", json=[1], headers=service.bearer("clinician")).status_code == 422
    unstorable = {**service.bearer("clinician"), "content-type": "application/json"}
    assert client.post("/api/assess", content='{"id": "\\ud800"}', headers=unstorable).status_code == 422
    assert seen == [1, 0]  # the admitted assessment, expected while its route ran; the refusal never was
    assert writer._expected == 0  # every one of them, answered, is no longer expected


def test_postgresql_batches_do_not_wait(postgresql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL flushes in the server and its commits group by themselves: a batch waiting would only cost
    CPU (benchmarks/README.md), so it commits at once even while other requests are expected."""
    monkeypatch.setattr(audit_writer, "LINGER_SECONDS", 30.0)
    engine = make_engine(postgresql_url)
    migrate(engine)
    made = CountingWriter(engine)
    try:
        first_done, other_done = made.expecting(), made.expecting()
        assert made.submit([_entry("first")]).result(10) is None  # not after 30 s
        first_done(), other_done()
        assert made.batches == [1]
    finally:
        made.close()
        engine.dispose()


class _CountedQueue:
    """The writer's queue, counting its waits (each one ends in a wake-up of the writer's thread)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.waits = 0

    def get(self, block: bool = True, timeout: float | None = None) -> object:
        self.waits += 1
        return self.inner.get(block, timeout)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_waiting_batch_is_woken_by_changes_not_by_polling(writer: CountingWriter) -> None:
    counted = _CountedQueue(writer._queue)
    writer._queue = counted  # type: ignore[assignment]
    first_done, other_done = writer.expecting(), writer.expecting()
    first = writer.submit([_entry("first")])
    time.sleep(0.3)  # the batch waits for the other request: asleep, not looking again every 0.25 ms
    assert not first.done()
    assert counted.waits <= 2  # its first entry (and at most one wake-up that changed nothing)
    other_done()  # answered without an entry: the batch is woken and committed at once
    assert first.result(10) is None
    first_done()
    assert writer.batches == [1]
