"""The researcher's outcomes by group (issue 15, item 4, the web part): ``/research/outcomes``.

The demo runs on a seeded synthetic cohort and its figures are checked against ``outcomes_by_group`` on the same
generated data; an upload (CSV and Parquet) against ``outcomes_by_group`` on the uploaded rows. Limits are
checked at the limit and one past it, before the file is parsed; only the researcher role gets the page; each
use and refusal leaves an audit row with counts only; groups under the minimum size are not shown.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from allpath.interfaces.web.routes import research
from allpath.service.cohort.outcomes import OutcomesByGroup, outcomes_by_group
from allpath.service.cohort.research_outcomes import read_outcome_values
from allpath.service.cohort.research_upload import OUTCOME_COLUMNS, OutcomeLimits, split_upload
from allpath.service.cohort.synthetic import generate
from allpath.settings import ResearchLimits
from allpath.storage import tables as t
from tests.web.conftest import LiveServer, User, WebApp
from tests.web.test_browser import DESKTOP, PHONE, _no_sideways_scroll, _sign_in
from tests.web.test_plain_words import ALLOWED, _assert_plain

RECORD_COLUMNS = ("sex", "age_years", "immunophenotype", "wbc_per_ul", "cns_status")
CSV_TYPE = "text/csv"


def _audit(web: WebApp, after: int = 0) -> list[t.AuditEntry]:
    with web.app.state.sessions() as s:
        query = select(t.AuditEntry).where(t.AuditEntry.resource == "research_outcomes", t.AuditEntry.id > after)
        return list(s.scalars(query.order_by(t.AuditEntry.id)))


def _last_id(web: WebApp) -> int:
    with web.app.state.sessions() as s:
        return max(s.scalars(select(t.AuditEntry.id)).all(), default=0)


def _text(html: str) -> str:
    without = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", without).split())


def _percent(value: float) -> str:
    return f"{round(value * 100, 1):g} %"


def _expected(records: pa.Table, outcomes: pa.Table) -> OutcomesByGroup:
    """``outcomes_by_group`` over the data by lineage, as the page computes it."""
    return outcomes_by_group(
        outcomes["efs_years"].to_numpy(),
        outcomes["efs_event"].to_numpy(),
        np.asarray(outcomes["first_event"].to_pylist()),
        outcomes["os_years"].to_numpy(),
        outcomes["death"].to_numpy(),
        np.asarray(records["immunophenotype"].to_pylist()),
    )


def _five_years(curve: Any, start: float) -> str:
    """A 5-year figure as the page writes it: the estimate and its interval, or that no event came yet."""
    steps = [step for step in curve.steps if step.time <= 5.0]
    if not steps:
        return f"{_percent(start)} (no event yet)"
    last = steps[-1]
    return f"{_percent(last.estimate)} ({_percent(last.lower)}–{_percent(last.upper)})"


def _shows_group(text: str, expected: OutcomesByGroup, index: int) -> None:
    """The page's row of group ``index``: its size and its 5-year figures with their intervals."""
    efs, os_curve = expected.event_free[index], expected.overall[index]
    shown = [
        _five_years(efs, 1.0),
        _five_years(os_curve, 1.0),
        _five_years(expected.relapse[index], 0.0),
        _five_years(expected.death_in_remission[index], 0.0),
    ]
    row = f"{efs.group} {efs.subjects} {efs.events} {os_curve.events} " + " ".join(shown)
    assert row in text, row


# ---- the synthetic demo -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_page(researcher: User) -> str:
    answer = researcher.post("/research/outcomes", {"action": "demo", "grouping": "immunophenotype"})
    assert answer.status_code == 200
    return str(answer.text)


