"""Fixtures of the web tests: an app over a temporary SQLite database with the demo seed (for the
TestClient tests), and the same app served by uvicorn in a background process (for the browser tests).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import load_knowledge
from allpath.service import UnitOfWork, create_patient
from allpath.service.demo import DEMO_ACCOUNTS, DEMO_FAMILY, seed_demo
from allpath.settings import Settings
from allpath.storage import patients as patient_store
from allpath.storage import users as user_store
from allpath.storage.db import make_engine, migrate, session_factory
from tests.conftest import EXAMPLES, ROOT

PASSWORDS = {username: password for _, username, _, password in (*DEMO_ACCOUNTS, DEMO_FAMILY)}
OTHER_CLINICIAN = ("dr.other", "other-clinician-1")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _settings(data_dir: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{data_dir / 'allpath.db'}", data_dir=data_dir, session_hours=1, secure_cookies=False
    )


def _seed(factory: Any, data_dir: Path) -> dict[str, str]:
    """The demo seed plus a second team with one patient; returns the ids tests need."""
    kb = load_knowledge()
    seed_demo(factory, kb, EXAMPLES)
    with factory() as s, s.begin():
        team = user_store.ensure_team(s, "Other oncology team")
        other = user_store.create_user(s, OTHER_CLINICIAN[0], OTHER_CLINICIAN[1], "clinician", "Dr. Other", team.id)
        other_patient = create_patient(
            UnitOfWork(s, other), kb, "Other team child", {"age_years": 6, "wbc_per_ul": 9000}
        )
        family = user_store.get_user(s, "family.demo")
        assert family is not None
        (family_child,) = patient_store.family_patient_ids(s, family)
        clinician = user_store.get_user(s, "dr.rivera")
        assert clinician is not None and clinician.team_id is not None
        not_family = next(p.id for p in patient_store.list_patients(s, clinician.team_id) if p.id != family_child)
        return {"family_child": family_child, "other_team": other_patient.patient.id, "not_family": not_family}


@dataclass
class WebApp:
    app: FastAPI
    ids: dict[str, str]


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> WebApp:
    data_dir = tmp_path_factory.mktemp("web-data")
    app = create_app(_settings(data_dir))
    return WebApp(app, _seed(app.state.sessions, data_dir))


@dataclass
class User:
    """A signed-in browser stand-in: a TestClient with the session cookie, and the session's CSRF token."""

    client: TestClient
    csrf: str

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        body: dict[str, Any] = dict(data or {})
        if csrf:
            body["csrf_token"] = self.csrf
        return self.client.post(url, data=body, **kwargs)


def sign_in(app: FastAPI, username: str, password: str | None = None) -> User:
    """Sign in through the sign-in page, as a browser does."""
    client = TestClient(app, follow_redirects=True)
    page = client.get("/signin")
    token = FORM_TOKEN.search(page.text)
    assert token is not None
    response = client.post(
        "/signin",
        data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token.group(1)},
    )
    assert response.status_code == 200, response.text[:500]
    csrf = CSRF_META.search(response.text)
    assert csrf is not None, "a signed-in page carries the session's CSRF token"
    return User(client, csrf.group(1))


@pytest.fixture(scope="session")
def clinician(web: WebApp) -> User:
    return sign_in(web.app, "dr.rivera")


@pytest.fixture(scope="session")
def family(web: WebApp) -> User:
    return sign_in(web.app, "family.demo")


@pytest.fixture(scope="session")
def researcher(web: WebApp) -> User:
    return sign_in(web.app, "researcher")


@pytest.fixture(scope="session")
def admin(web: WebApp) -> User:
    return sign_in(web.app, "admin")


@pytest.fixture(scope="session")
def other_clinician(web: WebApp) -> User:
    return sign_in(web.app, *OTHER_CLINICIAN)


@pytest.fixture()
def anonymous(web: WebApp) -> TestClient:
    return TestClient(web.app, follow_redirects=False)


# ---- a served app and a browser -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    ids: dict[str, str]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``uvicorn`` serving the app on a free localhost port, over a seeded temporary SQLite database."""
    data_dir = tmp_path_factory.mktemp("live-data")
    engine = make_engine(_settings(data_dir).database_url)
    migrate(engine)
    ids = _seed(session_factory(engine), data_dir)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "ALLPATH_DATA_DIR": str(data_dir)}
    env.pop("ALLPATH_DATABASE_URL", None)
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "allpath.interfaces.app:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("the app did not start:\n" + (data_dir / "server.log").read_text(errors="replace"))
            time.sleep(0.1)
        yield LiveServer(url, ids)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    errors = (data_dir / "server.log").read_text(errors="replace")
    assert "Traceback" not in errors, "the served app failed:\n" + errors


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def require_tool(found: object, what: str) -> None:
    """A missing browser or tool fails the run in CI and skips the test elsewhere."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed; CI must provide it")
    pytest.skip(f"{what} is not installed")


def _playwright() -> Any:
    """Playwright's sync API (a development dependency): missing, it fails the run in CI and skips elsewhere."""
    try:
        import playwright.sync_api
    except ImportError:
        require_tool(None, "the playwright package (pip install -e '.[dev]')")
    return playwright.sync_api


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    require_tool(executable, "chromium (apt-get install chromium)")
    sync_api = _playwright()
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
