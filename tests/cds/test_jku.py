"""A JWT's ``jku`` (the URL of the CDS client's JWK Set) is followed only when the issuer's configuration lists
its host (``jku_hosts``), over https; the JWK Set is fetched with a short timeout and a size cap, and cached.
Any other ``jku`` is refused without a request (the tests' transport records every request)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.interfaces.cds.auth import JWKS_MAX_BYTES, Authenticator, CdsAuthError, JwksCache
from allpath.knowledge.loader import KnowledgeBase
from tests.cds.conftest import BASE, ISSUER, Keys, draft_orders, hook_request, settings_for

SERVICE = "/cds-services/allpath-order-sign"
URL = BASE + SERVICE
JKU = "https://ehr.example.org/.well-known/jwks.json"
BODY = hook_request("order-sign", draft_orders())


class KeyServer:
    """The EHR's JWK Set endpoint; remembers every request."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests: list[httpx.Request] = []
        self.answer: httpx.Response | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer if self.answer is not None else httpx.Response(200, json=self.jwks)


def _token(keys: Keys, jku: Any, kid: str = "ehr-ec", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | claims
    return jwt.encode(payload, keys.ec, algorithm="ES384", headers={"kid": kid, "jku": jku, "typ": "JWT"})


@pytest.fixture(scope="module")
def jku_app(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[FastAPI]:
    # no inline keys: this issuer's keys come from its jku only
    issuers = {ISSUER: {"jku_hosts": ["ehr.example.org"]}}
    application = create_app(settings_for(tmp_path_factory.mktemp("jku"), issuers, jwks_cache_s=60), kb=kb)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def key_server(jku_app: FastAPI, keys: Keys) -> Iterator[KeyServer]:
    server = KeyServer(keys.jwks())
    jku_app.state.cds_jwks_transport = httpx.MockTransport(server.handle)
    yield server
    jku_app.state.cds_jwks_transport = None


@pytest.fixture
def ehr(jku_app: FastAPI, key_server: KeyServer) -> Iterator[TestClient]:
    with TestClient(jku_app, base_url=BASE) as client:
        yield client


def _post(client: TestClient, token: str) -> Any:
    return client.post(SERVICE, json=BODY, headers={"Authorization": f"Bearer {token}"})


def _refused(client: TestClient, token: str, words: str) -> None:
    response = _post(client, token)
    assert response.status_code == 401, response.text
    assert words in response.json()["issue"][0]["details"]["text"]


def test_a_key_from_an_allowed_jku_is_fetched_once_and_cached(
    ehr: TestClient, key_server: KeyServer, keys: Keys
) -> None:
    jku = "https://ehr.example.org/jwks/cached.json"
    assert _post(ehr, _token(keys, jku)).status_code == 200
    assert [str(r.url) for r in key_server.requests] == [jku]
    assert key_server.requests[0].headers["accept"].startswith("application/jwk-set+json")
    for _ in range(3):
        assert _post(ehr, _token(keys, jku)).status_code == 200
    assert len(key_server.requests) == 1  # from the cache


@pytest.mark.parametrize(
    "jku",
    [
        "https://evil.example/jwks.json",
        "https://ehr.example.org.evil.example/jwks.json",
        "http://ehr.example.org/jwks.json",
        "https://ehr.example.org:8443/jwks.json",
        "https://user@ehr.example.org/jwks.json",
        "https://evil.example\\@ehr.example.org/jwks.json",
        "file:///etc/passwd",
        "https://ehr.example.org/jwks.json?x=1",
        "ehr.example.org/jwks.json",
        5,
        ["https://ehr.example.org/jwks.json"],
    ],
)
def test_a_jku_off_the_allowlist_is_refused_without_a_request(
    ehr: TestClient, key_server: KeyServer, keys: Keys, jku: Any
) -> None:
    _refused(ehr, _token(keys, jku), "it was not fetched")
    assert key_server.requests == []


def test_jku_is_not_followed_for_an_issuer_without_jku_hosts(client: TestClient, app: FastAPI, keys: Keys) -> None:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"keys": []})

    app.state.cds_jwks_transport = httpx.MockTransport(record)
    _refused(client, _token(keys, JKU, kid="rotated"), "jku is not fetched")
    assert requests == []
    # a kid configured inline is used as it is; the jku beside it is not fetched
    assert _post(client, _token(keys, JKU)).status_code == 200
    assert requests == []


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(404), "answered 404"),
        (httpx.Response(302, headers={"Location": "https://evil.example/jwks.json"}), "answered 302"),
        (httpx.Response(200, content=b"<html></html>"), "did not answer with JSON"),
        (httpx.Response(200, json={"keys": "none"}), "not a JWK Set"),
        (httpx.Response(200, json=[1, 2]), "not a JWK Set"),
        (httpx.Response(200, content=b'{"keys": []' + b" " * JWKS_MAX_BYTES + b"}"), "larger than 64 KiB"),
    ],
)
def test_a_jwk_set_that_cannot_be_read_is_refused(
    ehr: TestClient, key_server: KeyServer, keys: Keys, answer: httpx.Response, words: str
) -> None:
    key_server.answer = answer
    jku = f"https://ehr.example.org/jwks/{uuid.uuid4()}.json"  # not cached
    _refused(ehr, _token(keys, jku), words)
    assert [str(r.url) for r in key_server.requests] == [jku]  # no redirect followed


