"""``allpath serve --workers 2``: a JWT replayed to the server is accepted once, whichever worker receives it
(the replay memory is the database's, ``allpath.storage.replay``, not each process's)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from tests.cds.conftest import Keys, draft_orders, hook_request, make_token, trusted
from tests.cds.test_serve import ALLPATH, _env, _free_port

SERVICE = "/cds-services/allpath-order-sign"
TOKENS = 6
COPIES = 8  # each token sent this many times, one after the other, each on a new connection: the two workers
# share the listening socket and take turns (before the replay memory was shared, most tokens were accepted
# twice, once by each worker)


def test_a_replayed_token_is_accepted_once_by_two_workers(tmp_path: Path, keys: Keys) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(tmp_path / "data", ALLPATH_CDS_TRUSTED_ISSUERS=json.dumps(trusted(keys)), ALLPATH_CDS_BASE_URL=base)
    command = [ALLPATH, "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and "running at" not in line:
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()
        body = hook_request("order-sign", draft_orders())

        def send(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
            return httpx.post(base + SERVICE, json=body, headers=headers, timeout=60).status_code

        tokens = [make_token(keys, base + SERVICE) for _ in range(TOKENS)]
        answers = [[send(token) for _ in range(COPIES)] for token in tokens]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert all(sorted(statuses) == [200] + [401] * (COPIES - 1) for statuses in answers), answers
