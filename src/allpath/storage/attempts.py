"""Attempts to prove who one is -- a password at sign-in, an activation code -- limited before any costly check.

One mechanism for both doors, in the database (``login_attempts``), so that it holds across worker
processes and servers, on SQLite and PostgreSQL alike. Failures of both kinds are counted together, per user
name *and client*, so that nobody can lock a colleague out by mistyping their name on purpose, and per client
over all names, so that one client cannot try secrets across many accounts (``allpath.settings.SignInLimits``).
Many clients together (a guessing attack spread over many addresses) are held by a third limit on password
sign-ins, per account: at most ``per_account`` failures (of both kinds) since the account's last success
(NIST SP 800-63B section 5.2.2 asks for no more than 100). So that this limit cannot lock the account's own
user out, it does not apply to a client from which the account has signed in (or was activated) within
``known_client_days`` (the allowlist of addresses that section suggests); such a client is held only by the
other two limits.

The limit holds under concurrency: each attempt is first written as a failure and committed on a connection
of its own, and only then are the failures counted. A statement sees every attempt committed before it
starts, so of many parallel guesses at most ``limit`` see a count within the limit and get their secret
checked; the rest are refused unchecked (no argon2, no look-up of the code). A refused attempt counts as a
failure too: a client that keeps trying keeps itself paused. The client is the connection's peer address
(``allpath.settings``: ``ALLPATH_TRUSTED_PROXIES``); it is kept in this table only, never in the audit log.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from allpath.settings import SignInLimits
from allpath.storage import tables as t
from allpath.storage.clock import aware, engine_of, now

LOGIN_ATTEMPTS = t.Base.metadata.tables[t.LoginAttempt.__tablename__]
LONGEST = 100  # characters of a user name or client kept (the columns' width)


class TooManyAttempts(Exception):
    """Attempts on this user name from this client, or from this client in all, are paused after too many
    failures; ``retry_after`` is the whole seconds until one more attempt falls within the limits again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; try again in {retry_after} s")
        self.retry_after = retry_after


def limited_attempt(s: Session, username: str, client: str, limits: SignInLimits, *, whole_account: bool = True) -> int:
    """Count an attempt, or refuse it with ``TooManyAttempts`` when the failures before it, with it, pass a
    limit. The attempt's id, for ``succeeded`` once its secret proves right.

    ``whole_account``: hold the attempt to the account's limit too (a password sign-in). An activation says
    no: its one-time code is random and far beyond online guessing, and a not yet activated account has no
    client it signed in from, so strangers' failures would otherwise keep its user from activating it."""
    client = client[:LONGEST]
    username = username[:LONGEST]
    attempt_id = _record(s, username, client)
    moment = now()
    recent_failures = select(t.LoginAttempt.at).where(
        t.LoginAttempt.client == client,
        t.LoginAttempt.at >= moment - timedelta(seconds=limits.window_seconds),
        t.LoginAttempt.success.is_(False),
    )
    checks = [
        (recent_failures.where(t.LoginAttempt.username == username), limits.per_name_and_client, limits.window_seconds),
        (recent_failures, limits.per_client, limits.window_seconds),
    ]
    if whole_account and not _known_client(s, username, client, moment - timedelta(days=limits.known_client_days)):
        checks.append(
            (_account_failures(s, username, moment, limits), limits.per_account, limits.account_window_seconds)
        )
    waits = [
        _wait(s, failures, limit, window_seconds, moment)
        for failures, limit, window_seconds in checks
        if (s.scalar(select(func.count()).select_from(failures.subquery())) or 0) > limit
    ]
    if waits:
        raise TooManyAttempts(max(waits))
    return attempt_id


def _known_client(s: Session, username: str, client: str, since: datetime) -> bool:
    """Whether ``username`` signed in (or activated) successfully from ``client`` since ``since``."""
    succeeded_here = select(t.LoginAttempt.id).where(
        t.LoginAttempt.username == username,
        t.LoginAttempt.client == client,
        t.LoginAttempt.success.is_(True),
        t.LoginAttempt.at >= since,
    )
    return s.scalar(succeeded_here.limit(1)) is not None


def _account_failures(s: Session, username: str, moment: datetime, limits: SignInLimits) -> Select[datetime]:
    """The failures on ``username`` from every client since its last success, within the account's window:
    consecutive failures, as NIST SP 800-63B counts them; a successful sign-in starts the count again."""
    last_success = s.scalar(
        select(func.max(t.LoginAttempt.at)).where(t.LoginAttempt.username == username, t.LoginAttempt.success.is_(True))
    )
    since = moment - timedelta(seconds=limits.account_window_seconds)
    if last_success is not None and aware(last_success) > since:
        since = aware(last_success)
        return _failures_of(username).where(t.LoginAttempt.at > since)
    return _failures_of(username).where(t.LoginAttempt.at >= since)


def _failures_of(username: str) -> Select[datetime]:
    return select(t.LoginAttempt.at).where(t.LoginAttempt.username == username, t.LoginAttempt.success.is_(False))


def succeeded(s: Session, attempt_id: int) -> None:
    """The secret of this attempt was right: it no longer counts as a failure (in the request's transaction)."""
    s.execute(update(t.LoginAttempt).where(t.LoginAttempt.id == attempt_id).values(success=True))


def _wait(s: Session, failures: Select[datetime], limit: int, window_seconds: int, moment: datetime) -> int:
    """Whole seconds (at least 1) after which the ``limit``-th newest of ``failures`` has left the window (a
    failure exactly ``window_seconds`` old still counts): then the next attempt, counted with the failures
    still in it, is within the limit -- unless more attempts came meanwhile, which count too."""
    kept = s.scalar(failures.order_by(t.LoginAttempt.at.desc()).offset(max(limit - 1, 0)).limit(1))
    if kept is None:
        return 1
    return max(1, math.floor((aware(kept) + timedelta(seconds=window_seconds) - moment).total_seconds()) + 1)


def _record(s: Session, username: str, client: str) -> int:
    """Write an attempt as a failure and commit it at once, outside the request's transaction."""
    with engine_of(s).connect() as connection:
        row = connection.execute(
            insert(LOGIN_ATTEMPTS).values(username=username, client=client, at=now(), success=False)
        ).inserted_primary_key
        connection.commit()
    assert row is not None
    return int(row[0])
