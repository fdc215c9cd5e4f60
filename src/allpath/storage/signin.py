"""Signing in: password checks limited per client (``allpath.storage.attempts``), browser sessions (with their
CSRF token) and API tokens.

Session ids and API tokens are stored only as SHA-256 digests; the raw value is handed out once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import Engine, and_, bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from allpath.settings import SignInLimits
from allpath.storage import attempts, token_cache
from allpath.storage import tables as t
from allpath.storage.clock import aware, digest, engine_of, now
from allpath.storage.users import DATA_ROLES, dummy_hash, get_user, password_matches

TooManyAttempts = attempts.TooManyAttempts  # where the service layer has always found it


def authenticate(
    s: Session,
    username: str,
    password: str,
    client: str,
    limits: SignInLimits,
) -> t.User | None:
    """The user if the password is right. The attempt is limited first (``allpath.storage.attempts``: per user
    name and client, and per client, together with activation codes; ``TooManyAttempts`` unchecked).

    Every attempt costs one password check, whether the user exists, is inactive or has no password yet
    (it is checked against a dummy hash): the answer time does not tell which user names exist.
    """
    attempt_id = attempts.limited_attempt(s, username, client, limits)
    user = get_user(s, username[: attempts.LONGEST])
    usable = user is not None and user.active and bool(user.password_hash)
    ok = password_matches(user.password_hash if usable and user is not None else dummy_hash(), password)
    if not (usable and ok):
        return None
    attempts.succeeded(s, attempt_id)
    return user


# ---- browser sessions --------------------------------------------------------------------------------


def create_session(s: Session, user: t.User, hours: float) -> tuple[str, str]:
    """A new sign-in: returns the session id (for the cookie) and its CSRF token."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    started = now()
    s.add(
        t.Session(
            id_hash=digest(raw),
            user_id=user.id,
            csrf_token=csrf,
            created_at=started,
            last_seen_at=started,
            expires_at=started + timedelta(hours=hours),
        )
    )
    return raw, csrf


# A session's last use is written at most this often: a write on every request would queue every page
# view behind the database's writer lock, and the idle timeout needs no finer clock.
LAST_SEEN_STEP = timedelta(minutes=1)


def session_user(s: Session, raw: str, idle_minutes: float = 30.0) -> tuple[t.User, str] | None:
    """The active user and CSRF token of a session that has neither expired (absolute timeout) nor been left
    unused for ``idle_minutes`` (idle timeout); None otherwise."""
    row = s.get(t.Session, digest(raw))
    moment = now()
    if row is None or aware(row.expires_at) <= moment:
        return None
    if aware(row.last_seen_at) + timedelta(minutes=idle_minutes) <= moment:
        return None
    user = s.get(t.User, row.user_id)
    if user is None or not user.active:
        return None
    if moment - aware(row.last_seen_at) >= LAST_SEEN_STEP:
        row.last_seen_at = moment
    return user, row.csrf_token


def end_session(s: Session, raw: str) -> None:
    row = s.get(t.Session, digest(raw))
    if row is not None:
        s.delete(row)


def end_sessions(s: Session, user: t.User, keep: str | None = None) -> int:
    """End every session of ``user`` (but the one whose id is ``keep``); how many ended."""
    statement = delete(t.Session).where(t.Session.user_id == user.id)
    if keep is not None:
        statement = statement.where(t.Session.id_hash != digest(keep))
    return int(getattr(s.execute(statement), "rowcount", 0) or 0)


# ---- API tokens --------------------------------------------------------------------------------------


def create_api_token(s: Session, user: t.User, name: str, days: float = 90.0) -> str:
    """A new API token (shown once; stored as a hash) that expires after ``days``."""
    return issue_api_token(s, user, name, days)[0]


def issue_api_token(s: Session, user: t.User, name: str, days: float) -> tuple[str, t.ApiToken]:
    """A new API token and its row (for its id and expiry)."""
    raw = "ap_" + secrets.token_urlsafe(32)
    made = now()
    row = t.ApiToken(
        token_hash=digest(raw),
        user_id=user.id,
        name=name,
        created_at=made,
        expires_at=made + timedelta(days=days),
        revoked=False,
    )
    s.add(row)
    s.flush()
    return raw, row


