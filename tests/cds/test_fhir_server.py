"""``fhirServer`` must be one of the FHIR servers configured for the calling issuer (an exact base-URL match,
https unless the issuer allows http): anything else is refused before any request leaves allpath, so a trusted
CDS client cannot make allpath call a server of its choosing (server-side request forgery)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.interfaces.cds.auth import Authenticator
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import load_settings
from tests.cds.conftest import (
    BASE,
    FHIR_SERVER,
    FHIR_TOKEN,
    ISSUER,
    Keys,
    call,
    ehr_resources,
    hook_request,
    of_type,
    searchset,
    settings_for,
    trusted,
)
from tests.conftest import EXAMPLES

SERVICE = "allpath-patient-view"
AUTHORIZATION = {
    "access_token": FHIR_TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "user/Patient.read user/Observation.read",
    "subject": "allpath",
}


class FhirServer:
    """Any FHIR server: the patient's data for every search, and a record of every request."""

    def __init__(self) -> None:
        record = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
        self.resources = ehr_resources(record)
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        kind = request.url.path.rsplit("/", 2)[-2 if "/Patient/" in request.url.path else -1]
        if kind == "Patient":
            return httpx.Response(200, json=of_type(self.resources, "Patient")[0])
        return httpx.Response(200, json=searchset(of_type(self.resources, kind)))


@pytest.fixture
def server(app: FastAPI, client: TestClient) -> Iterator[FhirServer]:
    fake = FhirServer()
    app.state.cds_fhir_transport = httpx.MockTransport(fake.handle)
    yield fake


def _body(fhir_server: Any) -> dict[str, Any]:
    return hook_request("patient-view", {}) | {"fhirServer": fhir_server, "fhirAuthorization": AUTHORIZATION}


def _refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert words in response.json()["issue"][0]["details"]["text"]


def test_the_allowlisted_server_is_read(client: TestClient, keys: Keys, server: FhirServer) -> None:
    for spelling in (
        FHIR_SERVER,
        FHIR_SERVER + "/",
        "HTTPS://EHR.example.org/fhir",
        "https://ehr.example.org:443/fhir",
    ):
        server.requests.clear()
        response = call(client, keys, SERVICE, _body(spelling))
        assert response.status_code == 200, (spelling, response.text)
        assert server.requests and all(str(r.url).startswith(FHIR_SERVER + "/") for r in server.requests)


@pytest.mark.parametrize(
    "outside",
    [
        "https://evil.example/fhir",
        "https://ehr.example.org/fhir2",
        "https://ehr.example.org/fhir/admin",
        "https://ehr.example.org/",
        "https://ehr.example.org",
        "https://ehr.example.org:8443/fhir",
        "https://ehr.example.org.evil.example/fhir",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/fhir",
        "https://127.0.0.1:5432/fhir",
    ],
)
def test_a_server_outside_the_allowlist_is_refused_and_never_contacted(
    client: TestClient, keys: Keys, server: FhirServer, outside: str
) -> None:
    response = call(client, keys, SERVICE, _body(outside))
    _refused(response, 403, "fhirServer is not a FHIR server this CDS client may name")
    assert "did not contact it" in response.text
    assert server.requests == []


def test_http_is_refused_unless_the_issuer_allows_it(
    tmp_path: Path, kb: KnowledgeBase, keys: Keys, client: TestClient, server: FhirServer
) -> None:
    plain = "http://ehr.example.org/fhir"
    _refused(call(client, keys, SERVICE, _body(plain)), 400, "fhirServer must be an https URL")
    assert server.requests == []
    app = create_app(settings_for(tmp_path, trusted(keys, fhir_servers=[plain], allow_http=True)), kb=kb)
    try:
        app.state.cds_fhir_transport = httpx.MockTransport(server.handle)
        with TestClient(app, base_url=BASE) as local:
            assert call(local, keys, SERVICE, _body(plain)).status_code == 200
            assert server.requests and all(str(r.url).startswith(plain + "/") for r in server.requests)
    finally:
        app.state.engine.dispose()


def test_an_issuer_without_fhir_servers_may_name_none(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, {ISSUER: keys.jwks()}), kb=kb)  # the JWK Set alone, as before
    fake = FhirServer()
    try:
        app.state.cds_fhir_transport = httpx.MockTransport(fake.handle)
        with TestClient(app, base_url=BASE) as client:
            _refused(call(client, keys, SERVICE, _body(FHIR_SERVER)), 403, "may name")
            assert fake.requests == []
            # prefetch alone still works
            body = hook_request("patient-view", {}, {"patient": of_type(fake.resources, "Patient")[0]})
            assert call(client, keys, SERVICE, body).status_code == 412  # conditions, observations missing
    finally:
        app.state.engine.dispose()