def test_the_demo_says_it_is_synthetic_and_matches_outcomes_by_group(demo_page: str) -> None:
    blocks = list(generate(research.DEMO_ROWS, research.DEMO_SEED))
    records = pa.concat_tables([block.records for block in blocks])
    outcomes = pa.concat_tables([block.outcomes for block in blocks])
    expected = _expected(records, outcomes)
    text = _text(demo_page)
    assert "Synthetic data." in text and "describe no real child" in text
    assert f"{research.DEMO_ROWS:,} rows read" in text and f"{research.DEMO_ROWS:,} children analysed" in text
    assert [curve.group for curve in expected.event_free] == ["B", "T"]
    for index in range(2):
        _shows_group(text, expected, index)
    test = expected.event_free_test
    assert f"chi-square {round(test.chi_square, 2):g} with 1 degree of freedom" in text
    # Four figures, each an image with a title and a description, and the curves' yearly values in a table.
    assert demo_page.count('role="img"') == 4
    assert demo_page.count("<desc id=") == 4
    year_five = expected.event_free[0].at(5.0)
    assert f"<td>{_percent(year_five)}</td>" in demo_page
    assert "SYNTHETIC-" not in demo_page  # no record's id
    # The file's column names and the first events' values are what a researcher types in the file: shown as such.
    _assert_plain("the demo", demo_page, ALLOWED | set(OUTCOME_COLUMNS) | {"death_in_remission"})


def test_each_curve_of_the_demo_has_its_interval_band_drawn_the_same_way_each_time(
    researcher: User, demo_page: str
) -> None:
    bands = re.findall(r'<path d="(M[^"]*Z)" fill="(#[0-9A-F]{6})" fill-opacity="0.12" stroke="none"/>', demo_page)
    assert len(bands) == 4 * 2  # four figures, groups B and T
    again = researcher.post("/research/outcomes", {"action": "demo", "grouping": "immunophenotype"})
    assert re.findall(r"<svg viewBox.*?</svg>", again.text, re.S) == re.findall(
        r"<svg viewBox.*?</svg>", demo_page, re.S
    )


def test_the_demo_by_nci_risk_group_shows_the_groups_at_diagnosis(researcher: User) -> None:
    answer = researcher.post("/research/outcomes", {"action": "demo", "grouping": "risk_group"})
    text = _text(answer.text)
    assert "Outcomes by NCI risk group" in text
    # Relapsed records are grouped without their relapses: every child is in a risk group.
    assert "not given" not in text
    for group in ("standard", "high"):
        assert re.search(rf"{group} \d+ \d+ \d+ \d", text), group


# ---- uploads --------------------------------------------------------------------------------------------


def _cohort(b_rows: int, t_rows: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    """Synthetic records and outcomes with exactly ``b_rows`` B-lineage and ``t_rows`` T-lineage children."""
    blocks = list(generate(4 * (b_rows + t_rows) + 200, seed))
    records = pa.concat_tables([block.records for block in blocks])
    outcomes = pa.concat_tables([block.outcomes for block in blocks])
    lineage = np.asarray(records["immunophenotype"].to_pylist())
    chosen = np.concatenate([np.flatnonzero(lineage == "B")[:b_rows], np.flatnonzero(lineage == "T")[:t_rows]])
    chosen.sort()
    return records.take(chosen).select(list(RECORD_COLUMNS)), outcomes.take(chosen).select(list(OUTCOME_COLUMNS))


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _csv(records: pa.Table, outcomes: pa.Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*RECORD_COLUMNS, *OUTCOME_COLUMNS])
    for record, outcome in zip(records.to_pylist(), outcomes.to_pylist(), strict=True):
        writer.writerow([_cell(record[c]) for c in RECORD_COLUMNS] + [_cell(outcome[c]) for c in OUTCOME_COLUMNS])
    return out.getvalue().encode("utf-8")


