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
failure too: a client that keeps trying keeps itself paused.

What is stored stays bounded. A client that already has ``STORED_PAST_LIMIT`` times its limit of failures in
the window gets no new row: its oldest failure in the window is moved to now and stands for this attempt, so
it is refused as before and keeps itself paused, but a flood of refused sign-ins cannot fill the disk at the
speed the server answers 429s. The row keeps its user name: a failure only ever moves later, never leaves a
count early, so every limit holds at least as strictly as with a row per attempt. Rows no limit reads any
more (failures older than the longest window, successes older than ``known_client_days``) are deleted, at
most once an hour per process (``PRUNE_EVERY_SECONDS``). The client is the connection's peer address
(``allpath.settings``: ``ALLPATH_TRUSTED_PROXIES``); it is kept in this table only, never in the audit log.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from time import monotonic

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from allpath.settings import SignInLimits
from allpath.storage import tables as t
from allpath.storage.clock import aware, engine_of, now

LOGIN_ATTEMPTS = t.Base.metadata.tables[t.LoginAttempt.__tablename__]
LONGEST = 100  # characters of a user name or client kept (the columns' width)
STORED_PAST_LIMIT = 2  # a client's refused attempts are stored until it has this many times its limit
PRUNE_EVERY_SECONDS = 3600.0
_last_pruned = [-math.inf]  # this process's last pruning (time.monotonic)


class TooManyAttempts(Exception):
    """Attempts on this user name from this client, from this client in all, or on this account from clients it
    does not know, are paused after too many failures; ``retry_after`` is the whole seconds until one more
    attempt falls within the limits again."""

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
    attempt_id = _record(s, username, client, limits)
    moment = now()
    recent_failures = _client_failures(client, moment - timedelta(seconds=limits.window_seconds))
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
        if _count(s, failures) > limit
    ]
    if waits:
        raise TooManyAttempts(max(waits))
    return attempt_id


def _failures(*where: ColumnElement[bool]) -> Select[datetime]:
    """The times of the failed attempts that meet ``where``."""
    return select(t.LoginAttempt.at).where(t.LoginAttempt.success.is_(False), *where)


def _client_failures(client: str, since: datetime) -> Select[datetime]:
    return _failures(t.LoginAttempt.client == client, t.LoginAttempt.at >= since)


def _count(db: Session | Connection, rows: Select[datetime]) -> int:
    return db.scalar(select(func.count()).select_from(rows.subquery())) or 0


def prune(connection: Connection, limits: SignInLimits) -> None:
    """Delete the attempts no limit reads any more: failures older than the longest window, successes older
    than ``known_client_days`` (and than the account's window). The caller commits."""
    moment = now()
    failures_from = moment - timedelta(seconds=max(limits.window_seconds, limits.account_window_seconds))
    successes_from = min(failures_from, moment - timedelta(days=limits.known_client_days))
    old_failure = LOGIN_ATTEMPTS.c.success.is_(False) & (LOGIN_ATTEMPTS.c.at < failures_from)
    old_success = LOGIN_ATTEMPTS.c.success.is_(True) & (LOGIN_ATTEMPTS.c.at < successes_from)
    connection.execute(delete(LOGIN_ATTEMPTS).where(old_failure | old_success))


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
        return _failures(t.LoginAttempt.username == username, t.LoginAttempt.at > aware(last_success))
    return _failures(t.LoginAttempt.username == username, t.LoginAttempt.at >= since)


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


def _record(s: Session, username: str, client: str, limits: SignInLimits) -> int:
    """Write an attempt as a failure and commit it at once, outside the request's transaction, on one
    connection of its own (held one at a time: many parallel attempts must not each hold two). A flooding
    client's oldest failure in the window is moved to now instead of a new row (the module's notes).
    Old attempts are deleted first, now and then."""
    with engine_of(s).connect() as connection:
        if monotonic() - _last_pruned[0] >= PRUNE_EVERY_SECONDS:
            _last_pruned[0] = monotonic()
            prune(connection, limits)
        moment = now()
        attempt_id = _recycled(connection, username, client, limits, moment)
        if attempt_id is None:
            row = connection.execute(
                insert(LOGIN_ATTEMPTS).values(username=username, client=client, at=moment, success=False)
            ).inserted_primary_key
            assert row is not None
            attempt_id = int(row[0])
        connection.commit()
    return attempt_id


def _recycled(connection: Connection, username: str, client: str, limits: SignInLimits, moment: datetime) -> int | None:
    """A flooding client's oldest failure in the window, moved to ``moment`` (its id); None when not flooding."""
    earlier = _client_failures(client, moment - timedelta(seconds=limits.window_seconds))
    if _count(connection, earlier) < STORED_PAST_LIMIT * limits.per_client:
        return None
    oldest: int | None = connection.scalar(
        earlier.with_only_columns(t.LoginAttempt.id).order_by(t.LoginAttempt.at, t.LoginAttempt.id).limit(1)
    )
    if oldest is not None:
        connection.execute(update(LOGIN_ATTEMPTS).where(LOGIN_ATTEMPTS.c.id == oldest).values(at=moment))
    return oldest
