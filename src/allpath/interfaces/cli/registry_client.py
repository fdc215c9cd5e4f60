"""The client of ClinicalTrials.gov's API v2 for ``allpath trials sync``: childhood-ALL studies, page by page.

Only the operator's command line calls the registry (the HTTP service never reaches out to it). Each page is
one GET of ``/api/v2/studies`` with the query below and the previous page's ``nextPageToken``; the client
waits ``timeout`` seconds at most for an answer, reads at most ``MAX_PAGE_BYTES`` of it (strict JSON, as the
files of ``allpath trials import``), and on 429 (too many requests) or a 5xx answer tries again after the
server's ``Retry-After`` or, without one, after a backoff that doubles (1, 2, 4 ... seconds, capped). When
the registry cannot be reached or keeps failing, ``RegistryUnavailable`` says so in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from allpath.interfaces.json_text import JSONTextError, loads_strict

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2/studies"
# Childhood acute lymphoblastic leukemia: the condition search, and the registry's own age group "Child"
# (birth to 17 years), the advanced filter of API v2.
QUERY = {"query.cond": "acute lymphoblastic leukemia", "filter.advanced": "AREA[StdAge]CHILD", "format": "json"}
MAX_PAGE_SIZE = 1000  # the API's own largest page
MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
LONGEST_WAIT_S = 60.0


class RegistryUnavailable(Exception):
    """The registry gave no usable page; the message says why in one plain line."""


@dataclass(frozen=True)
class RegistryClient:
    base_url: str = DEFAULT_BASE_URL
    page_size: int = 100
    timeout_s: float = 30.0
    attempts: int = 4  # tries of one page before giving up
    first_backoff_s: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def pages(self, max_studies: int) -> Iterator[list[object]]:
        """The pages of studies, in the registry's order, until there is no next page or ``max_studies``
        studies were given (the last page cut to fit)."""
        given = 0
        token: str | None = None
        seen_tokens: set[str] = set()
        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            while given < max_studies:
                size = min(self.page_size, max_studies - given, MAX_PAGE_SIZE)
                params = {**QUERY, "pageSize": str(size)} | ({"pageToken": token} if token else {})
                studies, token = _read_page(self._get(client, params))
                page = studies[: max_studies - given]
                given += len(page)
                if page:
                    yield page
                if not token or not studies or token in seen_tokens:
                    return
                seen_tokens.add(token)

    def _get(self, client: httpx.Client, params: dict[str, str]) -> bytes:
        for attempt in range(1, self.attempts + 1):
            try:
                status, body, retry_after = _fetch(client, self.base_url, params)
            except httpx.TimeoutException:
                status, body, retry_after = 0, b"", None
                if attempt == self.attempts:
                    raise RegistryUnavailable(
                        f"the trial registry did not answer within {self.timeout_s:g} seconds"
                    ) from None
            if status == 200:
                return body
            if status and status not in RETRIED_STATUSES:
                raise RegistryUnavailable(f"the trial registry refused the request (HTTP status {status})")
            if attempt < self.attempts:
                self.sleep(_wait(retry_after, self.first_backoff_s * 2 ** (attempt - 1)))
        raise RegistryUnavailable(
            f"the trial registry is busy or failing (HTTP status {status} after {self.attempts} tries); try again later"
        )


def _fetch(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[int, bytes, str | None]:
    try:
        with client.stream("GET", url, params=params, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                return response.status_code, b"", response.headers.get("retry-after")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_PAGE_BYTES:
                    raise RegistryUnavailable(
                        f"a page of the trial registry is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MiB"
                    )
            return 200, bytes(body), None
    except httpx.TimeoutException:
        raise
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError):
        raise RegistryUnavailable(
            "the trial registry cannot be reached (no network, or the address is wrong)"
        ) from None


def _wait(retry_after: str | None, backoff_s: float) -> float:
    """Seconds to wait before the next try: the server's ``Retry-After`` (seconds or an HTTP date) when it
    gives one, else the backoff; never more than ``LONGEST_WAIT_S``."""
    wait = backoff_s
    if retry_after:
        text = retry_after.strip()
        if text.isdigit():
            wait = float(text)
        else:
            try:
                wait = parsedate_to_datetime(text).timestamp() - time.time()
            except (TypeError, ValueError):
                wait = backoff_s
    return min(max(wait, 0.0), LONGEST_WAIT_S)


def _read_page(body: bytes) -> tuple[list[object], str | None]:
    try:
        page = loads_strict(body.decode("utf-8", errors="strict"), max_depth=MAX_DEPTH)
    except (JSONTextError, UnicodeDecodeError):
        raise RegistryUnavailable("the trial registry answered something that is not a studies page") from None
    if not isinstance(page, dict) or not isinstance(page.get("studies"), list):
        raise RegistryUnavailable("the trial registry answered something that is not a studies page")
    token = page.get("nextPageToken")
    return list(page["studies"]), token if isinstance(token, str) and token else None
