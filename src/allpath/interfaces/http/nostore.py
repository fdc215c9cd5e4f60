"""``Cache-Control: no-store`` on every answer that is not a static asset.

Patient data reach the client in JSON, pages, PDFs, calendars and FHIR bundles; no browser or proxy may keep
a copy. Rather than trusting every route to remember the header, the request guard (``guard.py``, the
outermost middleware) adds it to every response that does not set its own ``Cache-Control`` (the static
assets under ``/static`` keep theirs: they hold no patient data). It only touches the response start message,
in the guard's own ``send`` wrapper: one middleware fewer on every request than a layer of its own (issue 11).
"""

from __future__ import annotations

from starlette.types import Message

NO_STORE = (b"cache-control", b"no-store")
STATIC_PREFIX = "/static/"


def cached_anywhere(path: str) -> bool:
    """Whether the answers to ``path`` may be cached (the static assets only)."""
    return path.startswith(STATIC_PREFIX)


def no_store(start: Message) -> Message:
    """The ``http.response.start`` message ``start`` with ``Cache-Control: no-store`` unless it sets its own."""
    headers = list(start.get("headers", []))
    if any(name.lower() == b"cache-control" for name, _ in headers):
        return start
    headers.append(NO_STORE)
    return {**start, "headers": headers}
