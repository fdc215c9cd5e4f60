"""The audit entries of an event loop's requests are gathered on the loop (``allpath.storage.audit_gathering``):
a batch waits for the entries of the loop's other requests in flight, so that under load one commit, one disk
flush, serves several requests; a request alone is handed over at once; a batch stops waiting as soon as no
request of the loop is still computing, or after ``LINGER_SECONDS``; and the writer's thread is woken once per
batch, not once per entry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from allpath.storage import audit, audit_gathering
from allpath.storage.db import make_engine, migrate
from tests.api.conftest import Service, _database
from tests.api.test_group_commit import _entry, _stored
from tests.coroutines import run_coroutine


class CountingWriter(audit.AuditWriter):
    """A group writer that notes each batch's size and each hand-over of units to its thread."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.batches: list[int] = []
        self.hand_overs: list[int] = []

    def hand(self, units: list[audit_gathering.Unit]) -> None:
        self.hand_overs.append(len(units))
        super().hand(units)

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


def _writer(url: str) -> Generator[CountingWriter, None, None]:
    engine = make_engine(url)
    migrate(engine)
    made = CountingWriter(engine)
    try:
        yield made
    finally:
        made.close()
        engine.dispose()


@pytest.fixture
def writer(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingWriter]:
    monkeypatch.setattr(audit_gathering, "LINGER_SECONDS", 30.0)  # longer than any test: only its ends count
    yield from _writer(sqlite_url)


def _expecting(writer: CountingWriter, requests: int) -> list[Callable[[], None]]:
    gathered = audit_gathering.gathering(writer)
    return [gathered.expecting() for _ in range(requests)]


def test_a_batch_waits_for_the_entries_of_the_loops_other_requests_in_flight(writer: CountingWriter) -> None:
    async def two_requests() -> None:
        first_done, second_done = _expecting(writer, 2)
        first = audit_gathering.gathering(writer).submit([_entry("first")])
        await asyncio.sleep(0.2)  # the second request still computes: the first entry waits for its
        assert not first.done() and writer.hand_overs == []
        second = audit_gathering.gathering(writer).submit([_entry("second")])
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert time.monotonic() - started < 10  # handed over once both came, not after LINGER_SECONDS
        first_done(), second_done()

    run_coroutine(two_requests())
    assert writer.hand_overs == [2]  # one hand-over: the thread woken once for both
    assert writer.batches == [2]  # one commit for both
    assert len(_stored(writer._engine, action="test")) == 2


def test_a_request_alone_is_handed_over_at_once(writer: CountingWriter) -> None:
    async def alone() -> None:
        (done,) = _expecting(writer, 1)
        await asyncio.wait_for(audit_gathering.gathering(writer).submit([_entry("alone")]), 10)
        done()
        await asyncio.wait_for(audit_gathering.gathering(writer).submit([_entry("without expecting")]), 10)

    run_coroutine(alone())
    assert writer.batches == [1, 1]


def test_a_batch_stops_waiting_when_the_other_request_is_answered_without_entries(writer: CountingWriter) -> None:
    async def one_refused() -> None:
        first_done, other_done = _expecting(writer, 2)
        first = audit_gathering.gathering(writer).submit([_entry("first")])
        await asyncio.sleep(0.2)
        assert not first.done()  # waits for the other request
        other_done()  # answered without an entry (an invalid record): nothing more to wait for
        other_done()  # once is enough: a second call changes nothing
        await asyncio.wait_for(first, 10)
        first_done()
        assert audit_gathering.gathering(writer)._in_flight == 0

    run_coroutine(one_refused())
    assert writer.batches == [1]


def test_a_batch_waits_no_longer_than_the_linger(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_gathering, "LINGER_SECONDS", 0.05)
    made = next(writer_of := _writer(sqlite_url))

    async def one_slow() -> float:
        first_done, slow_done = _expecting(made, 2)
        started = time.monotonic()
        await asyncio.wait_for(audit_gathering.gathering(made).submit([_entry("first")]), 10)
        first_done(), slow_done()
        return time.monotonic() - started

    waited = run_coroutine(one_slow())
    assert 0.04 <= waited < 5  # handed over by the timer, the slow request still computing
    assert made.batches == [1]
    writer_of.close()


def test_entries_of_many_requests_are_one_hand_over_and_their_loop_is_woken_once(writer: CountingWriter) -> None:
    async def twenty() -> list[str]:
        loop = asyncio.get_running_loop()
        wake_ups: list[str] = []
        original = loop.call_soon_threadsafe

        def counted(callback: Callable[..., object], *args: object) -> asyncio.Handle:
            wake_ups.append(getattr(callback, "__name__", repr(callback)))
            return original(callback, *args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
        answered = _expecting(writer, 20)
        futures = [audit_gathering.gathering(writer).submit([_entry(f"unit {n}")]) for n in range(20)]
        await asyncio.wait_for(asyncio.gather(*futures), 10)
        for done in answered:
            done()
        return wake_ups

    assert run_coroutine(twenty()) == ["_resolve_now"]  # the batch resolved in one callback on the loop
    assert writer.hand_overs == [20]  # the writer's thread woken once, not twenty times
    assert writer.batches == [20]


def test_a_failed_batch_fails_each_gathered_request(writer: CountingWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(rows: list[dict[str, object]]) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(writer, "_insert", broken)

    async def three() -> list[BaseException | None]:
        futures = [audit_gathering.gathering(writer).submit([_entry(f"unit {n}")]) for n in range(3)]
        return await asyncio.gather(*futures, return_exceptions=True)

    assert [type(outcome) for outcome in run_coroutine(three())] == [OSError] * 3
    assert _stored(writer._engine, action="test") == []


def test_every_assessment_in_flight_is_expected_until_it_is_answered(service: Service) -> None:
    writer = audit.writer_for(service.engine)
    seen: list[int] = []
    real = audit_gathering.LoopGathering.submit

    def submit(self: audit_gathering.LoopGathering, entries: list[dict[str, object]]) -> asyncio.Future[None]:
        seen.append(self._in_flight)  # the request submitting is still in flight
        return real(self, entries)

    client = service.client()
    record = {"age_years": 5, "wbc_per_ul": 12000, "immunophenotype": "B", "sex": "female"}
    unstorable = {**service.bearer("clinician"), "content-type": "application/json"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit_gathering.LoopGathering, "submit", submit)
        assert client.post("/api/assess", json=record, headers=service.bearer("clinician")).status_code == 200
        assert client.post("/api/assess", json=record, headers=service.bearer("family")).status_code == 403
        assert client.post("/api/assess", json=[1], headers=service.bearer("clinician")).status_code == 422
        assert client.post("/api/assess", content='{"id": "\\ud800"}', headers=unstorable).status_code == 422
    assert seen == [1, 0]  # the admitted assessment, expected while its route ran; the refusal never was
    assert all(gathered._in_flight == 0 for gathered in writer.gatherings.values())  # all answered


def test_postgresql_batches_do_not_wait(postgresql_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL flushes in the server and its commits group by themselves: a batch waiting would only cost
    CPU (benchmarks/README.md), so an entry is handed over at once even while other requests are expected."""
    monkeypatch.setattr(audit_gathering, "LINGER_SECONDS", 30.0)
    made = next(writer_of := _writer(postgresql_url))

    async def first_of_two() -> None:
        first_done, other_done = _expecting(made, 2)
        await asyncio.wait_for(audit_gathering.gathering(made).submit([_entry("first")]), 10)  # not after 30 s
        first_done(), other_done()

    run_coroutine(first_of_two())
    assert made.batches == [1]
    writer_of.close()
