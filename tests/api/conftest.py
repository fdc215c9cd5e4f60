"""Fixtures for the storage and API tests: a throwaway PostgreSQL server, both database backends, and a
service (the FastAPI app over a fresh database) with one account of every role.

PostgreSQL is started by the tests themselves, in a temporary directory, on a free loopback port with its
unix socket in that directory and ``fsync=on``. When the server binaries are missing the PostgreSQL half of
every test is skipped, except in CI (``CI=true``), where that is a failure: CI must provide them
(``scripts/test`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, create_patient
from allpath.settings import Settings
from allpath.storage import accounts
from allpath.storage import audit as audit_store
from allpath.storage import invitations as invitation_store
from allpath.storage import signin as signin_store
from allpath.storage import tables as t
from allpath.storage import users as user_store
from allpath.storage.db import make_engine, migrate
from tests.conftest import complete_b_all

BACKENDS = ("sqlite", "postgresql")
PASSWORDS = {
    "clinician": "clinician-password-1",
    "other_clinician": "other-clinician-pw-1",
    "family": "family-password-01",
    "researcher": "researcher-password-1",
    "admin": "admin-password-0001",
}
ROLES = ("clinician", "family", "researcher", "admin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- PostgreSQL ----------------------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian layout first, then PATH)."""

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    return None


