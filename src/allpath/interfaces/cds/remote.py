"""JSON from other servers (a CDS client's FHIR server, its JWK Set) and from CDS requests, read defensively.

``get_json`` reads at most ``max_bytes`` (after decompression) and follows no redirect: the caller has
checked the URL against an allowlist, and a redirect would leave it. ``strict_json`` refuses what JSON cannot
carry (NaN, Infinity, numbers that overflow a float) instead of letting it reach the dose checks.
"""

from __future__ import annotations

import json
import math
from typing import NoReturn

import httpx


class RemoteError(Exception):
    """The other server did not give usable JSON; the message says why in plain words."""


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for JSON")
    return value


def strict_json(raw: bytes | str) -> object:
    """Parse JSON; ``ValueError`` for invalid JSON, NaN, Infinity, overflowing numbers or too deep nesting."""
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def get_json(client: httpx.Client, url: str, max_bytes: int) -> tuple[int, object]:
    """``(status, parsed body)`` of a GET; the body is None unless the status is 200. ``RemoteError`` when the
    server cannot be reached, answers more than ``max_bytes`` or not JSON."""
    try:
        with client.stream("GET", url) as response:
            status = response.status_code
            if status != 200:
                return status, None
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise RemoteError(f"the answer is larger than {max_bytes // 1024} KiB")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise RemoteError(f"the answer is larger than {max_bytes // 1024} KiB")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as error:
        raise RemoteError(f"could not be reached ({type(error).__name__})") from None
    try:
        return status, strict_json(bytes(body))
    except ValueError:
        raise RemoteError("did not answer with JSON") from None
