"""``Cache-Control: no-store`` on every answer that is not a static asset.

Patient data reach the client in JSON, pages, PDFs, calendars and FHIR bundles; no browser or proxy may keep
a copy. Rather than trusting every route to remember the header, this middleware adds it to every response
that does not set its own ``Cache-Control`` (the static assets under ``/static`` keep theirs: they hold no
patient data). A pure ASGI middleware: it only touches the response start message.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")
STATIC_PREFIX = "/static/"


class NoStore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)
