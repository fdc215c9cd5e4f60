"""The outermost layer of the service: limits before work, numbers JSON cannot carry, and no request in a log.

``RequestGuard`` is a pure ASGI middleware that sees every HTTP request before anything else does (before
the body is parsed, before authentication):

1. **Body size.** A body longer than its endpoint's limit (``Settings.body_limits``) is refused with 413 and
   the connection is closed: at once when the declared ``Content-Length`` is too large, and as soon as the
   bytes actually read pass the limit (chunked uploads, or a client that sends more than it declared). The
   application never sees such a request, so nothing is parsed, hashed or looked up for it.
2. **Numbers JSON cannot carry.** A JSON body holding ``NaN``, ``Infinity``, ``-Infinity`` or a number
   beyond the range of a 64-bit float (``1e309``) is refused with a 4xx naming the place
   (``allpath.interfaces.strict_json``), for every endpoint: the API, FHIR (``application/fhir+json``) and
   CDS Hooks alike.
3. **No copies.** Every answer but the static assets' carries ``Cache-Control: no-store`` (``nostore.py``).
4. **Unhandled errors.** An exception that reaches this layer is answered with a generic 500 (JSON, or a
   page for the web app) and logged as its type and the route template only: never its message, its
   arguments or the request, which may hold patient data. It is not re-raised, so neither Starlette nor the
   server logs a traceback either.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allpath.interfaces.http.nostore import cached_anywhere, no_store
from allpath.interfaces.strict_json import NotFiniteNumber, loads, might_hold_unfinite_numbers
from allpath.settings import BodyLimits

log = logging.getLogger("allpath.http")

# Endpoints that anyone may call before signing in, and the account forms: their bodies are a few short
# fields, so their limit is small. A path matches a prefix when it equals it or continues with "/".
ACCOUNT_PATHS = (
    "/api/session",
    "/api/tokens",
    "/api/users",
    "/api/me",
    "/api/account",
    "/api/invitations/accept",
    "/api/activate",
    "/signin",
    "/signout",
    "/join",
    "/activate",
    "/account",
    "/admin/users",
)
# FHIR Bundles and CDS Hooks calls (whose prefetch holds the patient's resources): the larger limit.
FHIR_PATHS = ("/api/fhir/import", "/patients/import", "/cds-services")
# A researcher's cohort file with its outcomes (``Settings.research``): the largest limit, on this page only.
RESEARCH_PATHS = ("/research/outcomes",)
# Paths answered in JSON; every other path belongs to the web app and gets a page.
JSON_PATHS = ("/api", "/cds-services")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Prefixes:
    """Paths equal to one of ``prefixes`` or under it (``/api/users`` and ``/api/users/7``, not ``/api/usersx``)."""

    def __init__(self, *prefixes: str) -> None:
        self.exact = frozenset(prefixes)
        self.under = tuple(prefix + "/" for prefix in prefixes)  # str.startswith takes them all in one call

    def match(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.under)


ACCOUNT = Prefixes(*ACCOUNT_PATHS)
FHIR = Prefixes(*FHIR_PATHS)
RESEARCH = Prefixes(*RESEARCH_PATHS)
JSON_ANSWERS = Prefixes(*JSON_PATHS)
CDS = Prefixes("/cds-services")


def body_limit(limits: BodyLimits, path: str) -> int:
    """The largest body, in bytes, that a request to ``path`` may carry."""
    if FHIR.match(path):
        return limits.fhir
    if RESEARCH.match(path):
        return limits.research
    if ACCOUNT.match(path):
        return limits.account
    return limits.default


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/patients/{patient_id}``), never the path with its values."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else "(no route)"


def log_unhandled(scope: Scope, error: BaseException) -> None:
    """Log an unhandled error by its type and route only: its message and arguments may quote the request."""
    kind = type(error)
    method = scope.get("method", "")
    method = method if method.isalpha() and len(method) <= 10 else "(method)"
    log.error(
        "unhandled %s.%s in %s %s; answered 500", kind.__module__, kind.__qualname__, method, route_template(scope)
    )


class RequestGuard:
    """Body limits, strict JSON numbers and the last-resort 500 (see the module docstring). The outermost
    middleware but for CDS Hooks' CORS, which reads no body and adds its headers to this layer's refusals of a
    ``/cds-services`` call (``create_app`` adds them so; a test checks)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        no_copies = not cached_anywhere(scope["path"])

        async def send_watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if no_copies:
                    message = no_store(message)  # nothing but the static assets kept anywhere (nostore.py)
            await send(message)

        try:
            await self._guarded(scope, receive, send_watched)
        except Exception as error:  # noqa: BLE001 - the last resort: anything not answered yet is a 500
            log_unhandled(scope, error)
            if not started:
                await _answer(send, 500, *_server_error(scope["path"]))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        declared = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers
        if declared is None and not chunked:
            await self.app(scope, receive, send)  # no body (HTTP/1.1 has none without either header)
            return
        path: str = scope["path"]
        limit = body_limit(self.limits, path)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if declared.isdigit():
                await _answer(send, 413, *_too_large(path, limit), close=True)
            else:
                await _answer(send, 400, *_bad_request(path, "the Content-Length header is not a number"), close=True)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client has gone: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, *_too_large(path, limit), close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        refusal = _unfinite_number(path, headers.get(b"content-type", b""), body)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        await self.app(scope, _replay(body, receive), send)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == b"content-length" and name in found and found[name] != value:
            found[name] = b"(conflicting)"  # two different lengths: not a number, refused below
        else:
            found[name] = value.strip()
    return found


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then whatever the server sends (a disconnect)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _unfinite_number(path: str, content_type: bytes, body: bytes) -> tuple[int, bytes, bytes] | None:
    """The answer refusing a JSON body with NaN, Infinity or an overflowing number; None for any other body.

    Forms are not JSON; a body that is not JSON at all is left to the endpoint, which says so in its own words.
    """
    media = content_type.split(b";", 1)[0].strip().lower().decode("latin-1")
    if media in FORM_TYPES or not might_hold_unfinite_numbers(body):
        return None
    try:
        loads(body)
    except NotFiniteNumber as refused:
        return _not_finite(path, refused)
    except (ValueError, RecursionError):
        return None  # not JSON (or not UTF-8 text): the endpoint's own parsing answers
    return None


