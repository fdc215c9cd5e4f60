"""The request guard: body limits before any work, per route and configurable; the last-resort 500.

The guard is tested on its own (a stand-in application that records what reached it) and in the service
(``create_app``), at each limit and one byte past it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from allpath.interfaces.cds import CdsCors
from allpath.interfaces.http.guard import RequestGuard, body_limit
from allpath.settings import BodyLimits, load_settings
from tests.api.conftest import Service
from tests.conftest import SENTINEL_ID, SENTINEL_NAME
from tests.coroutines import run_coroutine

LIMITS = BodyLimits(default=4096, account=1024, fhir=8192)


@dataclass
class Exchange:
    """What one request through the guard did: the answer, and what the application and the client saw."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    app_called: bool = False
    app_body: bytes = b""
    chunks_read: int = 0


class Recorder:
    """A stand-in application: reads the whole body and answers 200 (or raises ``error``)."""

    def __init__(self, exchange: Exchange, error: Exception | None = None, after_start: bool = False) -> None:
        self.exchange, self.error, self.after_start = exchange, error, after_start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.exchange.app_called = True
        more = True
        while more:
            message = await receive()
            self.exchange.app_body += message.get("body", b"")
            more = message.get("more_body", False)
        if self.error is not None and not self.after_start:
            raise self.error
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if self.error is not None:
            raise self.error
        await send({"type": "http.response.body", "body": b"ok"})


def exchange(
    path: str,
    chunks: list[bytes],
    headers: dict[str, str] | None = None,
    *,
    error: Exception | None = None,
    after_start: bool = False,
    method: str = "POST",
) -> Exchange:
    result = Exchange()
    guard = RequestGuard(Recorder(result, error, after_start), LIMITS)
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    pending = list(chunks)

    async def receive() -> Message:
        result.chunks_read += 1
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            assert result.status == 0, "a second answer"
            result.status = message["status"]
            result.headers = dict(message.get("headers", []))
        else:
            result.body += message.get("body", b"")

    run_coroutine(guard(scope, receive, send))
    return result


def sized(n: int) -> dict[str, str]:
    return {"content-length": str(n), "content-type": "application/json"}


CHUNKED = {"transfer-encoding": "chunked", "content-type": "application/json"}


# ---- the limit of each route ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/session", "account"),
        ("/api/tokens", "account"),
        ("/api/users", "account"),
        ("/api/users/7/deactivate", "account"),
        ("/api/invitations/accept", "account"),
        ("/signin", "account"),
        ("/join", "account"),
        ("/admin/users/new", "account"),
        ("/api/fhir/import", "fhir"),
        ("/patients/import", "fhir"),
        ("/cds-services/allpath-patient-view", "fhir"),
        ("/api/patients", "default"),
        ("/api/assess", "default"),
        ("/api/fhir/second-opinion", "default"),
        ("/patients/new", "default"),
        ("/api/sessionx", "default"),  # a prefix matches whole path segments only
    ],
)
def test_each_route_has_its_limit(path: str, kind: str) -> None:
    assert body_limit(LIMITS, path) == getattr(LIMITS, kind)


def test_the_limits_are_read_from_the_environment_and_checked() -> None:
    limits = load_settings(
        {
            "ALLPATH_MAX_BODY_BYTES": "65536",
            "ALLPATH_MAX_ACCOUNT_BODY_BYTES": "2048",
            "ALLPATH_MAX_FHIR_BODY_BYTES": "1048576",
        }
    ).body_limits
    assert limits == BodyLimits(default=65536, account=2048, fhir=1048576)
    assert load_settings({}).body_limits == BodyLimits()
    for name in ("ALLPATH_MAX_BODY_BYTES", "ALLPATH_MAX_ACCOUNT_BODY_BYTES", "ALLPATH_MAX_FHIR_BODY_BYTES"):
        for bad in ("lots", "-5", "1023", "1e6", str(1024**3 + 1)):
            with pytest.raises(ValueError, match=name):
                load_settings({name: bad})
        assert load_settings({name: "1024"}) and load_settings({name: str(1024**3)})


# ---- declared length -----------------------------------------------------------------------------------


def test_a_declared_length_at_the_limit_reaches_the_application() -> None:
    body = b"x" * LIMITS.account
    result = exchange("/api/session", [body], sized(len(body)))
    assert result.status == 200 and result.app_called and result.app_body == body


def test_a_declared_length_one_past_the_limit_is_refused_before_reading_a_byte() -> None:
    result = exchange("/api/session", [b"x" * 10], sized(LIMITS.account + 1))
    assert result.status == 413
    assert result.chunks_read == 0 and not result.app_called
    assert result.headers[b"connection"] == b"close"
    assert result.headers[b"content-type"] == b"application/json"
    assert json.loads(result.body) == {"detail": "the request body is too large: this endpoint accepts at most 1 KB"}


def test_a_length_that_is_not_a_number_is_refused() -> None:
    for declared in ("ten", "-1", "1e3"):
        result = exchange("/api/assess", [b"{}"], {"content-length": declared})
        assert result.status == 400 and not result.app_called, declared


# ---- bytes actually read (chunked, or more than declared) ----------------------------------------------


def test_a_chunked_body_at_the_limit_reaches_the_application_whole() -> None:
    chunks = [b"y" * 1024] * 4
    result = exchange("/api/patients", chunks, CHUNKED)
    assert result.status == 200 and result.app_body == b"".join(chunks)


