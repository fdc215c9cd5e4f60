"""A JWT is used once across every server process on the database (``allpath serve --workers 2``, or several
servers on one PostgreSQL): two app instances over one database stand for two workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allpath.interfaces.app import create_app
from allpath.interfaces.cds.auth import Authenticator, CdsAuthError
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import tables as t
from tests.cds.conftest import BASE, Keys, draft_orders, hook_request, make_token, settings_for, trusted

SERVICE = "/cds-services/allpath-order-sign"
BODY = hook_request("order-sign", draft_orders())
FEEDBACK = {
    "feedback": [
        {
            "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
            "outcome": "overridden",
            "outcomeTimestamp": "2020-12-11T00:00:00Z",
        }
    ]
}


@pytest.fixture
def workers(tmp_path: Path, kb: KnowledgeBase, keys: Keys) -> Iterator[tuple[TestClient, TestClient]]:
    apps = [create_app(settings_for(tmp_path, trusted(keys)), kb=kb) for _ in range(2)]
    try:
        with TestClient(apps[0], base_url=BASE) as one, TestClient(apps[1], base_url=BASE) as other:
            yield one, other
    finally:
        for app in apps:
            app.state.engine.dispose()


def _refused_as_replay(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert "already used" in response.json()["issue"][0]["details"]["text"]


def test_a_token_accepted_by_one_worker_is_refused_by_another(
    workers: tuple[TestClient, TestClient], keys: Keys
) -> None:
    one, other = workers
    token = {"Authorization": f"Bearer {make_token(keys, BASE + SERVICE)}"}
    assert one.post(SERVICE, json=BODY, headers=token).status_code == 200
    _refused_as_replay(other.post(SERVICE, json=BODY, headers=token))
    _refused_as_replay(one.post(SERVICE, json=BODY, headers=token))  # and by the same worker, as before
    feedback = SERVICE + "/feedback"
    token = {"Authorization": f"Bearer {make_token(keys, BASE + feedback)}"}
    assert other.post(feedback, json=FEEDBACK, headers=token).status_code == 200
    _refused_as_replay(one.post(feedback, json=FEEDBACK, headers=token))


def test_a_token_is_used_up_even_when_its_call_is_refused_after_it(
    workers: tuple[TestClient, TestClient], keys: Keys
) -> None:
    one, other = workers
    token = {"Authorization": f"Bearer {make_token(keys, BASE + SERVICE)}"}
    assert one.post(SERVICE, json={"hook": "order-sign"}, headers=token).status_code == 400  # no context
    _refused_as_replay(other.post(SERVICE, json=BODY, headers=token))


def test_the_database_keeps_digests_only(workers: tuple[TestClient, TestClient], keys: Keys) -> None:
    one, _ = workers
    token = make_token(keys, BASE + SERVICE, jti="a-recognisable-jti")
    assert one.post(SERVICE, json=BODY, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    app: FastAPI = one.app  # type: ignore[assignment]
    with app.state.sessions() as s:
        rows = s.execute(select(t.CdsTokenUse)).scalars().all()
        assert s.scalar(select(func.count()).select_from(t.CdsTokenUse)) == 1
    assert "recognisable" not in rows[0].jti_hash and "ehr.example" not in rows[0].issuer_hash


def test_the_process_memory_is_asked_first_and_the_database_after_it(keys: Keys) -> None:
    """A replay to the same process is refused without the database; every other token is recorded there."""
    asked: list[str] = []
    elsewhere = {"used-by-another-worker"}

    def first_use(issuer: str, jti: str, expires: float) -> bool:
        asked.append(jti)
        return jti not in elsewhere

    authenticator = Authenticator(trusted(keys))
    url = BASE + SERVICE

    def verify(jti: str) -> None:
        authenticator.verify(f"Bearer {make_token(keys, url, jti=jti)}", [url], first_use=first_use)

    verify("fresh")
    with pytest.raises(CdsAuthError, match="already used"):
        verify("fresh")
    with pytest.raises(CdsAuthError, match="already used"):
        verify("used-by-another-worker")
    assert asked == ["fresh", "used-by-another-worker"]
