"""The account use cases of the application layer over a fresh SQLite database: each does its act through
storage, audits itself in the unit of work (refusals too) and raises a refusal for the interface to word."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, access, accounts, create_patient, export, sessions, stored_patients
from allpath.service.database import operator_work
from allpath.settings import SignInLimits
from allpath.storage import tables as t
from allpath.storage import users
from allpath.storage.db import make_engine, migrate, session_factory
from tests.conftest import complete_b_all

PASSWORD = "a long clinician password"
Entry = tuple[str, str, str | None, str, str]


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'allpath.db'}"


@pytest.fixture
def factory(database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def clinician(factory: sessionmaker[Session]) -> t.User:
    with factory() as s, s.begin():
        team = users.ensure_team(s, "Team A")
        return users.create_user(s, "clin", PASSWORD, "clinician", "Dr. C", team.id)


def _audit(factory: sessionmaker[Session]) -> list[Entry]:
    with factory() as s:
        rows = s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id))
        return [(e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in rows]


def test_signing_in_audits_a_wrong_password_as_denied_and_a_success_as_the_account(
    factory: sessionmaker[Session], clinician: t.User
) -> None:
    with factory() as s:
        work = UnitOfWork(s, None)
        with pytest.raises(sessions.WrongCredentials):
            sessions.sign_in(work, "clin", "not the password", "10.0.0.1", SignInLimits(), 8)
        signed_in = sessions.sign_in(work, "clin", PASSWORD, "10.0.0.1", SignInLimits(), 8, detail="web")
        work.commit()
        assert signed_in.user.id == clinician.id and signed_in.session_id and signed_in.csrf_token
        assert access.session_user(s, signed_in.session_id, 30) == (signed_in.user, signed_in.csrf_token)
        sessions.sign_out(UnitOfWork(s, signed_in.user), signed_in.session_id)
        s.commit()
        assert access.session_user(s, signed_in.session_id, 30) is None
    assert _audit(factory) == [
        ("sign_in", "session", None, "denied", ""),
        ("sign_in", "session", None, "ok", "web"),
        ("sign_out", "session", None, "ok", ""),
    ]
    with factory() as s:
        signed = s.scalars(select(t.AuditEntry).where(t.AuditEntry.outcome == "ok")).first()
        assert signed is not None and signed.user_id == clinician.id  # audited as the account that signed in


def test_a_token_too_long_or_unknown_is_refused_and_audited(factory: sessionmaker[Session], clinician: t.User) -> None:
    with factory() as s:
        work = UnitOfWork(s, s.get(t.User, clinician.id))
        with pytest.raises(sessions.TokenTooLong, match="at most 30 days"):
            sessions.issue_token(work, "ci", 31, 30)
        token, row = sessions.issue_token(work, "ci", 7, 30, channel="web")
        assert access.token_user(s, token) is not None
        with pytest.raises(sessions.NoSuchToken):
            sessions.revoke_token(work, row.id + 1)
        sessions.revoke_token(work, row.id)
        assert access.token_user(s, token) is None
        assert [r.id for r in sessions.api_tokens(work)] == [row.id]
        work.commit()
    assert _audit(factory) == [
        ("create", "api_token", None, "invalid", ""),
        ("create", "api_token", str(row.id), "ok", "7 days (web)"),
        ("revoke", "api_token", str(row.id + 1), "denied", ""),
        ("revoke", "api_token", str(row.id), "ok", ""),
    ]


def test_a_refused_account_act_is_audited_as_denied_or_invalid(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        admin = users.create_user(s, "root", "a long admin password!", "admin", "Admin")
        work = UnitOfWork(s, admin)
        with pytest.raises(accounts.AccountError, match="needs a team"):
            accounts.create_account(work, "new.clin", "New", "clinician", None, 24, refusal_detail="web")
        user, activation = accounts.create_account(work, "new.clin", "New", "clinician", "Team B", 24)
        assert activation.code and accounts.pending_activation(work, user) is not None
        with pytest.raises(accounts.NameTaken):
            accounts.create_account(work, "new.clin", "Again", "researcher", None, 24)
        with pytest.raises(accounts.NotAllowed):
            accounts.deactivate(work, admin)
        with pytest.raises(accounts.NotFound):
            accounts.account_to_act_on(work, 9999, "deactivate")
        work.commit()
    refusals = [entry for entry in _audit(factory) if entry[3] != "ok"]
    assert refusals == [
        ("create", "user", None, "invalid", "web"),
        ("create", "user", None, "denied", ""),
        ("deactivate", "user", str(admin.id), "denied", ""),
        ("deactivate", "user", "9999", "denied", "no such account"),
    ]


def test_a_patient_is_visible_to_its_team_only_and_a_denial_is_audited(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with factory() as s:
        own = s.get(t.User, clinician.id)
        assert own is not None
        stored = create_patient(UnitOfWork(s, own), kb, "Child", complete_b_all(id="V-1"))
        other_team = users.ensure_team(s, "Team B")
        stranger = users.create_user(s, "other", PASSWORD, "clinician", "Dr. O", other_team.id)
        s.commit()
        assert access.visible_patient(s, own, stored.patient.id, family_allowed=False) == stored.patient
        assert access.visible_patient(s, stranger, stored.patient.id, family_allowed=False) is None
        assert access.visible_patient(s, stranger, None, family_allowed=False) is None
        s.commit()
    denied = [entry for entry in _audit(factory) if entry[3] == "denied"]
    assert denied == [("read", "patient", stored.patient.id, "denied", ""), ("read", "patient", None, "denied", "")]


def test_an_unchanged_record_is_not_stored_again_and_the_export_counts_its_rows(
    kb: KnowledgeBase, factory: sessionmaker[Session], clinician: t.User
) -> None:
    record = complete_b_all(id="U-1")
    with factory() as s:
        work = UnitOfWork(s, s.get(t.User, clinician.id))
        patient = create_patient(work, kb, "Child", record).patient
        assert not stored_patients.store_if_changed(work, kb, patient, record, "Child")
        assert stored_patients.store_if_changed(work, kb, patient, record, "Renamed")
        assert [v.version for v in stored_patients.record_versions(work, patient)] == [1, 2]
        researcher = users.create_user(s, "res", "a long researcher password", "researcher", "R")
        assert patient.team_id is not None
        users.grant_access(s, researcher, patient.team_id, None, "colleague")
        rows = export.deidentified_rows(UnitOfWork(s, researcher), detail="web, csv")
        work.commit()
    assert len(rows) == 1 and "id" not in rows[0]["record"] and rows[0]["risk_group"] is not None
    assert [entry[:2] + entry[3:] for entry in _audit(factory)] == [
        ("create", "patient", "ok", ""),
        ("update", "patient", "ok", "version 2"),
        ("read", "patient_versions", "ok", ""),
        ("export", "deidentified", "ok", "1 rows (web, csv)"),
    ]


def test_the_operator_confirms_an_account_on_the_shell_and_is_told_of_an_unknown_name(
    database: str, factory: sessionmaker[Session], clinician: t.User
) -> None:
    with factory() as s, s.begin():
        team_id = s.scalar(select(t.Team.id).where(t.Team.name == "Team A"))
        assert team_id is not None
        users.create_user(s, "colleague", PASSWORD, "clinician", "Dr. D", team_id)
    with operator_work(database) as work:
        assert accounts.operator_confirm(work, "colleague", []) == ["Team A"]
    with pytest.raises(accounts.NotFound, match="no account named"), operator_work(database) as work:
        accounts.operator_confirm(work, "nobody", [])
    confirmed = [entry for entry in _audit(factory) if entry[0] == "confirm"]
    assert len(confirmed) == 1 and confirmed[0][4].startswith("operator")
