"""The shape of a CDS Hooks request (CDS Hooks 2.0, "HTTP Request"), checked before any of it is used.

A request that does not have the shape the specification gives it is refused with 400 and a message that
names the place (``prefetch.observations.entry[3]``) and what is allowed, but never quotes a value:

- the body is a JSON object (no NaN, Infinity or overflowing numbers; no NUL or unpaired surrogate in text);
- ``hook`` (REQUIRED) is the hook the called service answers; ``hookInstance`` (REQUIRED) is "a universally
  unique identifier (UUID) for this particular hook call" (the canonical 8-4-4-4-12 hexadecimal form);
- ``context`` (REQUIRED) is an object with the fields its hook requires (``hook_contexts.py``);
  ``context.draftOrders`` is a Bundle;
- no top-level field is ``null`` or empty ("JSON elements SHALL NOT be null ... SHALL NOT be empty, unless
  otherwise specified": a prefetch key may be ``null``, which the specification allows for "no data");
- ``prefetch`` is an object; each value is ``null`` (no data) or a FHIR resource (an object with a
  ``resourceType``): an OperationOutcome (the client's error), or what the key's template asks for (a
  Patient for ``Patient/{{context.patientId}}``, a Bundle for a search); a Bundle's ``entry`` and ``link``
  are lists of objects, and an entry's ``resource`` is a FHIR resource;
- ``fhirAuthorization`` ("Passing the Access Token") has ``access_token`` (a bearer token: RFC 6750
  characters), ``token_type`` Bearer, ``expires_in`` (an integer), ``scope`` and ``subject`` (strings), all
  REQUIRED, and optionally ``patient`` (a FHIR id); with it, ``fhirServer`` is REQUIRED;
- ``fhirServer`` is an https base URL (http only where the issuer's configuration allows it) that is one of
  the issuer's ``fhir_servers``: anything else is refused (400 when it is not such a URL, 403 when it is not
  allowed) and never contacted.

What lies deeper inside a resource is read defensively by the code that uses it, and resources go through
the FHIR importer, which validates them with the FHIR models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from allpath.interfaces.cds.config import Issuer, normalized_url, url_problem
from allpath.interfaces.cds.hook_contexts import FHIR_ID, context_problem
from allpath.interfaces.cds.remote import strict_json
from allpath.interfaces.http.deps import unstorable_text

MAX_ACCESS_TOKEN = 8192
_BEARER_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 b64token
_PLACE_LIMIT = 120
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OPTIONAL_FIELDS = ("fhirServer", "fhirAuthorization", "prefetch")


class RequestRefused(Exception):
    """The request cannot be served as sent: ``status`` (4xx), the OperationOutcome ``code`` and a message."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.code = code
        self.text = text


@dataclass(frozen=True)
class FhirAccess:
    """The CDS client's FHIR server (an allowlisted base URL, normalized) and its bearer token."""

    server: str
    token: str | None


def _invalid(place: str, problem: str) -> RequestRefused:
    if len(place) > _PLACE_LIMIT:
        place = place[: _PLACE_LIMIT - 1] + "…"
    return RequestRefused(400, "invalid", f"{place} {problem}")


