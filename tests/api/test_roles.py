"""Who may call what: every route of the app, for every role and for an anonymous caller.

The expectation table below is the access policy, written out. The routes are enumerated from the app
itself (and checked against the OpenAPI description), so a new /api endpoint without a line here fails
``test_every_api_route_has_an_expectation``, and a line for an endpoint that no longer exists fails too.

Allowed means the call succeeds with the status in the table; denied means 401 for an anonymous caller and
403 for a signed-in caller of another role. Each call is made twice: with an API token (Bearer) and with a
session cookie plus its CSRF token.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.fhir import record_to_bundle
from allpath.storage import clock
from allpath.storage import signin as signin_store
from allpath.storage import tables as t
from tests.api.conftest import PASSWORDS, ROLES, Service
from tests.conftest import complete_b_all

ANONYMOUS = "anonymous"
CALLERS = (ANONYMOUS, *ROLES)
EVERYONE = frozenset(CALLERS)
SIGNED_IN = frozenset(ROLES)
CLINICIAN = frozenset({"clinician"})
CARE = frozenset({"clinician", "family"})  # the family only for its own child


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    status: int  # the status of an allowed call
    optional: bool = False  # provided by the web UI, which is mounted beside the API: may be absent


# The access policy: (method, path) -> who may call it. HEAD follows GET where the framework adds it.
EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/api/health"): Rule(EVERYONE, 200),
    ("GET", "/api/openapi.json"): Rule(EVERYONE, 200),
    ("GET", "/api/docs"): Rule(EVERYONE, 200),
    ("POST", "/api/session"): Rule(EVERYONE, 200),
    ("DELETE", "/api/session"): Rule(SIGNED_IN, 204),
    ("GET", "/api/me"): Rule(SIGNED_IN, 200),
    ("PUT", "/api/me/password"): Rule(SIGNED_IN, 204),
    ("POST", "/api/activate"): Rule(EVERYONE, 200),
    ("POST", "/api/tokens"): Rule(SIGNED_IN, 201),
    ("GET", "/api/tokens"): Rule(SIGNED_IN, 200),
    ("DELETE", "/api/tokens/{token_id}"): Rule(SIGNED_IN, 204),
    # The care team's accounts (src/allpath/interfaces/api/routes/team.py): a clinician with the team's data.
    ("GET", "/api/team/members"): Rule(CLINICIAN, 200),
    ("POST", "/api/team/members/{user_id}/confirm"): Rule(CLINICIAN, 200),
    ("POST", "/api/team/members/{user_id}/withdraw"): Rule(CLINICIAN, 204),
    ("POST", "/api/invitations/accept"): Rule(EVERYONE, 201),
    ("GET", "/api/patients"): Rule(CLINICIAN, 200),
    ("POST", "/api/patients"): Rule(CLINICIAN, 201),
    ("GET", "/api/patients/{patient_id}"): Rule(CARE, 200),
    ("PUT", "/api/patients/{patient_id}"): Rule(CLINICIAN, 200),
    ("GET", "/api/patients/{patient_id}/versions"): Rule(CLINICIAN, 200),
    ("GET", "/api/patients/{patient_id}/assessments"): Rule(CARE, 200),
    ("POST", "/api/patients/{patient_id}/invitations"): Rule(CLINICIAN, 201),
    ("GET", "/api/patients/{patient_id}/export"): Rule(CLINICIAN, 200),
    ("POST", "/api/assess"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("GET", "/api/export/deidentified"): Rule(frozenset({"researcher"}), 200),
    # Treatment views (src/allpath/interfaces/api/routes/treatment.py): stateless like /api/assess, and per
    # patient for the team's clinician and the child's family.
    ("POST", "/api/roadmap"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("POST", "/api/doses"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("POST", "/api/survivorship"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("GET", "/api/patients/{patient_id}/roadmap"): Rule(CARE, 200),
    ("GET", "/api/patients/{patient_id}/roadmap.ics"): Rule(CARE, 200),
    ("GET", "/api/patients/{patient_id}/doses"): Rule(CARE, 200),
    ("GET", "/api/patients/{patient_id}/survivorship"): Rule(CARE, 200),
    ("GET", "/api/patients/{patient_id}/care-overview"): Rule(CARE, 200),
    # The trial search (src/allpath/interfaces/api/routes/trials.py): stateless like /api/assess, and per
    # patient for the team's clinician and the child's family.
    ("POST", "/api/trials/search"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("GET", "/api/patients/{patient_id}/trials"): Rule(CARE, 200),
    # FHIR (src/allpath/interfaces/api/routes/fhir.py): import stores nothing; the second-opinion package is
    # stateless like /api/assess, and per patient also for the family (a second opinion is theirs to seek).
    ("POST", "/api/fhir/import"): Rule(CLINICIAN, 200),
    ("POST", "/api/fhir/second-opinion"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("GET", "/api/patients/{patient_id}/fhir/second-opinion"): Rule(CARE, 200),
    ("GET", "/api/users"): Rule(frozenset({"admin"}), 200),
    ("POST", "/api/users"): Rule(frozenset({"admin"}), 201),
    ("PATCH", "/api/users/{user_id}"): Rule(frozenset({"admin"}), 200),
    ("POST", "/api/users/{user_id}/deactivate"): Rule(frozenset({"admin"}), 200),
    ("POST", "/api/users/{user_id}/reactivate"): Rule(frozenset({"admin"}), 200),
    ("POST", "/api/users/{user_id}/reset-password"): Rule(frozenset({"admin"}), 200),
    ("DELETE", "/api/users/{user_id}/tokens"): Rule(frozenset({"admin"}), 200),
    ("GET", "/api/audit"): Rule(frozenset({"admin"}), 200),
    # The family report for API clients, added with the web UI (src/allpath/interfaces/web/routes/report.py).
    ("GET", "/api/patients/{patient_id}/report.html"): Rule(CARE, 200, optional=True),
    ("GET", "/api/patients/{patient_id}/report.pdf"): Rule(CARE, 200, optional=True),
    # Not under /api but part of the API: FastAPI's OAuth2 redirect page for the interactive docs.
    ("GET", "/docs/oauth2-redirect"): Rule(EVERYONE, 200),
}

# Query strings that make an allowed call succeed (the seeded record has no start date, weight or height).
QUERIES: dict[tuple[str, str], str] = {
    ("GET", "/api/patients/{patient_id}/roadmap.ics"): "?start=2026-01-05",
    ("GET", "/api/patients/{patient_id}/doses"): "?phase=induction&weight_kg=20&height_cm=110",
}

# Routes outside /api are the web pages (src/allpath/interfaces/web/, tested with the web app); they are
# left out here by prefix. Every /api route must have a line in EXPECTED.
API_PREFIX = "/api"


def app_routes(app: FastAPI) -> Iterator[tuple[str, str | None, set[str] | None]]:
    """(kind, path, methods) of every route, with included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI keeps included routes flat in app.routes
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    for route in contexts:
        original = getattr(route, "original_route", route)
        yield type(original).__name__, route.path, route.methods


