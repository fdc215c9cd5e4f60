"""Who is calling: CDS clients (EHRs) authenticate with a JSON Web Token (CDS Hooks 2.0, "Trusting CDS
Clients").

Every call of a CDS service or of its feedback endpoint carries ``Authorization: Bearer <JWT>``, signed by the
CDS client with an asymmetric key. The token is accepted only when

- its issuer (``iss``) is one of the trusted issuers configured in ``ALLPATH_CDS_TRUSTED_ISSUERS``
  (``config.py``);
- its header says ``typ: JWT`` and names a key of that issuer (``kid``) and an asymmetric algorithm (never
  ``none`` or an HMAC). The key is one configured inline, or, when the issuer allows it (``jku_hosts``), one
  of the JWK Set at the header's ``jku`` URL, fetched only from an allowlisted host and cached (``JwksCache``);
- the signature verifies with that key;
- ``aud`` is the URL of the endpoint being called under the configured public base URL (a string or a list
  holding it); the request's Host header plays no part;
- ``exp``, ``iat`` and ``jti`` are present; ``exp`` and ``iat`` are numbers; it has not expired, was not issued
  in the future (``LEEWAY_S`` for clock skew), and lives no longer than the configured maximum
  (``exp - iat``; default 300 s);
- its ``jti`` was not seen before from the same issuer (replay), in any process: the routes pass ``first_use``,
  which records it in the database until it expires (``allpath.service.cds_tokens``), so a token replayed to
  another worker or server is refused too. Each process also remembers the ``jti`` it accepted
  (``ReplayGuard``, at most ``REPLAY_CAPACITY``, the soonest to expire forgotten first): a replay to the same
  process is refused without asking the database, which is asked about every other token. The lifetime limit
  is what keeps both memories short: a token valid for years would have to be remembered for years.

Any failure is ``CdsAuthError`` (401). Nothing about the token is logged.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

import httpx
import jwt

from allpath.interfaces.cds.config import Issuer, Key, host_of, issuers, public_keys, url_problem
from allpath.interfaces.cds.remote import RemoteError, get_json

ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
LEEWAY_S = 30
REPLAY_CAPACITY = 100_000
# CDS Hooks 2.0 requires exp but sets no bound; the JWT is a one-time client assertion, as in SMART App Launch's
# asymmetric client authentication, where "exp ... SHALL be no more than five minutes in the future". The same
# five minutes is the default maximum of exp - iat here (ALLPATH_CDS_MAX_TOKEN_LIFETIME_S).
MAX_LIFETIME_S = 300
JWKS_CACHE_S = 600
JWKS_TIMEOUT_S = 3.0
JWKS_MAX_BYTES = 64 * 1024
JWKS_MIN_REFETCH_S = 30  # a kid missing from a cached JWK Set (a rotated key) fetches it again at most this often
JWKS_CACHE_ENTRIES = 64


class CdsAuthError(Exception):
    """The request is not from a trusted CDS client; the message says why (without echoing the token)."""


@dataclass(frozen=True)
class CdsClient:
    """An authenticated CDS client."""

    issuer: str
    tenant: str | None
    config: Issuer


@dataclass
class _Fetched:
    keys: dict[str, Key]
    at: float  # when it was fetched (the cache's clock)
    problem: str | None = None  # why the fetch failed (remembered for JWKS_MIN_REFETCH_S)


class JwksCache:
    """JWK Sets fetched from ``jku`` URLs, kept ``ttl_s`` seconds; bounded; safe across threads.

    CDS Hooks 2.0: "The CDS Client MAY make its JWK Set available via a URL identified by the ``jku`` header
    field" and "CDS Services SHOULD limit the CDS Clients they trust by maintaining an allowlist of ``iss`` and
    ``jku`` urls". The caller checks the URL against the issuer's ``jku_hosts`` before asking for it."""

    def __init__(self, ttl_s: int = JWKS_CACHE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._sets: OrderedDict[str, _Fetched] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, url: str, kid: str, transport: httpx.BaseTransport | None) -> Key:
        now = self._clock()
        with self._lock:
            cached = self._sets.get(url)
        fresh = cached is not None and now - cached.at < self.ttl_s
        if cached is not None and fresh and (kid in cached.keys or now - cached.at < JWKS_MIN_REFETCH_S):
            return self._pick(cached, kid)
        fetched = self._fetch(url, transport)
        with self._lock:
            self._sets[url] = fetched
            self._sets.move_to_end(url)
            while len(self._sets) > JWKS_CACHE_ENTRIES:
                self._sets.popitem(last=False)
        return self._pick(fetched, kid)

    @staticmethod
    def _pick(fetched: _Fetched, kid: str) -> Key:
        if fetched.problem is not None:
            raise CdsAuthError(f"the JWK Set at the JWT's jku could not be read: {fetched.problem}")
        key = fetched.keys.get(kid)
        if key is None:
            raise CdsAuthError("the JWT key id (kid) is not in the JWK Set at its jku")
        return key

    def _fetch(self, url: str, transport: httpx.BaseTransport | None) -> _Fetched:
        now = self._clock()
        headers = {"Accept": "application/jwk-set+json, application/json"}
        try:
            with httpx.Client(
                transport=transport, timeout=JWKS_TIMEOUT_S, follow_redirects=False, headers=headers
            ) as client:
                status, body = get_json(client, url, JWKS_MAX_BYTES)
        except RemoteError as error:
            return _Fetched({}, now, f"the server {error}")
        if status != 200:
            return _Fetched({}, now, f"the server answered {status}")
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            return _Fetched({}, now, "not a JWK Set")
        return _Fetched(public_keys("jku", keys, strict=False), now)

    def __len__(self) -> int:
        return len(self._sets)


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


