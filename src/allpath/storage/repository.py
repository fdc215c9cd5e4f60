"""Everything the service stores and reads, as small functions over a SQLAlchemy session.

Patient records are versioned (an update adds a version; nothing is overwritten) and every version is
assessed at once, the assessment stored with the knowledge and engine versions that produced it and with
what changed since the previous one. Secrets (passwords, session ids, API tokens, invitation codes) are
stored only as hashes. The audit log records who did what to which resource, never patient data.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, event, func, insert, or_, select, update
from sqlalchemy.orm import Session

from allpath.accounts import passwords
from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.diff import explain_changes
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import SignInLimits
from allpath.storage import tables as t

ROLES = ("clinician", "family", "researcher", "admin")
# The roles that can read patient data, once the data's owners have granted it (``AccessGrant``).
DATA_ROLES = ("clinician", "family", "researcher")
_hasher = PasswordHasher()


def now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---- audit -----------------------------------------------------------------------------------------


AUDIT_TABLE = t.Base.metadata.tables[t.AuditEntry.__tablename__]  # the Core table (typed as a Table)
LOGIN_ATTEMPTS = t.Base.metadata.tables[t.LoginAttempt.__tablename__]


def audit(
    s: Session,
    user: t.User | None,
    action: str,
    resource: str,
    resource_id: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Add an audit entry in the caller's transaction (so it commits, or fails, with the action).

    A Core insert, not an ORM object: every API request writes one, and the unit-of-work flush of an ORM
    object cost about a quarter of a stateless assessment request. The insert runs at once, in the open
    transaction; on SQLite it takes the writer lock, so callers audit after their slow work, not before.
    The entry is also kept on the session until the transaction commits: if the request fails instead,
    ``keep_audit_after_failure`` writes it again, marked as failed, so that no audited act is lost.
    """
    entry = {
        "at": now(),
        "user_id": user.id if user else None,
        "role": user.role if user else None,
        "action": action,
        "resource": resource,
        "resource_id": resource_id,
        "outcome": outcome,
        "detail": detail,
    }
    s.info.setdefault(_PENDING_AUDIT, []).append(entry)
    s.execute(insert(AUDIT_TABLE), [entry])


_PENDING_AUDIT = "allpath_pending_audit"


def _engine_of(s: Session) -> Engine:
    """The engine behind a session, for a write that must commit apart from the session's transaction."""
    bind = s.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@event.listens_for(Session, "after_commit")
def _audit_committed(s: Session) -> None:
    s.info.pop(_PENDING_AUDIT, None)


def keep_audit_after_failure(s: Session) -> None:
    """After a rolled-back request, write its audit entries again in a transaction of their own.

    An entry whose act had succeeded (``ok``) is stored as ``failed``: the act itself was rolled back.
    Refusals and denials keep their outcome. Nothing else of the failed request is written.
    """
    entries = s.info.pop(_PENDING_AUDIT, None)
    if not entries:
        return
    rows = [entry | {"outcome": "failed" if entry["outcome"] == "ok" else entry["outcome"]} for entry in entries]
    with _engine_of(s).connect() as connection:
        connection.execute(insert(AUDIT_TABLE), rows)
        connection.commit()


def audit_entries(s: Session, limit: int = 200) -> list[t.AuditEntry]:
    return list(s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id.desc()).limit(limit)))


# ---- users, sessions, tokens -------------------------------------------------------------------------


def ensure_team(s: Session, name: str) -> t.Team:
    team = s.scalar(select(t.Team).where(t.Team.name == name))
    if team is None:
        team = t.Team(name=name)
        s.add(team)
        s.flush()
    return team