def enumerated(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind, path, methods in app_routes(app):
        assert path is not None, f"a {kind} without a path"
        if not path.startswith(API_PREFIX) and (("GET", path) not in EXPECTED):
            continue  # a web page
        assert methods, f"{kind} {path}: a mount or websocket under {API_PREFIX} is not covered by this test"
        for method in methods:
            found.add((method, path))
    return found


def test_every_api_route_has_an_expectation(service: Service) -> None:
    routes = {(m, p) for m, p in enumerated(service.app) if m != "HEAD"}
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(key for key, rule in EXPECTED.items() if key not in routes and not rule.optional)
    assert not missing, f"routes without an expected allow/deny per role (add them to EXPECTED): {missing}"
    assert not stale, f"EXPECTED names routes the app does not have: {stale}"
    heads = {p for m, p in enumerated(service.app) if m == "HEAD"}
    assert all(("GET", p) in EXPECTED for p in heads)
    schema = service.client().get("/api/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in schema["paths"].items() for m in ops}
    assert documented <= routes, sorted(documented - routes)
    assert {(m, p) for m, p in routes if p.startswith(API_PREFIX)} - documented <= {
        ("GET", "/api/openapi.json"),
        ("GET", "/api/docs"),
    }


def _cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for (method, path), caller, auth in itertools.product(EXPECTED, CALLERS, ("token", "session")):
        if EXPECTED[(method, path)].optional and not _web_mounted():
            continue
        if caller == ANONYMOUS and auth == "session":
            continue
        cases.append((method, path, caller, auth))
        if method == "GET" and path in {"/api/openapi.json", "/api/docs", "/docs/oauth2-redirect"}:
            cases.append(("HEAD", path, caller, auth))
    return cases


def _web_mounted() -> bool:
    """Whether this checkout has the web UI (its API routes are in the matrix only then)."""
    from importlib.util import find_spec

    return find_spec("allpath.interfaces.web") is not None


def _request(service: Service, method: str, path: str, caller: str) -> tuple[str, dict[str, Any] | None]:
    """The concrete URL and a valid body for this route (fresh where a resource can be used only once)."""
    url = path.replace("{patient_id}", service.patient_id) + QUERIES.get((method, path), "")
    unique = uuid.uuid4().hex[:10]
    if "{user_id}" in path:  # a fresh account for each call (the confirmation: one waiting for Team A)
        account = service.new_account("researcher").id
        if path.endswith("/withdraw"):  # one Team A has granted, for its clinician to withdraw
            with service.sessions() as s, s.begin():
                researcher, team = s.get(t.User, account), s.get(t.User, service.users["clinician"])
                assert researcher is not None and team is not None and team.team_id is not None
                s.add(t.AccessGrant(user_id=account, team_id=team.team_id, how="colleague", granted_at=clock.now()))
        url = url.replace("{user_id}", str(account))
    if "{token_id}" in path:  # a fresh token of the caller (a made-up id for an anonymous caller)
        url = url.replace("{token_id}", str(_fresh_token(service, caller)))
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/session"): {
            "username": {"clinician": "clin", ANONYMOUS: "clin"}.get(caller, caller),
            "password": PASSWORDS[caller if caller != ANONYMOUS else "clinician"],
        },
        ("POST", "/api/tokens"): {"name": "matrix"},
        ("PUT", "/api/me/password"): {
            "current_password": PASSWORDS.get(caller, "x"),
            "new_password": PASSWORDS.get(caller, "x"),  # the same again: later cases still sign in with it
        },
        ("POST", "/api/activate"): _activation(service) if (method, path) == ("POST", "/api/activate") else {},
        ("PATCH", "/api/users/{user_id}"): {"role": "admin"},
        ("POST", "/api/invitations/accept"): {
            "code": service.invitation() if (method, path) == ("POST", "/api/invitations/accept") else "",
            "username": f"fam-{unique}",
            "display_name": "A family",
            "password": "a-long-password",
        },
        ("POST", "/api/patients"): {"display_name": "Matrix child", "record": complete_b_all()},
        ("PUT", "/api/patients/{patient_id}"): {"record": complete_b_all(weight_kg=21.0)},
        ("POST", "/api/assess"): complete_b_all(),
        ("POST", "/api/roadmap"): {"record": complete_b_all(), "start": "2026-01-05"},
        ("POST", "/api/doses"): {"record": complete_b_all(weight_kg=20.0, height_cm=110.0), "phase": "induction"},
        ("POST", "/api/survivorship"): {"record": complete_b_all()},
        ("POST", "/api/trials/search"): {"record": complete_b_all()},
        ("POST", "/api/fhir/import"): record_to_bundle(complete_b_all()),
        ("POST", "/api/fhir/second-opinion"): complete_b_all(),
        ("POST", "/api/users"): {
            "username": f"user-{unique}",
            "display_name": "New user",
            "role": "researcher",
        },
    }
    return url, bodies.get((method, path))


