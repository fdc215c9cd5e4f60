"""Failed activations are limited like failed sign-ins, by the same mechanism (``allpath.storage.attempts``), on
both backends: 429 with ``Retry-After`` before any check, audited as ``rate_limited`` (never the code), and the
limits are settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from allpath.settings import SignInLimits, load_settings
from allpath.storage import attempts, users
from allpath.storage import tables as t
from allpath.storage.clock import aware
from tests.api.conftest import PASSWORDS, Service

NEW_PASSWORD = "a new and private pass phrase"
WRONG_CODE = "00000000-0000-0000"


def _activate(client: TestClient, username: str, code: str, password: str = NEW_PASSWORD) -> int:
    response = client.post("/api/activate", json={"username": username, "code": code, "password": password})
    status: int = response.status_code
    return status


def test_failed_activations_are_limited_per_user_name_and_client(service: Service) -> None:
    limit = service.app.state.settings.sign_in_limits.per_name_and_client
    account = service.new_account("clinician", "Team A", activated=False)
    client = service.client()
    assert [_activate(client, account.username, WRONG_CODE) for _ in range(limit)] == [400] * limit
    blocked = client.post(
        "/api/activate", json={"username": account.username, "code": account.code, "password": NEW_PASSWORD}
    )
    assert blocked.status_code == 429  # the right code too: refused before it is looked up
    window = service.app.state.settings.sign_in_limits.window_seconds
    assert 1 <= int(blocked.headers["retry-after"]) <= window + 1
    with service.sessions() as s:
        user = users.get_user(s, account.username)
        assert user is not None and user.password_hash == ""  # nothing was done
    outcomes = [e.outcome for e in service.audit() if e.action == "activate"]
    assert outcomes[-limit - 1 :] == ["denied"] * limit + ["rate_limited"]
    assert not any(account.code in (e.detail or "") + (e.resource_id or "") for e in service.audit())
    # Another client is not paused: nobody locks a colleague out from elsewhere.
    elsewhere = TestClient(service.app, raise_server_exceptions=False, client=("192.0.2.9", 50000))
    assert _activate(elsewhere, account.username, account.code) == 200


def test_a_right_code_with_a_weak_password_is_no_failed_attempt(service: Service) -> None:
    limit = service.app.state.settings.sign_in_limits.per_name_and_client
    account = service.new_account("researcher", activated=False)
    client = service.client()
    weak = [_activate(client, account.username, account.code, "password") for _ in range(limit + 2)]
    assert weak == [422] * (limit + 2)
    assert _activate(client, account.username, account.code) == 200


def test_failed_sign_ins_and_activations_count_together(service: Service) -> None:
    limit = service.app.state.settings.sign_in_limits.per_name_and_client
    account = service.new_account("researcher", activated=False)
    client = service.client()
    for _ in range(limit - 1):
        wrong = {"username": account.username, "password": "wrong"}
        assert client.post("/api/session", json=wrong).status_code == 401
    assert _activate(client, account.username, WRONG_CODE) == 400  # the limit-th failure
    assert _activate(client, account.username, account.code) == 429
    signing_in = client.post("/api/session", json={"username": account.username, "password": "wrong"})
    assert signing_in.status_code == 429 and int(signing_in.headers["retry-after"]) >= 1


def test_the_per_client_limit_covers_activations_across_user_names(service: Service) -> None:
    limits = service.app.state.settings.sign_in_limits
    client = TestClient(service.app, raise_server_exceptions=False, client=("198.51.100.8", 40000))
    statuses = [_activate(client, f"guess{i}", WRONG_CODE) for i in range(limits.per_client)]
    assert statuses == [400] * limits.per_client
    assert _activate(client, "guess-next", WRONG_CODE) == 429
    assert client.post("/api/session", json={"username": "clin", "password": PASSWORDS["clinician"]}).status_code == 429


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The attempts' clock, moved by the test (``moments[0]``)."""
    moments = [datetime(2026, 12, 2, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(attempts, "now", lambda: moments[0])
    yield moments


def test_retry_after_is_when_the_next_attempt_is_within_the_limit(service: Service, clock_at: list[datetime]) -> None:
    limits = SignInLimits(per_name_and_client=2, per_client=100, window_seconds=60)
    start = clock_at[0]

    def attempt(seconds: float, username: str = "someone") -> int | None:
        clock_at[0] = start + timedelta(seconds=seconds)
        with service.sessions() as s:
            try:
                attempts.limited_attempt(s, username, "203.0.113.5", limits)
            except attempts.TooManyAttempts as error:
                return error.retry_after
            return None

    assert attempt(0) is None and attempt(10) is None
    assert attempt(20) == 51  # the failure of second 10 leaves the window after second 70 (it counts at 70)
    assert attempt(20 + 51) is None  # with the failures of 20 and 71: two, the limit
    # A client that keeps trying keeps itself paused: each refused attempt counts too.
    assert attempt(0, "other") is None and attempt(1, "other") is None
    assert attempt(2, "other") == 60
    assert attempt(30, "other") == 33  # the refused attempt of second 2 now keeps it paused
    assert attempt(62, "other") == 29  # 2, 30 and 62 in the window: refused at the first Retry-After
    with service.sessions() as s:
        assert s.query(t.LoginAttempt).filter(t.LoginAttempt.success.is_(False)).count() == 9


# ---- the account's limit: many clients together (NIST SP 800-63B section 5.2.2) ---------------------------

ACCOUNT_LIMITS = SignInLimits(
    per_name_and_client=100, per_client=100, window_seconds=60, per_account=3, account_window_seconds=600
)


def _attempt_at(
    service: Service, clock_at: list[datetime], seconds: float, client: str, *, right: bool = False
) -> int | None:
    """One attempt on "target" from ``client`` at ``seconds`` past the clock's start: None when it may be
    checked (and, when ``right``, its secret proves right), else the Retry-After it was refused with."""
    clock_at[0] = datetime(2026, 12, 2, 12, 0, tzinfo=UTC) + timedelta(seconds=seconds)
    with service.sessions() as s, s.begin():
        try:
            attempt_id = attempts.limited_attempt(s, "target", client, ACCOUNT_LIMITS)
        except attempts.TooManyAttempts as error:
            return error.retry_after
        if right:
            attempts.succeeded(s, attempt_id)
        return None


def test_failures_from_many_clients_are_limited_per_account(service: Service, clock_at: list[datetime]) -> None:
    """A guessing attack spread over many addresses, each within its own limits: at most ``per_account``
    failures on the account, then every client that never signed in to it is refused unchecked."""
    assert [_attempt_at(service, clock_at, n, f"198.51.100.{n}") for n in range(3)] == [None] * 3
    assert _attempt_at(service, clock_at, 3, "198.51.100.3") == 599  # the failure of second 1 counts until 601
    assert _attempt_at(service, clock_at, 10, "198.51.100.4") == 593  # a refused attempt counts too (second 3)
    # The window: at second 602 the failure of second 2, exactly account_window_seconds old, still counts
    # (2, 3, 10 and 602: four); at 604 only 10, 602 and 604 are left: three, the limit.
    assert _attempt_at(service, clock_at, 602, "198.51.100.5") == 2
    assert _attempt_at(service, clock_at, 604, "198.51.100.6") is None


def test_a_client_that_signed_in_before_is_not_held_by_the_accounts_limit(
    service: Service, clock_at: list[datetime]
) -> None:
    """So that strangers' failures cannot lock the account's own user out, the client from which it signed in
    before is held only by its own limits; its next successful sign-in starts the account's count again."""
    home = "203.0.113.10"
    assert _attempt_at(service, clock_at, 0, home, right=True) is None
    assert [_attempt_at(service, clock_at, n, f"198.51.100.{n}") for n in range(1, 4)] == [None] * 3
    assert _attempt_at(service, clock_at, 4, "198.51.100.4") is not None  # the fourth stranger: refused
    assert _attempt_at(service, clock_at, 5, home) is None  # the user's own client: checked
    assert _attempt_at(service, clock_at, 6, home, right=True) is None  # signed in: the count starts again
    assert _attempt_at(service, clock_at, 7, "198.51.100.7") is None  # consecutive failures since: 1
    # Known for known_client_days after its last success (second 6), to the second; strangers first use the
    # account's failures up again.
    edge = 6 + ACCOUNT_LIMITS.known_client_days * 86_400
    assert [_attempt_at(service, clock_at, edge - 3 + n, f"192.0.2.{n}") for n in range(3)] == [None] * 3
    assert _attempt_at(service, clock_at, edge, home) is None  # still known: not held by the account's limit
    assert _attempt_at(service, clock_at, edge + 1, home) is not None  # a second later: held as a stranger


def test_the_account_limit_refuses_before_the_secret_is_checked(service: Service) -> None:
    """Over HTTP: the right password from a new client is refused with 429 once strangers used the account's
    failures up, audited as ``rate_limited``; the client the user signed in from before still signs in."""
    app = service.app
    app.state.settings = replace(app.state.settings, sign_in_limits=ACCOUNT_LIMITS)
    account = service.new_account("clinician", "Team A")

    def from_client(address: str, password: str) -> int:
        client = TestClient(app, raise_server_exceptions=False, client=(address, 50000))
        status: int = client.post("/api/session", json={"username": account.username, "password": password}).status_code
        return status

    assert from_client("203.0.113.10", account.password) == 200  # the user's own client, known from now on
    assert [from_client(f"198.51.100.{n}", "a wrong guess") for n in range(3)] == [401] * 3
    assert from_client("198.51.100.9", account.password) == 429  # right, but never checked
    assert from_client("203.0.113.10", account.password) == 200
    outcomes = [e.outcome for e in service.audit() if e.action == "sign_in"]
    assert outcomes[-2:] == ["rate_limited", "ok"]


def test_an_activation_is_not_held_by_the_accounts_limit(service: Service) -> None:
    """A new account has no client it signed in from: were activations held by the account's limit, strangers'
    wrong codes would keep its user from activating it (the random one-time code needs no such limit)."""
    app = service.app
    app.state.settings = replace(app.state.settings, sign_in_limits=ACCOUNT_LIMITS)
    account = service.new_account("clinician", "Team A", activated=False)

    def client(address: str) -> TestClient:
        return TestClient(app, raise_server_exceptions=False, client=(address, 50000))

    tries = ACCOUNT_LIMITS.per_account + 2
    strangers = [_activate(client(f"198.51.100.{n}"), account.username, WRONG_CODE) for n in range(tries)]
    assert strangers == [400] * tries
    assert _activate(client("203.0.113.20"), account.username, account.code) == 200
    # The activation is a success: the account's count of consecutive failures starts again.
    signing_in = {"username": account.username, "password": NEW_PASSWORD}
    assert client("198.51.100.99").post("/api/session", json=signing_in).status_code == 200


# ---- what is stored stays bounded -------------------------------------------------------------------------


def test_a_flooding_client_keeps_itself_paused_in_a_bounded_number_of_rows(
    service: Service, clock_at: list[datetime]
) -> None:
    """Refused attempts are stored until the client has twice its limit of failures in the window; past that,
    each attempt moves the client's oldest failure in the window to now instead of adding a row: the client
    stays paused while it keeps trying, and a flood cannot fill the disk."""
    limits = SignInLimits(per_name_and_client=100, per_client=2, window_seconds=60)
    start, flooder = clock_at[0], "203.0.113.77"

    def attempt(seconds: int, username: str) -> int | None:
        clock_at[0] = start + timedelta(seconds=seconds)
        with service.sessions() as s:
            try:
                attempts.limited_attempt(s, username, flooder, limits)
            except attempts.TooManyAttempts as error:
                return error.retry_after
            return None

    def stored() -> list[tuple[str, int]]:
        with service.sessions() as s:
            rows = s.query(t.LoginAttempt).filter(t.LoginAttempt.client == flooder).order_by(t.LoginAttempt.at)
            return [(row.username, round((aware(row.at) - start).total_seconds())) for row in rows]

    waits = [attempt(n, f"name{n}") for n in range(10)]
    # Two within the limit; then refused, each told when the 2nd newest failure leaves the window.
    assert waits == [None, None] + [60] * 8
    # Four rows, the first four attempts' own, each moved to now in turn (oldest first): 0-3 became 4-7, then 8-9.
    assert stored() == [("name2", 6), ("name3", 7), ("name0", 8), ("name1", 9)]
    assert attempt(64, "name-later") == 6  # it kept trying: 7, 8, 9 and 64 are in the window now
    assert attempt(125, "name-much-later") is None  # a minute after its last attempt: checked again


def test_attempts_no_limit_reads_are_deleted_at_most_once_an_hour(
    service: Service, clock_at: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = SignInLimits(
        per_name_and_client=100, per_client=100, window_seconds=60, account_window_seconds=600, known_client_days=1
    )
    ticks = [1_000.0]  # this process's monotonic clock
    monkeypatch.setattr(attempts, "monotonic", lambda: ticks[0])
    monkeypatch.setattr(attempts, "_last_pruned", [ticks[0]])  # pruned just now: none while the rows are made
    moment = clock_at[0] + timedelta(days=2)

    def attempt(before: timedelta, detail: str, *, right: bool = False) -> None:
        clock_at[0] = moment - before
        with service.sessions() as s, s.begin():
            attempt_id = attempts.limited_attempt(s, detail, "192.0.2.50", limits)
            if right:
                attempts.succeeded(s, attempt_id)

    day = timedelta(days=1)
    attempt(day + timedelta(seconds=1), "old-success", right=True)  # past known_client_days: deleted
    attempt(day - timedelta(seconds=1), "kept-success", right=True)
    attempt(timedelta(seconds=601), "old-failure")  # past the longest window (the account's 600 s): deleted
    attempt(timedelta(seconds=599), "kept-failure")
    pruned: list[float] = []
    real_prune = attempts.prune

    def counted_prune(connection: Connection, pruning_limits: SignInLimits) -> None:
        pruned.append(ticks[0])
        real_prune(connection, pruning_limits)

    monkeypatch.setattr(attempts, "prune", counted_prune)

    def names() -> list[str]:
        with service.sessions() as s:
            return sorted(row.username for row in s.query(t.LoginAttempt))

    clock_at[0] = moment
    ticks[0] += attempts.PRUNE_EVERY_SECONDS - 1  # not yet an hour: nothing deleted
    attempt(timedelta(0), "now-1")
    assert pruned == [] and "old-failure" in names()
    ticks[0] += 1  # an hour since the last pruning: this attempt prunes
    attempt(timedelta(0), "now-2")
    assert pruned == [ticks[0]]
    assert names() == ["kept-failure", "kept-success", "now-1", "now-2"]
    attempt(timedelta(0), "now-3")  # the same hour: no second pruning
    assert len(pruned) == 1


def test_the_limits_are_settings() -> None:
    assert load_settings({}).sign_in_limits == SignInLimits(
        per_name_and_client=5,
        per_client=20,
        window_seconds=300,
        per_account=100,
        account_window_seconds=86_400,
        known_client_days=90,
    )
    env = {
        "ALLPATH_FAILED_ATTEMPTS_PER_NAME": "3",
        "ALLPATH_FAILED_ATTEMPTS_PER_CLIENT": "10000",
        "ALLPATH_FAILED_ATTEMPTS_WINDOW_S": "86400",
        "ALLPATH_FAILED_ATTEMPTS_PER_ACCOUNT": "1",
        "ALLPATH_FAILED_ATTEMPTS_ACCOUNT_WINDOW_S": "1",
        "ALLPATH_KNOWN_CLIENT_DAYS": "10000",
    }
    assert load_settings(env).sign_in_limits == SignInLimits(3, 10_000, 86_400, 1, 1, 10_000)
    for name, bad in (
        ("ALLPATH_FAILED_ATTEMPTS_PER_NAME", "0"),
        ("ALLPATH_FAILED_ATTEMPTS_PER_CLIENT", "10001"),
        ("ALLPATH_FAILED_ATTEMPTS_WINDOW_S", "1.5"),
        ("ALLPATH_FAILED_ATTEMPTS_PER_ACCOUNT", "0"),
        ("ALLPATH_FAILED_ATTEMPTS_ACCOUNT_WINDOW_S", "86401"),
        ("ALLPATH_KNOWN_CLIENT_DAYS", "-1"),
    ):
        with pytest.raises(ValueError, match=name):
            load_settings({name: bad})
