"""The service with one more route, ``POST /api/crash``, that fails with the request's record in its error
message: for tests/abuse/test_server.py, which serves it with uvicorn to see what the server logs."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import FastAPI

from allpath.interfaces.app import create_app


def create() -> FastAPI:
    app = create_app()

    @app.post("/api/crash", response_model=None)
    def crash(record: dict[str, Any]) -> NoReturn:
        raise RuntimeError(f"could not store {record!r}")

    return app
