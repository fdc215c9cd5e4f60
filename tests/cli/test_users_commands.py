"""``allpath users``: the operator's break-glass makes the first administrator (who activates the account with
the printed code) and confirms an account when no colleague remains; both audited as the operator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allpath.interfaces.app import create_app
from allpath.interfaces.cli import app
from allpath.knowledge.loader import load_knowledge
from allpath.service import UnitOfWork, create_patient
from allpath.settings import load_settings
from allpath.storage import audit as audit_store
from allpath.storage import users as user_store
from allpath.storage.db import make_engine, migrate, session_factory

runner = CliRunner()
CODE = re.compile(r"^\s+([0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8})$", re.MULTILINE)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    return tmp_path


def test_create_admin_prints_a_code_with_which_the_owner_chooses_the_password(data_dir: Path) -> None:
    result = runner.invoke(app, ["users", "create-admin", "site.admin", "--name", "Site Admin"])
    assert result.exit_code == 0, result.output
    code = CODE.search(result.stdout)
    assert code is not None
    client = TestClient(create_app(load_settings()))
    body = {"username": "site.admin", "code": code.group(1), "password": "the operator never knows this"}
    assert client.post("/api/activate", json=body).status_code == 200
    signed_in = client.post("/api/session", json={"username": "site.admin", "password": body["password"]})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "admin"
    again = runner.invoke(app, ["users", "create-admin", "site.admin"])
    assert again.exit_code == 2 and "taken" in again.stderr
    bad = runner.invoke(app, ["users", "create-admin", "no spaces allowed"])
    assert bad.exit_code == 2 and "username" in bad.stderr
    engine = make_engine(load_settings().database_url)
    with session_factory(engine)() as s:
        entry = next(e for e in audit_store.entries(s) if e.action == "create")
    engine.dispose()
    assert entry.user_id is None and entry.detail.startswith("operator") and code.group(1) not in entry.detail


def test_confirm_grants_a_clinician_their_team_when_no_colleague_remains(data_dir: Path) -> None:
    engine = make_engine(load_settings().database_url)
    migrate(engine)
    with session_factory(engine)() as s, s.begin():
        team = user_store.ensure_team(s, "Team A")
        first = user_store.create_user(s, "first", "first clinician's phrase", "clinician", "First", team.id)
        create_patient(UnitOfWork(s, first), load_knowledge(), "A child", {"age_years": 5, "wbc_per_ul": 9000})
        user_store.create_user(s, "second", "second clinician's phrase", "clinician", "Second", team.id)
        user_store.create_user(s, "res", "a researcher's pass phrase", "researcher", "Res")
        first.active = False  # the only colleague has left
    result = runner.invoke(app, ["users", "confirm", "second"])
    assert result.exit_code == 0 and "Team A" in result.stdout
    researcher = runner.invoke(app, ["users", "confirm", "res"])
    assert researcher.exit_code == 2 and "--team" in researcher.stderr
    assert runner.invoke(app, ["users", "confirm", "res", "--team", "Nope"]).exit_code == 2
    assert runner.invoke(app, ["users", "confirm", "res", "--team", "Team A"]).exit_code == 0
    assert runner.invoke(app, ["users", "confirm", "nobody"]).exit_code == 2
    with session_factory(engine)() as s:
        second, res = user_store.get_user(s, "second"), user_store.get_user(s, "res")
        assert second is not None and res is not None
        assert user_store.granted_teams(s, second.id) == user_store.granted_teams(s, res.id) == {team.id}
        operator = [e for e in audit_store.entries(s) if e.action == "confirm"]
    engine.dispose()
    assert len(operator) == 2 and all(e.user_id is None and e.detail.startswith("operator") for e in operator)


def test_withdraw_takes_a_teams_data_from_an_account_and_its_page_says_so(data_dir: Path) -> None:
    engine = make_engine(load_settings().database_url)
    migrate(engine)
    with session_factory(engine)() as s, s.begin():
        team = user_store.ensure_team(s, "Team A")
        user_store.ensure_team(s, "Team B")
        clinician = user_store.create_user(s, "first", "first clinician's phrase", "clinician", "First", team.id)
        patient = create_patient(UnitOfWork(s, clinician), load_knowledge(), "A child", {"age_years": 5})
        res = user_store.create_user(s, "res", "a researcher's pass phrase", "researcher", "Res")
        user_store.grant_access(s, res, team.id, clinician, "colleague")
    result = runner.invoke(app, ["users", "withdraw", "--user", "res", "--team", "Team A"])
    assert result.exit_code == 0, result.output
    assert "res no longer reads the patient data of Team A" in result.stdout and patient.patient.id not in result.stdout
    again = runner.invoke(app, ["users", "withdraw", "res", "--team", "Team A"])  # NAME as `confirm` takes it
    assert again.exit_code == 2 and "does not hold the patient data of 'Team A'" in again.stderr
    for args, words in (
        (["--user", "nobody", "--team", "Team A"], "there is no account named 'nobody'"),
        (["--user", "first", "--team", "Nope"], "there is no team named 'Nope'"),
        (["--user", "first", "--team", "Team B"], "does not hold"),
        (["--team", "Team A"], "name the account"),
        (["first", "--user", "res", "--team", "Team A"], "name the account once"),
    ):
        refused = runner.invoke(app, ["users", "withdraw", *args])
        assert refused.exit_code == 2 and words in refused.stderr and refused.stdout == "", args
    with session_factory(engine)() as s:
        account = user_store.get_user(s, "res")
        assert account is not None and user_store.granted_teams(s, account.id) == frozenset()
        [(name, withdrawal)] = user_store.withdrawals(s, account.id)
        operator = [e for e in audit_store.entries(s) if e.action == "withdraw"]
    engine.dispose()
    assert (name, withdrawal.how) == ("Team A", "operator")
    assert len(operator) == 1 and operator[0].user_id is None and operator[0].detail.startswith("operator")
    assert operator[0].resource_id == str(account.id) and operator[0].outcome == "ok"
    client = TestClient(create_app(load_settings()))
    assert client.post("/api/session", json={"username": "res", "password": "a researcher's pass phrase"}).is_success
    [told] = client.get("/api/me").json()["access_withdrawn"]
    assert told["by"] == "operator"
    assert told["message"].startswith("Your access to the patient data of the care team \u201cTeam A\u201d")
