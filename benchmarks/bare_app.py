"""The bare endpoint that the HTTP benchmark measures ``POST /api/assess`` against, side by side.

The same shape as allpath's assessment request without allpath's work: the same JSON body, parsed by FastAPI
into the same pydantic record model, answered with JSON (the parsed record), served by uvicorn with the same
number of workers, the same event loop and HTTP parser, on a socket made the same way as ``allpath serve``'s
(``allpath.interfaces.serving.listening_socket``: TCP_NODELAY on every connection). What allpath adds on top
(authentication, the engine, the audit entry made durable, the HTTP guard) is the difference.

Usage (by bench_http.py)::

    python benchmarks/bare_app.py --port PORT --workers 2 [--floor]
"""

from __future__ import annotations

import argparse
import sys

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from allpath.domain.record_model import PatientRecord
from allpath.interfaces.serving import proxy_options

# ``allpath serve``'s own options (``allpath.interfaces.serving.proxy_options`` with no trusted proxy): uvicorn's
# default would add its X-Forwarded-For middleware to every request here and not in allpath.
SERVED_AS_ALLPATH = proxy_options(())


def create() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/api/assess")
    async def bare_assess(record: PatientRecord) -> JSONResponse:
        return JSONResponse(record.model_dump(mode="json"))

    return app


def create_floor() -> FastAPI:
    """The bare endpoint plus allpath's own work on the record: the engine (record validation and assessment)
    and the answer's encoding, without authentication, audit or the HTTP guard: the floor under which no
    authenticated, audited ``POST /api/assess`` can go, whatever its request path costs."""
    from allpath import service
    from allpath.interfaces.http.json_answer import JSONAnswer
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/api/assess")
    async def floor_assess(record: dict[str, object]) -> JSONResponse:
        return JSONAnswer(service.assess_record(kb, record))

    return app


def create_unstored() -> FastAPI:
    """allpath itself, with one change: every audit entry is acknowledged at once and never stored. Unsafe, and
    only here, for a benchmark (``bench_http.py --unstored``): what allpath would serve if its durable audit
    entry cost nothing, the upper bound of any way of storing it. The rest is the real thing (the database of
    ``ALLPATH_DATABASE_URL``, token look-up, guard, unit of work, validation, assessment, answer)."""
    from concurrent.futures import Future

    from allpath.interfaces.app import create_app
    from allpath.storage import audit_writer

    def acknowledged_unstored(
        self: audit_writer.AuditWriter, entries: list[audit_writer.Entry], *, on_loop: bool = False
    ) -> Future[None]:
        future = audit_writer.Durable()
        future.set_result(None)
        return future

    audit_writer.AuditWriter.submit = acknowledged_unstored  # type: ignore[method-assign]
    return create_app()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The bare FastAPI endpoint of the HTTP benchmark.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--floor", action="store_true", help="serve create_floor(): with the engine and the answer")
    kind.add_argument(
        "--unstored", action="store_true", help="serve create_unstored(): allpath, its audit entries never stored"
    )
    args = parser.parse_args(argv)
    factory = create_floor if args.floor else create_unstored if args.unstored else create

    import socket

    import uvicorn
    from uvicorn.config import Config

    from allpath.interfaces.serving import listening_socket

    sock = listening_socket(args.host, args.port)
    if args.workers == 1:  # as allpath serve: one server on this socket (uvicorn.run would bind the port again)
        config = uvicorn.Config(factory(), log_level="warning", access_log=False, **SERVED_AS_ALLPATH)
        uvicorn.Server(config).run(sockets=[sock])
        return 0

    def bound(self: Config) -> socket.socket:  # as allpath serve: uvicorn's workers share this socket
        return sock

    Config.bind_socket = bound  # type: ignore[method-assign]
    uvicorn.run(
        f"bare_app:{factory.__name__}",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        **SERVED_AS_ALLPATH,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
