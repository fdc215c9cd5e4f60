"""The HTTP benchmark's upper bound (``benchmarks/bench_http.py --unstored``) measures what it says: allpath
answering as usual with its audit entries never stored. If it stored them after all (say the audit path stopped
going through ``AuditWriter.submit``), the benchmark would report a bound that is no bound. Each app runs in a
process of its own: the bound replaces a method of the audit writer for the whole process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sqlite3, sys
sys.path.insert(0, sys.argv[1])
import bare_app, bench_http
from fastapi.testclient import TestClient
from allpath.interfaces.app import create_app

url = "sqlite:///" + sys.argv[3] + "/allpath.db"
token = bench_http._prepare(url)
app = bare_app.create_unstored() if sys.argv[2] == "unstored" else create_app()
record = json.loads(open(sys.argv[4]).read())

def audit_rows():
    with sqlite3.connect(sys.argv[3] + "/allpath.db") as db:
        return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]

with TestClient(app) as client:
    before = audit_rows()
    answer = client.post("/api/assess", json=record, headers={"Authorization": "Bearer " + token})
    after = audit_rows()
print(json.dumps({"status": answer.status_code, "risk": "risk_group" in answer.text, "new_rows": after - before}))
"""


def _assess(kind: str, folder: Path) -> dict[str, object]:
    env = {
        "PATH": "/usr/bin:/bin",
        "ALLPATH_DATA_DIR": str(folder),
        "ALLPATH_DATABASE_URL": f"sqlite:///{folder}/allpath.db",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            str(ROOT / "benchmarks"),
            kind,
            str(folder),
            str(ROOT / "examples" / "standard_risk.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("kind", "stored"), [("allpath", True), ("unstored", False)])
def test_the_upper_bound_answers_as_allpath_and_stores_no_audit_entry(kind: str, stored: bool, tmp_path: Path) -> None:
    result = _assess(kind, tmp_path)
    assert result["status"] == 200
    assert result["risk"] is True
    new_rows = result["new_rows"]
    assert isinstance(new_rows, int)
    assert (new_rows > 0) is stored
