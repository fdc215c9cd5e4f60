"""The JSON API under ``/api`` (OpenAPI at ``/api/openapi.json``, Swagger UI at ``/api/docs``).

``mount_api(app)`` adds its routes and its documentation page to the application that the composition root
(``allpath.interfaces.app``) builds. The API stands on the HTTP kernel (``allpath.interfaces.http``) and
imports neither the web pages nor CDS Hooks.
"""

from __future__ import annotations

from fastapi import FastAPI


def mount_api(app: FastAPI) -> None:
    from allpath.interfaces.api.docs import mount_api_docs
    from allpath.interfaces.api.routes import (
        admin,
        assess,
        fhir,
        health,
        patients,
        session,
        team,
        treatment,
        trials,
    )

    # The assessment first, as a route of the application itself: FastAPI tries the routes in order, and
    # POST /api/assess, the hot path, was matched after some twenty others and through the inclusion machinery
    # of its router (issue 11; ``assess.add_assessment``). No path of these routers matches another's.
    assess.add_assessment(app)
    for module in (assess, health, session, patients, treatment, trials, fhir, admin, team):
        app.include_router(module.router)
    mount_api_docs(app)


__all__ = ["mount_api"]
