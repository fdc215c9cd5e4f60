"""Sign-in protection and the service's housekeeping duties (issue 9): the failed-attempt limit under
concurrency, the cost of an unknown user name, private database files, ``Cache-Control: no-store``, audited
refusals, audit entries that survive a failed request, and a patient search that takes text literally."""

from __future__ import annotations

import os
import stat
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import UnitOfWork, create_patient
from allpath.settings import SignInLimits
from allpath.storage import signin as signin_store
from allpath.storage import tables as t
from allpath.storage import users as user_store
from allpath.storage.db import make_engine, migrate
from tests.api.conftest import PASSWORDS, Service, settings_for
from tests.conftest import complete_b_all

LIMITS = SignInLimits(per_name_and_client=5, per_client=20, window_seconds=300)


# ---- the failed-attempt limit holds under concurrency -----------------------------------------------------


def test_parallel_wrong_guesses_check_at_most_the_limit(service: Service) -> None:
    """40 wrong guesses at once from one client: at most ``per_name_and_client`` get a password check."""
    barrier = threading.Barrier(40)

    def guess(_: int) -> str:
        with service.sessions() as s:
            barrier.wait()
            try:
                user = signin_store.authenticate(s, "clin", "a wrong guess", "198.51.100.7", LIMITS)
                s.commit()
            except signin_store.TooManyAttempts:
                return "refused"
            return "checked" if user is None else "signed in"

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert "signed in" not in outcomes
    # Which ones are checked depends on the timing (all may see six committed attempts and be refused).
    assert outcomes.count("checked") <= LIMITS.per_name_and_client, outcomes
    assert outcomes.count("refused") == 40 - outcomes.count("checked")


def test_the_limit_counts_this_attempt_and_a_right_password_is_a_success(service: Service) -> None:
    """Five wrong guesses are checked, the sixth is refused unchecked, even with the right password."""
    with service.sessions() as s:
        for _ in range(LIMITS.per_name_and_client):
            assert signin_store.authenticate(s, "clin", "wrong", "198.51.100.8", LIMITS) is None
            s.commit()
        with pytest.raises(signin_store.TooManyAttempts):
            signin_store.authenticate(s, "clin", PASSWORDS["clinician"], "198.51.100.8", LIMITS)
    with service.sessions() as s:
        user = signin_store.authenticate(s, "clin", PASSWORDS["clinician"], "198.51.100.9", LIMITS)  # another client
        s.commit()
        assert user is not None and user.username == "clin"
    with service.sessions() as s:
        successes = s.query(t.LoginAttempt).filter(t.LoginAttempt.success.is_(True)).count()
        assert successes == 1


def test_unknown_user_costs_the_same_time_as_a_wrong_password(
    database_url: str, tmp_path: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real argon2 cost, the median sign-in time of an unknown user name is within 1.5x of a known
    user's wrong password (and the other way round), so the answer time does not tell which names exist."""
    monkeypatch.setattr(user_store, "HASHER", PasswordHasher())  # the production cost, not the tests' fast one
    generous = SignInLimits(per_name_and_client=1000, per_client=1000, window_seconds=300)
    app = create_app(settings_for(database_url, tmp_path, sign_in_limits=generous), kb=kb)
    try:
        with app.state.sessions() as s, s.begin():
            user_store.create_user(s, "timed", "a long enough pass phrase 7", "researcher", "Timed")
        client = TestClient(app, raise_server_exceptions=False)

        def sign_in_ms(username: str) -> float:
            start = time.perf_counter()
            response = client.post("/api/session", json={"username": username, "password": "not the password"})
            assert response.status_code == 401
            return (time.perf_counter() - start) * 1000

        sign_in_ms("timed"), sign_in_ms("nobody-by-this-name")  # warm up (the dummy hash is made once)
        times: dict[str, list[float]] = {"timed": [], "nobody-by-this-name": []}
        for _ in range(15):  # interleaved, so that a busy moment of the machine costs both alike
            for username, measured in times.items():
                measured.append(sign_in_ms(username))
        wrong, unknown = statistics.median(times["timed"]), statistics.median(times["nobody-by-this-name"])
        ratio = max(wrong, unknown) / min(wrong, unknown)
        assert ratio <= 1.5, f"wrong password {wrong:.1f} ms, unknown user {unknown:.1f} ms"
    finally:
        app.state.engine.dispose()


# ---- private database files ------------------------------------------------------------------------------


def test_data_directory_and_database_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    engine = make_engine(f"sqlite:///{folder / 'allpath.db'}")
    migrate(engine)
    engine.dispose()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("allpath.db", "allpath.db-wal", "allpath.db-shm", "allpath.db.writer-lock", "allpath.db.sign-in"):
        path = folder / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert (folder / "allpath.db").exists()


def test_an_existing_open_data_directory_is_narrowed(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    (folder / "allpath.db").touch(mode=0o644)
    os.chmod(folder / "allpath.db", 0o644)
    make_engine(f"sqlite:///{folder / 'allpath.db'}").dispose()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "allpath.db").stat().st_mode) == 0o600


# ---- no copies in caches ---------------------------------------------------------------------------------


