"""The JWTs of CDS clients already accepted, in the database (``allpath.storage.replay``), on both backends: a
token is used once whatever process inserts it, an expired row gives way to a new token and is pruned."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, func, make_url, select
from sqlalchemy.orm import Session

from allpath.service.cds_tokens import ReplayStoreUnavailable, token_first_use
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import replay
from allpath.storage import tables as t
from allpath.storage.clock import digest
from allpath.storage.db import make_engine, migrate, session_factory

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ISSUER = "https://ehr.example.org/"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(t.CdsTokenUse)) or 0


def test_a_token_is_used_once(engine: Engine) -> None:
    until = T0 + timedelta(minutes=5)
    with session_factory(engine)() as one, session_factory(engine)() as other:
        assert replay.first_use(one, ISSUER, "jti-1", until, at=T0)
        assert not replay.first_use(other, ISSUER, "jti-1", until, at=T0)  # another session, another connection
        assert not replay.first_use(one, ISSUER, "jti-1", until, at=T0 + timedelta(minutes=4))
        assert replay.first_use(one, "https://other.example/", "jti-1", until, at=T0)  # jti are per issuer
        assert replay.first_use(one, ISSUER, "x" * 10_000, until, at=T0)  # any length: stored as a digest
    with Session(engine) as s:
        stored = s.scalars(select(t.CdsTokenUse.jti_hash)).all()
    assert len(stored) == 3 and all(len(value) == 64 and "jti" not in value for value in stored)


def test_an_expired_token_gives_way_and_is_pruned(engine: Engine) -> None:
    def at(seconds: int) -> datetime:
        return T0 + timedelta(seconds=seconds)

    with session_factory(engine)() as s:
        assert replay.first_use(s, ISSUER, "kept", at(600), at=at(0))  # the first use of this process prunes
        assert replay.first_use(s, ISSUER, "old", at(40), at=at(30))
        # At 50 s "old" has expired but is not pruned yet (once a minute): a new token with its jti is accepted
        # all the same, and used up in turn.
        assert _rows(engine) == 2
        assert replay.first_use(s, ISSUER, "old", at(120), at=at(50))
        assert not replay.first_use(s, ISSUER, "old", at(120), at=at(55))
        assert _rows(engine) == 2
        assert replay.first_use(s, ISSUER, "new", at(600), at=at(180))  # a minute on: prunes "old"
        with Session(engine) as check:
            assert _rows(engine) == 2 and check.get(t.CdsTokenUse, _key("old")) is None
        assert replay.prune(s, at=at(1200)) == 2
        assert _rows(engine) == 0


def _key(jti: str) -> tuple[str, str]:
    return digest(ISSUER), digest(jti)


def test_concurrent_uses_of_one_token_accept_it_once(engine: Engine) -> None:
    factory = session_factory(engine)

    def use(_: int) -> bool:
        with factory() as s:
            return replay.first_use(s, ISSUER, "raced", T0 + timedelta(days=1), at=T0)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(use, range(8)))
    assert answers.count(True) == 1


def test_an_unreachable_store_is_neither_a_first_use_nor_a_replay(database_url: str) -> None:
    """A database that cannot be reached (a PostgreSQL database or a SQLite folder that does not exist):
    ``ReplayStoreUnavailable``, which the CDS routes answer with 503, never True or False; the error's text
    (its statement and parameters) is not carried on."""
    url = make_url(database_url)
    gone = url.set(database=f"{url.database}-gone" if url.get_backend_name() == "postgresql" else "/no/such/dir/x.db")
    engine = create_engine(gone)
    try:
        with session_factory(engine)() as s, pytest.raises(ReplayStoreUnavailable) as raised:
            token_first_use(UnitOfWork(s, None), ISSUER, "jti-unknown", T0.timestamp() + 300)
    finally:
        engine.dispose()
    assert str(raised.value) == "OperationalError" and raised.value.__cause__ is None
