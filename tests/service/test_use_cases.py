"""The application layer over a fresh SQLite database: each use case stamps its versions once, stores through
storage and audits itself in the unit of work; a failed unit of work keeps its audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allpath import __version__, service
from allpath.errors import RecordError
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, unit_of_work
from allpath.storage import tables as t
from allpath.storage import users
from allpath.storage.db import make_engine, migrate, session_factory
from tests.conftest import complete_b_all


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'allpath.db'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clinician(factory: sessionmaker[Session]) -> t.User:
    with factory() as s, s.begin():
        team = users.ensure_team(s, "Team")
        return users.create_user(s, "clin", "a long clinician password", "clinician", "Dr. C", team.id)


def _audit(factory: sessionmaker[Session]) -> list[tuple[str, str, str | None, str, str]]:
    with factory() as s:
        rows = s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id))
        return [(e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in rows]


def test_a_stateless_use_case_stamps_its_versions_and_audits_only_in_a_unit_of_work(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    result = service.assess_record(kb, complete_b_all(id="S-1"))
    assert (result["knowledge_version"], result["engine_version"]) == (kb.version, __version__)
    assert _audit(factory) == []  # no unit of work: nothing written
    with unit_of_work(factory, clinician) as work:
        roadmap = service.record_roadmap(kb, complete_b_all(id="S-1"), start=None, uow=work)
    assert (roadmap["record_id"], roadmap["knowledge_version"], roadmap["engine_version"]) == (
        "S-1",
        kb.version,
        __version__,
    )
    assert _audit(factory) == [("roadmap", "record", None, "ok", "stateless")]


def test_storing_a_version_assesses_it_explains_the_change_and_audits_it(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with unit_of_work(factory, clinician) as work:
        stored = service.create_patient(work, kb, "Child", complete_b_all(id="S-2"), detail="web")
        patient_id = stored.patient.id
    with unit_of_work(factory, clinician) as work:
        patient = work.session.get(t.Patient, patient_id)
        assert patient is not None
        changed = complete_b_all(id="S-2", end_of_induction_marrow_mrd_pct=1.2)
        second = service.store_version(work, kb, patient, changed, detail="web")
        assert second.version.version == 2 and second.assessment.risk_group == "very_high"
        assert second.assessment.knowledge_version == kb.version
        assert any(c["field"] == "risk_group" for c in second.assessment.changes)
    assert _audit(factory) == [
        ("create", "patient", patient_id, "ok", "web"),
        ("update", "patient", patient_id, "ok", "version 2 (web)"),
    ]


def test_an_invalid_record_is_refused_audited_and_not_stored(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with pytest.raises(RecordError), unit_of_work(factory, clinician) as work:
        service.create_patient(work, kb, "Child", {"age_years": -1})
    with factory() as s:
        assert s.scalars(select(t.Patient)).first() is None
    assert _audit(factory) == [("create", "patient", None, "invalid", "")]  # the refusal survives the rollback


def test_a_failed_unit_of_work_keeps_its_audit_entries_as_failed(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with pytest.raises(RuntimeError), unit_of_work(factory, clinician) as work:
        service.create_patient(work, kb, "Child", complete_b_all(id="S-3"))
        raise RuntimeError("the answer could not be sent")
    with factory() as s:
        assert s.scalars(select(t.Patient)).first() is None
    [(action, resource, _, outcome, _)] = _audit(factory)
    assert (action, resource, outcome) == ("create", "patient", "failed")


def test_a_view_of_a_stored_patient_uses_a_fresh_assessment_and_says_when_the_knowledge_changed(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with unit_of_work(factory, clinician) as work:
        patient = service.create_patient(work, kb, "Child", complete_b_all(id="S-4")).patient
    with unit_of_work(factory, clinician) as work:
        answer = service.patient_survivorship(work, kb, patient)
        assert not answer.latest.knowledge_changed
        assert answer.latest.about() == {"patient_id": patient.id, "patient_version": 1}
        assert answer.result["knowledge_version"] == kb.version
    with factory() as s, s.begin():  # as if the version had been stored under another knowledge base
        row = s.scalars(select(t.Assessment)).one()
        row.knowledge_version = "kb-earlier"
    with unit_of_work(factory, clinician) as work:
        now = service.patient_roadmap(work, kb, patient).latest
        assert now.knowledge_changed and now.about()["stored_knowledge_version"] == "kb-earlier"
        assert now.assessment["knowledge_version"] == kb.version
    assert [entry[:2] + entry[3:] for entry in _audit(factory)][-2:] == [
        ("read", "survivorship", "ok", "json"),
        ("read", "roadmap", "ok", "json"),
    ]


def test_a_dose_that_cannot_be_calculated_is_a_refusal_naming_the_input(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with unit_of_work(factory, clinician) as work:
        patient = service.create_patient(work, kb, "Child", complete_b_all(id="S-5")).patient
    with unit_of_work(factory, clinician) as work:
        with pytest.raises(ValueError) as refused:
            service.patient_doses(work, kb, patient, "induction")  # no weight or height in the record
        assert getattr(refused.value, "field", None) in ("weight_kg", "height_cm")
    assert _audit(factory)[-1][1:4] == ("doses", patient.id, "invalid")


def test_the_unit_of_work_audits_as_its_actor(factory: sessionmaker[Session], clinician: t.User) -> None:
    with factory() as s:
        UnitOfWork(s, clinician).audit("read", "audit_log", detail="test")
        UnitOfWork(s, None).audit("list", "user", detail="operator")
        s.commit()
        roles = [(e.user_id, e.role) for e in s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id))]
    assert roles == [(clinician.id, "clinician"), (None, None)]
