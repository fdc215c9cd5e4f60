"""CDS clients authenticate with a JWT signed by their key (CDS Hooks 2.0, "Trusting CDS Clients"): every way
a token can be wrong is refused with 401 and an OperationOutcome."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.interfaces.cds import configuration_warnings
from allpath.interfaces.cds.auth import Authenticator, ReplayGuard
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import load_settings
from tests.cds.conftest import (
    BASE,
    ISSUER,
    Keys,
    audit,
    bearer,
    draft_orders,
    hook_request,
    make_token,
    settings_for,
    trusted,
)

SERVICE = "/cds-services/allpath-order-sign"
URL = BASE + SERVICE
BODY = hook_request("order-sign", draft_orders())


def _post(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post(SERVICE, json=BODY, headers=headers)


def _refused(client: TestClient, token: str | None, words: str) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = _post(client, headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert words in body["issue"][0]["details"]["text"]


def test_a_valid_token_is_accepted_with_either_key(client: TestClient, keys: Keys) -> None:
    for kid in ("ehr-ec", "ehr-rsa"):
        response = _post(client, {"Authorization": f"Bearer {make_token(keys, URL, kid=kid)}"})
        assert response.status_code == 200, response.text
        assert response.json() == {"cards": []}
    assert _post(client, {"Authorization": f"Bearer {make_token(keys, [URL, 'https://other'])}"}).status_code == 200


def test_missing_token(client: TestClient) -> None:
    _refused(client, None, "Authorization: Bearer <JWT>")
    response = client.post(SERVICE, json=BODY, headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


def test_not_a_jwt(client: TestClient) -> None:
    _refused(client, "not-a-jwt", "not a JWT")


def test_bad_signature(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    forged = jwt.encode(claims, keys.other, algorithm="ES384", headers={"kid": "ehr-ec"})
    _refused(client, forged, "signature does not verify")
    token = make_token(keys, URL)
    head, payload, signature = token.split(".")
    tampered = json.loads(jwt.utils.base64url_decode(payload)) | {"tenant": "another"}
    encoded = jwt.utils.base64url_encode(json.dumps(tampered).encode()).decode()
    _refused(client, f"{head}.{encoded}.{signature}", "signature does not verify")


def test_wrong_audience(client: TestClient, keys: Keys) -> None:
    _refused(client, make_token(keys, BASE + "/cds-services/allpath-patient-view"), "audience")
    _refused(client, make_token(keys, "https://cds.example.org" + SERVICE), "audience")


def test_expired(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    _refused(client, make_token(keys, URL, exp=now - 120, iat=now - 420), "expired")


def test_issued_in_the_future(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    _refused(client, make_token(keys, URL, iat=now + 600, exp=now + 900), "issued in the future")


def test_unknown_issuer(client: TestClient, keys: Keys) -> None:
    _refused(client, make_token(keys, URL, iss="https://stranger.example.com/"), "not a trusted CDS client")


def test_unknown_key_id(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, keys.ec, algorithm="ES384", headers={"kid": "rotated", "jku": "https://ehr/jwks"})
    _refused(client, token, "jku is not fetched")


def test_replayed_jti(client: TestClient, keys: Keys) -> None:
    token = make_token(keys, URL)
    assert _post(client, {"Authorization": f"Bearer {token}"}).status_code == 200
    _refused(client, token, "already used")
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    _refused(client, make_token(keys, URL, jti=jti), "already used")  # a new token with an old jti


@pytest.mark.parametrize("claim", ["exp", "iat", "jti", "iss", "aud"])
def test_required_claims(client: TestClient, keys: Keys, claim: str) -> None:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    del claims[claim]
    token = jwt.encode(claims, keys.ec, algorithm="ES384", headers={"kid": "ehr-ec"})
    _refused(client, token, "" if claim == "iss" else claim)


def test_symmetric_and_unsigned_tokens(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    hmac = jwt.encode(claims, "a-shared-secret-of-enough-length-32", algorithm="HS256", headers={"kid": "ehr-ec"})
    _refused(client, hmac, "not accepted")
    # alg "none" takes no key; PyJWT reads "" as none (its signature has no None)
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": "ehr-ec"})
    _refused(client, unsigned, "not accepted")
    # the EC key's JWK names ES384: an RSA signature under its kid is refused
    mixed = jwt.encode(claims, keys.rsa, algorithm="RS384", headers={"kid": "ehr-ec"})
    _refused(client, mixed, "does not match")


def test_feedback_and_services_need_a_token_discovery_does_not(client: TestClient) -> None:
    assert client.get("/cds-services").status_code == 200
    assert client.post("/cds-services/allpath-patient-view", json=BODY).status_code == 401
    feedback = {
        "feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]
    }
    assert client.post("/cds-services/allpath-patient-view/feedback", json=feedback).status_code == 401


def test_no_trusted_issuers_refuses_every_call(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, {}), kb=kb)
    try:
        with TestClient(app, base_url=BASE) as client:
            assert client.get("/cds-services").status_code == 200
            _refused(client, make_token(keys, URL), "no trusted CDS clients are configured")
    finally:
        app.state.engine.dispose()


def test_trusted_issuers_from_the_environment(keys: Keys) -> None:
    settings = load_settings({"ALLPATH_CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: keys.jwks()})})
    assert list(settings.cds_trusted_issuers) == [ISSUER]
    Authenticator(settings.cds_trusted_issuers)  # the keys load
    assert load_settings({}).cds_trusted_issuers == {}
    with pytest.raises(ValueError, match="not JSON"):
        load_settings({"ALLPATH_CDS_TRUSTED_ISSUERS": "{oops"})
    with pytest.raises(ValueError, match="mapping"):
        load_settings({"ALLPATH_CDS_TRUSTED_ISSUERS": "[1]"})
    private = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys.ec)) | {"kid": "k"}
    bad: list[Callable[[], Any]] = [
        lambda: Authenticator({ISSUER: {"keys": []}}),
        lambda: Authenticator({ISSUER: {"keys": [{"kty": "EC"}]}}),
        lambda: Authenticator({ISSUER: {"keys": [private]}}),
        lambda: Authenticator({ISSUER: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}}),
    ]
    for make in bad:
        with pytest.raises(ValueError, match="ALLPATH_CDS_TRUSTED_ISSUERS"):
            make()


def test_public_base_url_is_the_audience(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, {ISSUER: keys.jwks()}, base_url="https://allpath.example.org"), kb=kb)
    try:
        with TestClient(app, base_url=BASE) as client:
            public = "https://allpath.example.org" + SERVICE
            assert _post(client, {"Authorization": f"Bearer {make_token(keys, public)}"}).status_code == 200
            _refused(client, make_token(keys, URL), "audience")
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("host", ["evil.example", "allpath.example.org", "127.0.0.1:8000", "testserver"])
def test_a_token_for_another_audience_is_refused_whatever_the_host(
    tmp_path: Path, kb: KnowledgeBase, keys: Keys, host: str
) -> None:
    """The audience is the configured public URL; the Host header (which the caller writes) plays no part."""
    app = create_app(settings_for(tmp_path, trusted(keys), base_url="https://allpath.example.org"), kb=kb)
    try:
        with TestClient(app, base_url=f"https://{host}") as client:
            for audience in (f"https://{host}{SERVICE}", f"http://{host}{SERVICE}", "https://evil.example" + SERVICE):
                if audience.startswith("https://allpath.example.org"):
                    continue
                response = client.post(
                    SERVICE, json=BODY, headers={"Authorization": f"Bearer {make_token(keys, audience)}"}
                )
                assert response.status_code == 401, (host, audience)
                assert "audience" in response.json()["issue"][0]["details"]["text"]
            # the right audience is accepted whatever Host the request names
            good = make_token(keys, "https://allpath.example.org" + SERVICE)
            assert client.post(SERVICE, json=BODY, headers={"Authorization": f"Bearer {good}"}).status_code == 200
    finally:
        app.state.engine.dispose()


def test_without_a_base_url_the_calls_are_refused_with_503(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, trusted(keys), base_url=None), kb=kb)
    try:
        with TestClient(app, base_url=BASE) as client:
            assert client.get("/cds-services").status_code == 200  # discovery holds no patient data
            feedback = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-01-01"}]}
            for path, body in ((SERVICE, BODY), (SERVICE + "/feedback", feedback)):
                # a token for the Host the request names is no way around it
                headers = {"Authorization": f"Bearer {make_token(keys, BASE + path)}", "Host": "testserver"}
                response = client.post(path, json=body, headers=headers)
                assert response.status_code == 503, response.text
                text = response.json()["issue"][0]["details"]["text"]
                assert text == (
                    "the CDS service is not configured: ALLPATH_CDS_BASE_URL (this service's public URL, the JWT "
                    "audience) is not set"
                )
    finally:
        app.state.engine.dispose()


def test_serve_warns_when_issuers_are_trusted_without_a_base_url(keys: Keys) -> None:
    issuers = json.dumps(trusted(keys))
    warnings = configuration_warnings(load_settings({"ALLPATH_CDS_TRUSTED_ISSUERS": issuers}))
    assert len(warnings) == 1 and "ALLPATH_CDS_BASE_URL" in warnings[0] and "503" in warnings[0]
    configured = {"ALLPATH_CDS_TRUSTED_ISSUERS": issuers, "ALLPATH_CDS_BASE_URL": "https://allpath.example.org/"}
    assert configuration_warnings(load_settings(configured)) == []
    assert load_settings(configured).cds_base_url == "https://allpath.example.org"
    assert configuration_warnings(load_settings({})) == []  # CDS not enabled: nothing to say
    for bad in ("allpath.example.org", "ftp://allpath.example.org", "https://u:p@allpath.example.org", "https://a/?x"):
        with pytest.raises(ValueError, match="ALLPATH_CDS_BASE_URL"):
            configuration_warnings(load_settings(configured | {"ALLPATH_CDS_BASE_URL": bad}))


def _token_at(keys: Keys, *, iat: int, exp: int) -> str:
    return make_token(keys, URL, iat=iat, exp=exp)


def test_a_token_living_longer_than_five_minutes_is_refused(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    assert _post(client, {"Authorization": f"Bearer {_token_at(keys, iat=now, exp=now + 300)}"}).status_code == 200
    _refused(client, _token_at(keys, iat=now, exp=now + 301), "lives longer than 300 seconds")
    _refused(client, _token_at(keys, iat=now, exp=4102444800), "lives longer than 300 seconds")  # until 2100
    # an old iat does not make a long-lived token look short: the lifetime is exp - iat
    _refused(client, _token_at(keys, iat=now - 3600, exp=now + 60), "lives longer than 300 seconds")


def test_the_maximum_lifetime_is_configurable(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> None:
    app = create_app(settings_for(tmp_path, trusted(keys), max_token_lifetime_s=60), kb=kb)
    try:
        with TestClient(app, base_url=BASE) as client:
            now = int(time.time())
            assert (
                _post(client, {"Authorization": f"Bearer {_token_at(keys, iat=now, exp=now + 60)}"}).status_code == 200
            )
            _refused(client, _token_at(keys, iat=now, exp=now + 61), "lives longer than 60 seconds")
    finally:
        app.state.engine.dispose()
    assert load_settings({}).cds_max_token_lifetime_s == 300
    assert load_settings({"ALLPATH_CDS_MAX_TOKEN_LIFETIME_S": "120"}).cds_max_token_lifetime_s == 120
    for bad in ("0", "-5", "1.5", "five", "86401", "²"):
        with pytest.raises(ValueError, match="ALLPATH_CDS_MAX_TOKEN_LIFETIME_S"):
            load_settings({"ALLPATH_CDS_MAX_TOKEN_LIFETIME_S": bad})


def test_iat_in_the_future_beyond_the_leeway_is_refused(client: TestClient, keys: Keys) -> None:
    now = int(time.time())
    # within the 30 s allowed for clock skew
    assert _post(client, {"Authorization": f"Bearer {_token_at(keys, iat=now + 10, exp=now + 300)}"}).status_code == 200
    _refused(client, _token_at(keys, iat=now + 60, exp=now + 300), "issued in the future")


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("value", ["soon", True, None, [1], 1e400, float("nan"), float("-inf"), 10**40])
def test_times_that_are_not_numbers_are_refused(client: TestClient, keys: Keys, claim: str, value: Any) -> None:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": URL, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    claims[claim] = value
    token = jwt.encode(claims, keys.ec, algorithm="ES384", headers={"kid": "ehr-ec"})
    response = _post(client, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text


def test_replay_memory_is_bounded() -> None:
    now = [1000.0]
    guard = ReplayGuard(capacity=3, clock=lambda: now[0])
    assert guard.first_use("iss", "a", 2000) and not guard.first_use("iss", "a", 2000)
    assert guard.first_use("other-iss", "a", 2000)  # jti are per issuer
    for jti in "bcdef":
        assert guard.first_use("iss", jti, 1500 + ord(jti))
    assert len(guard) <= 3
    now[0] = 5000.0  # every entry has expired
    assert guard.first_use("iss", "g", 6000) and len(guard) == 1


def test_refused_calls_are_audited_without_the_request(client: TestClient, keys: Keys, app: FastAPI) -> None:
    """A call without a valid token (401) and a malformed call (400) each leave an audit entry naming the
    route and the outcome, never the request."""
    body = hook_request("patient-view", {"userId": "Practitioner/1", "patientId": "p-audited-77"})
    before = len(audit(app))
    assert client.post("/cds-services/allpath-patient-view", json=body).status_code == 401
    path = "/cds-services/allpath-patient-view"
    assert client.post(path, content=b"[1, 2", headers=bearer(keys, path)).status_code == 400
    entries = [(e.action, e.outcome, e.detail) for e in audit(app)[before:]]
    assert ("access", "unauthenticated", "POST /cds-services/{service_id}") in entries
    assert ("access", "refused_400", "POST /cds-services/{service_id}") in entries
    assert "p-audited-77" not in " ".join(f"{e.resource_id} {e.detail}" for e in audit(app))