Claims = Mapping[str, object]
"""The header or the claims of a JWT as PyJWT decodes them: JSON, so every value is narrowed before use."""


def _number(value: object) -> TypeGuard[int | float]:
    """A JSON number that is a plausible time in seconds (NaN, Infinity and 1e400 are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and -1e15 < value < 1e15


FirstUse = Callable[[str, str, float], bool]
"""``first_use(issuer, jti, expires)``: records a token's use; False when it was used before (a replay)."""


class Authenticator:
    """Verifies the bearer JWT of a CDS client against the configured trusted issuers."""

    def __init__(
        self,
        trusted: Mapping[str, object],
        *,
        max_lifetime_s: int = MAX_LIFETIME_S,
        jwks: JwksCache | None = None,
        replay: ReplayGuard | None = None,
        leeway_s: int = LEEWAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = issuers(trusted)
        self.max_lifetime_s = max_lifetime_s
        # "is None", not "or": an empty cache or guard has a length of 0 and is falsy
        self.jwks = jwks if jwks is not None else JwksCache()
        self.replay = replay if replay is not None else ReplayGuard(clock=clock)
        self.leeway_s = leeway_s
        self._clock = clock

    def verify(
        self,
        authorization: str | None,
        audiences: list[str],
        transport: httpx.BaseTransport | None = None,
        first_use: FirstUse | None = None,
    ) -> CdsClient:
        """The client behind ``Authorization: Bearer <JWT>`` for a call of the endpoint ``audiences[0]``
        (other entries: the same endpoint written differently). ``transport``: for fetching a ``jku`` (tests).
        ``first_use``: the replay memory shared by every process (the database), asked after this process's.
        Raises ``CdsAuthError``."""
        if not authorization or not authorization[:7].lower() == "bearer ":
            raise CdsAuthError("a CDS client must send Authorization: Bearer <JWT> signed with its key")
        token = authorization[7:].strip()
        if not self.issuers:
            raise CdsAuthError("no trusted CDS clients are configured (ALLPATH_CDS_TRUSTED_ISSUERS)")
        header, unverified, algorithm, issuer = self._unverified(token)
        config = self.issuers[issuer]
        key = self._key(config, header, transport)
        if key.algorithm is not None and key.algorithm != algorithm:
            raise CdsAuthError("the JWT algorithm does not match the key's")
        for claim in ("exp", "iat"):
            if claim in unverified and not _number(unverified[claim]):
                raise CdsAuthError(f"the JWT {claim} claim must be a number of seconds since 1970")
        claims = self._decode(token, key, algorithm, audiences, issuer)
        self._check_lifetime_and_replay(claims, issuer, first_use)
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise CdsAuthError("the JWT tenant claim must be a string")
        return CdsClient(issuer=issuer, tenant=tenant, config=config)

    def _unverified(self, token: str) -> tuple[Claims, Claims, str, str]:
        """The header, claims, algorithm and trusted issuer of a token, read before its signature is checked."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
            raise CdsAuthError("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise CdsAuthError("the JWT algorithm is not accepted: use an asymmetric one (ES384, RS384)")
        # CDS Hooks 2.0, "Trusting CDS Clients": typ is REQUIRED with the fixed value JWT (compared without case,
        # as RFC 7515 section 4.1.9 compares media types).
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise CdsAuthError("the JWT header must carry typ JWT (required by CDS Hooks)")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise CdsAuthError("the JWT issuer (iss) is not a trusted CDS client")
        return header, unverified, algorithm, issuer

    def _decode(self, token: str, key: Key, algorithm: str, audiences: list[str], issuer: str) -> Claims:
        """The claims of a token whose signature, audience, issuer and times verify."""
        try:
            claims: Claims = jwt.decode(
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
        except (ValueError, TypeError, OverflowError):
            raise CdsAuthError("the JWT is not valid") from None
        return claims

    def _check_lifetime_and_replay(self, claims: Claims, issuer: str, first_use: FirstUse | None) -> None:
        """A short-lived token, used once (its ``jti`` is remembered until it expires, here and in
        ``first_use``)."""
        expires, issued = claims["exp"], claims["iat"]
        if not _number(expires) or not _number(issued):  # checked before decoding (``verify``)
            raise CdsAuthError("the JWT exp and iat claims must be numbers of seconds since 1970")
        lifetime = float(expires) - float(issued)
        if lifetime > self.max_lifetime_s:
            raise CdsAuthError(
                f"the JWT lives longer than {self.max_lifetime_s} seconds (exp - iat): send a new short-lived "
                "token with every call"
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise CdsAuthError("the JWT jti must be a non-empty string")
        until = float(expires) + self.leeway_s
        if not self.replay.first_use(issuer, jti, until) or (
            first_use is not None and not first_use(issuer, jti, until)
        ):
            raise CdsAuthError("the JWT was already used (jti seen before): send a new token with every call")

    def _key(self, config: Issuer, header: Claims, transport: httpx.BaseTransport | None) -> Key:
        """The key named by the header's ``kid``: configured inline, else from the issuer's allowed ``jku``."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CdsAuthError("the JWT header has no key id (kid)")
        key = config.keys.get(kid)
        if key is not None:
            return key
        jku = header.get("jku")
        if jku is None or not config.jku_hosts:
            raise CdsAuthError("the JWT key id (kid) is not a key configured for this issuer (jku is not fetched)")
        # Checked before any request: only an https URL on one of the issuer's own allowlisted hosts is read.
        problem = url_problem(jku, ("https",))
        if problem is None and isinstance(jku, str) and host_of(jku) not in config.jku_hosts:
            problem = "is not on a host allowed for this issuer (jku_hosts)"
        if problem is not None or not isinstance(jku, str):  # url_problem refuses every value that is not a string
            raise CdsAuthError(f"the JWT key URL (jku) {problem}; it was not fetched")
        return self.jwks.key(jku, kid, transport)
