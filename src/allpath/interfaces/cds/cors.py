"""CORS for the CDS Hooks endpoints only: discovery, the service calls and their feedback (``/cds-services``).

CDS Hooks 2.0, "Cross-Origin Resource Sharing": "CDS Services and browser-based CDS Clients will require CORS
support. A secure implementation guide for CORS is outside of the scope of this CDS Hooks specification.
Organizations planning to implement CDS Hooks with CORS support are referred to the Cross-Origin Resource
Sharing section of the OWASP HTML5 Security Cheat Sheet." That section asks to use the header "only on chosen
URLs that need to be accessed cross-domain", and to allow "only selected, trusted domains". So:

- only paths under ``/cds-services`` get CORS headers; the rest of the app (its cookie sessions) stays
  same-origin;
- only the origins of ``ALLPATH_CDS_CORS_ORIGINS`` are allowed (none by default; ``*`` allows any, which is safe
  here only because a CDS call is authorized by the JWT it carries, never by a cookie: credentials are not
  allowed, so a browser sends none);
- methods GET (discovery) and POST (calls, feedback); request headers ``Authorization`` (the JWT) and
  ``Content-Type`` (``application/json`` is not a "simple" type); ``WWW-Authenticate`` is readable by the client
  (why a token was refused); preflights are cached for ten minutes.

Preflights (``OPTIONS`` with ``Access-Control-Request-Method``) are answered here, before authentication: a
browser sends no ``Authorization`` header with them.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/cds-services"
METHODS = ("GET", "POST")
HEADERS = ("Authorization", "Content-Type", "Accept")
MAX_AGE_S = 600


class CdsCors:
    """ASGI middleware: starlette's CORS handling for ``/cds-services`` paths, nothing for the others."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors: ASGIApp | None = (
            CORSMiddleware(
                app,
                allow_origins=origins,
                allow_methods=METHODS,
                allow_headers=HEADERS,
                allow_credentials=False,
                expose_headers=("WWW-Authenticate",),
                max_age=MAX_AGE_S,
            )
            if origins
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.cors is not None and (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
