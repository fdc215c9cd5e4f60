"""``X-Forwarded-For`` against a real ``allpath serve``: ignored unless a trusted proxy is configured.

uvicorn believes the header from 127.0.0.1 by default; an attacker on loopback (or behind a local tunnel) could
then rotate it and reset the sign-in limit at every guess. allpath turns the header off unless
``ALLPATH_TRUSTED_PROXIES`` names the proxies that may set it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from allpath.interfaces.serving import proxy_options
from allpath.knowledge.loader import KnowledgeBase
from allpath.settings import SignInLimits
from tests.abuse.test_server import Server, scan_server_output, seeded_data_dir, start
from tests.api.conftest import free_port

LIMIT = SignInLimits().per_name_and_client


def _serve(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Server:
    data_dir, tokens = seeded_data_dir(tmp_path_factory, kb)
    port = free_port()
    command = [str(Path(sys.executable).parent / "allpath"), "serve", "--port", str(port)]
    return start(command, data_dir, port, tokens)


def _wrong_guesses(server: Server, count: int) -> list[int]:
    """``count`` wrong passwords for one user name, each claiming another client address."""
    statuses = []
    for index in range(count):
        body = json.dumps({"username": "clin", "password": "a wrong guess"}).encode()
        headers = {"Content-Type": "application/json", "X-Forwarded-For": f"203.0.113.{index + 1}"}
        statuses.append(server.request("POST", "/api/session", body, headers)[0])
    return statuses


@pytest.mark.slow
def test_forwarded_for_is_ignored_without_a_trusted_proxy(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLPATH_TRUSTED_PROXIES", raising=False)
    server = _serve(tmp_path_factory, kb)
    try:
        statuses = _wrong_guesses(server, LIMIT + 2)
    finally:
        scan_server_output(server, "allpath serve (no trusted proxy)")
    # One client (the socket's peer) whatever the header says: the limit holds.
    assert statuses == [401] * LIMIT + [429, 429]


@pytest.mark.slow
def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLPATH_TRUSTED_PROXIES", "127.0.0.1")
    server = _serve(tmp_path_factory, kb)
    try:
        statuses = _wrong_guesses(server, LIMIT + 2)
    finally:
        scan_server_output(server, "allpath serve (trusted proxy)")
    # Behind the configured proxy each forwarded address is a client of its own.
    assert statuses == [401] * (LIMIT + 2)


def test_proxy_options() -> None:
    assert proxy_options(()) == {"proxy_headers": False}
    assert proxy_options(("10.0.0.1", "10.0.1.0/24")) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.1", "10.0.1.0/24"],
    }
