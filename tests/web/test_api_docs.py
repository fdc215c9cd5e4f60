"""``/api/docs`` works with no network: Swagger UI's files come from this service, and its page's
Content-Security-Policy (scripts from this site only, no inline script) still lets Swagger UI run."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import LiveServer

ASSET_URL = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"')


def _asset_urls(html: str) -> list[str]:
    return ASSET_URL.findall(html)


def test_every_script_and_stylesheet_of_the_docs_page_is_local_and_answers(anonymous: TestClient) -> None:
    page = anonymous.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    urls = _asset_urls(page.text)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    assert any(url.endswith("swagger-ui.css") for url in urls)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = anonymous.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    # The start-up script points Swagger UI at this service's own OpenAPI document, which answers.
    init = next(url for url in urls if url.endswith("swagger-init.js"))
    assert '"/api/openapi.json"' in anonymous.get(init).text
    assert anonymous.get("/api/openapi.json").status_code == 200


def test_the_docs_page_allows_scripts_from_this_site_only(anonymous: TestClient) -> None:
    page = anonymous.get("/api/docs")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no inline script, no other origin
    assert policy["default-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "<script>" not in page.text  # every script has a src
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.slow
def test_swagger_ui_renders_offline_in_a_browser(browser: Any, live_server: LiveServer) -> None:
    """Chromium with every request outside the service refused: Swagger UI lists the API's operations, and
    the browser reports no refused request and no Content-Security-Policy violation."""
    context = browser.new_context()
    page = context.new_page()
    service = urlsplit(live_server.url).netloc
    outside: list[str] = []
    problems: list[str] = []

    def only_the_service(route: Any) -> None:
        if urlsplit(route.request.url).netloc == service or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(urljoin(live_server.url, "/api/docs"))
        page.locator(".opblock").first.wait_for(timeout=20_000)
        assert page.locator(".opblock").count() > 10
        assert page.get_by_text("/api/health").first.is_visible()
    finally:
        context.close()
    assert not outside, f"the docs page asked for outside URLs: {outside}"
    assert not problems, f"the browser reported: {problems}"
