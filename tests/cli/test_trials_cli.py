"""``allpath trials import`` and ``allpath trials sync``: the snapshot of 20 childhood-ALL studies
(``/work/shared/trials/studies.json``) imported from a page, from NDJSON and from several files; limits on size,
count and depth at the limit and one past it; and sync against a local stand-in of the ClinicalTrials.gov API
v2 that pages with ``nextPageToken`` and answers 429 and 500 before it answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from allpath.interfaces.cli import app, trial_files
from allpath.interfaces.cli.registry_client import RegistryClient, RegistryUnavailable
from allpath.settings import load_settings
from allpath.storage import tables as t
from allpath.storage.db import make_engine, session_factory
from tests.conftest import require_shared

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLPATH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ALLPATH_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALLPATH_TRIALS_API_URL", raising=False)
    return tmp_path


@pytest.fixture
def snapshot_file() -> Path:
    return require_shared() / "trials" / "studies.json"


@pytest.fixture
def snapshot(snapshot_file: Path) -> list[dict[str, Any]]:
    studies: list[dict[str, Any]] = json.loads(snapshot_file.read_text())["studies"]
    return studies


def _stored() -> dict[str, tuple[Any, Any]]:
    engine = make_engine(load_settings().database_url)
    try:
        with session_factory(engine)() as s:
            return {row.nct_id: (row.last_update, row.imported_at) for row in s.scalars(select(t.TrialStudy))}
    finally:
        engine.dispose()


def _ndjson(path: Path, studies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(s) + "\n" for s in studies))
    return path


# ---- import ------------------------------------------------------------------------------------------------


def test_import_of_the_snapshot_twice_stores_20_studies_and_changes_nothing_the_second_time(
    data_dir: Path, snapshot_file: Path
) -> None:
    first = runner.invoke(app, ["trials", "import", str(snapshot_file)])
    assert first.exit_code == 0, first.output
    assert "from studies.json: 20 added, 0 updated, 0 unchanged, 0 refused." in first.stdout
    assert "The registry holds 20 studies, refreshed " in first.stdout
    stored = _stored()
    assert len(stored) == 20
    second = runner.invoke(app, ["trials", "import", str(snapshot_file)])
    assert second.exit_code == 0, second.output
    assert "0 added, 0 updated, 20 unchanged, 0 refused." in second.stdout
    assert _stored() == stored  # the same rows, with the same dates and import times


def test_import_of_ndjson_and_of_several_files(data_dir: Path, snapshot: list[dict[str, Any]]) -> None:
    lines = _ndjson(data_dir / "first.ndjson", snapshot[:8])
    page = data_dir / "second.json"
    page.write_text(json.dumps({"studies": snapshot[8:15], "nextPageToken": "NF0g5JOBlPs"}))
    one_study = data_dir / "one.json"  # one study object alone: NDJSON of one line
    one_study.write_text(json.dumps(snapshot[15]))
    rest = _ndjson(data_dir / "rest.ndjson", snapshot[16:])
    result = runner.invoke(app, ["trials", "import", str(lines), str(page), str(one_study), str(rest)])
    assert result.exit_code == 0, result.output
    assert "from first.ndjson, second.json, one.json, rest.ndjson: 20 added" in result.stdout
    assert len(_stored()) == 20
    again = runner.invoke(app, ["trials", "import", str(rest), str(lines)])
    assert "0 added, 0 updated, 12 unchanged, 0 refused" in again.stdout


def test_a_newer_copy_replaces_the_stored_study(data_dir: Path, snapshot: list[dict[str, Any]]) -> None:
    _ndjson(data_dir / "old.ndjson", snapshot[:1])
    runner.invoke(app, ["trials", "import", str(data_dir / "old.ndjson")])
    before = _stored()["NCT03914625"]
    newer = json.loads(json.dumps(snapshot[0]))
    newer["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2026-11-30"}
    result = runner.invoke(app, ["trials", "import", str(_ndjson(data_dir / "new.ndjson", [newer]))])
    assert "0 added, 1 updated, 0 unchanged" in result.stdout
    after = _stored()["NCT03914625"]
    assert after[0].isoformat() == "2026-11-30" and after[1] > before[1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty; expected a ClinicalTrials.gov API v2 studies page"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"studies": [}', "not valid JSON (line 1, column 14: a value is missing or is not JSON)"),
        (b'{"studies": {"nctId": "NCT03914625"}}', "studies must be a list of study objects"),
        (b'{"studies": [NaN]}', "NaN is not a number JSON can carry"),
        (b"[1, 2]", "this is JSON but neither a studies page nor a study"),
    ],
)
def test_a_malformed_file_is_refused_with_why_and_what_is_allowed(
    data_dir: Path, snapshot_file: Path, content: bytes, expected: str
) -> None:
    bad = data_dir / "bad.json"
    bad.write_bytes(content)
    result = runner.invoke(app, ["trials", "import", str(bad), str(snapshot_file)])
    assert result.exit_code == 2
    assert "20 added, 0 updated, 0 unchanged, 1 refused." in result.stdout  # the good file is stored
    refused = [line for line in result.stdout.splitlines() if line.startswith("  refused: bad.json: ")]
    assert len(refused) == 1 and expected in refused[0], result.stdout


def test_a_bad_line_of_ndjson_is_refused_alone(data_dir: Path, snapshot: list[dict[str, Any]]) -> None:
    path = data_dir / "mixed.ndjson"
    path.write_text(json.dumps(snapshot[0]) + "\n{not json\n\n" + json.dumps({"protocolSection": {}}) + "\n")
    result = runner.invoke(app, ["trials", "import", str(path)])
    assert result.exit_code == 2
    assert "1 added, 0 updated, 0 unchanged, 2 refused." in result.stdout
    assert "refused: mixed.ndjson line 2: not valid JSON" in result.stdout
    assert "expected one study object per line" in result.stdout
    assert (
        "refused: mixed.ndjson line 4: protocolSection.identificationModule.nctId is missing; "
        "expected NCT followed by eight digits, such as NCT03914625" in result.stdout
    )


def test_a_missing_file_is_refused(data_dir: Path) -> None:
    result = runner.invoke(app, ["trials", "import", str(data_dir / "absent.json")])
    assert result.exit_code == 2 and "refused: absent.json: the file does not exist" in result.stdout


def test_file_size_limit_at_the_limit_and_one_past_it(
    data_dir: Path, snapshot_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = snapshot_file.stat().st_size
    monkeypatch.setattr(trial_files, "MAX_FILE_BYTES", size)
    assert runner.invoke(app, ["trials", "import", str(snapshot_file)]).exit_code == 0
    monkeypatch.setattr(trial_files, "MAX_FILE_BYTES", size - 1)
    result = runner.invoke(app, ["trials", "import", str(snapshot_file)])
    assert result.exit_code == 2
    assert f"refused: studies.json: the file holds {size:,} bytes; at most {size - 1:,} bytes" in result.stdout


def test_study_count_limit_at_the_limit_and_one_past_it(
    data_dir: Path, snapshot_file: Path, snapshot: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trial_files, "MAX_STUDIES_PER_FILE", 20)
    assert runner.invoke(app, ["trials", "import", str(snapshot_file)]).exit_code == 0
    monkeypatch.setattr(trial_files, "MAX_STUDIES_PER_FILE", 19)
    for path in (snapshot_file, _ndjson(data_dir / "all.ndjson", snapshot)):
        result = runner.invoke(app, ["trials", "import", str(path)])
        assert result.exit_code == 2
        assert "studies: the file holds 20 studies; at most 19 per file: split it" in result.stdout


def _nested(depth: int) -> dict[str, Any]:
    """A studies page whose deepest array or object is ``depth`` levels inside the page (the page is level 1)."""
    value: Any = {}
    for _ in range(depth - 4):  # the page, its list and the study hold the first three levels
        value = {"a": value}
    study = {"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}, "x": value}
    return {"studies": [study]}


def test_nesting_depth_at_the_limit_and_one_past_it(data_dir: Path) -> None:
    path = data_dir / "deep.json"
    path.write_text(json.dumps(_nested(trial_files.MAX_DEPTH)))
    result = runner.invoke(app, ["trials", "import", str(path)])
    assert result.exit_code == 0 and "1 added" in result.stdout, result.output
    path.write_text(json.dumps(_nested(trial_files.MAX_DEPTH + 1)))
    result = runner.invoke(app, ["trials", "import", str(path)])
    assert result.exit_code == 2
    assert f"arrays and objects are nested more than {trial_files.MAX_DEPTH} levels deep" in result.stdout


# ---- sync against a stand-in of the registry's API -----------------------------------------------------------


@dataclass
class StandIn:
    """A local stand-in of ``GET /api/v2/studies``: the snapshot in pages of ``page_size`` (or the asked
    ``pageSize`` when smaller) with ``nextPageToken``; ``failures`` are answered first, in order."""

    studies: list[dict[str, Any]]
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    page_size: int = 7
    delay_s: float = 0.0
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    url: str = ""

    def answer(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(query)
        if self.failures:
            status, headers = self.failures.pop(0)
            return status, headers, b'{"error": "try later"}'
        start = int(query.get("pageToken", ["0"])[0].removeprefix("token-"))
        size = min(self.page_size, int(query["pageSize"][0]))
        page: dict[str, Any] = {"studies": self.studies[start : start + size]}
        if start + size < len(self.studies):
            page["nextPageToken"] = f"token-{start + size}"
        return 200, {"Content-Type": "application/json"}, json.dumps(page).encode()


@pytest.fixture
def stand_in(snapshot: list[dict[str, Any]]) -> Iterator[StandIn]:
    server_state = StandIn(studies=snapshot)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            if parsed.path != "/api/v2/studies":
                self.send_error(404)
                return
            time.sleep(server_state.delay_s)
            status, headers, body = server_state.answer(parse_qs(parsed.query))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/api/v2/studies"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


def test_sync_pages_through_the_stand_in_and_survives_429_and_500(data_dir: Path, stand_in: StandIn) -> None:
    stand_in.failures = [(429, {"Retry-After": "0"}), (500, {})]
    result = runner.invoke(app, ["trials", "sync", "--base-url", stand_in.url, "--page-size", "7"])
    assert result.exit_code == 0, result.output
    assert "from ClinicalTrials.gov: 20 added, 0 updated, 0 unchanged, 0 refused." in result.stdout
    assert len(_stored()) == 20
    tokens = [q.get("pageToken", [""])[0] for q in stand_in.requests]
    assert tokens == ["", "", "", "token-7", "token-14"]  # the first page asked three times, then two more
    first = stand_in.requests[0]
    assert first["query.cond"] == ["acute lymphoblastic leukemia"] and first["filter.advanced"] == ["AREA[StdAge]CHILD"]
    assert first["pageSize"] == ["7"]
    again = runner.invoke(app, ["trials", "sync", "--base-url", stand_in.url])
    assert "0 added, 0 updated, 20 unchanged, 0 refused." in again.stdout


def test_sync_stops_at_max_studies(data_dir: Path, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLPATH_TRIALS_API_URL", stand_in.url)  # the address as a setting
    result = runner.invoke(app, ["trials", "sync", "--max-studies", "9", "--page-size", "5"])
    assert result.exit_code == 0, result.output
    assert "9 added" in result.stdout and len(_stored()) == 9
    assert [q["pageSize"] for q in stand_in.requests] == [["5"], ["4"]]  # the last page asks only for what is left


def test_sync_without_network_says_so_in_one_line_and_changes_nothing(data_dir: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(app, ["trials", "sync", "--base-url", f"http://127.0.0.1:{port}/api/v2/studies"])
    assert result.exit_code == 2
    assert result.stderr == (
        "allpath trials sync: the trial registry cannot be reached (no network, or the address is wrong); "
        "nothing was changed\n"
    )
    assert _stored() == {}


def test_a_sync_that_fails_midway_stores_nothing(data_dir: Path, stand_in: StandIn) -> None:
    stand_in.failures = []
    client = RegistryClient(base_url=stand_in.url, page_size=7, attempts=2, sleep=lambda _s: None)
    pages = client.pages(20)
    assert len(next(pages)) == 7
    stand_in.failures = [(503, {}), (503, {})]
    with pytest.raises(RegistryUnavailable, match=r"busy or failing \(HTTP status 503 after 2 tries\)"):
        next(pages)


def test_the_client_honours_retry_after_and_backs_off_by_doubling(stand_in: StandIn) -> None:
    waits: list[float] = []
    stand_in.failures = [(503, {"Retry-After": "7"}), (429, {}), (502, {}), (500, {"Retry-After": "999"})]
    client = RegistryClient(base_url=stand_in.url, page_size=20, attempts=5, sleep=waits.append)
    pages = list(client.pages(100))
    assert [len(p) for p in pages] == [7, 7, 6]
    assert waits == [7.0, 2.0, 4.0, 60.0]  # the server's wait, the doubling backoff, a long wait capped at 60 s


def test_the_client_gives_up_on_a_refusal_without_retrying(stand_in: StandIn) -> None:
    stand_in.failures = [(404, {})]
    client = RegistryClient(base_url=stand_in.url, sleep=lambda _s: None)
    with pytest.raises(RegistryUnavailable, match=r"refused the request \(HTTP status 404\)"):
        list(client.pages(10))
    assert len(stand_in.requests) == 1


def test_the_client_times_out(stand_in: StandIn) -> None:
    stand_in.delay_s = 0.5
    client = RegistryClient(base_url=stand_in.url, timeout_s=0.1, attempts=2, sleep=lambda _s: None)
    with pytest.raises(RegistryUnavailable, match=r"did not answer within 0\.1 seconds"):
        list(client.pages(10))
