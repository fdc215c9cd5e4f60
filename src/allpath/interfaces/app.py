"""The composition root: the one place that builds the HTTP service from its parts.

The JSON API (``allpath.interfaces.api``), the web pages (``allpath.interfaces.web``) and CDS Hooks
(``allpath.interfaces.cds``) know nothing of each other; each stands on the HTTP kernel
(``allpath.interfaces.http``: the unit of work, the principal and its role checks, the request guard). Only this
module knows all of them, mounts them on one application and puts the kernel's middleware around them.
``allpath serve`` (``allpath.interfaces.serving``) loads ``create_app`` by its name, as uvicorn does.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from allpath import __version__
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service.unit_of_work import shut_down
from allpath.settings import Settings, load_settings
from allpath.storage.db import make_engine, migrate, session_factory


def _knowledge_by_locale(english: KnowledgeBase) -> Callable[[str], KnowledgeBase]:
    """The knowledge base whose family texts are in a locale: the app's own in English, else the bundled one
    with that language's translations (loaded once per locale by the loader's cache), for the family report."""

    def knowledge_in(locale: str) -> KnowledgeBase:
        return english if locale == english.locale else load_knowledge(locale=locale)

    return knowledge_in


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the service for ``settings`` (default: from the environment); migrates the database."""
    from allpath.interfaces.api import mount_api
    from allpath.interfaces.cds import CdsCors, cds_router, cors_origins
    from allpath.interfaces.fhir.units import warm as warm_units
    from allpath.interfaces.http import install as install_http_kernel
    from allpath.interfaces.web import mount_web
    from allpath.service import unit_of_work
    from allpath.service.trial_search import warm_registry

    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    migrate(engine)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The UCUM library of the FHIR import (0.15-0.25 s of CPU) is built here, once per worker, so that no
        # CDS Hooks call or web import pays it on its first FHIR Quantity (allpath.interfaces.fhir.units).
        warm_units()
        # The trial registry is read into studies once per process and refresh (allpath.service.trial_search):
        # read here, the first patient page or search after a start does not wait for it.
        with unit_of_work(app.state.sessions, None) as work:
            warm_registry(work, app.state.kb)
        # Everything built so far (the knowledge base, the routes, the models) lives as long as the process:
        # frozen, the garbage collector no longer walks it on each full collection, whose pauses (about 100
        # ms, every few hundred requests) were the p99 of POST /api/assess (117 -> 36 ms; benchmarks/README.md).
        gc.collect()  # what is garbage already is freed, not frozen
        gc.freeze()
        yield
        shut_down(engine)  # the audit entries still queued for the group writer are stored before exit

    app = FastAPI(
        lifespan=lifespan,
        title="allpath",
        version=__version__,
        description="A cited care pathway for childhood ALL. Decision support for clinicians, not a prescription.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # /api/docs is mount_api's: Swagger UI from the package, no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.kb = kb or load_knowledge()
    app.state.kb_for = _knowledge_by_locale(app.state.kb)

    mount_api(app)
    app.include_router(cds_router(settings))  # CDS Hooks 2.0: /cds-services
    mount_web(app)
    # Body limits and strict JSON numbers before any other work (authentication included), no-store on every
    # answer but the static assets', and the 500 that logs nothing of the request (allpath.interfaces.http);
    # only CORS on /cds-services is outside it, so the guard's refusals of a CDS call (413, 400) carry CORS
    # headers too. CdsCors reads no body: other paths pass.
    install_http_kernel(app, settings.body_limits)
    app.add_middleware(CdsCors, origins=cors_origins(settings.cds_cors_origins))  # CORS on /cds-services only
    return app
