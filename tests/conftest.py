"""Shared fixtures: the bundled knowledge base and small helpers to assess a record dict."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import Assessment
from allpath.engine.assess import assess
from allpath.knowledge.loader import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = ROOT / "examples"


def shared_dir() -> Path | None:
    """The project's shared/ folder (source documents, vignettes), beside the clone."""
    candidates = [os.environ.get("ALLPATH_SHARED"), ROOT.parent / "shared", ROOT / ".." / "shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "source").is_dir():
            return Path(candidate).resolve()
    return None


def require_shared() -> Path:
    """shared/ is beside every clone in CI; outside CI a test that needs it is skipped."""
    found = shared_dir()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shared/ (source documents) is not beside the clone; CI must provide it")
        pytest.skip("shared/ is not beside this clone")
    return found


def optional_shared() -> Path | None:
    """shared/ for a test that checks more when it is there (None outside CI when it is not; in CI, where
    it is always beside the clone, its absence fails the test instead of quietly checking less)."""
    found = shared_dir()
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("shared/ (source documents) is not beside the clone; CI must provide it")
    return found


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


def run(record: dict[str, Any], kb: KnowledgeBase | None = None) -> Assessment:
    """Validate and assess one record dict with the bundled (or given) knowledge base."""
    return assess(parse_record(record), kb or load_knowledge())


def complete_b_all(**overrides: Any) -> dict[str, Any]:
    """A complete newly diagnosed B-ALL record at standard risk, to vary one input at a time."""
    record: dict[str, Any] = {
        "sex": "male",
        "age_years": 4.0,
        "wbc_per_ul": 10_000,
        "immunophenotype": "B",
        "genetics": ["none_detected"],
        "cns_status": "CNS1",
        "testicular_involvement": False,
        "down_syndrome": False,
        "steroid_pretreatment": False,
        "response": {
            "day8_blood_mrd_pct": 0.001,
            "end_of_induction_marrow_mrd_pct": 0.0,
            "end_of_induction_remission": True,
        },
    }
    for key, value in overrides.items():
        if key in (
            "day8_blood_mrd_pct",
            "end_of_induction_marrow_mrd_pct",
            "end_of_induction_remission",
            "end_of_consolidation_mrd_pct",
        ):
            if value is None:
                record["response"].pop(key, None)
            else:
                record["response"][key] = value
        elif value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


# ---- no record value in any log ------------------------------------------------------------------------
# The abuse tests (tests/abuse) send these values in requests that fail: refused records, numbers JSON cannot
# carry, server errors. None of them may ever reach a log record, the test process's standard error, or the
# standard error of a server process a test starts. Nothing else in the tests uses them, so a find is a leak.

SENTINEL_ID = "SENTINEL-Zorbalind-4417"
SENTINEL_NAME = "Zorbalind Quaxworth"
SENTINEL_WBC = 187654.25
SENTINEL_BIRTH_DATE = "2013-05-19"
SENTINEL_DIAGNOSIS_DATE = "2019-08-23"
SENTINELS = (
    SENTINEL_ID,
    SENTINEL_NAME,
    "187654.25",
    "187,654.25",
    "187654",
    SENTINEL_BIRTH_DATE,
    SENTINEL_DIAGNOSIS_DATE,
)


def sentinel_record(**overrides: Any) -> dict[str, Any]:
    """A valid record carrying every sentinel value (vary one field to make it fail)."""
    record = complete_b_all(
        id=SENTINEL_ID,
        age_years=None,
        wbc_per_ul=SENTINEL_WBC,
        birth_date=SENTINEL_BIRTH_DATE,
        diagnosis_date=SENTINEL_DIAGNOSIS_DATE,
    )
    record.update(overrides)
    return record


class LogScan:
    """Collects what a test session writes to logs and standard error, and finds given values in it.

    ``handler`` is a logging handler (attach it to the root logger to see every record that propagates);
    ``add`` takes any other text (a server's standard error, a test's captured standard error).
    """

    def __init__(self, sentinels: tuple[str, ...]) -> None:
        self.sentinels = sentinels
        self.texts: list[tuple[str, str]] = []
        scan = self

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    text = self.format(record)
                except Exception:  # noqa: BLE001 - a record that cannot be formatted: keep its raw parts
                    text = f"{record.msg!r} {record.args!r}"
                scan.add(f"log record of {record.name}", text)

        self.handler: logging.Handler = Collect(level=logging.NOTSET)
        # The whole record: message, arguments, and the traceback with its exception messages.
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def add(self, source: str, text: str) -> None:
        if text:
            self.texts.append((source, text))

    def findings(self) -> list[str]:
        """Each sentinel found, with where (never the text around it: that would copy the leak)."""
        return sorted(
            {f"{value!r} in {source}" for source, text in self.texts for value in self.sentinels if value in text}
        )


LOG_SCAN = LogScan(SENTINELS)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """The standard error and log output pytest captured for each test phase go to the scan too."""
    LOG_SCAN.add(f"captured stderr of {report.nodeid} ({report.when})", report.capstderr)
    LOG_SCAN.add(f"captured log of {report.nodeid} ({report.when})", report.caplog)


@pytest.fixture(scope="session", autouse=True)
def no_record_value_in_any_log() -> Iterator[None]:
    """Over the whole session: every log record (root logger), every test's captured standard error, and the
    standard error of the servers the tests start (``LOG_SCAN.add``) are free of the sentinel record values."""
    root = logging.getLogger()
    root.addHandler(LOG_SCAN.handler)
    try:
        yield
    finally:
        root.removeHandler(LOG_SCAN.handler)
    findings = LOG_SCAN.findings()
    assert not findings, "record values reached a log or standard error: " + "; ".join(findings)
