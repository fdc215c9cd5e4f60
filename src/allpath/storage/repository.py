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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.diff import explain_changes
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import SignInLimits
from allpath.storage import tables as t

ROLES = ("clinician", "family", "researcher", "admin")
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
    """
    s.execute(
        insert(AUDIT_TABLE),
        [
            {
                "at": now(),
                "user_id": user.id if user else None,
                "role": user.role if user else None,
                "action": action,
                "resource": resource,
                "resource_id": resource_id,
                "outcome": outcome,
                "detail": detail,
            }
        ],
    )


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
    s: Session, username: str, password: str, role: str, display_name: str, team_id: int | None = None
) -> t.User:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    user = t.User(
        username=username,
        display_name=display_name,
        password_hash=_hasher.hash(password),
        role=role,
        team_id=team_id,
        active=True,
        created_at=now(),
    )
    s.add(user)
    s.flush()
    return user


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
    client cannot try passwords across many accounts."""
    since = now() - timedelta(seconds=limits.window_seconds)
    client = client[:100]
    recent_failures = (
        select(func.count())
        .select_from(t.LoginAttempt)
        .where(t.LoginAttempt.client == client, t.LoginAttempt.at >= since, t.LoginAttempt.success.is_(False))
    )
    for_name = s.scalar(recent_failures.where(t.LoginAttempt.username == username)) or 0
    if for_name >= limits.per_name_and_client or (s.scalar(recent_failures) or 0) >= limits.per_client:
        raise TooManyAttempts
    user = get_user(s, username)
    ok = False
    if user is not None and user.active:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    s.add(t.LoginAttempt(username=username, client=client, at=now(), success=ok))
    return user if ok else None


def create_session(s: Session, user: t.User, hours: float) -> tuple[str, str]:
    """A new sign-in: returns the session id (for the cookie) and its CSRF token."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    s.add(t.Session(id_hash=_digest(raw), user_id=user.id, csrf_token=csrf, expires_at=now() + timedelta(hours=hours)))
    return raw, csrf


def session_user(s: Session, raw: str) -> tuple[t.User, str] | None:
    row = s.get(t.Session, _digest(raw))
    if row is None or _aware(row.expires_at) < now():
        return None
    user = s.get(t.User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row.csrf_token


def end_session(s: Session, raw: str) -> None:
    row = s.get(t.Session, _digest(raw))
    if row is not None:
        s.delete(row)


def create_api_token(s: Session, user: t.User, name: str) -> str:
    raw = "ap_" + secrets.token_urlsafe(32)
    s.add(t.ApiToken(token_hash=_digest(raw), user_id=user.id, name=name, created_at=now(), revoked=False))
    return raw


def token_user(s: Session, raw: str) -> t.User | None:
    """The active user of a valid, unrevoked API token (one joined query: it runs on every machine request)."""
    return s.scalar(
        select(t.User)
        .join(t.ApiToken, t.ApiToken.user_id == t.User.id)
        .where(t.ApiToken.token_hash == _digest(raw), t.ApiToken.revoked.is_(False), t.User.active.is_(True))
    )


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
    statement = select(t.Patient).where(t.Patient.team_id == team_id)
    if query:
        like = f"%{query.lower()}%"
        statement = statement.where(or_(func.lower(t.Patient.display_name).like(like), t.Patient.id.like(like)))
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
    invitation = s.get(t.Invitation, _digest(code.strip().upper()))
    if invitation is None or invitation.used_by is not None or _aware(invitation.expires_at) < now():
        raise InvitationError("this invitation code is not valid (unknown, used or expired)")
    if get_user(s, username) is not None:
        raise InvitationError("this user name is taken")
    user = create_user(s, username, password, "family", display_name)
    invitation.used_by = user.id
    s.add(t.FamilyLink(user_id=user.id, patient_id=invitation.patient_id))
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


def deidentified_export(s: Session) -> list[dict[str, Any]]:
    """Every patient's current record and assessment summary without names, ids or dates.

    Each patient gets a pseudonym that is stable within one export only (a random salt per export), so
    rows cannot be linked back to the registry or across exports.
    """
    salt = secrets.token_hex(16)
    rows = []
    for patient in s.scalars(select(t.Patient).order_by(t.Patient.created_at)):
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
