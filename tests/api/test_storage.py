"""The repository over both backends (SQLite file in WAL mode, PostgreSQL): versioning, stored assessments,
re-assessment changes, invalid records, invitations, the de-identified export and the audit log."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from allpath import __version__
from allpath.errors import RecordError
from allpath.service import UnitOfWork, create_patient, store_version
from allpath.storage import export as export_store
from allpath.storage import invitations as invitation_store
from allpath.storage import patients as patient_store
from allpath.storage import tables as t
from allpath.storage import users as user_store
from allpath.storage.db import integrity_ok, make_engine
from tests.api.conftest import Service
from tests.conftest import complete_b_all


def _clinician(service: Service, s: Session) -> t.User:
    user = s.get(t.User, service.users["clinician"])
    assert user is not None
    return user


def test_backend_settings_keep_acknowledged_writes(service: Service) -> None:
    with service.engine.connect() as c:
        if service.backend == "sqlite":
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert c.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        else:
            assert c.execute(text("SHOW fsync")).scalar() == "on"
            assert c.execute(text("SHOW synchronous_commit")).scalar() == "on"
    assert integrity_ok(service.engine)


def test_an_update_adds_a_version_and_leaves_earlier_versions_unchanged(service: Service) -> None:
    first = complete_b_all(id="P-1")
    second = complete_b_all(id="P-1", end_of_induction_marrow_mrd_pct=1.2)
    third = complete_b_all(id="P-1", end_of_induction_marrow_mrd_pct=1.2, weight_kg=18.0)
    with service.sessions() as s, s.begin():
        stored = create_patient(UnitOfWork(s, _clinician(service, s)), service.kb, "Versioned child", first)
        patient_id = stored.patient.id
    for record in (second, third):
        with service.sessions() as s, s.begin():
            patient = patient_store.get_patient(s, patient_id)
            assert patient is not None
            store_version(UnitOfWork(s, _clinician(service, s)), service.kb, patient, record, None)
    with service.sessions() as s:
        patient = patient_store.get_patient(s, patient_id)
        assert patient is not None
        assert patient.current_version == 3
        rows = patient_store.versions(s, patient)
        assert [v.version for v in rows] == [1, 2, 3]
        assert [v.record for v in rows] == [first, second, third]
        assert patient_store.current_version(s, patient).record == third
        assessed = patient_store.assessments(s, patient)
        assert [a.patient_version for a in assessed] == [1, 2, 3]
        assert [a.risk_group for a in assessed] == ["standard", "very_high", "very_high"]


def test_assessments_are_stored_with_the_knowledge_and_engine_versions(service: Service) -> None:
    with service.sessions() as s:
        patient = patient_store.get_patient(s, service.patient_id)
        assert patient is not None
        row = patient_store.latest_assessment(s, patient)
        assert row.knowledge_version == service.kb.version
        assert row.engine_version == __version__
        assert row.result["knowledge_version"] == service.kb.version
        assert row.result["engine_version"] == __version__
        assert row.result["risk_group"] == row.risk_group == "standard"
        assert row.changes == []  # the first assessment has nothing to compare with


def test_a_reassessment_says_what_changed_and_why(service: Service) -> None:
    with service.sessions() as s, s.begin():
        patient = patient_store.get_patient(s, service.patient_id)
        assert patient is not None
        stored = store_version(
            UnitOfWork(s, _clinician(service, s)),
            service.kb,
            patient,
            complete_b_all(id="A-1", end_of_induction_marrow_mrd_pct=1.2),
            None,
        )
        changes = stored.assessment.changes
    risk = next(c for c in changes if c["field"] == "risk_group")
    assert (risk["before"], risk["after"]) == ("standard", "very_high")
    assert risk["because"] == ["end-of-induction bone marrow MRD 1.2 %"]
    assert risk["message"] == "risk group: standard -> very high, because end-of-induction bone marrow MRD 1.2 %"
    record_change = next(c for c in changes if c["field"] == "record")
    message = record_change["message"]
    assert isinstance(message, str)
    assert "end-of-induction bone marrow MRD (%)" in message  # the label, for people
    assert "response.end_of_induction_marrow_mrd_pct" not in message
    fields = record_change["fields"]
    assert isinstance(fields, list) and "response.end_of_induction_marrow_mrd_pct" in fields  # for software


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"age_years": 5, "wbc_per_ul": 12.5}, "wbc_per_ul"),
        ({"age_years": 41}, "age_years"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_an_invalid_record_is_not_stored(service: Service, record: dict[str, object], field: str) -> None:
    before = (service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment))
    with pytest.raises(RecordError) as raised, service.sessions() as s, s.begin():
        create_patient(UnitOfWork(s, _clinician(service, s)), service.kb, "Invalid", record)
    assert field in raised.value.fields
    with pytest.raises(RecordError), service.sessions() as s, s.begin():
        patient = patient_store.get_patient(s, service.patient_id)
        assert patient is not None
        store_version(UnitOfWork(s, _clinician(service, s)), service.kb, patient, record, None)
    after = (service.count(t.Patient), service.count(t.PatientVersion), service.count(t.Assessment))
    assert after == before
    with service.sessions() as s:
        patient = patient_store.get_patient(s, service.patient_id)
        assert patient is not None and patient.current_version == 1


def test_an_invitation_links_one_family_account_to_exactly_one_child(service: Service) -> None:
    code = service.invitation()
    with service.sessions() as s, s.begin():
        user = invitation_store.accept_invitation(s, code, "second.parent", "a-long-password", "Second parent")
        assert patient_store.family_patient_ids(s, user) == {service.patient_id}
        assert user.role == "family" and user.team_id is None
    with pytest.raises(invitation_store.InvitationError), service.sessions() as s, s.begin():
        invitation_store.accept_invitation(s, code, "third.parent", "a-long-password", "Reused code")
    with pytest.raises(invitation_store.InvitationError), service.sessions() as s, s.begin():
        invitation_store.accept_invitation(s, "NOT-A-CODE", "fourth.parent", "a-long-password", "Unknown code")
    with service.sessions() as s:
        assert user_store.get_user(s, "third.parent") is None
        assert user_store.get_user(s, "fourth.parent") is None
        links = list(s.scalars(text("SELECT patient_id FROM family_links")))
    assert sorted(links) == [service.patient_id, service.patient_id]  # the seeded family and the second parent


def test_the_deidentified_export_holds_no_names_ids_or_dates(service: Service) -> None:
    record = complete_b_all(id="MRN-778899", age_years=None, birth_date="2015-03-14", diagnosis_date="2021-06-02")
    with service.sessions() as s, s.begin():
        stored = create_patient(UnitOfWork(s, _clinician(service, s)), service.kb, "Zelda Quixote-Marsh", record)
        patient_id = stored.patient.id
    with service.sessions() as s:
        every_team = user_store.granted_teams(s, service.users["researcher"])  # the seeded researcher has both
        rows = export_store.deidentified_export(s, every_team)
    assert len(rows) == 3
    dumped = json.dumps(rows)
    for secret in ("Zelda", "Quixote", "Child of Team", "MRN-778899", "A-1", "B-1", "2015", "2021-06", patient_id):
        assert secret not in dumped, secret
    for row in rows:
        assert set(row["record"]) & {"id", "birth_date", "diagnosis_date"} == set()
    ours = next(r for r in rows if r["record"].get("age_years") == 6.2)  # derived from the dates, rounded
    assert ours["risk_group"] == "standard"
    # The pseudonyms differ between two exports, so rows cannot be linked across exports.
    with service.sessions() as s:
        again = export_store.deidentified_export(s, every_team)
    assert {r["pseudonym"] for r in rows}.isdisjoint({r["pseudonym"] for r in again})


def test_secrets_are_stored_only_as_hashes(service: Service) -> None:
    with service.sessions() as s:
        stored = " ".join(
            str(v)
            for table in ("users", "api_tokens", "invitations", "sessions")
            for row in s.execute(text(f"SELECT * FROM {table}"))
            for v in row
        )
    for token in service.tokens.values():
        assert token not in stored
    assert "clinician-password-1" not in stored


def test_sqlite_writers_queue_on_the_writer_lock(tmp_path: Path) -> None:
    """Two engines on one SQLite file (as two worker processes): the second writer waits on the writer lock
    while the first holds it, goes on as soon as it commits, and the lock is free again after a rollback."""
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    first, second = make_engine(url), make_engine(url)
    try:
        with first.begin() as c:
            c.execute(text("CREATE TABLE t (v INTEGER)"))
        done = threading.Event()

        def write_second() -> None:
            with second.begin() as c:
                c.execute(text("INSERT INTO t VALUES (2)"))
            done.set()

        with first.connect() as c:
            c.execute(text("INSERT INTO t VALUES (1)"))  # holds the lock until this connection is returned
            writer = threading.Thread(target=write_second)
            writer.start()
            assert not done.wait(0.3), "the second writer did not wait"
            lock_file = os.open(tmp_path / "queue.db.writer-lock", os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):  # held by the first writer, between processes too
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(lock_file)
            c.commit()
        assert done.wait(5), "the second writer was not let through"
        writer.join()
        with pytest.raises(RuntimeError), first.begin() as c:
            c.execute(text("INSERT INTO t VALUES (3)"))
            raise RuntimeError("roll back")
        with second.begin() as c:  # would wait 30 s if the rolled-back writer had kept the lock
            c.execute(text("INSERT INTO t VALUES (4)"))
        with first.connect() as c:
            assert sorted(c.execute(text("SELECT v FROM t")).scalars()) == [1, 2, 4]
    finally:
        first.dispose()
        second.dispose()
