"""Patients, their record versions and the assessments stored with them.

A record is versioned: an update adds a version and nothing is overwritten. Each version is stored with the
assessment the application layer made of it (``allpath.service``), the knowledge and engine versions that
produced it and what changed since the previous one. This module only stores and reads; it never assesses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from allpath.storage import tables as t
from allpath.storage.clock import now


@dataclass(frozen=True)
class Stored:
    """A stored record version and the assessment stored with it."""

    patient: t.Patient
    version: t.PatientVersion
    assessment: t.Assessment


def add_patient(
    s: Session, actor: t.User, display_name: str, record: Mapping[str, object]
) -> tuple[t.Patient, t.PatientVersion]:
    """A new patient of the actor's care team, with ``record`` as its version 1 (``PermissionError`` for an
    account outside a care team). The record must already be valid."""
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
    version = t.PatientVersion(
        patient_id=patient.id, version=1, record=dict(record), created_at=now(), created_by=actor.id
    )
    s.add(version)
    s.flush()
    return patient, version


def add_version(
    s: Session, actor: t.User, patient: t.Patient, record: Mapping[str, object], display_name: str | None
) -> tuple[t.PatientVersion, t.PatientVersion]:
    """Add ``record`` as the patient's next version (and rename the patient when ``display_name`` is given);
    earlier versions stay as they were. Returns the version that was current before, and the new one."""
    # Concurrent updates of one patient take turns: take the patient row's write lock first (a no-op UPDATE:
    # a row lock on PostgreSQL, the database's write lock on SQLite), then read its current version afresh.
    # Without it both would add the same version number and the second would fail with a server error.
    s.execute(update(t.Patient).where(t.Patient.id == patient.id).values(current_version=t.Patient.current_version))
    s.refresh(patient)
    previous = current_version(s, patient)
    version = t.PatientVersion(
        patient_id=patient.id,
        version=patient.current_version + 1,
        record=dict(record),
        created_at=now(),
        created_by=actor.id,
    )
    s.add(version)
    patient.current_version = version.version
    if display_name:
        patient.display_name = display_name
    s.flush()
    return previous, version


def add_assessment(
    s: Session, version: t.PatientVersion, result: Mapping[str, object], changes: Sequence[Mapping[str, object]]
) -> t.Assessment:
    """Store the assessment of a record version (``result``, stamped with the knowledge and engine versions
    that made it) and what changed since the previous version, each change with its reasons (``changes``;
    empty for version 1)."""
    row = t.Assessment(
        patient_id=version.patient_id,
        patient_version=version.version,
        disease_state=result["disease_state"],
        risk_group=result["risk_group"],
        cog_risk_group=result["cog_risk_group"],
        provisional=result["provisional"],
        knowledge_version=result["knowledge_version"],
        engine_version=result["engine_version"],
        result=dict(result),
        changes=[dict(change) for change in changes],
        created_at=now(),
    )
    s.add(row)
    s.flush()
    return row


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


def assessment_of(s: Session, version: t.PatientVersion) -> t.Assessment | None:
    """The assessment stored with a record version (None only while it is being stored)."""
    return s.scalar(
        select(t.Assessment).where(
            t.Assessment.patient_id == version.patient_id, t.Assessment.patient_version == version.version
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


def family_languages(s: Session, patient_id: str) -> list[str]:
    """The preferred languages of the family accounts linked to a patient (those that chose one), by account."""
    statement = (
        select(t.User.preferred_language)
        .join(t.FamilyLink, t.FamilyLink.user_id == t.User.id)
        .where(t.FamilyLink.patient_id == patient_id, t.User.preferred_language.is_not(None))
        .order_by(t.User.id)
    )
    return [language for language in s.scalars(statement) if language]
