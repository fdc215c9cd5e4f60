"""CDS Hooks: a CDS client's JWT is used once, in every server process on the database (its ``jti``).

The CDS interface checks the token (``allpath.interfaces.cds.auth``); this use case records it as used, in the
database (``allpath.storage.replay``), so that a token replayed to another worker or server is refused too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import replay

LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # a later expiry is kept as this one (no datetime overflows)


def token_first_use(uow: UnitOfWork, issuer: str, jti: str, expires: float) -> bool:
    """Record the token of ``issuer`` with ``jti``, valid until ``expires`` (seconds since 1970); False when it
    was used before and has not expired (a replay). Committed at once, whatever becomes of the call."""
    until = LATEST if expires >= LATEST.timestamp() else datetime.fromtimestamp(max(expires, 0.0), UTC)
    return replay.first_use(uow.session, issuer, jti, until)
