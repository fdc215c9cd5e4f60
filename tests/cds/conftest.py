"""Fixtures for the CDS Hooks tests: an EHR's signing keys (made here with ``cryptography``), the app trusting
them, JWTs as the specification describes them, and patient data as an EHR would send it (prefetch)."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from allpath.interfaces.app import create_app
from allpath.interfaces.cds.services import ORDER_SIGN, PATIENT_VIEW, SERVICES
from allpath.interfaces.fhir import record_to_bundle
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import Settings
from allpath.storage import audit as audit_store
from allpath.storage import tables as t
from tests.cds.spec import assert_valid

ISSUER = "https://ehr.example.org/"
BASE = "http://testserver"
PATIENT_ID = "1288992"
FHIR_SERVER = "https://ehr.example.org/fhir"
FHIR_TOKEN = "opaque-fhir-access-token"


@dataclass(frozen=True)
class Keys:
    ec: EllipticCurvePrivateKey
    rsa: RSAPrivateKey
    other: EllipticCurvePrivateKey  # a key the service does not know

    def jwks(self) -> dict[str, Any]:
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        return {
            "keys": [
                {**ec_jwk, "kid": "ehr-ec", "alg": "ES384", "use": "sig"},
                {**rsa_jwk, "kid": "ehr-rsa", "alg": "RS384", "use": "sig"},
            ]
        }


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        ec=ec.generate_private_key(ec.SECP384R1()),
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        other=ec.generate_private_key(ec.SECP384R1()),
    )


def settings_for(folder: Path, trusted: dict[str, Any], **cds: Any) -> Settings:
    """Settings of a test app: SQLite in ``folder``, ``trusted`` issuers, the service's public URL ``BASE``
    (``cds`` overrides it and sets the other ``cds_*`` settings)."""
    values: dict[str, Any] = {"cds_base_url": BASE} | {f"cds_{name}": value for name, value in cds.items()}
    return Settings(
        database_url=f"sqlite:///{folder / 'allpath.db'}",
        data_dir=folder,
        session_hours=12.0,
        secure_cookies=False,
        cds_trusted_issuers=trusted,
        **values,
    )


def trusted(keys: Keys, **config: Any) -> dict[str, Any]:
    """The test EHR as the one trusted issuer: its JWK Set, its FHIR server (``config`` adds or overrides)."""
    return {ISSUER: {**keys.jwks(), "fhir_servers": [FHIR_SERVER], **config}}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, keys: Keys) -> Iterator[FastAPI]:
    application = create_app(settings_for(tmp_path_factory.mktemp("cds"), trusted(keys)), kb=kb)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    app.state.cds_fhir_transport = None
    app.state.cds_jwks_transport = None
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client
    app.state.cds_fhir_transport = None
    app.state.cds_jwks_transport = None


def make_token(keys: Keys, audience: str | list[str], *, kid: str = "ehr-ec", **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "tenant": "tenant-1",
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    key = keys.rsa if kid == "ehr-rsa" else keys.ec
    algorithm = "RS384" if kid == "ehr-rsa" else "ES384"
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})


def bearer(keys: Keys, path: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(keys, BASE + path, **claims)}"}


def call(client: TestClient, keys: Keys, service: str, body: dict[str, Any]) -> httpx.Response:
    path = f"/cds-services/{service}"
    # starlette's TestClient is typed against httpx2, which is not installed: its methods are Any to mypy
    response: httpx.Response = client.post(path, json=body, headers=bearer(keys, path))
    return response


def cards_of(client: TestClient, keys: Keys, service: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a hook call with a valid JWT; the response must be 200 and follow the specification."""
    response = call(client, keys, service, body)
    assert response.status_code == 200, response.text
    return assert_valid(response.json())


def audit(app: FastAPI) -> list[t.AuditEntry]:
    with app.state.sessions() as s:
        return list(reversed(audit_store.entries(s, 10_000)))


# ---- patient data as an EHR sends it ---------------------------------------------------------------------


def ehr_resources(record: dict[str, Any], patient_id: str = PATIENT_ID) -> list[dict[str, Any]]:
    """The resources of a record as an EHR's FHIR server holds them: with ids, and subjects ``Patient/<id>``."""
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle(record)))  # as the EHR reads it
    patient_url = bundle["entry"][0]["fullUrl"]
    out = []
    for index, entry in enumerate(bundle["entry"]):
        resource = copy.deepcopy(entry["resource"])
        if resource["resourceType"] == "Patient":
            resource["id"] = patient_id
        else:
            resource["id"] = f"{patient_id}-{index}"
            if resource.get("subject", {}).get("reference") == patient_url:
                resource["subject"] = {"reference": f"Patient/{patient_id}"}
        out.append(resource)
    return out


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


def of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == kind]


def search_answer(template: str, resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a FHIR server answers a prefetch template (a read, or a search by resource type and ``code``)."""
    path, _, query = template.partition("?")
    if not query:
        kind = path.split("/")[0]
        found = of_type(resources, kind)
        return found[0] if found else None
    parameters = dict(part.split("=", 1) for part in query.split("&"))
    codes = set(parameters["code"].split(",")) if "code" in parameters else None
    chosen = [
        r
        for r in of_type(resources, path)
        if codes is None or any(f"{x['system']}|{x['code']}" in codes for x in r.get("code", {}).get("coding", []))
    ]
    return searchset(chosen)


def prefetch_for(service: str, record: dict[str, Any], patient_id: str = PATIENT_ID) -> dict[str, Any]:
    """Every prefetch key of ``service`` answered from the record's resources, as the CDS client would."""
    resources = ehr_resources(record, patient_id)
    return {key: search_answer(template, resources) for key, template in SERVICES[service].prefetch.items()}


def patient_view_prefetch(record: dict[str, Any], patient_id: str = PATIENT_ID) -> dict[str, Any]:
    return prefetch_for(PATIENT_VIEW, record, patient_id) | {"medications": searchset([])}


def order_prefetch(record: dict[str, Any], patient_id: str = PATIENT_ID) -> dict[str, Any]:
    return prefetch_for(ORDER_SIGN, record, patient_id)


def hook_request(hook: str, context: dict[str, Any], prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID, **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def medication_request(
    text: str,
    value: float,
    unit: str = "mg",
    *,
    rxnorm: str | None = None,
    order_id: str = "draft-1",
    frequency: int | None = 1,
    period_unit: str = "d",
) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if rxnorm:
        concept["coding"] = [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm, "display": text}]
    dosage: dict[str, Any] = {
        "text": f"{value} {unit}",
        "doseAndRate": [
            {"doseQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}
        ],
    }
    if frequency is not None:
        dosage["timing"] = {"repeat": {"frequency": frequency, "period": 1, "periodUnit": period_unit}}
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "dosageInstruction": [dosage],
    }


def draft_orders(*orders: dict[str, Any]) -> dict[str, Any]:
    return {"draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in orders]}}
