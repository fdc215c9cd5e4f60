"""CDS Hooks: a CDS client's JWT is used once, in every server process on the database (its ``jti``).

The CDS interface checks the token (``allpath.interfaces.cds.auth``); this use case records it as used, in the
database (``allpath.storage.replay``), so that a token replayed to another worker or server is refused too.

When that database cannot be asked (down, locked past its busy timeout, out of pool connections, its table
missing), nobody knows whether the token was used before: ``ReplayStoreUnavailable``, never an answer of
either kind. The CDS interface then refuses the call with 503 (no card from a token it could not check).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import replay

LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # a later expiry is kept as this one (no datetime overflows)

_log = logging.getLogger(__name__)


class ReplayStoreUnavailable(Exception):
    """The shared memory of used tokens could not be asked: whether this token was used before is unknown.
    The message names the database error's kind only (its text may quote the statement's parameters)."""


def token_first_use(uow: UnitOfWork, issuer: str, jti: str, expires: float) -> bool:
    """Record the token of ``issuer`` with ``jti``, valid until ``expires`` (seconds since 1970); False when it
    was used before and has not expired (a replay). Committed at once, whatever becomes of the call.
    Raises ``ReplayStoreUnavailable`` when the database fails (logged by kind, nothing of the token)."""
    until = LATEST if expires >= LATEST.timestamp() else datetime.fromtimestamp(max(expires, 0.0), UTC)
    try:
        return replay.first_use(uow.session, issuer, jti, until)
    except SQLAlchemyError as error:
        kind = type(error).__name__
        _log.warning("CDS Hooks: the store of used JWTs failed (%s); the call is refused with 503", kind)
        raise ReplayStoreUnavailable(kind) from None