def _place(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the body"


@dataclass(frozen=True)
class HookRequest:
    """A CDS Hooks request whose shape ``check_shape`` has checked (the body itself is kept for the parts read
    later: ``fhirServer`` and ``fhirAuthorization`` by ``fhir_access``)."""

    body: Mapping[str, object]
    context: Mapping[str, object]
    prefetch: Mapping[str, object]
    hook: str
    hook_instance: str

    @property
    def patient_id(self) -> str | None:
        value = self.context.get("patientId")
        return value if isinstance(value, str) else None


def parse_body(raw: bytes) -> dict[str, object]:
    """The request body as a JSON object; ``RequestRefused`` (400) otherwise."""
    if not raw.strip():
        raise RequestRefused(400, "required", "the request needs a JSON object body")
    try:
        body = strict_json(raw)
    except ValueError:
        raise RequestRefused(
            400, "invalid", "the request body is not JSON, or holds a number JSON cannot carry (NaN, Infinity, 1e400)"
        ) from None
    if not isinstance(body, dict):
        raise RequestRefused(400, "invalid", "the request body must be a JSON object")
    where = unstorable_text(body)
    if where is not None:
        raise _invalid(_place(where), "holds a NUL character or an unpaired surrogate")
    return body


def _resource_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return "must be a FHIR resource (a JSON object)"
    if not isinstance(value.get("resourceType"), str) or not value["resourceType"]:
        return "has no resourceType"
    return None


def _bundle_problem(value: Mapping[str, object], place: str) -> RequestRefused | None:
    """A Bundle whose entries or links are not objects, or whose entries hold no resource."""
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        return _invalid(f"{place}.entry", "must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return _invalid(f"{place}.entry[{index}]", "must be an object")
        if "resource" in entry:
            problem = _resource_problem(entry["resource"])
            if problem:
                return _invalid(f"{place}.entry[{index}].resource", problem)
        if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            return _invalid(f"{place}.entry[{index}].fullUrl", "must be a string")
    links = value.get("link", [])
    if not isinstance(links, list):
        return _invalid(f"{place}.link", "must be a list")
    for index, link in enumerate(links):
        if not isinstance(link, dict):
            return _invalid(f"{place}.link[{index}]", "must be an object")
        for name in ("relation", "url"):
            if name in link and not isinstance(link[name], str):
                return _invalid(f"{place}.link[{index}].{name}", "must be a string")
    return None


def _fhir_value(value: object, place: str, *, nullable: bool, expected: str | None = None) -> None:
    """A FHIR resource (or null, where allowed); ``expected``: the resource type it must be, besides an
    OperationOutcome (a CDS client's report of an error)."""
    if value is None and nullable:
        return
    problem = _resource_problem(value)
    if problem or not isinstance(value, dict):
        problem = problem or "must be a FHIR resource (a JSON object)"
        raise _invalid(place, problem + (" or null" if nullable and problem.startswith("must") else ""))
    kind = value["resourceType"]
    if expected is not None and kind not in (expected, "OperationOutcome"):
        raise _invalid(
            place, f"must be a {expected} (what its prefetch template asks for), an OperationOutcome or null"
        )
    if kind == "Bundle":
        refused = _bundle_problem(value, place)
        if refused is not None:
            raise refused


def template_type(template: str) -> str:
    """The resource type a prefetch template's answer has: the type it reads, or a Bundle for a search."""
    path = template.split("?", 1)[0]
    return "Bundle" if "?" in template or "/" not in path else path.split("/", 1)[0]


def _required_fields(body: Mapping[str, object], hook: str) -> tuple[str, str]:
    """``hook`` and ``hookInstance``, both REQUIRED ("HTTP Request"), and the top-level fields that must not
    be null or empty ("Use of JSON")."""
    given, instance = body.get("hook"), body.get("hookInstance")
    if not isinstance(given, str) or not given:
        raise RequestRefused(400, "required", f"hook is required: the hook that triggered the call ({hook})")
    if given != hook:
        raise RequestRefused(400, "invalid", f"hook must be {hook}: the hook this service answers")
    if not isinstance(instance, str) or not _UUID.match(instance):
        raise RequestRefused(
            400, "required", "hookInstance is required: a UUID for this hook call (8-4-4-4-12 hexadecimal digits)"
        )
    for name in _OPTIONAL_FIELDS:
        if name in body and body[name] in (None, "", {}, []):
            raise _invalid(name, "must not be null or empty: leave it out when there is nothing to send")
    return given, instance


def check_shape(body: Mapping[str, object], hook: str, templates: Mapping[str, str]) -> HookRequest:
    """The request to a service of ``hook`` whose prefetch templates are ``templates``, when it has the shape
    of a CDS Hooks request; ``RequestRefused`` (400) otherwise."""
    given, instance = _required_fields(body, hook)
    context = body.get("context")
    if not isinstance(context, dict) or not context:
        raise RequestRefused(400, "required", "context is required: an object with the hook's context fields")
    if isinstance(context.get("draftOrders"), dict | list):
        _fhir_value(context["draftOrders"], "context.draftOrders", nullable=False)
    problem = context_problem(hook, context)
    if problem:
        raise RequestRefused(400, "invalid", problem)
    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, dict):
        raise _invalid("prefetch", "must be an object (prefetch key -> FHIR resource or null)")
    for key, value in prefetch.items():
        expected = template_type(templates[key]) if key in templates else None
        _fhir_value(value, f"prefetch.{key}", nullable=True, expected=expected)
    _authorization(body)
    return HookRequest(body, context, prefetch, given, instance)


def _authorization(body: Mapping[str, object]) -> str | None:
    """The access token of ``fhirAuthorization`` (None when there is none), whose fields are those the
    specification requires ("Passing the Access Token to the CDS Service")."""
    value = body.get("fhirAuthorization")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("fhirAuthorization", "must be an object")
    token = value.get("access_token")
    if not isinstance(token, str) or not token:
        raise _invalid("fhirAuthorization.access_token", "must be a non-empty string")
    if len(token) > MAX_ACCESS_TOKEN or not _BEARER_TOKEN.match(token):
        raise _invalid("fhirAuthorization.access_token", "is not a bearer token")
    token_type = value.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":  # OAuth 2.0: compared without case
        raise _invalid("fhirAuthorization.token_type", "must be Bearer")
    expires = value.get("expires_in")
    if not isinstance(expires, int) or isinstance(expires, bool) or expires < 0:
        raise _invalid("fhirAuthorization.expires_in", "must be a number: the token's lifetime in whole seconds")
    for name in ("scope", "subject"):
        if not isinstance(value.get(name), str) or not value[name]:
            raise _invalid(f"fhirAuthorization.{name}", "is required: a non-empty string")
    if "patient" in value and not (isinstance(value["patient"], str) and FHIR_ID.match(value["patient"])):
        raise _invalid("fhirAuthorization.patient", "must be the FHIR id of a patient")
    if "fhirServer" not in body:
        raise RequestRefused(
            400, "required", "fhirServer is required with fhirAuthorization: the FHIR server the token is for"
        )
    return token


def fhir_access(body: Mapping[str, object], issuer: Issuer) -> FhirAccess | None:
    """The FHIR server the request names, when it is one the issuer may name; ``RequestRefused`` otherwise
    (400: not an acceptable URL; 403: not on the issuer's allowlist). Nothing is contacted here."""
    token = _authorization(body)
    server = body.get("fhirServer")
    if server is None:
        return None
    schemes = ("https", "http") if issuer.allow_http else ("https",)
    problem = url_problem(server, schemes)
    if problem or not isinstance(server, str):  # url_problem refuses every value that is not a string
        raise _invalid("fhirServer", problem or "must be a string")
    base = normalized_url(server)
    if base not in issuer.fhir_servers:
        raise RequestRefused(
            403,
            "forbidden",
            "fhirServer is not a FHIR server this CDS client may name (its fhir_servers in "
            "ALLPATH_CDS_TRUSTED_ISSUERS); allpath did not contact it",
        )
    return FhirAccess(base, token)