def create_user(
    s: Session, username: str, password: str | None, role: str, display_name: str, team_id: int | None = None
) -> t.User:
    """A new account. With a password (the demo, tests, a family's invitation) it must meet the password
    policy (``WeakPassword`` otherwise); without one (an administrator's new account) it has none until its
    owner activates it (``allpath.storage.accounts``). The first clinician of a team with nothing to see yet
    is granted that team at once; anyone else waits for the data's owners."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if password is not None:
        passwords.check(password, username, display_name)
    first_of_empty_team = role == "clinician" and team_id is not None and nothing_to_see(s, team_id)
    user = t.User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password) if password is not None else "",
        role=role,
        team_id=team_id,
        active=True,
        created_at=now(),
    )
    s.add(user)
    s.flush()
    if first_of_empty_team and team_id is not None:
        grant_access(s, user, team_id, None, "empty_team")
    return user


# ---- access to patient data, granted by its owners ----------------------------------------------------


def nothing_to_see(s: Session, team_id: int, besides: int | None = None) -> bool:
    """Whether a team has no patient and no clinician with access (``besides`` that user): then its first
    clinician may be granted it at once, since there is nothing to see and nobody to ask."""
    if s.scalar(select(func.count()).select_from(t.Patient).where(t.Patient.team_id == team_id)):
        return False
    custodians = (
        select(func.count())
        .select_from(t.AccessGrant)
        .join(t.User, t.User.id == t.AccessGrant.user_id)
        .where(t.AccessGrant.team_id == team_id, t.User.role == "clinician", t.User.team_id == team_id)
    )
    if besides is not None:
        custodians = custodians.where(t.User.id != besides)
    return not s.scalar(custodians)


def grant_access(s: Session, user: t.User, team_id: int, by: t.User | None, how: str) -> bool:
    """Grant ``user`` the patient data of a team (``how``: colleague, empty_team, invitation, operator);
    False when it was granted already."""
    if s.get(t.AccessGrant, (user.id, team_id)) is not None:
        return False
    s.add(t.AccessGrant(user_id=user.id, team_id=team_id, granted_by=by.id if by else None, how=how, granted_at=now()))
    s.flush()
    return True


def drop_access(s: Session, user: t.User) -> int:
    """Withdraw every grant of ``user`` (an act that could hand the account to someone else); how many."""
    grants = list(s.scalars(select(t.AccessGrant).where(t.AccessGrant.user_id == user.id)))
    for grant in grants:
        s.delete(grant)
    s.flush()
    return len(grants)


def granted_teams(s: Session, user_id: int) -> frozenset[int]:
    return frozenset(s.scalars(select(t.AccessGrant.team_id).where(t.AccessGrant.user_id == user_id)))


def has_data_access(user: t.User, teams: frozenset[int]) -> bool:
    """Whether an account may read any patient data at all: an active clinician granted their own team, an
    active family or researcher granted some team. Administrators never."""
    if not user.active or user.role not in DATA_ROLES:
        return False
    if user.role == "clinician":
        return user.team_id is not None and user.team_id in teams
    return bool(teams)


def get_user(s: Session, username: str) -> t.User | None:
    return s.scalar(select(t.User).where(t.User.username == username))


def list_users(s: Session) -> list[t.User]:
    return list(s.scalars(select(t.User).order_by(t.User.username)))


class TooManyAttempts(Exception):
    """Sign-in is paused for this user name from this client, or for this client, after too many failures."""


def authenticate(
    s: Session,
    username: str,
    password: str,
    client: str,
    limits: SignInLimits,
) -> t.User | None:
    """The user if the password is right. Failures are limited per user name *and client*, so that nobody
    can lock a colleague out by mistyping their name on purpose, and per client over all names, so that one
    client cannot try passwords across many accounts.

    The limit holds under concurrency: each attempt is first written as a failure and committed on a
    connection of its own, and only then are the failures counted. A statement sees every attempt committed
    before it starts, so of many parallel guesses at most ``limit`` see a count within the limit and get
    their password checked; the rest are refused unchecked. A right password turns its row into a success.

    Every attempt costs one password check, whether the user exists, is inactive or has no password yet
    (it is checked against a dummy hash): the answer time does not tell which user names exist.
    """
    client = client[:100]
    username = username[:100]
    attempt_id = _record_attempt(s, username, client)
    since = now() - timedelta(seconds=limits.window_seconds)
    recent_failures = (
        select(func.count())
        .select_from(t.LoginAttempt)
        .where(t.LoginAttempt.client == client, t.LoginAttempt.at >= since, t.LoginAttempt.success.is_(False))
    )
    for_name = s.scalar(recent_failures.where(t.LoginAttempt.username == username)) or 0
    if for_name > limits.per_name_and_client or (s.scalar(recent_failures) or 0) > limits.per_client:
        raise TooManyAttempts
    user = get_user(s, username)
    usable = user is not None and user.active and bool(user.password_hash)
    ok = password_matches(user.password_hash if usable and user is not None else _dummy_hash(), password)
    if not (usable and ok):
        return None
    s.execute(update(t.LoginAttempt).where(t.LoginAttempt.id == attempt_id).values(success=True))
    return user


def _record_attempt(s: Session, username: str, client: str) -> int:
    """Write a sign-in attempt as a failure and commit it at once, outside the request's transaction."""
    with _engine_of(s).connect() as connection:
        row = connection.execute(
            insert(LOGIN_ATTEMPTS).values(username=username, client=client, at=now(), success=False)
        ).inserted_primary_key
        connection.commit()
    assert row is not None
    return int(row[0])


