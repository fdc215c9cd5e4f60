"""The web application: server-rendered pages (Jinja2 + htmx) for the care team, families, researchers
and administrators, beside the JSON API and using the same sessions, roles and repository.

``mount_web(app)`` adds the pages, the static files (``/static``, with htmx vendored from npm: no CDN,
nothing fetched at run time) and the handler that shows page errors as pages.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from allpath.interfaces.web.pages import STATIC_DIR, PageError, page_error_handler


def mount_web(app: FastAPI) -> None:
    from allpath.interfaces.web.routes import router

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(PageError, page_error_handler)


__all__ = ["mount_web"]
