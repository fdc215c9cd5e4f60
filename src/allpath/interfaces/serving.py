"""How ``allpath serve`` listens: the socket is bound first (a port in use is one plain line, not a
traceback), and "allpath is running at ..." is printed only once the service answers on it.

The listening socket is made here, as IPPROTO_TCP, and handed to uvicorn, for one worker and for several.
uvicorn's own socket for several workers has ``proto`` 0; accepted connections inherit it, asyncio then does
not set TCP_NODELAY, and every keep-alive response waits about 40 ms for the client's delayed ACK (uvicorn
issue #3149: 180 instead of 3,000 requests/s). A socket made as IPPROTO_TCP keeps TCP_NODELAY on every
accepted connection.
"""

from __future__ import annotations

import errno
import http.client
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from allpath.settings import Settings

APP = "allpath.interfaces.app:create_app"
BACKLOG = 2048  # uvicorn's default
READY_TIMEOUT_SECONDS = 600.0  # a first start migrates the database and loads the knowledge base
PROBE_INTERVAL_SECONDS = 0.2


def startup_warnings(settings: Settings) -> list[str]:
    """What keeps a part of the service from working as configured (CDS Hooks without its public URL), to
    print before the service starts; a ``ValueError`` naming a setting that cannot work."""
    from allpath.interfaces.cds import configuration_warnings

    return configuration_warnings(settings)


class ListenError(Exception):
    """The address or port cannot be listened on; the message is one plain sentence."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening (port 0: any free port)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError):
        raise ListenError(f"the address {host!r} is not known on this machine; choose another with --host") from None
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        raise ListenError(_bind_problem(error, host, port)) from None
    sock.set_inheritable(True)  # the workers get it
    return sock


def _bind_problem(error: OSError, host: str, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (by another program or another allpath); "
            "stop it or choose another port with --port"
        )
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges this user does not have; choose a port above 1023 with --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine; choose another with --host"
    return f"cannot listen on {host} port {port} ({error.strerror or 'refused by the system'})"


def address_shown(sock: socket.socket) -> str:
    """The address a person opens: ``http://localhost:PORT/`` for the loopback and every-interface addresses."""
    host, port = sock.getsockname()[:2]
    if host in ("127.0.0.1", "0.0.0.0", "::1", "::"):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def _probe_address(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), port


def _answers(host: str, port: int, timeout: float) -> bool:
    """Whether ``GET /api/health`` answers 200 (the request waits in the socket's backlog until a worker
    has started: the first answer comes when the service really serves)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/api/health")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def announce_when_ready(sock: socket.socket, announce: Callable[[], None]) -> threading.Thread:
    """Call ``announce`` once ``sock`` serves ``/api/health`` (from a daemon thread; never, if it does not)."""
    host, port = _probe_address(sock)

    def probe() -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if _answers(host, port, timeout=max(1.0, deadline - time.monotonic())):
                announce()
                return
            time.sleep(PROBE_INTERVAL_SECONDS)

    thread = threading.Thread(target=probe, name="allpath-ready", daemon=True)
    thread.start()
    return thread


class ProxyOptions(TypedDict, total=False):
    """The keyword arguments of ``uvicorn.Config`` that say whose ``X-Forwarded-For`` header is believed."""

    proxy_headers: bool
    forwarded_allow_ips: list[str]


def proxy_options(trusted_proxies: tuple[str, ...]) -> ProxyOptions:
    """uvicorn's handling of ``X-Forwarded-For``: off unless reverse proxies are trusted by configuration.

    uvicorn believes the header from 127.0.0.1 by default, so anyone on the machine, or a rotating header
    sent through a local tunnel, could choose the client address that the sign-in limits count by. Only the
    addresses in ``ALLPATH_TRUSTED_PROXIES`` may name the client.
    """
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted_proxies)}


def run_service(
    sock: socket.socket, workers: int, announce: Callable[[], None], trusted_proxies: tuple[str, ...] = ()
) -> bool:
    """Serve the application on ``sock`` with ``workers`` processes until stopped; False when it did not start.
    ``ModuleNotFoundError`` when the application cannot be loaded for want of a package (one worker; with
    several, each worker process reports it).

    Request lines carry patient ids: uvicorn's access log stays off, and only its warnings are shown.
    """
    proxies = proxy_options(trusted_proxies)
    import uvicorn
    from uvicorn.config import Config

    host, port = sock.getsockname()[:2]
    if workers == 1:
        # Built here, not by uvicorn from APP: a package missing from the installation is the caller's
        # ModuleNotFoundError (told in one line), not a traceback from inside uvicorn.
        from allpath.interfaces.app import create_app

        config = uvicorn.Config(create_app(), host=host, port=port, log_level="warning", access_log=False, **proxies)
        server = uvicorn.Server(config)
        announce_when_ready(sock, announce)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down: a normal end (as uvicorn.run)
            pass
        return server.started

    # uvicorn binds the workers' shared socket through Config.bind_socket: hand it this one instead.
    def bound(self: Config) -> socket.socket:
        return sock

    Config.bind_socket = bound  # type: ignore[method-assign]
    announce_when_ready(sock, announce)
    uvicorn.run(
        APP, factory=True, host=host, port=port, workers=workers, log_level="warning", access_log=False, **proxies
    )
    return True
