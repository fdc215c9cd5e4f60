"""When the store of used JWTs fails, a CDS call is refused fail-safe: 503 with Retry-After, an OperationOutcome
and the CDS CORS headers, no card; the refusal audited when the audit store answers, and answered all the same
when it does not; nothing of the request in the log (``allpath.interfaces.cds.routes``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from allpath.interfaces.app import create_app
from allpath.interfaces.cds.routes import RETRY_AFTER_S
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import audit as audit_store
from allpath.storage.db import session_factory
from tests.cds.conftest import (
    BASE,
    PATIENT_ID,
    Keys,
    audit,
    draft_orders,
    hook_request,
    make_token,
    medication_request,
    order_prefetch,
    settings_for,
    trusted,
)
from tests.conftest import complete_b_all

SANDBOX = "https://sandbox.cds-hooks.org"
SERVICE = "/cds-services/allpath-order-sign"
FEEDBACK = SERVICE + "/feedback"
JTI = "a-recognisable-jti-4711"


@pytest.fixture
def cds_app(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> Iterator[FastAPI]:
    application = create_app(settings_for(tmp_path, trusted(keys), cors_origins=(SANDBOX,)), kb=kb)
    yield application
    application.state.engine.dispose()


def _body() -> dict[str, Any]:
    order = medication_request("vincristine", 1.5, rxnorm="11202")
    return hook_request("order-sign", draft_orders(order), order_prefetch(complete_b_all()))


def _post(client: TestClient, keys: Keys, path: str, body: dict[str, Any]) -> Any:
    token = make_token(keys, BASE + path, jti=JTI)
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}", "Origin": SANDBOX})


def _refused_fail_safe(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["access-control-allow-origin"] == SANDBOX  # a browser client can read why
    body = response.json()
    assert "cards" not in body and body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "transient"
    assert "new token" in body["issue"][0]["details"]["text"]


def _nothing_of_the_request_logged(caplog: pytest.LogCaptureFixture, body: dict[str, Any]) -> None:
    assert "store of used JWTs failed (OperationalError)" in caplog.text
    for value in (JTI, PATIENT_ID, body["hookInstance"], "Bearer", "cds_token_uses", "vincristine"):
        assert value not in caplog.text


@pytest.mark.parametrize("path", [SERVICE, FEEDBACK])
def test_a_failed_token_store_is_a_503_without_cards_and_audited(
    cds_app: FastAPI, keys: Keys, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(cds_app, base_url=BASE) as client:
        with cds_app.state.engine.begin() as connection:  # the store breaks: its table is gone
            connection.execute(text("DROP TABLE cds_token_uses"))
        body = _body() if path == SERVICE else {"feedback": []}
        with caplog.at_level(logging.WARNING):
            response = _post(client, keys, path, body)
    _refused_fail_safe(response)
    refusals = [e for e in audit(cds_app) if e.action == "access"]
    assert [(e.outcome, e.detail) for e in refusals] == [
        ("unavailable_503", f"POST {path.replace('allpath-order-sign', '{service_id}')}")
    ]
    if path == SERVICE:
        _nothing_of_the_request_logged(caplog, body)
        assert not [e for e in audit(cds_app) if e.action == "cds_service"]  # no service call was made


def test_with_the_audit_store_down_too_the_503_is_answered(
    cds_app: FastAPI, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole database unreachable (a SQLite file that cannot be opened): the token store and the audit
    store fail together; the answer is still the 503, with a warning that names no part of the request."""
    down = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'allpath.db'}")
    try:
        with TestClient(cds_app, base_url=BASE, raise_server_exceptions=False) as client:
            working = cds_app.state.sessions
            cds_app.state.sessions = session_factory(down)
            body = _body()
            try:
                with caplog.at_level(logging.WARNING):
                    response = _post(client, keys, SERVICE, body)
            finally:
                cds_app.state.sessions = working
    finally:
        audit_store.close_writer(down)
        down.dispose()
    _refused_fail_safe(response)
    _nothing_of_the_request_logged(caplog, body)
    assert "could not be audited (OperationalError)" in caplog.text
