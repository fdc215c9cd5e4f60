"""The JWTs of CDS clients already accepted, shared by every server process on the database (replay check).

CDS Hooks 2.0 asks a CDS client to send a new JWT, with a new ``jti``, with every call. A token is accepted
once: ``first_use`` inserts its issuer and ``jti`` (as SHA-256 digests: a ``jti`` may be of any length) in
``cds_token_uses``, whose primary key is the pair, and commits at once in a transaction of its own. The insert
succeeds in one process only, whichever worker or server receives the token, on SQLite and PostgreSQL alike;
a concurrent insert of the same pair waits for the first to commit and then fails, which is the replay.

A row is kept until its token expires (``expires_at``: its ``exp`` with the clock leeway). Expired rows are
deleted at most every ``PRUNE_EVERY_S`` seconds per process, after an insert; until then, an expired row still
present gives way to a new token with the same ``jti`` (an update of that row when it has expired, which only
one process can make), so the answer does not depend on when the rows were last pruned.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from allpath.storage import tables as t
from allpath.storage.clock import digest, engine_of, now

TOKEN_USES = t.Base.metadata.tables[t.CdsTokenUse.__tablename__]
PRUNE_EVERY_S = 60

_pruned_at: weakref.WeakKeyDictionary[Engine, datetime] = weakref.WeakKeyDictionary()
_prune_lock = threading.Lock()


def first_use(s: Session, issuer: str, jti: str, expires: datetime, at: datetime | None = None) -> bool:
    """Record the token of ``issuer`` with this ``jti``, valid until ``expires``; False when it was recorded
    before and has not expired (a replay). Committed at once, apart from the session's transaction: a token
    is used up even when the call it came with fails. ``at``: the time now (tests)."""
    moment = at or now()
    key = {"issuer_hash": digest(issuer), "jti_hash": digest(jti)}
    engine = engine_of(s)
    with engine.connect() as connection:
        try:
            connection.execute(insert(TOKEN_USES).values(**key, expires_at=expires))
            connection.commit()
            first = True
        except IntegrityError:
            connection.rollback()
            first = _renewed(connection, key, expires, moment)
        if _prune_due(engine, moment):
            connection.execute(delete(TOKEN_USES).where(TOKEN_USES.c.expires_at < moment))
            connection.commit()
    return first


def _renewed(connection: Connection, key: dict[str, str], expires: datetime, moment: datetime) -> bool:
    """The row of an expired token with the same issuer and ``jti``, taken over by the new token: True when
    this process updated it (it had expired), False when it is a token still live (a replay)."""
    row = TOKEN_USES.c
    renewed = connection.execute(
        update(TOKEN_USES)
        .where(row.issuer_hash == key["issuer_hash"], row.jti_hash == key["jti_hash"], row.expires_at < moment)
        .values(expires_at=expires)
    )
    connection.commit()
    return renewed.rowcount == 1


def _prune_due(engine: Engine, moment: datetime) -> bool:
    """Whether this process should delete the expired rows now (at most every ``PRUNE_EVERY_S`` seconds)."""
    with _prune_lock:
        last = _pruned_at.get(engine)
        if last is not None and moment - last < timedelta(seconds=PRUNE_EVERY_S):
            return False
        _pruned_at[engine] = moment
        return True


def prune(s: Session, at: datetime | None = None) -> int:
    """Delete the rows of the tokens expired before ``at`` (default now); how many there were."""
    with engine_of(s).connect() as connection:
        deleted = connection.execute(delete(TOKEN_USES).where(TOKEN_USES.c.expires_at < (at or now())))
        connection.commit()
    return deleted.rowcount
