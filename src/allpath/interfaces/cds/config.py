"""The CDS service's configuration: its own public base URL, the trusted CDS clients (issuers) with their keys
and allowlists, and the browser origins allowed by CORS. Checked once, when the app is built; a value that
cannot work is a ``ValueError`` naming the setting.

``ALLPATH_CDS_TRUSTED_ISSUERS`` maps each issuer (the JWT's ``iss``) to either its JWK Set (``{"keys": [...]}``,
as before) or an object with these keys:

- ``keys``: the issuer's public keys, inline (a JWK Set's ``keys`` list); optional when ``jku_hosts`` is given;
- ``fhir_servers``: the FHIR base URLs this client may send as ``fhirServer`` (https; exact match). Without it,
  a request that names a ``fhirServer`` is refused: allpath never calls a server the operator did not list;
- ``jku_hosts``: host names (optionally ``host:port``) from which the issuer's JWK Set may be fetched when a
  JWT names a ``jku`` (https only); without it, ``jku`` is never followed;
- ``allow_http``: ``true`` lets ``fhir_servers`` hold ``http://`` URLs (a local test server); never for ``jku``.

Nothing here reads the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK

from allpath.settings import Settings

SETTING = "ALLPATH_CDS_TRUSTED_ISSUERS"
MAX_URL_LENGTH = 2048
_ISSUER_KEYS = frozenset({"keys", "fhir_servers", "jku_hosts", "allow_http"})
# Printable ASCII without spaces: anything else in a URL is a mistake or an attack (a header split, a homograph).
_URL_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.\-]*[a-z0-9])?(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Key:
    """A public key of a CDS client."""

    jwk: PyJWK
    algorithm: str | None  # the key's own "alg", when its JWK names one


@dataclass(frozen=True)
class Issuer:
    """A trusted CDS client: its keys and what it may ask allpath to contact."""

    name: str
    keys: dict[str, Key] = field(default_factory=dict)  # kid -> key
    fhir_servers: frozenset[str] = frozenset()  # normalized base URLs (see ``normalized_url``)
    jku_hosts: frozenset[str] = frozenset()  # lower-case host or host:port
    allow_http: bool = False


def url_problem(value: object, schemes: tuple[str, ...]) -> str | None:
    """Why ``value`` is not an absolute base URL of one of ``schemes`` (None when it is one).

    Refused: not a string, longer than ``MAX_URL_LENGTH``, spaces or non-ASCII characters, another scheme
    (``file:``, ``ftp:``), no host, user name or password in it, a bad port, a query or a fragment."""
    if not isinstance(value, str) or not value:
        return "must be a URL (a non-empty string)"
    if len(value) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if not _URL_CHARACTERS.match(value) or "\\" in value:
        return "must be a plain URL (no spaces, backslashes or characters outside ASCII)"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return f"must be an {' or '.join(schemes)} URL"
    if "@" in parts.netloc:
        return "must not carry a user name or password"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has an invalid port"
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "must not have a query or fragment"
    return None


def normalized_url(value: str) -> str:
    """A base URL in one spelling: scheme and host in lower case, the default port left out, no trailing
    slash. Two base URLs match exactly when their normalized forms are equal."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("https", 443), ("http", 80)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def host_of(url: str) -> str:
    """The host (and a port other than 443) of an https URL, as ``jku_hosts`` spell it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return host if parts.port in (None, 443) else f"{host}:{parts.port}"


def public_keys(where: str, keys: list[object], *, strict: bool) -> dict[str, Key]:
    """The public signing keys of a JWK Set's ``keys`` list, by kid.

    ``strict`` (configured keys): any key that is not a usable public key is a ``ValueError``. Otherwise (a
    JWK Set fetched from a ``jku``): such keys are skipped, and so are keys marked for encryption."""
    out: dict[str, Key] = {}
    for index, entry in enumerate(keys):
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
                raise ValueError(f"{where}: key {index} has no kid")
            if "d" in entry or entry.get("kty") == "oct":
                raise ValueError(f"{where}: key {entry['kid']} must be a public key")
            if entry.get("use", "sig") != "sig":
                if strict:
                    raise ValueError(f"{where}: key {entry['kid']} is not a signing key (use)")
                continue
            alg = entry.get("alg")
            try:
                out[entry["kid"]] = Key(PyJWK(entry), alg if isinstance(alg, str) else None)
            except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
                reason = str(error) if isinstance(error, jwt.PyJWTError) else "not a valid JWK"
                raise ValueError(f"{where}: key {entry['kid']}: {reason}") from None
        except ValueError:
            if strict:
                raise
    return out


def _issuer(name: str, value: object) -> Issuer:
    where = f"{SETTING}: {name}"
    if isinstance(value, list):  # a bare list of keys, as early configurations wrote it
        value = {"keys": value}
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a JWK Set {{'keys': [...]}} or an object with keys and fhir_servers")
    unknown = sorted(set(value) - _ISSUER_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown setting {', '.join(unknown)} (allowed: {', '.join(sorted(_ISSUER_KEYS))})")
    allow_http = value.get("allow_http", False)
    if not isinstance(allow_http, bool):
        raise ValueError(f"{where}: allow_http must be true or false")
    jku_hosts = value.get("jku_hosts", [])
    if not isinstance(jku_hosts, list) or not all(isinstance(h, str) and _HOST.match(h.lower()) for h in jku_hosts):
        raise ValueError(f"{where}: jku_hosts must be a list of host names (ehr.example.org or host:port)")
    keys = value.get("keys")
    if keys is None and jku_hosts:
        keys = []
    if not isinstance(keys, list) or (not keys and not jku_hosts):
        raise ValueError(f"{where}: expected a JWK Set {{'keys': [...]}} (or jku_hosts to fetch it from)")
    servers = value.get("fhir_servers", [])
    if not isinstance(servers, list):
        raise ValueError(f"{where}: fhir_servers must be a list of FHIR base URLs")
    schemes = ("https", "http") if allow_http else ("https",)
    for server in servers:
        problem = url_problem(server, schemes)
        if problem:
            hint = "" if allow_http else " (http only with allow_http: true)"
            raise ValueError(f"{where}: fhir_servers: {str(server)[:80]!r} {problem}{hint}")
    return Issuer(
        name=name,
        keys=public_keys(where, keys, strict=True),
        fhir_servers=frozenset(normalized_url(s) for s in servers),
        jku_hosts=frozenset(h.lower().removesuffix(":443") for h in jku_hosts),
        allow_http=allow_http,
    )


def issuers(trusted: Mapping[str, object]) -> dict[str, Issuer]:
    """The trusted issuers of ``ALLPATH_CDS_TRUSTED_ISSUERS``; a ``ValueError`` names what is wrong."""
    return {name: _issuer(name, value) for name, value in trusted.items()}


def check_base_url(base_url: str | None) -> None:
    if base_url is not None:
        problem = url_problem(base_url, ("https", "http"))
        if problem:
            raise ValueError(f"ALLPATH_CDS_BASE_URL {problem}")


def cors_origins(origins: tuple[str, ...]) -> list[str]:
    """The allowed browser origins (``scheme://host[:port]``, or ``*`` for any)."""
    out = []
    for origin in origins:
        if origin == "*":
            out.append(origin)
            continue
        problem = url_problem(origin, ("https", "http"))
        if problem is None and urlsplit(origin).path not in ("", "/"):
            problem = "must be an origin (scheme://host[:port], no path)"
        if problem:
            raise ValueError(f"ALLPATH_CDS_CORS_ORIGINS: {origin[:80]!r} {problem}")
        out.append(origin.rstrip("/"))
    return out


def configuration_warnings(settings: Settings) -> list[str]:
    """What keeps the CDS service from working as configured (for ``allpath serve`` to print at start);
    a ``ValueError`` for a setting that is malformed."""
    issuers(settings.cds_trusted_issuers)
    check_base_url(settings.cds_base_url)
    cors_origins(settings.cds_cors_origins)
    if settings.cds_trusted_issuers and not settings.cds_base_url:
        return [
            "CDS Hooks: trusted issuers are configured but ALLPATH_CDS_BASE_URL is not; every CDS service call "
            "will be refused (503) until it is set to this service's public URL (the JWT audience)."
        ]
    return []