def test_page_links_stay_under_the_base_path(client: TestClient, keys: Keys, server: FhirServer) -> None:
    """A prefetched page's next link is followed only on the allowlisted server, under its base path."""
    for link in (
        "https://ehr.example.org/other/Observation?page=2",
        "https://ehr.example.org/fhir/../admin/Observation",
        "https://ehr.example.org/fhir/./../x",
        "https://ehr.example.org:8443/fhir/Observation?page=2",
        "http://ehr.example.org/fhir/Observation?page=2",
        "https://u:p@ehr.example.org/fhir/Observation?page=2",
        "https://ehr.example.org/fhir/ Observation",
    ):
        server.requests.clear()
        page = searchset([]) | {"link": [{"relation": "next", "url": link}]}
        body = _body(FHIR_SERVER) | {"prefetch": {"observations": page}}
        assert call(client, keys, SERVICE, body).status_code == 200
        urls = [str(r.url) for r in server.requests]
        assert all(url.startswith(FHIR_SERVER + "/") and "/../" not in url for url in urls), (link, urls)
        assert any(u.startswith(f"{FHIR_SERVER}/Observation?patient=1288992&code=") for u in urls)  # read again


def test_fhir_server_answers_are_capped_and_must_be_json(
    client: TestClient, keys: Keys, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allpath.interfaces.cds import data

    monkeypatch.setattr(data, "MAX_PAGE_BYTES", 1000)
    answers = {
        "large": httpx.Response(200, content=b'{"resourceType": "Bundle", "entry": [' + b" " * 2000 + b"]}"),
        "nan": httpx.Response(200, content=b'{"resourceType": "Patient", "x": NaN}'),
        "html": httpx.Response(200, content=b"<html>login</html>"),
        "redirect": httpx.Response(302, headers={"Location": "https://evil.example/"}),
    }
    for name, answer in answers.items():
        app.state.cds_fhir_transport = httpx.MockTransport(lambda request, answer=answer: answer)
        response = call(client, keys, SERVICE, _body(FHIR_SERVER))
        assert response.status_code == 412, name  # the required keys could not be read
        text = response.json()["issue"][0]["details"]["text"]
        expected = {"large": "larger than", "nan": "did not answer with JSON", "html": "did not answer with JSON"}
        assert expected.get(name, "answered 302") in text, (name, text)


def test_issuer_configuration_is_checked(keys: Keys) -> None:
    jwks = keys.jwks()
    good = {ISSUER: jwks | {"fhir_servers": [FHIR_SERVER], "jku_hosts": ["ehr.example.org"]}}
    settings = load_settings({"ALLPATH_CDS_TRUSTED_ISSUERS": json.dumps(good)})
    issuer = Authenticator(settings.cds_trusted_issuers).issuers[ISSUER]
    assert issuer.fhir_servers == {FHIR_SERVER} and issuer.jku_hosts == {"ehr.example.org"}
    assert set(issuer.keys) == {"ehr-ec", "ehr-rsa"}
    # keys may come from jku alone
    assert Authenticator({ISSUER: {"jku_hosts": ["ehr.example.org"]}}).issuers[ISSUER].keys == {}
    bad: list[tuple[Any, str]] = [
        (jwks | {"fhir_server": [FHIR_SERVER]}, "unknown setting fhir_server"),
        (jwks | {"fhir_servers": FHIR_SERVER}, "fhir_servers must be a list"),
        (jwks | {"fhir_servers": ["http://ehr.example.org/fhir"]}, "must be an https URL"),
        (jwks | {"fhir_servers": ["https://u:p@ehr.example.org/fhir"]}, "user name or password"),
        (jwks | {"fhir_servers": ["file:///etc"]}, "must be an https URL"),
        (jwks | {"allow_http": "yes"}, "allow_http must be true or false"),
        (jwks | {"jku_hosts": ["https://ehr.example.org/jwks"]}, "jku_hosts must be a list of host names"),
        (jwks | {"jku_hosts": "ehr.example.org"}, "jku_hosts must be a list"),
        ({"fhir_servers": [FHIR_SERVER]}, "expected a JWK Set"),
        ("keys", "expected a JWK Set"),
    ]
    for config, words in bad:
        with pytest.raises(ValueError, match="ALLPATH_CDS_TRUSTED_ISSUERS") as error:
            Authenticator({ISSUER: config})
        assert words in str(error.value), (config, str(error.value))
    http = Authenticator({ISSUER: jwks | {"fhir_servers": ["http://localhost:8080/fhir"], "allow_http": True}})
    assert http.issuers[ISSUER].fhir_servers == {"http://localhost:8080/fhir"}