def _parquet(records: pa.Table, outcomes: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    joined = records
    for name in OUTCOME_COLUMNS:
        joined = joined.append_column(name, outcomes[name])
    pq.write_table(joined, sink)
    return bytes(sink.getvalue().to_pybytes())


def _upload(user: User, name: str, data: bytes, grouping: str = "immunophenotype", query: str = "") -> Any:
    return user.client.post(
        f"/research/outcomes{query}",
        data={"csrf_token": user.csrf, "action": "upload", "grouping": grouping},
        files={"cohort_file": (name, data, CSV_TYPE)},
    )


@pytest.fixture()
def limits(web: WebApp) -> Iterator[Any]:
    """Change the research limits for one test (the app's settings are restored after)."""
    real = web.app.state.settings

    def use(**changes: int) -> None:
        research_limits = dataclasses.replace(ResearchLimits(), **changes)
        web.app.state.settings = dataclasses.replace(real, research=research_limits)

    yield use
    web.app.state.settings = real


def test_an_uploaded_csv_gives_the_figures_of_outcomes_by_group(researcher: User, web: WebApp) -> None:
    records, outcomes = _cohort(40, 25)
    before = _last_id(web)
    answer = _upload(researcher, "cohort.csv", _csv(records, outcomes))
    assert answer.status_code == 200, _text(answer.text)[:400]
    text = _text(answer.text)
    assert "Synthetic data." not in text
    assert "65 rows read" in text and "65 children analysed in 2 groups" in text
    expected = _expected(records, outcomes)
    for index in range(2):
        _shows_group(text, expected, index)
    (entry,) = _audit(web, before)
    assert entry.outcome == "ok" and entry.action == "read"
    assert entry.detail.startswith("upload, immunophenotype: 65 rows, 0 refused")
    assert "SYNTHETIC" not in entry.detail and "efs" not in entry.detail  # counts only, nothing of the file


def test_an_uploaded_parquet_file_and_its_bad_rows(researcher: User) -> None:
    records, outcomes = _cohort(30, 20)
    # Row 2 is not a valid record (a white count below zero); row 3 has no event-free time.
    wbc = records["wbc_per_ul"].to_pylist()
    wbc[1] = -5.0
    records = records.set_column(records.schema.get_field_index("wbc_per_ul"), "wbc_per_ul", pa.array(wbc))
    efs = outcomes["efs_years"].to_pylist()
    efs[2] = None
    outcomes = outcomes.set_column(0, "efs_years", pa.array(efs, pa.float64()))
    answer = _upload(researcher, "cohort.parquet", _parquet(records, outcomes))
    assert answer.status_code == 200, _text(answer.text)[:400]
    text = _text(answer.text)
    assert "50 rows read" in text
    assert "1 row is not a valid record and was left out" in text
    assert "1 record has outcome values missing or not readable and was left out" in text
    assert "48 children analysed in 2 groups" in text
    kept = [i for i in range(50) if i not in (1, 2)]
    _shows_group(text, _expected(records.take(kept), outcomes.take(kept)), 0)


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    researcher: User, web: WebApp, limits: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _csv(*_cohort(12, 12))
    limits(upload_bytes=len(data))
    assert _upload(researcher, "cohort.csv", data).status_code == 200  # at the limit
    limits(upload_bytes=len(data) - 1)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file over the limit must not be parsed")

    monkeypatch.setattr(research, "split_upload", never)
    monkeypatch.setattr(research, "read_cohort", never)
    before = _last_id(web)
    answer = _upload(researcher, "cohort.csv", data)
    assert answer.status_code == 413
    assert "The file is larger than 0 MB" not in answer.text
    assert re.search(r"The file is larger than [\d.]+ KB\. Upload a smaller file", answer.text)
    (entry,) = _audit(web, before)
    assert (entry.outcome, entry.detail) == ("invalid", "upload refused: too_large")


def test_a_file_over_the_row_limit_is_refused_and_says_what_is_allowed(researcher: User, limits: Any) -> None:
    data = _csv(*_cohort(12, 12))
    limits(max_rows=24)
    assert _upload(researcher, "cohort.csv", data).status_code == 200
    limits(max_rows=23)
    answer = _upload(researcher, "cohort.csv", data)
    assert answer.status_code == 422
    assert "The file has more than 23 rows. At most 23 children are analysed at once." in _text(answer.text)
    records, outcomes = _cohort(12, 12)
    answer = _upload(researcher, "cohort.parquet", _parquet(records, outcomes))
    assert answer.status_code == 422 and "more than 23 rows" in answer.text


def test_files_that_cannot_be_used_are_refused_in_plain_words(researcher: User, web: WebApp) -> None:
    records, outcomes = _cohort(12, 12)
    before = _last_id(web)
    without = _csv(records, outcomes.drop_columns(["death"]).append_column("death", pa.nulls(24, pa.bool_())))
    cases = {
        "cohort.txt": (_csv(records, outcomes), "does not say CSV or Parquet"),
        "cohort.csv": (_csv(records, outcomes).replace(b",death\n", b",died\n", 1), "lacks the outcome columns death"),
        "cohort.parquet": (b"not parquet at all", "not a Parquet file that can be read"),
    }
    for name, (data, words) in cases.items():
        answer = _upload(researcher, name, data)
        assert answer.status_code == 422 and words in _text(answer.text), name
    assert _upload(researcher, "empty.csv", without).status_code == 200  # read, every row without an outcome
    refused = [e for e in _audit(web, before) if e.outcome == "invalid"]
    assert [e.detail for e in refused] == [
        "upload refused: format",
        "upload refused: outcome_columns",
        "upload refused: not_parquet",
    ]


def test_outcome_values_that_disagree_leave_their_row_out() -> None:
    """A row is analysed only when its outcome values read and agree: times not negative, overall survival not
    shorter than event-free survival, an event exactly when the first event is not censoring."""
    rows = [
        ("2.5", "true", "relapse", "4", "false"),  # usable
        ("3", "no", "censored", "3", "no"),  # usable: yes/no read as booleans
        ("2.5", "true", "censored", "4", "false"),  # an event, yet censored
        ("1", "false", "relapse", "2", "false"),  # no event, yet a relapse
        ("5", "false", "censored", "4", "false"),  # alive for less time than event-free
        ("-1", "false", "censored", "1", "false"),  # a negative time
        ("1", "maybe", "censored", "1", "false"),  # not a boolean
        ("1", "true", "progression", "1", "true"),  # not a first event of the table
        ("", "false", "censored", "1", "false"),  # missing
    ]
    header = "age_years," + ",".join(OUTCOME_COLUMNS)
    data = "\n".join([header, *("5," + ",".join(row) for row in rows)]).encode()
    split = split_upload(data, "csv", OutcomeLimits(len(data), len(rows), 10))
    assert split.records.decode().splitlines() == ["age_years"] + ["5"] * len(rows)
    assert read_outcome_values(split.outcomes).usable.tolist() == [True, True] + [False] * 7


def test_a_csv_row_with_too_few_cells_is_a_refused_row(researcher: User) -> None:
    records, outcomes = _cohort(12, 12)
    lines = _csv(records, outcomes).decode().splitlines()
    lines[3] = lines[3].rsplit(",", 2)[0]  # row 3 loses two cells
    answer = _upload(researcher, "cohort.csv", "\n".join(lines).encode())
    text = _text(answer.text)
    assert "24 rows read" in text and "1 row is not a valid record and was left out" in text
    assert "23 children analysed in 2 groups" in text


# ---- small-cell suppression -------------------------------------------------------------------------------


def test_a_group_at_the_minimum_size_is_shown_and_one_below_is_not(researcher: User, limits: Any) -> None:
    limits(min_group_size=10)
    shown = _text(_upload(researcher, "cohort.csv", _csv(*_cohort(15, 10))).text)
    assert "25 children analysed in 2 groups" in shown
    assert "Every group has at least 10 children: none is hidden." in shown
    assert re.search(r"\bT 10 \d+", shown)
    hidden = _text(_upload(researcher, "cohort.csv", _csv(*_cohort(15, 9))).text)
    assert "15 children analysed in 1 groups" in hidden
    assert "1 group of fewer than 10 children is not shown (9 children)." in hidden
    assert not re.search(r"\bT 9 \d+", hidden)
    assert "A log-rank test needs at least two groups" in hidden


# ---- who may use it -----------------------------------------------------------------------------------------


def test_only_the_researcher_role_gets_the_page(
    researcher: User, clinician: User, family: User, admin: User, anonymous: Any, web: WebApp
) -> None:
    page = researcher.get("/research/outcomes")
    assert page.status_code == 200 and 'href="/research/outcomes"' in page.text  # in the researcher's navigation
    for other in (clinician, family, admin):
        assert other.get("/research/outcomes").status_code == 403
        assert other.post("/research/outcomes", {"action": "demo"}).status_code == 403
        assert 'href="/research/outcomes"' not in other.get("/sources").text
    assert anonymous.get("/research/outcomes").status_code == 303
    before = _last_id(web)
    no_token = researcher.post("/research/outcomes", {"action": "demo"}, csrf=False)
    assert no_token.status_code == 403 and "security token" in no_token.text
    assert not [e for e in _audit(web, before) if e.outcome == "ok"]


# ---- Spanish -----------------------------------------------------------------------------------------------------


def test_the_page_and_its_refusals_in_spanish(researcher: User, limits: Any) -> None:
    page = _text(researcher.get("/research/outcomes?lang=es").text)
    assert "Resultados por grupo" in page and "Usar una cohorte sintética de demostración" in page
    data = _csv(*_cohort(12, 12))
    limits(upload_bytes=len(data) - 1)
    refused = _text(_upload(researcher, "cohort.csv", data, query="?lang=es").text)
    assert "El archivo pesa más de" in refused
    limits(max_rows=12_345)
    # Rows are counted by lines before the file is parsed: empty lines count.
    too_many = _text(_upload(researcher, "cohort.csv", data + b"\n" * 12_345, query="?lang=es").text)
    assert "más de 12.345 filas" in too_many  # the limit written the Spanish way
    answer = researcher.post("/research/outcomes?lang=es", {"action": "demo", "grouping": "immunophenotype"})
    text = _text(answer.text)
    assert "Datos sintéticos." in text and "Supervivencia libre de eventos" in text
    assert re.search(r"\d+,\d %", text)  # the decimal comma


# ---- in a browser ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_in_a_browser(browser: Any, live_server: LiveServer, screenshots: Path) -> None:
    """From the researcher's navigation to the demo's curves: the SVG is drawn under the pages' Content Security
    Policy (the console reports no refusal), and at phone width the page does not scroll sideways (tables scroll)."""
    from playwright.sync_api import expect

    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        refused: list[str] = []

        def watch(message: Any, seen: list[str] = refused) -> None:
            if "Content Security Policy" in message.text:
                seen.append(message.text)

        page.on("console", watch)
        try:
            _sign_in(page, live_server, "researcher")
            page.get_by_role("link", name="Outcomes by group").click()
            page.get_by_label("Group the children by").select_option("risk_group")
            page.get_by_role("button", name="Use a synthetic demo cohort").click()
            expect(page.get_by_role("img", name="Event-free survival by group (Kaplan-Meier)")).to_be_visible()
            # Four figures, three risk groups: each a line and its interval band.
            assert page.locator("figure svg path").count() == 4 * 3 * 2
            assert page.locator('figure svg path[fill-opacity="0.12"]').count() == 4 * 3
            suffix = "375" if viewport is PHONE else "desktop"
            if viewport is PHONE:
                _no_sideways_scroll(page)
            page.screenshot(path=screenshots / f"research-outcomes-{suffix}.png", full_page=True)
            assert not refused, refused
        finally:
            context.close()
