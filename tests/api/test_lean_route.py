"""``POST /api/assess`` dispatched without FastAPI's dependency machinery (``LeanRoute``, issue 11).

A JSON object sent as ``application/json`` runs the route's own dependency and endpoint directly; every other
request is FastAPI's, answered as before. Both give the same answers, in the same order, audited alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.utils import solve_dependencies
from fastapi.routing import APIRoute

from allpath.interfaces.http.unit_of_work import admitting
from tests.api.conftest import Service

RECORD = {"age_years": 5, "wbc_per_ul": 12000, "immunophenotype": "B", "sex": "female"}
CHARSET = {"content-type": "application/json; charset=utf-8"}  # JSON all the same, but FastAPI's path


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The requests that went through FastAPI's ``solve_dependencies``."""
    calls: list[object] = []

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("request"))
        return await solve_dependencies(*args, **kwargs)

    monkeypatch.setattr("fastapi.routing.solve_dependencies", counting)  # the name FastAPI's handler calls
    yield calls


def _outcome(service: Service) -> tuple[str, str, str]:
    entry = service.audit()[-1]
    return entry.action, entry.outcome, entry.detail


def test_an_ordinary_assessment_skips_the_dependency_machinery(service: Service, solved: list[object]) -> None:
    client = service.client()
    lean = client.post("/api/assess", json=RECORD, headers=service.bearer("clinician"))
    assert lean.status_code == 200, lean.text
    assert solved == []  # the route's dependency and endpoint called directly
    assert _outcome(service) == ("assess", "ok", "stateless")
    headers = {**service.bearer("clinician"), **CHARSET}
    general = client.post("/api/assess", content=lean.request.content, headers=headers)
    assert general.status_code == 200 and len(solved) == 1  # another content type: FastAPI's own handler
    assert general.json() == lean.json()  # the same answer either way
    assert general.headers["cache-control"] == lean.headers["cache-control"] == "no-store"


def test_other_requests_are_answered_by_fastapi_as_before(service: Service, solved: list[object]) -> None:
    client = service.client()
    json_type = {"content-type": "application/json"}
    # Not JSON: FastAPI's 422 before any sign-in (nothing audited), as without the lean path.
    before = len(service.audit())
    malformed = client.post("/api/assess", content=b"{not json", headers=json_type)
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["type"] == "json_invalid"
    assert len(service.audit()) == before
    empty = client.post("/api/assess", content=b"", headers={**json_type, **service.bearer("clinician")})
    assert empty.status_code == 422 and empty.json()["detail"][0]["type"] == "missing"
    # A JSON value that is no object: the caller first (401, audited), then the body's 422.
    nobody = client.post("/api/assess", json=[1, 2])
    assert nobody.status_code == 401 and _outcome(service) == ("access", "unauthenticated", "POST /api/assess")
    shapeless = client.post("/api/assess", json="text", headers=service.bearer("clinician"))
    assert shapeless.status_code == 422 and shapeless.json()["detail"][0]["loc"] == ["body"]
    assert len(solved) == 3  # each of them FastAPI's (the malformed body refused before its dependencies)


def test_refusals_on_the_lean_path_are_audited(service: Service, solved: list[object]) -> None:
    client = service.client()
    nobody = client.post("/api/assess", json=RECORD)
    assert nobody.status_code == 401 and _outcome(service) == ("access", "unauthenticated", "POST /api/assess")
    family = client.post("/api/assess", json=RECORD, headers=service.bearer("family"))
    assert family.status_code == 403 and _outcome(service) == ("access", "forbidden", "POST /api/assess")
    wrong = client.post("/api/assess", json=RECORD, headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and _outcome(service) == ("access", "invalid_token", "POST /api/assess")
    assert solved == []


def test_an_overridden_dependency_is_fastapis(service: Service, solved: list[object]) -> None:
    route = next(r for r in service.app.router.routes if isinstance(r, APIRoute) and r.path == "/api/assess")
    dependency = route.dependant.dependencies[0].call
    assert dependency is not None
    service.app.dependency_overrides[dependency] = admitting("clinician", "researcher", "family")
    try:
        answer = service.client().post("/api/assess", json=RECORD, headers=service.bearer("family"))
    finally:
        service.app.dependency_overrides.clear()
    assert answer.status_code == 200 and len(solved) == 1  # the override honoured: FastAPI resolved it
