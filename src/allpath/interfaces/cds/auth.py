"""Who is calling: CDS clients (EHRs) authenticate with a JSON Web Token (CDS Hooks 2.0, "Trusting CDS
Clients").

Every call of a CDS service or of its feedback endpoint carries ``Authorization: Bearer <JWT>``, signed by the
CDS client with an asymmetric key. The token is accepted only when

- its issuer (``iss``) is one of the trusted issuers configured in ``ALLPATH_CDS_TRUSTED_ISSUERS`` (issuer ->
  JWK Set, inline: the keys are never fetched at run time; a ``jku`` header is not followed);
- its header names a key of that issuer (``kid``) and an asymmetric algorithm (never ``none`` or an HMAC);
- the signature verifies with that key;
- ``aud`` is the URL of the endpoint being called (a string or a list holding it);
- ``exp``, ``iat`` and ``jti`` are present, it has not expired and was not issued in the future (30 s leeway);
- its ``jti`` was not seen before from the same issuer (replay): each process remembers the ``jti`` of the
  accepted tokens until they expire, at most ``REPLAY_CAPACITY`` of them (the soonest to expire are forgotten
  first). Several worker processes do not share this memory.

Any failure is ``CdsAuthError`` (401). Nothing about the token is logged.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
LEEWAY_S = 30
REPLAY_CAPACITY = 100_000


class CdsAuthError(Exception):
    """The request is not from a trusted CDS client; the message says why (without echoing the token)."""


@dataclass(frozen=True)
class CdsClient:
    """An authenticated CDS client."""

    issuer: str
    tenant: str | None


@dataclass(frozen=True)
class _Key:
    jwk: PyJWK
    algorithm: str | None  # the key's own "alg", when its JWK names one


def _key_set(issuer: str, value: Any) -> dict[str, _Key]:
    keys = value.get("keys") if isinstance(value, dict) else value
    if not isinstance(keys, list) or not keys:
        raise ValueError(f"ALLPATH_CDS_TRUSTED_ISSUERS: {issuer}: expected a JWK Set {{'keys': [...]}}")
    out: dict[str, _Key] = {}
    for index, entry in enumerate(keys):
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
            raise ValueError(f"ALLPATH_CDS_TRUSTED_ISSUERS: {issuer}: key {index} has no kid")
        if "d" in entry or entry.get("kty") == "oct":
            raise ValueError(f"ALLPATH_CDS_TRUSTED_ISSUERS: {issuer}: key {entry['kid']} must be a public key")
        try:
            alg = entry.get("alg")
            out[entry["kid"]] = _Key(PyJWK(entry), alg if isinstance(alg, str) else None)
        except jwt.PyJWTError as error:
            raise ValueError(f"ALLPATH_CDS_TRUSTED_ISSUERS: {issuer}: key {entry['kid']}: {error}") from None
    return out


class ReplayGuard:
    """The ``(issuer, jti)`` of accepted tokens until they expire; bounded; safe across threads."""

    def __init__(self, capacity: int = REPLAY_CAPACITY, clock: Callable[[], float] = time.time) -> None:
        self.capacity = capacity
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, expires: float) -> bool:
        """Record the token; False when it was seen before (a replay)."""
        key = (issuer, jti)
        with self._lock:
            now = self._clock()
            while self._expiry and (self._expiry[0][0] < now or len(self._seen) >= self.capacity):
                _, old = heapq.heappop(self._expiry)
                self._seen.pop(old, None)
            if key in self._seen:
                return False
            self._seen[key] = expires
            heapq.heappush(self._expiry, (expires, key))
            return True

    def __len__(self) -> int:
        return len(self._seen)


class Authenticator:
    """Verifies the bearer JWT of a CDS client against the configured trusted issuers."""

    def __init__(
        self,
        trusted: Mapping[str, Any],
        *,
        replay: ReplayGuard | None = None,
        leeway_s: int = LEEWAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = {issuer: _key_set(issuer, keys) for issuer, keys in trusted.items()}
        self.replay = replay or ReplayGuard(clock=clock)
        self.leeway_s = leeway_s
        self._clock = clock

    def verify(self, authorization: str | None, audiences: list[str]) -> CdsClient:
        """The client behind ``Authorization: Bearer <JWT>`` for a call of the endpoint ``audiences[0]``
        (other entries: the same endpoint written differently). Raises ``CdsAuthError``."""
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise CdsAuthError("a CDS client must send Authorization: Bearer <JWT> signed with its key")
        token = authorization[7:].strip()
        if not self.issuers:
            raise CdsAuthError("no trusted CDS clients are configured (ALLPATH_CDS_TRUSTED_ISSUERS)")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise CdsAuthError("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise CdsAuthError(f"JWT algorithm {algorithm!r} is not accepted: use an asymmetric one (ES384, RS384)")
        if "typ" in header and str(header["typ"]).upper() != "JWT":
            raise CdsAuthError("the JWT header typ must be JWT")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise CdsAuthError("the JWT issuer (iss) is not a trusted CDS client")
        kid = header.get("kid")
        key = self.issuers[issuer].get(kid) if isinstance(kid, str) else None
        if key is None:
            raise CdsAuthError("the JWT key id (kid) is not a key configured for this issuer (jku is not fetched)")
        if key.algorithm is not None and key.algorithm != algorithm:
            raise CdsAuthError("the JWT algorithm does not match the key's")
        try:
            claims = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[algorithm],
                audience=audiences,
                issuer=issuer,
                leeway=self.leeway_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidSignatureError:
            raise CdsAuthError("the JWT signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise CdsAuthError("the JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise CdsAuthError("the JWT audience (aud) is not the URL of this endpoint") from None
        except jwt.ImmatureSignatureError:
            raise CdsAuthError("the JWT was issued in the future (iat)") from None
        except jwt.MissingRequiredClaimError as error:
            raise CdsAuthError(f"the JWT has no {error.claim} claim") from None
        except jwt.PyJWTError as error:
            raise CdsAuthError(f"the JWT is not valid ({type(error).__name__})") from None
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise CdsAuthError("the JWT jti must be a non-empty string")
        if not self.replay.first_use(issuer, jti, float(claims["exp"]) + self.leeway_s):
            raise CdsAuthError("the JWT was already used (jti seen before): send a new token with every call")
        tenant = claims.get("tenant")
        return CdsClient(issuer=issuer, tenant=tenant if isinstance(tenant, str) else None)
