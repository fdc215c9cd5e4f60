"""The application factory: JSON API (and, mounted beside it, the web pages)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from allpath import __version__
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.settings import Settings, load_settings
from allpath.storage.db import make_engine, migrate, session_factory


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment); migrates the database."""
    from allpath.interfaces.api.docs import mount_api_docs
    from allpath.interfaces.api.nostore import NoStore
    from allpath.interfaces.api.routes import admin, assess, fhir, patients, session, team, treatment
    from allpath.interfaces.cds import CdsCors, cds_router, cors_origins
    from allpath.interfaces.http import install as install_http_guard
    from allpath.interfaces.web import mount_web

    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)
    app = FastAPI(
        title="allpath",
        version=__version__,
        description="A cited care pathway for childhood ALL. Decision support for clinicians, not a prescription.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # /api/docs is mount_api_docs: Swagger UI from the package, no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.kb = kb or load_knowledge()

    @app.get("/api/health", tags=["service"])
    def health() -> JSONResponse:
        """Liveness: the service answers (no data)."""
        return JSONResponse({"status": "ok", "version": __version__, "knowledge_version": app.state.kb.version})

    for module in (session, patients, assess, treatment, fhir, admin, team):
        app.include_router(module.router)
    app.include_router(cds_router(settings))  # CDS Hooks 2.0: /cds-services
    app.add_middleware(CdsCors, origins=cors_origins(settings.cds_cors_origins))  # CORS on /cds-services only
    mount_api_docs(app)
    mount_web(app)
    app.add_middleware(NoStore)  # no response but the static assets may be cached anywhere
    # Last, so outermost: body limits and strict JSON numbers before any other work (authentication
    # included), and the 500 that logs nothing of the request (allpath.interfaces.http).
    install_http_guard(app, settings.body_limits)
    return app
