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

    for module in (health, session, patients, assess, treatment, trials, fhir, admin, team):
        app.include_router(module.router)
    mount_api_docs(app)


__all__ = ["mount_api"]
