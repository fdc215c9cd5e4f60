"""What ``allpath serve`` says at start about the CDS Hooks settings: a warning when trusted issuers are
configured without ``ALLPATH_CDS_BASE_URL`` (the rest of the service runs; the CDS calls answer 503), and one
plain line with exit status 2 for a CDS setting that cannot work."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.cds.conftest import Keys, trusted

ALLPATH = str(Path(sys.executable).parent / "allpath")


def _env(data: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLPATH_")}
    return env | {"ALLPATH_DATA_DIR": str(data)} | values


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_warns_when_the_base_url_is_missing(tmp_path: Path, keys: Keys) -> None:
    env = _env(tmp_path / "data", ALLPATH_CDS_TRUSTED_ISSUERS=json.dumps(trusted(keys)))
    command = [ALLPATH, "serve", "--port", str(_free_port())]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline and "running at" not in line:
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()
    finally:
        process.terminate()
        process.wait(timeout=30)
    errors = process.stderr.read()
    assert "running at" in line  # the rest of the service is served
    assert (
        "allpath serve: warning: CDS Hooks: trusted issuers are configured but ALLPATH_CDS_BASE_URL is not; every "
        "CDS service call will be refused (503) until it is set to this service's public URL (the JWT audience).\n"
    ) in errors
    assert "Traceback" not in errors


def test_a_cds_setting_that_cannot_work_is_one_line_and_exit_2(tmp_path: Path, keys: Keys) -> None:
    issuers = json.dumps(trusted(keys, fhir_servers=["http://ehr.example.org/fhir"]))
    env = _env(tmp_path / "data", ALLPATH_CDS_TRUSTED_ISSUERS=issuers, ALLPATH_CDS_BASE_URL="https://a.example")
    done = subprocess.run(
        [ALLPATH, "serve", "--port", str(_free_port())], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "allpath serve: ALLPATH_CDS_TRUSTED_ISSUERS: https://ehr.example.org/: fhir_servers: "
        "'http://ehr.example.org/fhir' must be an https URL (http only with allow_http: true)\n"
    )