def _fresh_token(service: Service, caller: str) -> int:
    if caller == ANONYMOUS:
        return 1
    with service.sessions() as s, s.begin():
        user = s.get(t.User, service.users[caller])
        assert user is not None
        return signin_store.issue_api_token(s, user, "matrix", 1)[1].id


def _activation(service: Service) -> dict[str, str]:
    account = service.new_account("researcher", activated=False)
    return {"username": account.username, "code": account.code, "password": "a pass phrase of my own"}


@pytest.mark.parametrize(("method", "path", "caller", "auth"), _cases())
def test_role_matrix(module_service: Service, method: str, path: str, caller: str, auth: str) -> None:
    service = module_service  # shared by the cases: each call only adds data or uses fresh resources
    rule = EXPECTED[("GET" if method == "HEAD" else method, path)]
    url, body = _request(service, method, path, caller)
    headers: dict[str, str] = {}
    client: TestClient
    if caller == ANONYMOUS:
        client = service.client()
    elif auth == "token":
        client, headers = service.client(), service.bearer(caller)
    else:
        client, csrf = service.sign_in(caller)
        headers = {"X-CSRF-Token": csrf}
    response = client.request(method, url, json=body, headers=headers)
    if caller in rule.allowed:
        assert response.status_code == rule.status, f"{caller} {method} {url}: {response.status_code} {response.text}"
    else:
        expected = 401 if caller == ANONYMOUS else 403
        assert response.status_code == expected, f"{caller} {method} {url}: {response.status_code} {response.text}"


