"""What is stored of a patient, as the care team and the family read it: the list of a team's patients (or
a family's children), the current record with its stored assessment, the record versions, the assessment
history with who stored each version, the full export of one patient, and the family's invitation.

These are the stored history (``allpath.service.patients`` makes the fresh views). Each use case audits
itself in the unit of work; which patients an account may see was checked before, by the caller (the HTTP
kernel's ``visible_patient``, which audits a denial).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from allpath.engine.diff import changed_fields
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.patients import store_version
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import invitations
from allpath.storage import patients as patient_store
from allpath.storage.tables import Assessment as StoredAssessment
from allpath.storage.tables import Patient, PatientVersion, User

INVITATION_DAYS = 14
"""How long a family's invitation code works."""


def _acting(uow: UnitOfWork) -> User:
    if uow.actor is None:
        raise PermissionError("this needs a signed-in account")
    return uow.actor


def _channel(text: str, channel: str) -> str:
    return f"{text} ({channel})" if channel else text


@dataclass(frozen=True)
class PatientRow:
    """A patient of a list, with the assessment stored with its current version."""

    patient: Patient
    assessment: StoredAssessment


def patient_list(uow: UnitOfWork, query: str = "", *, channel: str = "") -> list[PatientRow]:
    """A family's own children (by name), or the patients of a clinician's team, filtered by ``query``
    (a part of the name, the record's id or the patient id); audited as ``list patient`` with the count."""
    user = _acting(uow)
    s = uow.session
    if user.role == "family":
        found = (patient_store.get_patient(s, i) for i in patient_store.family_patient_ids(s, user))
        chosen = sorted((p for p in found if p is not None), key=lambda p: p.display_name.lower())
    else:
        assert user.team_id is not None, "a clinician with access to patient data has a team"
        chosen = patient_store.list_patients(s, user.team_id, query)
    rows = [PatientRow(patient, patient_store.latest_assessment(s, patient)) for patient in chosen]
    uow.audit("list", "patient", detail=_channel(f"{len(rows)} rows", channel))
    return rows


def family_children(uow: UnitOfWork) -> list[str]:
    """The ids of the actor's children (a family account's), sorted (not audited: no patient data)."""
    return sorted(patient_store.family_patient_ids(uow.session, _acting(uow)))


def family_language(uow: UnitOfWork, patient: Patient) -> str | None:
    """The preferred language of the family linked to the patient (the first linked account that chose one),
    for the family report a clinician prints; None when no linked account chose (not audited: no patient data)."""
    return next(iter(patient_store.family_languages(uow.session, patient.id)), None)


@dataclass(frozen=True)
class Snapshot:
    """A patient's current record version and the assessment stored with it."""

    patient: Patient
    version: PatientVersion
    assessment: StoredAssessment


def snapshot(uow: UnitOfWork, patient: Patient) -> Snapshot:
    """The current record version and its stored assessment (not audited: the use case that shows it is)."""
    s = uow.session
    return Snapshot(patient, patient_store.current_version(s, patient), patient_store.latest_assessment(s, patient))


def read_patient(uow: UnitOfWork, patient: Patient, *, detail: str = "") -> Snapshot:
    """The current record version and its stored assessment, audited as ``read patient``."""
    uow.audit("read", "patient", patient.id, detail=detail)
    return snapshot(uow, patient)


def record_versions(uow: UnitOfWork, patient: Patient) -> list[PatientVersion]:
    """Every stored version of the record, oldest first (audited as ``read patient_versions``)."""
    uow.audit("read", "patient_versions", patient.id)
    return patient_store.versions(uow.session, patient)


def stored_assessments(uow: UnitOfWork, patient: Patient) -> list[StoredAssessment]:
    """The assessment history, oldest first (audited as ``read assessments``)."""
    uow.audit("read", "assessments", patient.id)
    return patient_store.assessments(uow.session, patient)


@dataclass(frozen=True)
class HistoryEntry:
    """A stored assessment and the name of the person who stored the version it assessed."""

    assessment: StoredAssessment
    stored_by: str


def history(uow: UnitOfWork, patient: Patient) -> list[HistoryEntry]:
    """Every stored assessment, newest first, with who stored its version (not audited: it is shown on the
    patient's page, whose view is audited)."""
    s = uow.session
    authors = {v.version: v.created_by for v in patient_store.versions(s, patient)}
    names: dict[int, str] = {}
    entries = []
    for stored in reversed(patient_store.assessments(s, patient)):
        author_id = authors.get(stored.patient_version)
        if author_id is not None and author_id not in names:
            user = s.get(User, author_id)
            names[author_id] = user.display_name if user else f"user {author_id}"
        entries.append(HistoryEntry(stored, names.get(author_id, "") if author_id is not None else ""))
    return entries


@dataclass(frozen=True)
class PatientExport:
    """Everything stored about one patient: every record version and every stored assessment."""

    patient: Patient
    versions: list[PatientVersion]
    assessments: list[StoredAssessment]


def export_patient(uow: UnitOfWork, patient: Patient) -> PatientExport:
    """Everything stored about one patient (audited as ``export patient``)."""
    uow.audit("export", "patient", patient.id)
    s = uow.session
    return PatientExport(patient, patient_store.versions(s, patient), patient_store.assessments(s, patient))


def store_if_changed(
    uow: UnitOfWork,
    kb: KnowledgeBase,
    patient: Patient,
    record: Mapping[str, object],
    display_name: str,
    *,
    detail: str = "",
) -> bool:
    """Store ``record`` as the patient's next version (``store_version``) when it or the name differs from
    the current one; False, and nothing stored or audited, when nothing changed."""
    previous = patient_store.current_version(uow.session, patient).record
    if not changed_fields(previous, record) and display_name == patient.display_name:
        return False
    store_version(uow, kb, patient, record, display_name, detail=detail)
    return True


@dataclass(frozen=True)
class Invitation:
    """A family's one-time invitation code (shown once) and how many days it works."""

    code: str
    days: int


def invite_family(uow: UnitOfWork, patient: Patient, *, detail: str = "") -> Invitation:
    """An invitation code with which one family account is linked to this child (audited as ``create
    invitation``)."""
    code = invitations.create_invitation(uow.session, _acting(uow), patient, INVITATION_DAYS)
    uow.audit("create", "invitation", patient.id, detail=detail)
    return Invitation(code, INVITATION_DAYS)
