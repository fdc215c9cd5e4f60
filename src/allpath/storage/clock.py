"""The storage's clock and digests: every stored time is UTC, every stored secret a SHA-256 digest."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands back naive datetimes; every stored time is UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def digest(secret: str) -> str:
    """The stored form of a secret (session id, API token, invitation code): its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def engine_of(s: Session) -> Engine:
    """The engine behind a session, for a write that must commit apart from the session's transaction."""
    bind = s.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
