"""The request path of ``POST /api/assess`` made cheaper (issue 11) with every check still made, in order.

One dependency (``admitting``) checks the body's text, opens the session and admits the caller, ending the
work before the answer (``scope="function"``); the assessment is the application's own first route; ``Cache-Control:
no-store`` is added by the request guard itself. The refusals stay as they were: text that cannot be stored
before sign-in (422, nothing audited), then 401 / 403, each audited and stored before its answer.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.types import Message

import allpath.service
from allpath.interfaces.http import unit_of_work as kernel
from allpath.interfaces.http.guard import RequestGuard
from allpath.interfaces.http.unit_of_work import KeptSessions
from allpath.service.unit_of_work import UnitOfWork
from allpath.settings import load_settings
from allpath.storage import signin
from allpath.storage import tables as t
from tests.api.conftest import Service
from tests.coroutines import run_coroutine


def _assess_route(service: Service) -> APIRoute:
    for route in service.app.router.routes:  # a route of the application itself, not of an included router
        if isinstance(route, APIRoute) and route.path == "/api/assess":
            return route
    raise AssertionError("no POST /api/assess among the application's own routes")


def test_the_assessment_resolves_one_dependency_ended_before_the_answer(service: Service) -> None:
    dependencies = _assess_route(service).dependant.dependencies
    assert len(dependencies) == 1  # the body's text, the session and the caller: one dependency, not four
    assert dependencies[0].dependencies == []
    # A coroutine, not a generator (FastAPI's machinery for one cost more than the rest of the dependency):
    # the kernel route ends its work and stores it before the answer (test_unit_of_work, test_durability).
    assert inspect.iscoroutinefunction(dependencies[0].call)


def test_the_assessment_is_the_first_api_route_tried(service: Service) -> None:
    first = next(route for route in service.app.router.routes if getattr(route, "path", None) != "/api/openapi.json")
    # Tried before every included router, and matched as a route of the application (no inclusion machinery).
    assert first is _assess_route(service) and first.methods == {"POST"}


def _last_outcome(service: Service) -> tuple[str, str, str]:
    entry = service.audit()[-1]  # stored before the answer: the group writer's future was awaited
    return entry.action, entry.outcome, entry.detail


def test_refusals_of_the_assessment_are_made_in_order_and_audited(service: Service) -> None:
    client = service.client()
    json_type = {"content-type": "application/json"}
    before = len(service.audit())
    # Text that could not be stored is refused before anything else: no sign-in asked, nothing audited.
    unstorable = client.post("/api/assess", content='{"id": "\\ud800"}', headers=json_type)
    assert unstorable.status_code == 422 and unstorable.json()["detail"][0]["type"] == "string_unstorable"
    assert len(service.audit()) == before
    # Then the caller, before the body's shape: a list is not a record, but the 401 comes first, audited.
    nobody = client.post("/api/assess", json=[1, 2], headers=json_type)
    assert nobody.status_code == 401 and _last_outcome(service) == ("access", "unauthenticated", "POST /api/assess")
    wrong = client.post("/api/assess", json={}, headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and _last_outcome(service) == ("access", "invalid_token", "POST /api/assess")
    family = client.post("/api/assess", json={}, headers=service.bearer("family"))
    assert family.status_code == 403 and _last_outcome(service) == ("access", "forbidden", "POST /api/assess")
    browser, _csrf = service.sign_in("clinician")
    no_csrf = browser.post("/api/assess", json={})
    assert no_csrf.status_code == 403 and _last_outcome(service) == ("access", "csrf", "POST /api/assess")
    # An admitted caller with a body that is no record: the body's own 422, after admission.
    shapeless = client.post("/api/assess", json=[1, 2], headers=service.bearer("clinician"))
    assert shapeless.status_code == 422
    assert service.count(t.Patient) >= 1  # nothing written by any of them but audit entries


def test_an_admitted_assessment_is_answered_and_audited(service: Service) -> None:
    record = {"age_years": 5, "wbc_per_ul": 12000, "immunophenotype": "B", "sex": "female"}
    answer = service.client().post("/api/assess", json=record, headers=service.bearer("researcher"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert _last_outcome(service)[1] == "ok"


RECORD = {"age_years": 5, "wbc_per_ul": 12000, "immunophenotype": "B", "sex": "female"}


def test_a_kept_token_admits_the_assessment_without_a_transaction(service: Service) -> None:
    client = service.client()
    assert client.post("/api/assess", json=RECORD, headers=service.bearer("clinician")).status_code == 200  # kept
    begun: list[object] = []

    def _begun(*_args: object) -> None:
        begun.append(_args)

    event.listen(Session, "after_transaction_create", _begun)
    try:
        answer = client.post("/api/assess", json=RECORD, headers=service.bearer("clinician"))
    finally:
        event.remove(Session, "after_transaction_create", _begun)
    assert answer.status_code == 200, answer.text
    assert begun == []  # the account read from the token cache: no merge into a session, no transaction to end
    assert _last_outcome(service) == ("assess", "ok", "stateless")
    assert service.audit()[-1].user_id == service.users["clinician"]


def test_an_untouched_session_is_handed_to_the_next_assessment_and_a_used_one_closed(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = KeptSessions()
    monkeypatch.setattr(kernel, "_kept_sessions", kept)
    given: list[Session] = []
    real_take = kept.take

    def take(sessions: Any) -> Session:
        session = real_take(sessions)
        given.append(session)
        return session

    monkeypatch.setattr(kept, "take", take)
    ended: list[Session] = []

    def transaction_ended(session: Session, _transaction: object) -> None:
        ended.append(session)

    event.listen(Session, "after_transaction_end", transaction_ended)
    client = service.client()
    try:
        answers = [
            client.post("/api/assess", json=RECORD, headers=service.bearer("researcher")),  # looked up
            client.post("/api/assess", json=RECORD, headers=service.bearer("clinician")),  # looked up
            client.post("/api/assess", json=RECORD, headers=service.bearer("clinician")),  # kept: untouched
            client.post("/api/assess", json=RECORD, headers=service.bearer("clinician")),  # kept: untouched
            client.post("/api/assess", json=RECORD, headers=service.bearer("family")),  # looked up, refused
        ]
    finally:
        event.remove(Session, "after_transaction_end", transaction_ended)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 403]
    assert given[0] in ended and given[1] in ended  # their look-ups began a transaction: closed, not kept
    assert len({id(session) for session in given[:3]}) == 3
    assert given[3] is given[2]  # the kept token's untouched session served the next request
    assert given[4] is given[2] and ended[-1] is given[2]  # and the next, whose look-up used and ended it
    assert given[2] not in kept._kept[service.app.state.sessions]  # so it was closed, not kept again
    assert [entry.outcome for entry in service.audit()[-3:]] == ["ok", "ok", "forbidden"]  # audited as before


def test_kept_tokens_that_the_assessment_refuses_are_refused_and_audited(service: Service) -> None:
    client = service.client()
    waiting = service.new_account("researcher")  # no team has granted it data yet
    with service.sessions() as s, s.begin():
        user = s.get(t.User, waiting.id)
        assert user is not None
        unconfirmed = {"Authorization": f"Bearer {signin.create_api_token(s, user, 'tests')}"}
    for headers, outcome in (
        (service.bearer("family"), "forbidden"),
        (service.bearer("admin"), "forbidden"),
        (unconfirmed, "unconfirmed"),
    ):
        assert client.get("/api/me", headers=headers).status_code == 200  # looked up and kept
        refused = client.post("/api/assess", json=RECORD, headers=headers)
        assert refused.status_code == 403 and _last_outcome(service) == ("access", outcome, "POST /api/assess")


async def _answered(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    started: list[tuple[bytes, bytes]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.extend(message["headers"])

    guard = RequestGuard(app, load_settings({}).body_limits)
    await guard({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)
    return started


def test_the_guard_adds_no_store_except_to_static_assets_and_own_cache_headers() -> None:
    assert (b"cache-control", b"no-store") in run_coroutine(_answered("/api/assess", []))
    assert run_coroutine(_answered("/static/app.css", [])) == []
    own = [(b"Cache-Control", b"max-age=60")]
    assert run_coroutine(_answered("/api/x", own)) == own


def test_an_assessment_that_fails_keeps_its_audit_entry_as_failed(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(_kb: object, _record: object, work: UnitOfWork) -> None:
        work.audit("assess", "record", detail="stateless")
        raise RuntimeError("the engine failed")

    closed: list[Session] = []
    real_close = Session.close

    def close(s: Session) -> None:
        closed.append(s)
        real_close(s)

    monkeypatch.setattr(Session, "close", close)
    monkeypatch.setattr(allpath.service, "assess_record", failing)
    answer = service.client().post("/api/assess", json=RECORD, headers=service.bearer("clinician"))
    assert answer.status_code == 500
    assert _last_outcome(service) == ("assess", "failed", "stateless")  # rolled back, its entry kept
    assert closed  # the route ended the work and closed its session