def test_a_chunked_body_one_byte_past_the_limit_is_refused_and_reading_stops() -> None:
    chunks = [b"y" * 1024] * 4 + [b"y"] + [b"z" * 1024] * 1000  # a 1 MB upload behind the extra byte
    result = exchange("/api/patients", chunks, CHUNKED)
    assert result.status == 413 and not result.app_called
    assert result.chunks_read == 5  # nothing after the chunk that passed the limit
    assert result.headers[b"connection"] == b"close"


def test_more_bytes_than_declared_are_counted_too() -> None:
    result = exchange("/api/session", [b"x" * 1000, b"x" * 1000], sized(10))
    assert result.status == 413 and not result.app_called


def test_a_request_without_a_body_is_passed_on_untouched() -> None:
    result = exchange("/api/health", [], {}, method="GET")
    assert result.status == 200 and result.chunks_read == 1  # read by the application, not the guard


def test_a_client_that_leaves_before_its_body_gets_no_answer_and_the_application_nothing() -> None:
    gone = exchange("/api/patients", [], {"content-length": "100"})  # the server says "disconnect" at once
    assert gone.status == 0 and not gone.app_called


def test_the_web_app_gets_a_page_and_the_api_json() -> None:
    page = exchange("/patients/new", [b"x"], {"content-length": str(LIMITS.default + 1)})
    assert page.status == 413 and page.headers[b"content-type"].startswith(b"text/html")
    assert b"Too large" in page.body and b"4 KB" in page.body
    api = exchange("/cds-services/x", [b"x"], {"content-length": str(LIMITS.fhir + 1)})
    assert api.status == 413 and json.loads(api.body)["detail"].endswith("at most 8 KB")


# ---- the last resort: an unhandled error --------------------------------------------------------------


def test_an_unhandled_error_is_a_generic_500_logged_by_type_and_route_only(caplog: pytest.LogCaptureFixture) -> None:
    secret = f"record {SENTINEL_ID} of {SENTINEL_NAME}"
    with caplog.at_level(logging.DEBUG):
        result = exchange("/api/assess", [b"{}"], sized(2), error=ValueError(secret))
        page = exchange("/patients/new", [b"{}"], sized(2), error=KeyError(secret))
    assert result.status == 500
    assert json.loads(result.body) == {
        "detail": "internal error: the request was not completed; nothing of it was saved"
    }
    assert page.status == 500 and page.headers[b"content-type"].startswith(b"text/html")
    assert [r.getMessage() for r in caplog.records if r.name == "allpath.http"] == [
        "unhandled builtins.ValueError in POST (no route); answered 500",
        "unhandled builtins.KeyError in POST (no route); answered 500",
    ]
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)  # no traceback either
    assert SENTINEL_ID not in caplog.text


def test_an_error_after_the_answer_began_is_logged_and_not_answered_twice(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        result = exchange("/api/assess", [b"{}"], sized(2), error=RuntimeError(SENTINEL_ID), after_start=True)
    assert result.status == 200  # the answer that had begun; no second one (``exchange`` checks)
    assert [r.getMessage() for r in caplog.records if r.name == "allpath.http"] == [
        "unhandled builtins.RuntimeError in POST (no route); answered 500"
    ]


# ---- in the service -----------------------------------------------------------------------------------


@pytest.fixture
def client(abuse_service: Service) -> Iterator[Any]:
    with abuse_service.client() as client:
        yield client


def test_the_guard_is_the_outermost_middleware(abuse_service: Service) -> None:
    # Only CORS on /cds-services is outside it (so the guard's refusals of a CDS call carry CORS headers); it
    # reads no body and passes every other path straight on (tests/cds/test_cors.py).
    outermost: list[Any] = [middleware.cls for middleware in abuse_service.app.user_middleware[:2]]
    assert outermost == [CdsCors, RequestGuard]


def test_sign_in_accepts_a_body_at_its_limit_and_refuses_one_byte_more(client: Any) -> None:
    limit = BodyLimits().account
    template = '{"username": "nobody", "password": "%s"}'
    at_limit = (template % ("p" * (limit - len(template) + 2))).encode()
    assert len(at_limit) == limit
    answered = client.post("/api/session", content=at_limit, headers={"content-type": "application/json"})
    assert answered.status_code == 422  # read and checked: the password is longer than a password may be
    refused = client.post("/api/session", content=at_limit + b" ", headers={"content-type": "application/json"})
    assert refused.status_code == 413
    assert refused.json() == {"detail": "the request body is too large: this endpoint accepts at most 16 KB"}


def test_a_record_body_past_the_default_limit_is_refused_before_authentication(abuse_service: Service) -> None:
    limit = BodyLimits().default
    body = json.dumps({"id": "x" * limit}).encode()
    anonymous = abuse_service.client().post("/api/assess", content=body, headers={"content-type": "application/json"})
    assert anonymous.status_code == 413  # not 401: nothing else happens for an oversized body
    chunked = abuse_service.client().post(
        "/api/assess", content=iter([body[:1000], body[1000:]]), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413


def test_a_fhir_upload_in_the_web_app_has_the_fhir_limit(abuse_service: Service) -> None:
    limit = BodyLimits().fhir
    response = abuse_service.client().post(
        "/patients/import", files={"bundle_file": ("big.json", b" " * limit, "application/json")}
    )
    assert response.status_code == 413 and "10 MB" in response.text
    assert response.headers["content-type"].startswith("text/html")