def no_postgres(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must provide PostgreSQL (scripts/test installs it)")
    pytest.skip(reason)


@dataclass
class PostgresServer:
    bindir: Path
    base: Path
    port: int
    run_as: list[str]
    databases: list[str] = field(default_factory=list)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(statement)

    def create_database(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        self._execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.databases.append(name)
        return name

    def drop_database(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.databases:
            self.databases.remove(name)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )


def _start_postgres(bindir: Path) -> PostgresServer:
    base = Path(tempfile.mkdtemp(prefix="allpath-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        for user in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(user)
            except KeyError:
                continue
            os.chown(base, entry.pw_uid, entry.pw_gid)
            run_as = ["runuser", "-u", user, "--"]
            break
        else:
            shutil.rmtree(base, ignore_errors=True)
            no_postgres("running as root and neither the postgres nor the nobody user exists")
    init = subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    server = PostgresServer(bindir=bindir, base=base, port=free_port(), run_as=run_as)
    options = " ".join(
        [
            f"-c port={server.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={base}",
            "-c fsync=on",
            "-c synchronous_commit=on",
            "-c full_page_writes=on",
            "-c max_connections=200",
        ]
    )
    started = server.pg_ctl("-l", str(base / "server.log"), "-w", "-t", "60", "-o", options, "start")
    if started.returncode != 0:
        log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{log}")
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole test session (each test gets its own database)."""
    bindir = postgres_bindir()
    if bindir is None:
        no_postgres("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    assert bindir is not None
    server = _start_postgres(bindir)
    try:
        yield server
    finally:
        server.pg_ctl("-m", "fast", "-w", "stop")
        shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A database migrated to the newest schema, copied for each test (faster than migrating each time)."""
    name = postgres_server.create_database()
    engine = make_engine(postgres_server.url(name))
    migrate(engine)
    engine.dispose()
    return name


def _database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'allpath.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    name = server.create_database(template)
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each backend: SQLite (a file, WAL mode) and PostgreSQL."""
    yield from _database(request, request.param, tmp_path)


# ---- the service -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2 with the smallest cost: the tests sign in hundreds of times (verification reads the cost from
    the stored hash, so nothing else changes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(user_store, "HASHER", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        yield


def settings_for(url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": url, "data_dir": data_dir, "session_hours": 12.0, "secure_cookies": False}
    values.update(overrides)
    return Settings(**values)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    password: str
    code: str  # its activation code (used up once the account is activated)


@dataclass
class Service:
    """The app over a fresh database: an account of every role, a patient of the clinician's team (linked to
    the family account), a patient of another team, and an API token per role."""

    app: FastAPI
    kb: KnowledgeBase
    users: dict[str, int]
    tokens: dict[str, str]
    patient_id: str  # the clinician's team; the family account's child
    other_team_patient_id: str

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        factory: sessionmaker[Session] = self.app.state.sessions
        return factory

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def client(self) -> TestClient:
        """A new client (its own cookie jar)."""
        return TestClient(self.app, raise_server_exceptions=False)

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def sign_in(self, role: str, client: TestClient | None = None) -> tuple[TestClient, str]:
        """A client signed in with the session cookie as ``role``, and the session's CSRF token."""
        client = client or self.client()
        username = {"clinician": "clin", "other_clinician": "other"}.get(role, role)
        response = client.post("/api/session", json={"username": username, "password": PASSWORDS[role]})
        assert response.status_code == 200, response.text
        csrf: str = response.json()["csrf_token"]
        return client, csrf

    def audit(self) -> list[t.AuditEntry]:
        with self.sessions() as s:
            return list(reversed(audit_store.entries(s, 10_000)))

    def count(self, table: type[t.Base]) -> int:
        from sqlalchemy import func, select

        with self.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(table)) or 0)

    def new_account(self, role: str, team: str | None = None, *, activated: bool = True) -> Account:
        """An account made by the seeded admin (as ``POST /api/users`` does), activated by its owner unless
        ``activated`` is false (then ``code`` is its unused activation code)."""
        username = f"{role}-{uuid.uuid4().hex[:10]}"
        password = f"{role} chooses a long pass phrase"
        with self.sessions() as s, s.begin():
            admin = s.get(t.User, self.users["admin"])
            user, activation = accounts.create_account(s, admin, username, f"New {role}", role, team, 72)
            if activated:
                accounts.activate(s, username, activation.code, password)
            return Account(user.id, username, password, activation.code)

    def invitation(self, patient_id: str | None = None) -> str:
        with self.sessions() as s, s.begin():
            clinician = s.get(t.User, self.users["clinician"])
            patient = s.get(t.Patient, patient_id or self.patient_id)
            assert clinician is not None and patient is not None
            return invitation_store.create_invitation(s, clinician, patient)


def seed(factory: sessionmaker[Session], kb: KnowledgeBase) -> tuple[dict[str, int], dict[str, str], str, str]:
    with factory() as s, s.begin():
        team = user_store.ensure_team(s, "Team A")
        other_team = user_store.ensure_team(s, "Team B")
        users = {
            "clinician": user_store.create_user(s, "clin", PASSWORDS["clinician"], "clinician", "Dr. A", team.id),
            "other_clinician": user_store.create_user(
                s, "other", PASSWORDS["other_clinician"], "clinician", "Dr. B", other_team.id
            ),
            "researcher": user_store.create_user(s, "researcher", PASSWORDS["researcher"], "researcher", "R"),
            "admin": user_store.create_user(s, "admin", PASSWORDS["admin"], "admin", "Admin"),
        }
        mine = create_patient(UnitOfWork(s, users["clinician"]), kb, "Child of Team A", complete_b_all(id="A-1"))
        theirs = create_patient(
            UnitOfWork(s, users["other_clinician"]), kb, "Child of Team B", complete_b_all(id="B-1")
        )
        for custodian, team_id in ((users["clinician"], team.id), (users["other_clinician"], other_team.id)):
            user_store.grant_access(s, users["researcher"], team_id, custodian, "colleague")  # both teams share
        code = invitation_store.create_invitation(s, users["clinician"], mine.patient)
        users["family"] = invitation_store.accept_invitation(s, code, "family", PASSWORDS["family"], "A family")
        tokens = {role: signin_store.create_api_token(s, user, "tests") for role, user in users.items()}
        ids = {role: user.id for role, user in users.items()}
        return ids, tokens, mine.patient.id, theirs.patient.id


def _service(url: str, data_dir: Path, kb: KnowledgeBase) -> Iterator[Service]:
    app = create_app(settings_for(url, data_dir), kb=kb)
    users, tokens, mine, theirs = seed(app.state.sessions, kb)
    try:
        yield Service(app, kb, users, tokens, mine, theirs)
    finally:
        app.state.engine.dispose()


@pytest.fixture
def service(database_url: str, tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """A service over a fresh database of each backend, for one test."""
    yield from _service(database_url, tmp_path, kb)


@pytest.fixture(scope="module", params=BACKENDS)
def module_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase
) -> Iterator[Service]:
    """A service of each backend shared by the tests of one module (for tests that only add data)."""
    folder = tmp_path_factory.mktemp(request.param)
    for url in _database(request, request.param, folder):
        yield from _service(url, folder, kb)


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
