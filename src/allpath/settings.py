"""Runtime settings, read from the environment (nothing clinical lives here).

``ALLPATH_DATABASE_URL``  SQLAlchemy URL; default: SQLite in the data directory.
``ALLPATH_DATA_DIR``      where the SQLite database lives; default ``./allpath-data``.
``ALLPATH_SESSION_HOURS`` how long a sign-in lasts at most (the absolute timeout); default 12.
``ALLPATH_SESSION_IDLE_MINUTES`` a sign-in ends after this long without a request (the idle timeout); default 30.
``ALLPATH_TOKEN_DAYS``    how long an API token lives (a token may ask for less); default 90.
``ALLPATH_ACTIVATION_HOURS`` how long an account's one-time activation code stays valid; default 72.
``ALLPATH_FAILED_ATTEMPTS_PER_NAME`` failed sign-ins and activations allowed for one user name from one client
                          within the window; default 5 (then 429 with ``Retry-After``, before any check).
``ALLPATH_FAILED_ATTEMPTS_PER_CLIENT`` the same from one client over all user names; default 20.
``ALLPATH_FAILED_ATTEMPTS_WINDOW_S`` the window, in seconds (1 to 86400); default 300.
``ALLPATH_FAILED_ATTEMPTS_PER_ACCOUNT`` failed sign-ins and activations allowed for one user name from all the
                          clients that have not signed in to it before, since its last successful sign-in;
                          default 100 (NIST SP 800-63B section 5.2.2).
``ALLPATH_FAILED_ATTEMPTS_ACCOUNT_WINDOW_S`` how far back those failures count, in seconds (1 to 86400); default
                          86400.
``ALLPATH_KNOWN_CLIENT_DAYS`` a client that signed in to an account within this many days is not held to the
                          account's limit (the name-and-client and client limits still apply); default 90.
``ALLPATH_SECURE_COOKIES`` ``1`` to mark cookies Secure (behind HTTPS); default ``0`` for local use.
``ALLPATH_TRUSTED_PROXIES`` the addresses of reverse proxies whose ``X-Forwarded-For`` names the client
                          (comma-separated IPs or networks); default: none — the client is the socket's peer and
                          forwarded headers are ignored (anyone can write them).
``ALLPATH_CDS_TRUSTED_ISSUERS`` the CDS Hooks clients (EHRs) whose signed JWTs the CDS service accepts: a JSON
                          object mapping each issuer (``iss``) to its JWK Set (``{"keys": [...]}``), inline, with
                          optional ``fhir_servers`` (the only ``fhirServer`` values it may send), ``jku_hosts``
                          (hosts whose ``jku`` key sets are fetched) and ``allow_http`` (http FHIR servers, for
                          tests); checked by ``allpath.interfaces.cds.config``; default: none (every CDS service
                          call is refused; discovery stays open).
``ALLPATH_CDS_BASE_URL``  the public base URL of this service (``https://allpath.example.org``), for the JWT
                          audience and the links of CDS cards; required when trusted issuers are configured
                          (without it the CDS service calls answer 503; never taken from the request's Host).
``ALLPATH_CDS_MAX_TOKEN_LIFETIME_S`` the longest a CDS client's JWT may live (``exp - iat``); default 300.
``ALLPATH_CDS_JWKS_CACHE_S`` how long a JWK Set fetched from a ``jku`` is kept; default 600.
``ALLPATH_CDS_CORS_ORIGINS`` browser origins allowed to call ``/cds-services`` (comma-separated, or ``*``);
                          default: none (no CORS headers).
``ALLPATH_MAX_BODY_BYTES`` the largest request body accepted, in bytes (JSON API bodies and web forms);
                          default 2097152 (2 MiB). Larger bodies are refused with 413 before they are read.
``ALLPATH_MAX_ACCOUNT_BODY_BYTES`` the same for sign-in and account requests (the only ones anyone can send
                          without signing in); default 16384 (16 KiB).
``ALLPATH_MAX_FHIR_BODY_BYTES`` the same for FHIR Bundles (``/api/fhir/import``, the web app's
                          ``/patients/import``) and CDS Hooks calls with their prefetch; default 10485760 (10 MiB).
``ALLPATH_RESEARCH_UPLOAD_BYTES`` the largest cohort file a researcher may upload to ``/research/outcomes``;
                          default 20971520 (20 MiB). That page's requests may be 1 MiB larger (the form around it).
``ALLPATH_RESEARCH_MAX_ROWS`` the most rows such a file may hold; default 100000.
``ALLPATH_RESEARCH_MIN_GROUP_SIZE`` the smallest group the outcomes page shows (small-cell suppression); default 10.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SignInLimits:
    """Failed attempts (sign-ins and activations together, ``allpath.storage.attempts``) allowed per window: for
    one user name from one client, and from one client in all; and for one account from every client that has
    not signed in to it before (``per_account`` failures since its last success, within ``account_window_seconds``;
    NIST SP 800-63B section 5.2.2: at most 100), a client that has is not held back by strangers' failures."""

    per_name_and_client: int = 5
    per_client: int = 20
    window_seconds: int = 300
    per_account: int = 100
    account_window_seconds: int = 86_400
    known_client_days: int = 90


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body, in bytes, per kind of endpoint (see ``allpath.interfaces.http.guard``).

    Chosen from what the app accepts: the largest valid patient record (every list at its limit in
    ``domain/limits.py``: 5,000 courses, 10 relapses, 20 radiation courses) is 0.57 MB as compact JSON and
    0.89 MB indented, so the default leaves twice that. Sign-in and account bodies hold a user name, a
    password, a display name and a form token (under 4 KB even with every character escaped). The largest
    patient Bundle among the Synthea samples (a whole synthetic life) is 0.64 MB and the patient Bundles of the
    FHIR R4 examples are smaller; FHIR imports and CDS prefetch get about 16 times that.
    """

    default: int = 2 * 1024 * 1024
    account: int = 16 * 1024
    fhir: int = 10 * 1024 * 1024
    research: int = 21 * 1024 * 1024  # ResearchLimits.upload_bytes and 1 MiB for the rest of the form


_FORM_ROOM = 1024 * 1024


@dataclass(frozen=True)
class ResearchLimits:
    """The researcher's outcomes page (``/research/outcomes``): an upload's size and rows, checked before the file
    is parsed, and the smallest group shown. The size and row caps bound the work of one request (the page
    answers while the researcher waits); the group size follows the common small-cell rule of suppressing
    counts under 10."""

    upload_bytes: int = 20 * 1024 * 1024
    max_rows: int = 100_000
    min_group_size: int = 10


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    session_hours: float
    secure_cookies: bool
    sign_in_limits: SignInLimits = SignInLimits()
    session_idle_minutes: float = 30.0
    token_days: float = 90.0
    activation_hours: float = 72.0
    trusted_proxies: tuple[str, ...] = ()
    cds_trusted_issuers: dict[str, object] = field(default_factory=dict, hash=False)  # issuer -> JWK Set
    cds_base_url: str | None = None
    cds_max_token_lifetime_s: int = 300  # CDS Hooks asks for short-lived JWTs; see cds/auth.py
    cds_jwks_cache_s: int = 600
    cds_cors_origins: tuple[str, ...] = ()
    body_limits: BodyLimits = BodyLimits()
    trials_outdated_days: int = 365  # see allpath.service.trial_search.DEFAULT_OUTDATED_AFTER_DAYS
    research: ResearchLimits = ResearchLimits()


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("ALLPATH_DATA_DIR", "allpath-data")).resolve()
    research = ResearchLimits(
        upload_bytes=_bytes(env, "ALLPATH_RESEARCH_UPLOAD_BYTES", ResearchLimits.upload_bytes),
        max_rows=int(_positive(env, "ALLPATH_RESEARCH_MAX_ROWS", ResearchLimits.max_rows)),
        min_group_size=int(_positive(env, "ALLPATH_RESEARCH_MIN_GROUP_SIZE", ResearchLimits.min_group_size)),
    )
    url = env.get("ALLPATH_DATABASE_URL") or f"sqlite:///{data_dir / 'allpath.db'}"
    return Settings(
        database_url=url,
        data_dir=data_dir,
        session_hours=float(env.get("ALLPATH_SESSION_HOURS", "12")),
        secure_cookies=env.get("ALLPATH_SECURE_COOKIES", "0") == "1",
        sign_in_limits=SignInLimits(
            per_name_and_client=_count(env, "ALLPATH_FAILED_ATTEMPTS_PER_NAME", SignInLimits.per_name_and_client),
            per_client=_count(env, "ALLPATH_FAILED_ATTEMPTS_PER_CLIENT", SignInLimits.per_client),
            window_seconds=_seconds(env, "ALLPATH_FAILED_ATTEMPTS_WINDOW_S", SignInLimits.window_seconds),
            per_account=_count(env, "ALLPATH_FAILED_ATTEMPTS_PER_ACCOUNT", SignInLimits.per_account),
            account_window_seconds=_seconds(
                env, "ALLPATH_FAILED_ATTEMPTS_ACCOUNT_WINDOW_S", SignInLimits.account_window_seconds
            ),
            known_client_days=_count(env, "ALLPATH_KNOWN_CLIENT_DAYS", SignInLimits.known_client_days),
        ),
        session_idle_minutes=_positive(env, "ALLPATH_SESSION_IDLE_MINUTES", 30.0),
        token_days=_positive(env, "ALLPATH_TOKEN_DAYS", 90.0),
        activation_hours=_positive(env, "ALLPATH_ACTIVATION_HOURS", 72.0),
        trusted_proxies=tuple(x.strip() for x in env.get("ALLPATH_TRUSTED_PROXIES", "").split(",") if x.strip()),
        cds_trusted_issuers=_trusted_issuers(env.get("ALLPATH_CDS_TRUSTED_ISSUERS", "")),
        cds_base_url=(env.get("ALLPATH_CDS_BASE_URL") or "").strip().rstrip("/") or None,
        cds_max_token_lifetime_s=_seconds(env, "ALLPATH_CDS_MAX_TOKEN_LIFETIME_S", 300),
        cds_jwks_cache_s=_seconds(env, "ALLPATH_CDS_JWKS_CACHE_S", 600),
        cds_cors_origins=tuple(x.strip() for x in env.get("ALLPATH_CDS_CORS_ORIGINS", "").split(",") if x.strip()),
        trials_outdated_days=int(_positive(env, "ALLPATH_TRIALS_OUTDATED_DAYS", 365)),
        body_limits=BodyLimits(
            default=_bytes(env, "ALLPATH_MAX_BODY_BYTES", BodyLimits.default),
            account=_bytes(env, "ALLPATH_MAX_ACCOUNT_BODY_BYTES", BodyLimits.account),
            fhir=_bytes(env, "ALLPATH_MAX_FHIR_BODY_BYTES", BodyLimits.fhir),
            research=research.upload_bytes + _FORM_ROOM,
        ),
        research=research,
    )


def _positive(env: dict[str, str], name: str, default: float) -> float:
    """A lifetime: a number above zero (and finite)."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number above zero") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a number above zero")
    return value


def _seconds(env: dict[str, str], name: str, default: int) -> int:
    """A whole number of seconds from 1 to one day."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 86_400:
        raise ValueError(f"{name} must be a whole number of seconds from 1 to 86400")
    return int(text)


def _count(env: dict[str, str], name: str, default: int) -> int:
    """A number of attempts: a whole number from 1 to 10000."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10_000:
        raise ValueError(f"{name} must be a whole number from 1 to 10000")
    return int(text)


def _bytes(env: dict[str, str], name: str, default: int) -> int:
    """A body size: a whole number of bytes from 1 KiB to 1 GiB."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1024 <= int(text) <= 1024**3:
        raise ValueError(f"{name} must be a whole number of bytes from 1024 to 1073741824")
    return int(text)


def _trusted_issuers(text: str) -> dict[str, object]:
    """``ALLPATH_CDS_TRUSTED_ISSUERS``: a JSON object issuer -> JWK Set; the keys are checked when used."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"ALLPATH_CDS_TRUSTED_ISSUERS is not JSON: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ValueError("ALLPATH_CDS_TRUSTED_ISSUERS must be a JSON object mapping each issuer to its JWK Set")
    return value