# ---- the answers of this layer (short, fixed texts: nothing of the request is echoed) -------------------


def _json(path: str) -> bool:
    return JSON_ANSWERS.match(path)


def _page(title: str, text: str) -> bytes:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{title} - allpath</title></head><body><main><h1>{title}</h1><p>{text}</p>"
        '<p><a href="/">Back to allpath</a></p></main></body></html>\n'
    ).encode()


def _detail(text: str) -> tuple[bytes, bytes]:
    return json.dumps({"detail": text}).encode(), b"application/json"


def _too_large(path: str, limit: int) -> tuple[bytes, bytes]:
    most = _size(limit)
    if _json(path):
        return _detail(f"the request body is too large: this endpoint accepts at most {most}")
    text = f"What you sent is larger than this page accepts (at most {most}). Nothing was saved."
    return _page("Too large", text), b"text/html; charset=utf-8"


def _bad_request(path: str, text: str) -> tuple[bytes, bytes]:
    if _json(path):
        return _detail(text)
    return _page("Bad request", f"The request could not be read: {text}."), b"text/html; charset=utf-8"


def _server_error(path: str) -> tuple[bytes, bytes]:
    if _json(path):
        return _detail("internal error: the request was not completed; nothing of it was saved")
    text = "Something went wrong on our side and the request was not completed. Please try again."
    return _page("Something went wrong", text), b"text/html; charset=utf-8"


def _not_finite(path: str, refused: NotFiniteNumber) -> tuple[int, bytes, bytes]:
    if CDS.match(path):
        # CDS Hooks: a malformed request is 400, answered with an OperationOutcome like the CDS endpoints' own.
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "details": {"text": str(refused)}}],
        }
        return 400, json.dumps(outcome).encode(), b"application/fhir+json"
    # The shape of every other 422 of the API (ValidationErrorOut): where, what, and a type to match on.
    where = [part if isinstance(part, int) else shortened(part) for part in refused.path]
    problem = {"type": "number_not_finite", "loc": ["body", *where], "msg": str(refused)}
    return 422, json.dumps({"detail": [problem]}).encode(), b"application/json"


def shortened(text: str, most: int = 40) -> str:
    """A key or value quoted back in an error: at most ``most`` characters, and always valid UTF-8."""
    text = text if len(text) <= most else text[: most - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit:,} bytes"


async def _answer(send: Send, status: int, body: bytes, media_type: bytes, close: bool = False) -> None:
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if media_type.startswith(b"text/html"):
        headers.append((b"content-security-policy", b"default-src 'none'"))
    if close:
        # The rest of an oversized body is not read: the server closes the connection after this answer.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