def test_only_public_signing_keys_of_the_fetched_set_are_used(
    ehr: TestClient, key_server: KeyServer, keys: Keys
) -> None:
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys.ec)) | {"kid": "ehr-ec"}
    encryption = keys.jwks()["keys"][0] | {"use": "enc"}
    for entry in (private, encryption, {"kty": "oct", "k": "c2VjcmV0", "kid": "ehr-ec"}):
        key_server.answer = httpx.Response(200, json={"keys": [entry]})
        _refused(ehr, _token(keys, f"https://ehr.example.org/{uuid.uuid4()}"), "kid) is not in the JWK Set")


def test_a_forged_signature_is_refused_with_a_fetched_key(ehr: TestClient, keys: Keys) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    forged = jwt.encode(claims, keys.other, algorithm="ES384", headers={"kid": "ehr-ec", "jku": JKU})
    _refused(ehr, forged, "signature does not verify")


def test_the_cache_expires_and_a_rotated_key_is_fetched_again(keys: Keys, tmp_path: Path) -> None:
    now = [1000.0]
    server = KeyServer({"keys": [keys.jwks()["keys"][1]]})  # only the RSA key at first
    transport = httpx.MockTransport(server.handle)
    cache = JwksCache(ttl_s=600, clock=lambda: now[0])
    with pytest.raises(CdsAuthError, match="not in the JWK Set"):
        cache.key(JKU, "ehr-ec", transport)
    assert len(server.requests) == 1
    server.jwks = keys.jwks()  # the EHR publishes its new key
    with pytest.raises(CdsAuthError):
        cache.key(JKU, "ehr-ec", transport)  # within 30 s of the last fetch: no new request
    assert len(server.requests) == 1
    now[0] += 31
    assert cache.key(JKU, "ehr-ec", transport) is not None  # a missing kid refetches after 30 s
    assert len(server.requests) == 2
    assert cache.key(JKU, "ehr-rsa", transport) is not None
    now[0] += 599
    cache.key(JKU, "ehr-ec", transport)
    assert len(server.requests) == 2  # still fresh at 599 s
    now[0] += 1
    cache.key(JKU, "ehr-ec", transport)
    assert len(server.requests) == 3  # 600 s: fetched again


def test_the_cache_time_is_configurable(keys: Keys) -> None:
    from allpath.settings import load_settings

    assert load_settings({}).cds_jwks_cache_s == 600
    assert load_settings({"ALLPATH_CDS_JWKS_CACHE_S": "30"}).cds_jwks_cache_s == 30
    with pytest.raises(ValueError, match="ALLPATH_CDS_JWKS_CACHE_S"):
        load_settings({"ALLPATH_CDS_JWKS_CACHE_S": "0"})
    authenticator = Authenticator({ISSUER: {"jku_hosts": ["ehr.example.org"]}}, jwks=JwksCache(ttl_s=30))
    assert authenticator.jwks.ttl_s == 30
