"""Properties of the failed-attempt limits (``allpath.storage.attempts``) over generated sequences of attempts:
whatever the order of clients, user names, right and wrong secrets and pauses, no client, no user name from one
client, and no account from clients it does not know gets more secrets checked than its limit allows in any
window. The moved rows of a flooding client and the hourly pruning must never loosen a limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from allpath.settings import SignInLimits
from allpath.storage import attempts
from allpath.storage.db import make_engine, migrate, session_factory

LIMITS = SignInLimits(
    per_name_and_client=2,
    per_client=3,
    window_seconds=60,
    per_account=4,
    account_window_seconds=300,
    known_client_days=1,
)
START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Checked:
    """An attempt whose secret was checked: when, from where, for whom, and whether it was right."""

    at: datetime
    client: int
    name: int
    right: bool


steps = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 0, 1, 5, 20, 61, 301, 90_000]),  # seconds since the step before
        st.integers(0, 2),  # client
        st.integers(0, 1),  # user name
        st.booleans(),  # the right secret
    ),
    min_size=4,
    max_size=60,
)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('attempts')) / 'allpath.db'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
@example([(0, 0, 0, False), (0, 0, 1, False), (0, 0, 2, False), (0, 0, 0, False)])  # the client's limit
@example([(0, 0, 0, False), (0, 0, 0, False), (1, 0, 0, False)])  # one name from one client
@example([(0, c % 3, 0, False) for c in range(5)])  # the account: the 5th failure on it, from a client allowed two
def test_no_limit_is_exceeded_in_any_window(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, sequence: list[tuple[int, int, int, bool]]
) -> None:
    prefix = uuid.uuid4().hex[:8]  # this example's own clients and names in the shared database
    moment = [START]
    monkeypatch.setattr(attempts, "now", lambda: moment[0])
    monkeypatch.setattr(attempts, "PRUNE_EVERY_SECONDS", 0.0)  # prune before every attempt, not once an hour
    checked: list[Checked] = []
    for pause, client, name, right in sequence:
        moment[0] += timedelta(seconds=pause)
        with sessions() as s, s.begin():
            try:
                attempt_id = attempts.limited_attempt(s, f"{prefix}-n{name}", f"{prefix}-c{client}", LIMITS)
            except attempts.TooManyAttempts as refused:
                assert refused.retry_after >= 1
                continue
            if right:
                attempts.succeeded(s, attempt_id)
        checked.append(Checked(moment[0], client, name, right))
    for k, attempt in enumerate(checked):
        earlier = checked[:k]
        window = attempt.at - timedelta(seconds=LIMITS.window_seconds)
        failed = [e for e in earlier if not e.right and e.at >= window]
        assert len([e for e in failed if e.client == attempt.client]) + 1 <= LIMITS.per_client
        same = [e for e in failed if e.client == attempt.client and e.name == attempt.name]
        assert len(same) + 1 <= LIMITS.per_name_and_client
        known = any(
            e.right and e.client == attempt.client and e.name == attempt.name
            for e in earlier
            if e.at >= attempt.at - timedelta(days=LIMITS.known_client_days)
        )
        if not known:
            successes = [e.at for e in earlier if e.right and e.name == attempt.name]
            start = attempt.at - timedelta(seconds=LIMITS.account_window_seconds)
            last = max(successes, default=None)
            if last is not None and last > start:  # consecutive failures: since the last success
                on_account = [e for e in earlier if not e.right and e.name == attempt.name and e.at > last]
            else:
                on_account = [e for e in earlier if not e.right and e.name == attempt.name and e.at >= start]
            assert len(on_account) + 1 <= LIMITS.per_account