def hash_password(password: str) -> str:
    """The stored hash of a password, of its NFKC form (``passwords.normalized``): the same text typed on
    another device, with other Unicode code points, still signs in."""
    return _hasher.hash(passwords.normalized(password))


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether ``password`` is the one behind ``stored_hash`` (of its NFKC form; a hash made before passwords
    were normalised is of the text as typed, and is tried as such when that differs)."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, passwords.normalized(password))
    except (VerificationError, InvalidHashError):
        pass
    if passwords.normalized(password) == password:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A hash of a random secret with the parameters of real ones: checked for unknown users."""
    return _dummy_hash_for(_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)


@cache
def _dummy_hash_for(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))


def create_session(s: Session, user: t.User, hours: float) -> tuple[str, str]:
    """A new sign-in: returns the session id (for the cookie) and its CSRF token."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    started = now()
    s.add(
        t.Session(
            id_hash=_digest(raw),
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
    row = s.get(t.Session, _digest(raw))
    moment = now()
    if row is None or _aware(row.expires_at) <= moment:
        return None
    if _aware(row.last_seen_at) + timedelta(minutes=idle_minutes) <= moment:
        return None
    user = s.get(t.User, row.user_id)
    if user is None or not user.active:
        return None
    if moment - _aware(row.last_seen_at) >= LAST_SEEN_STEP:
        row.last_seen_at = moment
    return user, row.csrf_token


def end_session(s: Session, raw: str) -> None:
    row = s.get(t.Session, _digest(raw))
    if row is not None:
        s.delete(row)


def end_sessions(s: Session, user: t.User, keep: str | None = None) -> int:
    """End every session of ``user`` (but the one whose id is ``keep``); how many ended."""
    statement = delete(t.Session).where(t.Session.user_id == user.id)
    if keep is not None:
        statement = statement.where(t.Session.id_hash != _digest(keep))
    return int(getattr(s.execute(statement), "rowcount", 0) or 0)


def create_api_token(s: Session, user: t.User, name: str, days: float = 90.0) -> str:
    """A new API token (shown once; stored as a hash) that expires after ``days``."""
    return issue_api_token(s, user, name, days)[0]


def issue_api_token(s: Session, user: t.User, name: str, days: float) -> tuple[str, t.ApiToken]:
    """A new API token and its row (for its id and expiry)."""
    raw = "ap_" + secrets.token_urlsafe(32)
    made = now()
    row = t.ApiToken(
        token_hash=_digest(raw),
        user_id=user.id,
        name=name,
        created_at=made,
        expires_at=made + timedelta(days=days),
        revoked=False,
    )
    s.add(row)
    s.flush()
    return raw, row


def token_user(s: Session, raw: str) -> t.User | None:
    """The active user of a valid, unrevoked, unexpired API token (one joined query: it runs on every machine
    request)."""
    return s.scalar(
        select(t.User)
        .join(t.ApiToken, t.ApiToken.user_id == t.User.id)
        .where(
            t.ApiToken.token_hash == _digest(raw),
            t.ApiToken.revoked.is_(False),
            t.ApiToken.expires_at > now(),
            t.User.active.is_(True),
        )
    )


def api_tokens(s: Session, user: t.User) -> list[t.ApiToken]:
    """The user's API tokens, newest first (revoked and expired ones too, so that the list explains itself)."""
    return list(s.scalars(select(t.ApiToken).where(t.ApiToken.user_id == user.id).order_by(t.ApiToken.id.desc())))


def revoke_api_tokens(s: Session, user: t.User, token_id: int | None = None) -> int:
    """Revoke one of the user's tokens (``token_id``) or all of them; how many were still live."""
    statement = update(t.ApiToken).where(t.ApiToken.user_id == user.id, t.ApiToken.revoked.is_(False))
    if token_id is not None:
        statement = statement.where(t.ApiToken.id == token_id)
    return int(getattr(s.execute(statement.values(revoked=True)), "rowcount", 0) or 0)


# ---- patients ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    patient: t.Patient
    version: t.PatientVersion
    assessment: t.Assessment


def _assess_and_store(
    s: Session, kb: KnowledgeBase, patient: t.Patient, version: t.PatientVersion, previous: t.PatientVersion | None
) -> t.Assessment:
    result = assess(parse_record(version.record), kb)
    before = None
    if previous is not None:
        before = s.scalar(
            select(t.Assessment).where(
                t.Assessment.patient_id == patient.id, t.Assessment.patient_version == previous.version
            )
        )
    changes = explain_changes(
        kb, previous.record if previous else None, before.result if before else None, version.record, result
    )
    row = t.Assessment(
        patient_id=patient.id,
        patient_version=version.version,
        disease_state=result["disease_state"],
        risk_group=result["risk_group"],
        cog_risk_group=result["cog_risk_group"],
        provisional=result["provisional"],
        knowledge_version=result["knowledge_version"],
        engine_version=result["engine_version"],
        result=result,
        changes=changes,
        created_at=now(),
    )
    s.add(row)
    s.flush()
    return row


def create_patient(s: Session, kb: KnowledgeBase, actor: t.User, display_name: str, record: dict[str, Any]) -> Stored:
    """Store a new patient (version 1) and its assessment. The record must already be valid."""
    parse_record(record)
    if actor.team_id is None:
        raise PermissionError("only a member of a care team can add patients")
    patient = t.Patient(
        id=str(uuid.uuid4()),
        team_id=actor.team_id,
        display_name=display_name,
        current_version=1,
        created_at=now(),
        created_by=actor.id,
    )
    s.add(patient)
    s.flush()
    version = t.PatientVersion(patient_id=patient.id, version=1, record=record, created_at=now(), created_by=actor.id)
    s.add(version)
    s.flush()
    return Stored(patient, version, _assess_and_store(s, kb, patient, version, None))


def update_patient(
    s: Session, kb: KnowledgeBase, actor: t.User, patient: t.Patient, record: dict[str, Any], display_name: str | None
) -> Stored:
    """Add a new version of the record and re-assess; earlier versions stay as they were."""
    parse_record(record)
    # Concurrent updates of one patient take turns: take the patient row's write lock first (a no-op UPDATE:
    # a row lock on PostgreSQL, the database's write lock on SQLite), then read its current version afresh.
    # Without it both would add the same version number and the second would fail with a server error.
    s.execute(update(t.Patient).where(t.Patient.id == patient.id).values(current_version=t.Patient.current_version))
    s.refresh(patient)
    previous = current_version(s, patient)
    version = t.PatientVersion(
        patient_id=patient.id,
        version=patient.current_version + 1,
        record=record,
        created_at=now(),
        created_by=actor.id,
    )
    s.add(version)
    patient.current_version = version.version
    if display_name:
        patient.display_name = display_name
    s.flush()
    return Stored(patient, version, _assess_and_store(s, kb, patient, version, previous))


def get_patient(s: Session, patient_id: str) -> t.Patient | None:
    return s.get(t.Patient, patient_id)


def current_version(s: Session, patient: t.Patient) -> t.PatientVersion:
    row = s.scalar(
        select(t.PatientVersion).where(
            t.PatientVersion.patient_id == patient.id, t.PatientVersion.version == patient.current_version
        )
    )
    assert row is not None, "a patient always has its current version"
    return row


def versions(s: Session, patient: t.Patient) -> list[t.PatientVersion]:
    return list(
        s.scalars(
            select(t.PatientVersion).where(t.PatientVersion.patient_id == patient.id).order_by(t.PatientVersion.version)
        )
    )


def assessments(s: Session, patient: t.Patient) -> list[t.Assessment]:
    return list(
        s.scalars(
            select(t.Assessment).where(t.Assessment.patient_id == patient.id).order_by(t.Assessment.patient_version)
        )
    )


def latest_assessment(s: Session, patient: t.Patient) -> t.Assessment:
    row = s.scalar(
        select(t.Assessment).where(
            t.Assessment.patient_id == patient.id, t.Assessment.patient_version == patient.current_version
        )
    )
    assert row is not None, "every version is assessed when it is stored"
    return row


def list_patients(s: Session, team_id: int, query: str = "") -> list[t.Patient]:
    """The team's patients; ``query`` finds a part of the name, of the record's ``id`` or of the patient id,
    as typed: ``%`` and ``_`` are characters here, not wildcards."""
    statement = select(t.Patient).where(t.Patient.team_id == team_id)
    if query:
        wanted = query.lower()
        record_id = t.PatientVersion.record["id"].as_string()
        in_current_record = (
            select(t.PatientVersion.id)
            .where(
                t.PatientVersion.patient_id == t.Patient.id,
                t.PatientVersion.version == t.Patient.current_version,
                func.lower(record_id).contains(wanted, autoescape=True),
            )
            .exists()
        )
        statement = statement.where(
            or_(
                func.lower(t.Patient.display_name).contains(wanted, autoescape=True),
                func.lower(t.Patient.id).contains(wanted, autoescape=True),
                in_current_record,
            )
        )
    return list(s.scalars(statement.order_by(t.Patient.display_name)))


def family_patient_ids(s: Session, user: t.User) -> set[str]:
    return set(s.scalars(select(t.FamilyLink.patient_id).where(t.FamilyLink.user_id == user.id)))


# ---- invitations -------------------------------------------------------------------------------------


def create_invitation(s: Session, actor: t.User, patient: t.Patient, days: int = 14) -> str:
    code = "-".join(secrets.token_hex(3).upper() for _ in range(3))
    s.add(
        t.Invitation(
            code_hash=_digest(code),
            patient_id=patient.id,
            created_by=actor.id,
            created_at=now(),
            expires_at=now() + timedelta(days=days),
        )
    )
    return code


class InvitationError(Exception):
    pass


def accept_invitation(s: Session, code: str, username: str, password: str, display_name: str) -> t.User:
    """A family account linked to the invitation's child, and granted the child's team by the clinician who
    made the invitation. ``InvitationError`` or ``WeakPassword`` (the password policy) otherwise."""
    invitation = s.get(t.Invitation, _digest(code.strip().upper()))
    if invitation is None or invitation.used_by is not None or _aware(invitation.expires_at) < now():
        raise InvitationError("this invitation code is not valid (unknown, used or expired)")
    if get_user(s, username) is not None:
        raise InvitationError("this user name is taken")
    user = create_user(s, username, password, "family", display_name)
    invitation.used_by = user.id
    s.add(t.FamilyLink(user_id=user.id, patient_id=invitation.patient_id))
    patient = s.get(t.Patient, invitation.patient_id)
    if patient is not None:
        grant_access(s, user, patient.team_id, s.get(t.User, invitation.created_by), "invitation")
    s.flush()
    return user


# ---- exports -----------------------------------------------------------------------------------------

# Calendar dates identify a person (with a diagnosis they narrow a registry to a few children): the export
# keeps ages and intervals, never dates. Exposures keep what was given, not when.
_IDENTIFYING = ("id", "birth_date", "diagnosis_date", "treatment_start_date", "end_of_therapy_date")


def _without_dates(record: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in record.items() if k not in _IDENTIFYING}
    exposures = kept.get("exposures")
    if isinstance(exposures, dict):
        kept["exposures"] = {
            kind: [{k: v for k, v in item.items() if k != "date"} for item in items]
            if isinstance(items, list)
            else items
            for kind, items in exposures.items()
        }
    return kept


def deidentified_export(s: Session, team_ids: Collection[int]) -> list[dict[str, Any]]:
    """The current record and assessment summary of every patient of ``team_ids`` (the teams that granted the
    researcher their data) without names, ids or dates.

    Each patient gets a pseudonym that is stable within one export only (a random salt per export), so
    rows cannot be linked back to the registry or across exports.
    """
    salt = secrets.token_hex(16)
    rows = []
    chosen = select(t.Patient).where(t.Patient.team_id.in_(list(team_ids))).order_by(t.Patient.created_at)
    for patient in s.scalars(chosen):
        version = current_version(s, patient)
        assessment = latest_assessment(s, patient)
        record = _without_dates(version.record)
        if "age_years" not in record and assessment.result.get("factors") is not None:
            age = parse_record(version.record).age_years
            if age is not None:
                record["age_years"] = round(age, 1)
        rows.append(
            {
                "pseudonym": hashlib.sha256((salt + patient.id).encode()).hexdigest()[:16],
                "record": record,
                "disease_state": assessment.disease_state,
                "risk_group": assessment.risk_group,
                "cog_risk_group": assessment.cog_risk_group,
                "provisional": assessment.provisional,
                "populations": assessment.result.get("populations", []),
                "knowledge_version": assessment.knowledge_version,
            }
        )
    return rows
