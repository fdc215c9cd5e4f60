"""CORS on the CDS Hooks endpoints for browser-based CDS clients (CDS Hooks 2.0, "Cross-Origin Resource
Sharing", which refers to OWASP: chosen URLs only, trusted origins only), and nowhere else in the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import BodyLimits, load_settings
from tests.cds.conftest import BASE, Keys, bearer, draft_orders, hook_request, settings_for, trusted

SANDBOX = "https://sandbox.cds-hooks.org"
SERVICE = "/cds-services/allpath-order-sign"
PREFLIGHT = {
    "Origin": SANDBOX,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture(scope="module")
def cors_app(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, keys: Keys) -> Iterator[FastAPI]:
    folder = tmp_path_factory.mktemp("cors")
    application = create_app(settings_for(folder, trusted(keys), cors_origins=(SANDBOX,)), kb=kb)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def browser(cors_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(cors_app, base_url=BASE) as client:
        yield client


@pytest.mark.parametrize("path", ["/cds-services", SERVICE, SERVICE + "/feedback"])
def test_a_preflight_from_a_browser_client_succeeds(browser: TestClient, path: str) -> None:
    headers = PREFLIGHT if path != "/cds-services" else PREFLIGHT | {"Access-Control-Request-Method": "GET"}
    response = browser.options(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SANDBOX
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "access-control-allow-credentials" not in response.headers  # a JWT authorizes a call, never a cookie
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in response.headers.get("vary", "")


def test_the_calls_themselves_carry_the_cors_headers(browser: TestClient, keys: Keys) -> None:
    origin = {"Origin": SANDBOX}
    discovery = browser.get("/cds-services", headers=origin)
    assert discovery.status_code == 200
    assert discovery.headers["access-control-allow-origin"] == SANDBOX
    body = hook_request("order-sign", draft_orders())
    answered = browser.post(SERVICE, json=body, headers=origin | bearer(keys, SERVICE))
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == SANDBOX
    refused = browser.post(SERVICE, json=body, headers=origin)  # no token: the client can read why
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SANDBOX
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()


def test_an_origin_not_configured_gets_no_cors_headers(browser: TestClient) -> None:
    response = browser.options(SERVICE, headers=PREFLIGHT | {"Origin": "https://evil.example"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    response = browser.get("/cds-services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    other_header = PREFLIGHT | {"Access-Control-Request-Headers": "authorization, x-custom"}
    assert browser.options(SERVICE, headers=other_header).status_code == 400


@pytest.mark.parametrize("path", ["/api/health", "/api/session", "/api/patients", "/", "/sign-in"])
def test_the_rest_of_the_app_stays_same_origin(browser: TestClient, path: str) -> None:
    response = browser.options(path, headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers
    response = browser.get(path, headers={"Origin": SANDBOX})
    assert "access-control-allow-origin" not in response.headers


def test_without_configured_origins_there_is_no_cors(client: TestClient) -> None:
    response = client.options(SERVICE, headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in client.get("/cds-services", headers={"Origin": SANDBOX}).headers


def test_any_origin_when_configured_so(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, trusted(keys), cors_origins=("*",)), kb=kb)
    try:
        with TestClient(app, base_url=BASE) as client:
            response = client.options(SERVICE, headers=PREFLIGHT | {"Origin": "https://any.example"})
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
    finally:
        app.state.engine.dispose()


def test_cors_origins_from_the_environment(tmp_path: Path, kb: KnowledgeBase) -> None:
    settings = load_settings({"ALLPATH_CDS_CORS_ORIGINS": f" {SANDBOX}, http://localhost:3000 "})
    assert settings.cds_cors_origins == (SANDBOX, "http://localhost:3000")
    assert load_settings({}).cds_cors_origins == ()
    for bad in ("sandbox.cds-hooks.org", "https://sandbox.cds-hooks.org/app", "file:///x", "https://a b"):
        with pytest.raises(ValueError, match="ALLPATH_CDS_CORS_ORIGINS"):
            create_app(settings_for(tmp_path, {}, cors_origins=(bad,)), kb=kb)


def _refusals(browser: TestClient, keys: Keys, origin: str) -> list[Response]:
    """The guard's refusals of a CDS call (before any route runs): a body over the limit (413) and a body
    holding NaN (400)."""
    headers = {"Origin": origin, "Content-Type": "application/json"} | bearer(keys, SERVICE)
    too_large = b" " * (BodyLimits().fhir + 1)
    not_finite = b'{"hook": "order-sign", "context": {"dose": NaN}}'
    return [browser.post(SERVICE, content=body, headers=headers) for body in (too_large, not_finite)]


def test_the_guards_refusals_carry_the_cors_headers(browser: TestClient, keys: Keys) -> None:
    """A browser-based client reads why its call was refused, not an opaque CORS failure."""
    too_large, not_finite = _refusals(browser, keys, SANDBOX)
    assert too_large.status_code == 413 and not_finite.status_code == 400, (too_large.text, not_finite.text)
    assert "too large" in too_large.json()["detail"]
    assert not_finite.json()["resourceType"] == "OperationOutcome"
    for refused in (too_large, not_finite):
        assert refused.headers["access-control-allow-origin"] == SANDBOX
        assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()
        assert "Origin" in refused.headers["vary"]


def test_the_guards_refusals_carry_no_cors_headers_for_another_origin(browser: TestClient, keys: Keys) -> None:
    """No origin allowed: as for the service's own answers to that origin (starlette names the exposed header
    to any origin, which grants nothing without Access-Control-Allow-Origin)."""
    evil = "https://evil.example"
    unauthenticated = browser.post(SERVICE, json={}, headers={"Origin": evil})
    assert unauthenticated.status_code == 401
    expected = {name for name in unauthenticated.headers if name.startswith("access-control-")}
    assert "access-control-allow-origin" not in expected
    for refused in _refusals(browser, keys, evil):
        assert refused.status_code in (400, 413)
        assert {name for name in refused.headers if name.startswith("access-control-")} == expected