def test_every_answer_with_patient_data_says_no_store(service: Service) -> None:
    client = service.client()
    headers = service.bearer("clinician")
    pid = service.patient_id
    for path in (
        "/api/patients",
        f"/api/patients/{pid}",
        f"/api/patients/{pid}/versions",
        f"/api/patients/{pid}/assessments",
        f"/api/patients/{pid}/export",
        f"/api/patients/{pid}/roadmap",
        f"/api/patients/{pid}/survivorship",
        f"/api/patients/{pid}/fhir/second-opinion",
        "/api/patients/no-such-patient",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response.headers.get("cache-control") == "no-store", path
    assessed = client.post("/api/assess", json=complete_b_all(), headers=headers)
    assert assessed.status_code == 200 and assessed.headers["cache-control"] == "no-store"
    family = client.get(f"/patients/{pid}/report", headers=service.bearer("family"))
    assert family.headers.get("cache-control") == "no-store"


def test_static_assets_keep_their_own_caching(service: Service) -> None:
    response = service.client().get("/static/allpath.css")
    assert response.status_code == 200
    assert response.headers.get("cache-control") != "no-store"


# ---- refusals are audited, and audit entries survive a failed request ---------------------------------------


def _entries_since(service: Service, before: int) -> list[t.AuditEntry]:
    return service.audit()[before:]


def test_refusals_are_audited(service: Service) -> None:
    client = service.client()
    before = len(service.audit())
    assert client.get("/api/patients").status_code == 401
    assert client.get("/api/patients", headers={"Authorization": "Bearer ap_not-a-token"}).status_code == 401
    assert client.get("/api/patients", headers=service.bearer("researcher")).status_code == 403
    signed_in, _csrf = service.sign_in("clinician")
    assert signed_in.post("/api/assess", json=complete_b_all()).status_code == 403  # no CSRF token
    entries = _entries_since(service, before)
    outcomes = [(e.action, e.outcome, e.detail, e.role) for e in entries if e.action == "access"]
    assert ("access", "unauthenticated", "GET /api/patients", None) in outcomes
    assert ("access", "invalid_token", "GET /api/patients", None) in outcomes
    assert ("access", "forbidden", "GET /api/patients", "researcher") in outcomes
    assert ("access", "csrf", "POST /api/assess", "clinician") in outcomes


def test_page_refusals_are_audited(service: Service) -> None:
    client = service.client()
    before = len(service.audit())
    assert client.get("/patients", follow_redirects=False).status_code == 303
    researcher, _ = service.sign_in("researcher")
    assert researcher.get("/patients/new").status_code == 403
    outcomes = {(e.outcome, e.detail) for e in _entries_since(service, before) if e.action == "access"}
    assert ("unauthenticated", "GET /patients") in outcomes
    assert ("forbidden", "GET /patients/new") in outcomes


def test_the_audit_entry_of_a_request_that_fails_is_kept(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that ends in a 500 after its audit entry keeps the entry, marked as failed."""
    from allpath.interfaces.api.routes import patients

    def broken(*_: object) -> None:
        raise RuntimeError("a fault after the audit entry")

    monkeypatch.setattr(patients, "_patient_out", broken)
    before = len(service.audit())
    response = service.client().get(f"/api/patients/{service.patient_id}", headers=service.bearer("clinician"))
    assert response.status_code == 500
    entries = _entries_since(service, before)
    assert [(e.action, e.resource, e.resource_id, e.outcome) for e in entries] == [
        ("read", "patient", service.patient_id, "failed")
    ]


def test_an_entry_committed_before_a_refusal_is_not_written_twice(service: Service) -> None:
    before = len(service.audit())
    response = service.client().get("/api/patients/not-ours", headers=service.bearer("clinician"))
    assert response.status_code == 404
    entries = _entries_since(service, before)
    assert [(e.action, e.outcome) for e in entries] == [("read", "denied")]


# ---- search takes text literally and finds the record id ----------------------------------------------------


def test_search_escapes_wildcards_and_finds_the_record_id(service: Service) -> None:
    with service.sessions() as s, s.begin():
        clinician = s.get(t.User, service.users["clinician"])
        assert clinician is not None
        create_patient(UnitOfWork(s, clinician), service.kb, "Ada 100%", complete_b_all(id="MRN_77-x"))
        create_patient(UnitOfWork(s, clinician), service.kb, "Bea", complete_b_all(id="MRN777"))
    client = service.client()
    headers = service.bearer("clinician")

    def names(query: str) -> list[str]:
        response = client.get("/api/patients", params={"q": query}, headers=headers)
        assert response.status_code == 200
        return sorted(row["display_name"] for row in response.json())

    assert names("%") == ["Ada 100%"]  # a literal percent sign, not "everything"
    assert names("MRN_") == ["Ada 100%"]  # "_" is not "any one character" (MRN7 would match)
    assert names("mrn777") == ["Bea"]  # the record's id, whatever the case
    assert names("mrn") == ["Ada 100%", "Bea"]  # not hexadecimal: no patient id (a UUID) holds it
    assert names("Child of Team B") == []  # another team's patient stays unknown


# ---- passwords are compared in their Unicode NFKC form ------------------------------------------------------


def test_a_password_typed_in_another_unicode_form_signs_in(service: Service) -> None:
    """NIST SP 800-63B: the verifier normalises Unicode, so "é" typed as one code point or as "e" plus the
    combining accent is the same password; a hash made of the text as typed (before normalisation) still works."""
    composed = "café au lait et croissants"  # é as U+00E9
    decomposed = composed.replace("é", "e\u0301")
    with service.sessions() as s, s.begin():
        user = user_store.create_user(s, "unicode", decomposed, "researcher", "Unicode")
        legacy = user_store.create_user(s, "legacy", composed, "researcher", "Legacy")
        legacy.password_hash = user_store.HASHER.hash(decomposed)  # stored as typed, before normalisation
        user_id = user.id
    for username, password in (("unicode", composed), ("unicode", decomposed), ("legacy", decomposed)):
        with service.sessions() as s:
            found = signin_store.authenticate(s, username, password, f"client-{username}", LIMITS)
            s.commit()
            assert found is not None, (username, password)
    with service.sessions() as s:
        assert signin_store.authenticate(s, "unicode", "cafe au lait et croissants", "client-x", LIMITS) is None
        s.commit()
    assert user_id
