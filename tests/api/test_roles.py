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
    ("POST", "/api/tokens"): Rule(SIGNED_IN, 201),
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
    # FHIR (src/allpath/interfaces/api/routes/fhir.py): import stores nothing; the second-opinion package is
    # stateless like /api/assess, and per patient also for the family (a second opinion is theirs to seek).
    ("POST", "/api/fhir/import"): Rule(CLINICIAN, 200),
    ("POST", "/api/fhir/second-opinion"): Rule(frozenset({"clinician", "researcher"}), 200),
    ("GET", "/api/patients/{patient_id}/fhir/second-opinion"): Rule(CARE, 200),
    ("GET", "/api/users"): Rule(frozenset({"admin"}), 200),
    ("POST", "/api/users"): Rule(frozenset({"admin"}), 201),
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
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/session"): {
            "username": {"clinician": "clin", ANONYMOUS: "clin"}.get(caller, caller),
            "password": PASSWORDS[caller if caller != ANONYMOUS else "clinician"],
        },
        ("POST", "/api/tokens"): {"name": "matrix"},
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
        ("POST", "/api/fhir/import"): record_to_bundle(complete_b_all()),
        ("POST", "/api/fhir/second-opinion"): complete_b_all(),
        ("POST", "/api/users"): {
            "username": f"user-{unique}",
            "display_name": "New user",
            "password": "a-long-password",
            "role": "researcher",
        },
    }
    return url, bodies.get((method, path))


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
