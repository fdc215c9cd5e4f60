"""Database tables. Patient records are versioned: an update adds a version, nothing is overwritten."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware.

    PostgreSQL keeps the zone; SQLite stores no zone and hands back naive datetimes, which would reach API
    clients without an offset (not an RFC 3339 date-time). Same DDL as ``DateTime(timezone=True)``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # clinician | family | researcher | admin
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The language the pages speak to this person (a locale such as "es"); None: the browser's.
    preferred_language: Mapped[str | None] = mapped_column(String(20), nullable=True, default=None)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class PatientVersion(Base):
    __tablename__ = "patient_versions"
    __table_args__ = (UniqueConstraint("patient_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("patient_id", "patient_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    patient_version: Mapped[int] = mapped_column(Integer)
    disease_state: Mapped[str] = mapped_column(String(20))
    risk_group: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cog_risk_group: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provisional: Mapped[bool] = mapped_column(Boolean)
    knowledge_version: Mapped[str] = mapped_column(String(40))
    engine_version: Mapped[str] = mapped_column(String(40))
    result: Mapped[dict[str, object]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FamilyLink(Base):
    __tablename__ = "family_links"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), primary_key=True)


class Invitation(Base):
    __tablename__ = "invitations"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Session(Base):
    """A browser sign-in. It ends at ``expires_at`` (the absolute timeout) or after a while without use (the
    idle timeout, from ``last_seen_at``, which is refreshed at most once a minute)."""

    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ActivationCode(Base):
    """A one-time code with which the owner of a new (or reset) account chooses its password.

    The administrator who asked for it sees the code, so it opens the account but no patient data: that is
    granted by the data's owners (``AccessGrant``). ``created_by`` is None when the operator made it.
    """

    __tablename__ = "activation_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccessGrant(Base):
    """Access to a team's patient data, granted by the data's owners, never by an administrator.

    A clinician reads the patients of their team once they hold a grant for it; a researcher's
    de-identified export holds the patients of the teams that granted it; a family reads their child's
    plan while they hold a grant for the child's team (given with the care team's invitation). ``how``
    says who granted it: ``colleague`` (``granted_by``), ``empty_team`` (the first clinician of a team with
    nothing to see yet), ``invitation`` (``granted_by`` made the invitation) or ``operator`` (the server's
    command line). An administrator's act that could hand the account to someone else deletes its grants.
    """

    __tablename__ = "access_grants"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    how: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccessWithdrawal(Base):
    """A team's grant withdrawn from an account -- by a clinician of the team (``how``: ``colleague``) or the
    server's operator (``operator``) -- kept so that the account's own page says which team withdrew it and
    when; deleted when the team grants it again. Who withdrew it is in the audit log only: the account is told
    the team, never the clinician."""

    __tablename__ = "access_withdrawals"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    how: Mapped[str] = mapped_column(String(20))
    withdrawn_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    success: Mapped[bool] = mapped_column(Boolean)


class AuditEntry(Base):
    """Who did what to which resource, when. Never patient data: ids and action names only."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")


class CdsTokenUse(Base):
    """A CDS client's JWT already accepted, by its issuer and ``jti`` (both as SHA-256 digests: a ``jti`` may be
    any length), until it expires: inserting it is its first use, in every server process on the database
    (``allpath.storage.replay``). Rows past ``expires_at`` are deleted."""

    __tablename__ = "cds_token_uses"
    issuer_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TrialStudy(Base):
    """One study of the local trial registry: the study object exactly as ClinicalTrials.gov API v2 gave it,
    with its ``lastUpdatePostDate`` (a newer one replaces the study; None when the study gives none) and
    when it was stored or last replaced."""

    __tablename__ = "trial_studies"
    nct_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_update: Mapped[date | None] = mapped_column(Date, nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    study: Mapped[dict[str, object]] = mapped_column(JSON)


class TrialRegistryRefresh(Base):
    """One refresh of the trial registry: when, from what (``file`` or ``sync``, and which files or which
    address), and what it did. The newest row is the registry's snapshot date."""

    __tablename__ = "trial_registry_refreshes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(10))
    detail: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)


class SignInGeneration(Base):
    """One row whose ``value`` changes, on PostgreSQL, in the very transaction of every change to the tables
    that decide sign-in (``users``, ``api_tokens``, ``access_grants``): triggers of the database write it
    (migration 0006), so that a server's token cache can check in one statement that nothing changed
    (``allpath.storage.token_cache``). Present but unused on SQLite, whose generation is a file."""

    __tablename__ = "sign_in_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
