"""CPU per request of ``POST /api/assess`` in process, against the bare endpoint in the same run (issue 11).

On a machine shared with other work, wall-clock throughput is noise; CPU time per request is not. This drives
both applications through raw ASGI calls (no sockets, no HTTP parser) on uvloop, ``--concurrency`` requests
in flight, the 200 bodies of the HTTP benchmark (seed 20240802), and divides the process's CPU time (every
thread: the sign-in look-ups and the audit writer count) by the number of requests. allpath runs the real
thing on a fresh SQLite database (``synchronous=FULL``): token look-up, validation, assessment, an audit
entry made durable before the answer. ``--postgres`` runs it on a throwaway PostgreSQL server instead (as
``bench_http.py --postgres``; the server's own CPU is not in the figure, only allpath's). The bare endpoint is
``bare_app.py`` (same body, same pydantic record model, a JSON answer). The floor is
``bare_app.create_floor()``: the bare endpoint plus allpath's own work on the record (validation, assessment,
the answer's encoding), with no authentication, audit or guard -- what no request path can go below. Rounds
alternate bare, floor and allpath; the figure is each one's best round and the ratios.

Usage::

    python benchmarks/bench_request_cpu.py [--requests 2000] [--rounds 5] [--concurrency 8] [--postgres] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from bench_http import BODIES, DEFAULT_SEED, _prepare, throwaway_postgres
from records import generate

ASGI = ASGIApp


def _scope(token: str | None, size: int) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", str(size).encode())]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/assess",
        "raw_path": b"/api/assess",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _one(app: ASGI, body: bytes, token: str | None) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(token, len(body)), receive, send)
    return status


async def _load(app: ASGI, bodies: list[bytes], token: str | None, requests: int, concurrency: int) -> float:
    """Process CPU seconds per request for ``requests`` requests, ``concurrency`` in flight."""
    counter = iter(range(requests))

    async def client(offset: int) -> None:
        for n in counter:
            status = await _one(app, bodies[(n + offset) % len(bodies)], token)
            if status != 200:
                raise RuntimeError(f"answer {status}")

    started = time.process_time()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    return (time.process_time() - started) / requests


async def _lifespan(app: ASGI) -> Callable[[], Awaitable[None]]:
    """Start the application's lifespan (as uvicorn does); returns the coroutine that ends it."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    await outbox.get()

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


def run(requests: int, rounds: int, concurrency: int, profile: bool = False, postgres: bool = False) -> dict[str, Any]:
    import uvloop

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bare_app
    from allpath.interfaces.app import create_app
    from allpath.settings import load_settings

    bodies = [json.dumps(record).encode() for record in generate(BODIES, DEFAULT_SEED)]
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="allpath-bench-cpu-"))
        url = stack.enter_context(throwaway_postgres()) if postgres else f"sqlite:///{Path(folder) / 'allpath.db'}"
        token = _prepare(url)
        settings = load_settings({"ALLPATH_DATA_DIR": folder, "ALLPATH_DATABASE_URL": url})
        allpath_app = create_app(settings)
        bare = bare_app.create()
        floor = bare_app.create_floor()

        async def measure() -> dict[str, Any]:
            stop = await _lifespan(allpath_app)
            await _load(bare, bodies, None, requests // 4, concurrency)  # warm-up
            await _load(floor, bodies, None, requests // 4, concurrency)
            await _load(allpath_app, bodies, token, requests // 4, concurrency)
            bare_ms: list[float] = []
            floor_ms: list[float] = []
            allpath_ms: list[float] = []
            for _ in range(rounds):
                bare_ms.append(1000 * await _load(bare, bodies, None, requests, concurrency))
                floor_ms.append(1000 * await _load(floor, bodies, None, requests, concurrency))
                allpath_ms.append(1000 * await _load(allpath_app, bodies, token, requests, concurrency))
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
                await _load(allpath_app, bodies, token, requests, concurrency)
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(40)
            await stop()
            return {"bare_ms": bare_ms, "floor_ms": floor_ms, "allpath_ms": allpath_ms}

        result = uvloop.run(measure())
    best_bare, best_floor, best_allpath = min(result["bare_ms"]), min(result["floor_ms"]), min(result["allpath_ms"])
    return {
        **result,
        "requests": requests,
        "concurrency": concurrency,
        "best_bare_ms": best_bare,
        "best_floor_ms": best_floor,
        "best_allpath_ms": best_allpath,
        "times_bare": best_allpath / best_bare,
        "floor_times_bare": best_floor / best_bare,
    }


def report(result: dict[str, Any]) -> str:
    rounds = ", ".join(
        f"{a:.3f}/{f:.3f}/{b:.3f}"
        for a, f, b in zip(result["allpath_ms"], result["floor_ms"], result["bare_ms"], strict=True)
    )
    return (
        f"CPU per request in process ({result['requests']} requests x {len(result['bare_ms'])} rounds, "
        f"{result['concurrency']} in flight): allpath {result['best_allpath_ms']:.3f} ms, bare "
        f"{result['best_bare_ms']:.3f} ms = {result['times_bare']:.1f}x; the floor (bare + engine + answer, no "
        f"authentication, audit or guard) {result['best_floor_ms']:.3f} ms = {result['floor_times_bare']:.1f}x  "
        f"(rounds allpath/floor/bare ms: {rounds})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one more allpath round")
    parser.add_argument("--postgres", action="store_true", help="allpath on a throwaway PostgreSQL server")
    args = parser.parse_args(argv)
    print(report(run(args.requests, args.rounds, args.concurrency, args.profile, args.postgres)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