def test_a_family_account_sees_no_other_child(service: Service) -> None:
    """The family is allowed on the patient routes only for its own child; any other id is unknown (404)."""
    client, auth = service.client(), service.bearer("family")
    for (method, path), rule in EXPECTED.items():
        if "{patient_id}" not in path or "family" not in rule.allowed:
            continue
        url = path.replace("{patient_id}", service.other_team_patient_id) + QUERIES.get((method, path), "")
        assert client.request(method, url, headers=auth).status_code == 404, url


# ---- escalation paths: nothing an administrator does reaches patient data ----------------------------------
#
# The administrator plays the person: uses the activation code it was shown, chooses the password, signs in
# and tries every route that reads (or writes) patient data, with a known patient id of each team.

PATIENT_ROUTES = sorted(
    (method, path)
    for (method, path), rule in EXPECTED.items()
    if method == "GET" and "{patient_id}" in path and rule.allowed & CARE
)


def _as_admin(service: Service, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = service.client().request(method, url, json=body, headers=service.bearer("admin"))
    assert response.status_code in (200, 201), f"{method} {url}: {response.status_code} {response.text}"
    answer: dict[str, Any] = response.json()
    return answer


def _play_the_person(service: Service, username: str, code: str) -> TestClient:
    """Activate the account with the code the admin was shown, and sign in as it."""
    password = "the admin chose this one"
    client = service.client()
    activated = client.post("/api/activate", json={"username": username, "code": code, "password": password})
    assert activated.status_code == 200, activated.text
    signed_in = client.post("/api/session", json={"username": username, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    client.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
    return client


def _sees_no_patient_data(service: Service, client: TestClient) -> None:
    """0 patient data: every read of a patient (both teams) and of the cohort refused, nothing of them shown."""
    answers = [client.get("/api/patients"), client.get("/api/export/deidentified")]
    for method, path in PATIENT_ROUTES:
        for patient_id in (service.patient_id, service.other_team_patient_id):
            answers.append(
                client.request(method, path.replace("{patient_id}", patient_id) + QUERIES.get((method, path), ""))
            )
    answers.append(client.post("/api/patients", json={"display_name": "Planted", "record": complete_b_all()}))
    for response in answers:
        assert response.status_code in (403, 404), f"{response.request.url}: {response.status_code}"
        for secret in (service.patient_id, service.other_team_patient_id, "Child of Team", '"A-1"', '"B-1"'):
            assert secret not in response.text, f"{response.request.url} shows {secret}"
    assert client.get("/api/me").json()["data_access"] is False


def test_an_admin_creating_a_clinician_in_a_team_with_patients_reads_nothing(service: Service) -> None:
    body = {"username": "mole", "display_name": "Mole", "role": "clinician", "team": "Team A"}
    created = _as_admin(service, "POST", "/api/users", body)
    _sees_no_patient_data(service, _play_the_person(service, "mole", created["activation"]["activation_code"]))


def test_an_admin_creating_a_researcher_exports_nothing(service: Service) -> None:
    body = {"username": "mole.r", "display_name": "Mole", "role": "researcher"}
    created = _as_admin(service, "POST", "/api/users", body)
    _sees_no_patient_data(service, _play_the_person(service, "mole.r", created["activation"]["activation_code"]))


def test_an_admin_moving_its_own_first_clinician_of_an_empty_team_reads_nothing(service: Service) -> None:
    body = {"username": "mole.z", "display_name": "Mole", "role": "clinician", "team": "Empty team Z"}
    created = _as_admin(service, "POST", "/api/users", body)
    client = _play_the_person(service, "mole.z", created["activation"]["activation_code"])
    assert client.get("/api/me").json()["data_access"] is True  # its own empty team: nothing to see
    assert client.get("/api/patients").json() == []
    # It can share only its own (empty) team with a researcher the admin also holds.
    researcher = _as_admin(
        service, "POST", "/api/users", {"username": "mole.rz", "display_name": "M", "role": "researcher"}
    )
    research = _play_the_person(service, "mole.rz", researcher["activation"]["activation_code"])
    assert client.post(f"/api/team/members/{researcher['user']['id']}/confirm").status_code == 200
    assert research.get("/api/export/deidentified").json() == []
    for team in ("Team A", "Team B"):  # editing: a move to a team with patients drops the access
        _as_admin(service, "PATCH", f"/api/users/{created['user']['id']}", {"team": team})
        _sees_no_patient_data(service, client)
    _as_admin(service, "PATCH", f"/api/users/{researcher['user']['id']}", {"role": "clinician", "team": "Team A"})
    _sees_no_patient_data(service, research)


@pytest.mark.parametrize("role", ["clinician", "family", "researcher"])
def test_an_admin_resetting_a_password_reads_nothing(service: Service, role: str) -> None:
    user_id = service.users[role]
    username = {"clinician": "clin"}.get(role, role)
    reset = _as_admin(service, "POST", f"/api/users/{user_id}/reset-password")
    _sees_no_patient_data(service, _play_the_person(service, username, reset["activation_code"]))


def test_an_admin_reactivating_an_account_reads_nothing(service: Service) -> None:
    """An account the admin once activated, confirmed by the team, then deactivated: re-activating it does not
    bring its access back."""
    account = service.new_account("clinician", "Team A")
    colleague = service.client()
    confirmed = colleague.post(f"/api/team/members/{account.id}/confirm", headers=service.bearer("clinician"))
    assert confirmed.status_code == 200
    _as_admin(service, "POST", f"/api/users/{account.id}/deactivate")
    _as_admin(service, "POST", f"/api/users/{account.id}/reactivate")
    client = service.client()
    signed_in = client.post("/api/session", json={"username": account.username, "password": account.password})
    assert signed_in.status_code == 200
    _sees_no_patient_data(service, client)


def test_an_unconfirmed_account_is_refused_like_any_account_without_access(service: Service) -> None:
    """403 or 404 as for others, and the refusal audited as such."""
    body = {"username": "mole.q", "display_name": "Mole", "role": "clinician", "team": "Team A"}
    created = _as_admin(service, "POST", "/api/users", body)
    client = _play_the_person(service, "mole.q", created["activation"]["activation_code"])
    assert client.get(f"/api/patients/{service.patient_id}").status_code == 403
    entry = service.audit()[-1]
    assert (entry.user_id, entry.outcome) == (created["user"]["id"], "unconfirmed")
