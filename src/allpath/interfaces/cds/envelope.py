"""The shape of a CDS Hooks request (CDS Hooks 2.0, "HTTP Request"), checked before any of it is used.

A request that does not have the shape the specification gives it is refused with 400 and a message that
names the place (``prefetch.observations.entry[3]``) but never quotes a value:

- the body is a JSON object (no NaN, Infinity or overflowing numbers; no NUL or unpaired surrogate in text);
- ``hook`` and ``hookInstance`` are strings; ``context`` is an object; ``context.patientId`` a string;
  ``context.selections`` a list of strings; ``context.draftOrders`` a Bundle;
- ``prefetch`` is an object; each value is ``null`` (no data) or a FHIR resource (an object with a
  ``resourceType``); a Bundle's ``entry`` and ``link`` are lists of objects, and an entry's ``resource`` is a
  FHIR resource;
- ``fhirAuthorization`` is an object whose ``access_token`` is a bearer token (RFC 6750 characters);
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
from allpath.interfaces.cds.remote import strict_json
from allpath.interfaces.http.deps import unstorable_text

MAX_ACCESS_TOKEN = 8192
_BEARER_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")  # RFC 6750 b64token
_PLACE_LIMIT = 120


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
    hook: str | None
    hook_instance: str | None

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


def _fhir_value(value: object, place: str, *, nullable: bool) -> None:
    if value is None and nullable:
        return
    problem = _resource_problem(value)
    if problem or not isinstance(value, dict):
        problem = problem or "must be a FHIR resource (a JSON object)"
        raise _invalid(place, problem + (" or null" if nullable and problem.startswith("must") else ""))
    if value["resourceType"] == "Bundle":
        refused = _bundle_problem(value, place)
        if refused is not None:
            raise refused


def check_shape(body: Mapping[str, object]) -> HookRequest:
    """The request, when it has the shape of a CDS Hooks request; ``RequestRefused`` (400) otherwise."""
    hook, instance = body.get("hook"), body.get("hookInstance")
    for name, value in (("hook", hook), ("hookInstance", instance)):
        if name in body and not isinstance(value, str):
            raise _invalid(name, "must be a string")
    context = body.get("context")
    if not isinstance(context, dict):
        raise RequestRefused(400, "required", "the request needs a context object")
    if "patientId" in context and not isinstance(context["patientId"], str):
        raise _invalid("context.patientId", "must be a string")
    selections = context.get("selections")
    if selections is not None and (not isinstance(selections, list) or not all(isinstance(s, str) for s in selections)):
        raise _invalid("context.selections", "must be a list of strings")
    if "draftOrders" in context:
        _fhir_value(context["draftOrders"], "context.draftOrders", nullable=False)
    prefetch = body.get("prefetch")
    if prefetch is not None:
        if not isinstance(prefetch, dict):
            raise _invalid("prefetch", "must be an object (prefetch key -> FHIR resource or null)")
        for key, value in prefetch.items():
            _fhir_value(value, f"prefetch.{key}", nullable=True)
    return HookRequest(
        body,
        context,
        prefetch or {},
        hook if isinstance(hook, str) else None,
        instance if isinstance(instance, str) else None,
    )


def _authorization(value: object) -> str | None:
    """The access token of ``fhirAuthorization`` (None when there is none)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("fhirAuthorization", "must be an object")
    token = value.get("access_token")
    if not isinstance(token, str) or not token:
        raise _invalid("fhirAuthorization.access_token", "must be a non-empty string")
    if len(token) > MAX_ACCESS_TOKEN or not _BEARER_TOKEN.match(token):
        raise _invalid("fhirAuthorization.access_token", "is not a bearer token")
    token_type = value.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise _invalid("fhirAuthorization.token_type", "must be Bearer")
    expires = value.get("expires_in", 0)
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise _invalid("fhirAuthorization.expires_in", "must be a number")
    for name in ("scope", "subject"):
        if name in value and not isinstance(value[name], str):
            raise _invalid(f"fhirAuthorization.{name}", "must be a string")
    return token


def fhir_access(body: Mapping[str, object], issuer: Issuer) -> FhirAccess | None:
    """The FHIR server the request names, when it is one the issuer may name; ``RequestRefused`` otherwise
    (400: not an acceptable URL; 403: not on the issuer's allowlist). Nothing is contacted here."""
    token = _authorization(body.get("fhirAuthorization"))
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
