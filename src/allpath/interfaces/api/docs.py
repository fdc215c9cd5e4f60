"""``/api/docs``: Swagger UI served entirely by this service, so that the page works with no network.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script. Here Swagger UI's
JavaScript and CSS come from the ``fastapi-offline`` package and the start-up code is a file of its own
(``docs_assets/swagger-init.js``), both under ``/docs/assets``, so that the page's Content-Security-Policy
can forbid inline scripts and every origin but this one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

DOCS_URL = "/api/docs"
# Outside /api: the assets are not part of the API (and the role matrix covers every route under /api).
ASSETS_URL = "/docs/assets"
OWN_ASSETS = Path(__file__).resolve().parent / "docs_assets"
SWAGGER_UI_PACKAGE = ("fastapi_offline", "static")  # swagger-ui-bundle.js, swagger-ui.css, favicon.png

# Swagger UI sets inline style attributes and shows its icons as data: images; scripts, styles, images
# and the OpenAPI document come from this service only.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def docs_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_URL}/swagger-init.js"></script>
</body>
</html>
"""


def mount_api_docs(app: FastAPI) -> None:
    """Add ``/api/docs`` and its assets (create the app with ``docs_url=None``), and FastAPI's OAuth2 redirect
    page of the interactive docs, which is an inline script of FastAPI's and loads nothing."""
    page = docs_page(app.title)
    app.mount(ASSETS_URL, StaticFiles(directory=OWN_ASSETS, packages=[SWAGGER_UI_PACKAGE]), name="api-docs-assets")

    # Plain routes, as FastAPI adds its own docs page: they answer GET and HEAD.
    async def api_docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=DOCS_HEADERS)

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_URL, api_docs, include_in_schema=False)
    if app.swagger_ui_oauth2_redirect_url:
        app.add_route(app.swagger_ui_oauth2_redirect_url, oauth2_redirect, include_in_schema=False)