# Whether the data's owners have granted the account patient data (``users.has_data_access``): a clinician
# their own team, a family or researcher any team; an administrator never (``DATA_ROLES``).
_GRANTED = (
    exists()
    .where(
        t.AccessGrant.user_id == t.User.id,
        or_(t.User.role != "clinician", t.AccessGrant.team_id == t.User.team_id),
    )
    .correlate(t.User)
)
# Built once: every machine request runs it, and building the statement cost more than running it.
_TOKEN_ACCOUNT = (
    select(
        t.User,
        and_(or_(*(t.User.role == role for role in DATA_ROLES)), _GRANTED).label("granted"),
        t.ApiToken.expires_at,
    )
    .join(t.ApiToken, t.ApiToken.user_id == t.User.id)
    .where(
        t.ApiToken.token_hash == bindparam("token_hash"),
        t.ApiToken.revoked.is_(False),
        t.ApiToken.expires_at > bindparam("moment", type_=t.ApiToken.expires_at.type),
        t.User.active.is_(True),
    )
)


def token_account(s: Session, raw: str) -> tuple[t.User, bool] | None:
    """The active user of a valid, unrevoked, unexpired API token, and whether the data's owners have
    granted it patient data; None for any other token. One indexed query and no write: it runs on every
    machine request."""
    row = s.execute(_TOKEN_ACCOUNT, {"token_hash": digest(raw), "moment": now()}).first()
    return None if row is None else (row[0], bool(row[1]))


def checked_token_account(s: Session, raw: str) -> tuple[t.User, bool] | None:
    """``token_account``, answered from this process's token cache when an entry is still exact
    (``allpath.storage.token_cache``: no SQL on SQLite, one statement reading the generation on PostgreSQL),
    else looked up and kept. The generation is read before the look-up, so that a change committed meanwhile
    makes the kept entry stale at once."""
    cache = token_cache.cache_for(engine_of(s))
    token_hash = digest(raw)
    if cache is not None:
        found = cache.found(s, token_hash)
        if found is not None:
            return found
    generation = cache.generation.current() if cache is not None else b""
    row = s.execute(_TOKEN_ACCOUNT, {"token_hash": token_hash, "moment": now()}).first()
    if row is None:
        return None
    user, granted = row[0], bool(row[1])
    if cache is not None:
        cache.keep(token_hash, user, granted, aware(row[2]), generation)
    return user, granted


def cached_token_account(s: Session, raw: str) -> tuple[t.User, bool] | None:
    """The account of an API token from this process's token cache when its entry is still exact (no SQL,
    no I/O: safe on the event loop); None when it must be looked up (``checked_token_account``), and always
    None where reading the generation is I/O itself (PostgreSQL: the sign-in thread asks)."""
    cache = token_cache.cache_for(engine_of(s))
    if cache is None or not cache.generation.in_memory:
        return None
    return cache.found(s, digest(raw))


def kept_token_account(engine: Engine, raw: str) -> tuple[t.User, bool] | None:
    """The account of an API token and whether it was granted patient data, from this process's token cache
    alone while its entry is exact; None when it must be looked up. No session: the account is the cache's
    detached template, shared by every request that reads it, so read it and never attach or change it. Reads
    the generation from the database where it is kept there (``kept_in_memory`` False): ask from a thread, or
    ask ``kept_token_account_on_loop`` on the event loop."""
    cache = token_cache.cache_for(engine)
    entry = None if cache is None else cache.exact(digest(raw))
    return None if entry is None else (entry.user, entry.granted)


async def kept_token_account_on_loop(engine: Engine, raw: str) -> tuple[t.User, bool] | None:
    """``kept_token_account`` on the event loop: the generation, where it is read from the database, read
    there too (``allpath.storage.loop_reads``), without a thread."""
    cache = token_cache.cache_for(engine)
    entry = None if cache is None else await cache.exact_on_loop(digest(raw))
    return None if entry is None else (entry.user, entry.granted)


def kept_in_memory(engine: Engine) -> bool:
    """Whether ``kept_token_account`` does no I/O for ``engine`` (the event loop may ask it)."""
    cache = token_cache.cache_for(engine)
    return cache is None or cache.generation.in_memory


def token_user(s: Session, raw: str) -> t.User | None:
    """The active user of a valid, unrevoked, unexpired API token."""
    found = token_account(s, raw)
    return None if found is None else found[0]


def api_tokens(s: Session, user: t.User) -> list[t.ApiToken]:
    """The user's API tokens, newest first (revoked and expired ones too, so that the list explains itself)."""
    return list(s.scalars(select(t.ApiToken).where(t.ApiToken.user_id == user.id).order_by(t.ApiToken.id.desc())))


def revoke_api_tokens(s: Session, user: t.User, token_id: int | None = None) -> int:
    """Revoke one of the user's tokens (``token_id``) or all of them; how many were still live."""
    statement = update(t.ApiToken).where(t.ApiToken.user_id == user.id, t.ApiToken.revoked.is_(False))
    if token_id is not None:
        statement = statement.where(t.ApiToken.id == token_id)
    return int(getattr(s.execute(statement.values(revoked=True)), "rowcount", 0) or 0)
