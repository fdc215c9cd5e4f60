"""Who is asking, and what they may see: the use cases the HTTP kernel runs on every request.

The kernel (``allpath.interfaces.http.deps``) finds the account behind a session cookie or an API token,
asks whether the data's owners granted it patient data, checks that a patient is visible to it, and audits
the requests it refuses. These functions take the request's database session itself, since they run before
the route's unit of work is made (and, for a refusal, instead of it).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allpath.storage import audit, audit_writer, signin, users
from allpath.storage import patients as patient_store
from allpath.storage.clock import engine_of
from allpath.storage.tables import Patient, User

DATA_ROLES = users.DATA_ROLES
"""The roles that read patient data once the data's owners have granted it."""


def token_user(s: Session, raw: str) -> User | None:
    """The active account of a valid, unrevoked, unexpired API token; None otherwise."""
    return signin.token_user(s, raw)


def token_account(s: Session, raw: str) -> tuple[User, bool] | None:
    """The active account of a valid, unrevoked, unexpired API token and whether the data's owners granted
    it patient data (``data_access``), in one query or from the token cache while its entry is exact
    (``allpath.storage.token_cache``); None otherwise."""
    return signin.checked_token_account(s, raw)


def cached_token_account(s: Session, raw: str) -> tuple[User, bool] | None:
    """``token_account`` from the token cache alone, without SQL or I/O (the event loop may ask); None when
    the token must be looked up."""
    return signin.cached_token_account(s, raw)


def kept_token_account(engine: Engine, raw: str) -> tuple[User, bool] | None:
    """``token_account`` from the token cache alone and without a session: the account is the cache's shared,
    detached copy (read it only); None when the token must be looked up. Does I/O where ``kept_in_memory``
    is False (PostgreSQL reads its generation): call it from a thread there."""
    return signin.kept_token_account(engine, raw)


async def kept_token_account_on_loop(engine: Engine, raw: str) -> tuple[User, bool] | None:
    """``kept_token_account`` on the event loop, without a thread, whatever the database."""
    return await signin.kept_token_account_on_loop(engine, raw)


def kept_in_memory(engine: Engine) -> bool:
    """Whether ``kept_token_account`` does no I/O for ``engine`` (the event loop may ask it)."""
    return signin.kept_in_memory(engine)


def expecting_audit(s: Session) -> Callable[[], None]:
    """Tell the group writer of the database of ``s`` that a request in flight will submit audit entries, so
    that a batch may wait a moment for them (``allpath.storage.audit_writer``); call what this returns, once,
    when the request has been answered."""
    return audit_writer.writer_for(engine_of(s)).expecting()


def session_user(s: Session, raw: str, idle_minutes: float) -> tuple[User, str] | None:
    """The active account and CSRF token of a live browser session (neither expired nor left idle)."""
    return signin.session_user(s, raw, idle_minutes)


def data_access(s: Session, user: User) -> bool:
    """Whether the data's owners have granted this account patient data (never for an administrator)."""
    if user.role not in DATA_ROLES:
        return False  # no query: an administrator is never granted patient data
    return users.has_data_access(user, users.granted_teams(s, user.id))


def visible_patient(s: Session, user: User, patient_id: str | None, *, family_allowed: bool) -> Patient | None:
    """The patient if ``user`` may see it: a clinician the patients of their own team, a family (where
    ``family_allowed``) their own child, each only once the data's owners granted the team's data. Otherwise
    None, and the denial is audited (``patient_id`` None: an id that cannot be one, not kept in the log)."""
    patient = patient_store.get_patient(s, patient_id) if patient_id is not None else None
    allowed = False
    if patient is not None and patient.team_id in users.granted_teams(s, user.id):
        if user.role == "clinician":
            allowed = patient.team_id == user.team_id
        elif user.role == "family" and family_allowed:
            allowed = patient.id in patient_store.family_patient_ids(s, user)
    if patient is None or not allowed:
        audit.record(s, user, "read", "patient", patient_id, outcome="denied")
        return None
    return patient


def audit_refused_request(s: Session, user: User | None, outcome: str, route: str) -> None:
    """Audit a request the kernel refused (``unauthenticated``, ``forbidden``, ``csrf``, ``invalid_token``,
    ``unconfirmed``) with its route template (never the path a caller typed)."""
    audit.record(s, user, "access", "route", outcome=outcome, detail=route)


def keep_audit_after_failure(s: Session) -> None:
    """After a request's work was rolled back, write its audit entries again on their own (an act that had
    succeeded is stored as ``failed``; refusals keep their outcome)."""
    audit.keep_audit_after_failure(s)
