"""The "Trials to ask about" section of the patient page (issue 13), on the demo's registry: the bundled snapshot
of 20 public ClinicalTrials.gov studies (``/work/shared/trials/studies.json``, copied into the package).

Expected studies (the issue's cases, on the example patients): the standard-risk B-ALL child near Omaha, NE
finds AALL1731 (NCT03914625, status "any") as the nearest study that may fit and not the relapse or infant
studies; the child in a late marrow relapse finds AALL1331 (NCT02101853) and not AALL1731; the KMT2A-rearranged
infant finds AALL15P1 (NCT02828358) and Interfant-21 (NCT05327894) and not AALL1731.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM
from allpath.interfaces.app import create_app
from allpath.knowledge.loader import load_knowledge
from allpath.service import UnitOfWork, create_patient
from allpath.service.demo import DEMO_TRIALS, seed_demo, seed_demo_trials
from allpath.storage import invitations, users
from allpath.storage import tables as t
from tests.conftest import EXAMPLES, require_shared
from tests.web.conftest import User, WebApp, _settings, sign_in

AALL1731 = "NCT03914625"
AALL1331 = "NCT02101853"
AALL15P1 = "NCT02828358"
INTERFANT_21 = "NCT05327894"
# Words of software, never of a page: registry codes, Python values, record paths, library messages.
NOT_ON_A_PAGE = re.compile(
    r"ACTIVE_NOT_RECRUITING|NOT_YET_RECRUITING|\bRECRUITING\b|\bCOMPLETED\b|PHASE\d|\bNone\b|Traceback|"
    r"InputError|ValidationError|PlaceNotFound|not_eligible|disease_state|radius_km:|relapses\[|\{'"
)


def _patient(user: User, name: str) -> str:
    listed = user.get("/patients").text
    found = re.search(rf'href="/patients/([0-9a-f-]{{36}})"[^>]*>\s*{re.escape(name)}\s*<', listed)
    assert found, name
    return found.group(1)


def _section(page: str) -> str:
    found = re.search(r'<section id="trials".*?</section>', page, re.S)
    assert found, "the page has a trials section"
    return found.group(0)


def _fitting(section: str) -> list[str]:
    return re.findall(r'<li class="trial" data-nct="(NCT\d{8})"', section)


def _study(section: str, nct_id: str) -> str:
    """The words of one study that may fit."""
    found = re.search(rf'<li class="trial" data-nct="{nct_id}">.*?(?=<li class="trial"|</ol>)', section, re.S)
    assert found, nct_id
    return _words(found.group(0))


def _excluded(section: str) -> dict[str, str]:
    """The studies that do not fit, each with the words of its item (the criteria that exclude it)."""
    details = re.search(r'<details class="panel trials-excluded">.*?</details>', section, re.S)
    if details is None:
        return {}
    items = re.findall(r'<li data-nct="(NCT\d{8})">(.*?)</ul>\s*</li>', details.group(0), re.S)
    return {nct: " ".join(re.sub(r"<[^>]+>", " ", html.unescape(text)).split()) for nct, text in items}


def _words(section: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(section)).split())


def test_the_demo_registry_is_the_shared_snapshot() -> None:
    """The bundled copy is the test snapshot, unchanged (its source note beside it)."""
    shared = require_shared() / "trials" / "studies.json"
    assert DEMO_TRIALS.read_bytes() == shared.read_bytes()
    assert len(json.loads(DEMO_TRIALS.read_text(encoding="utf-8"))["studies"]) == 20
    assert "2026-12-01" in (DEMO_TRIALS.parent / "README.md").read_text(encoding="utf-8")


def test_a_fresh_demo_has_the_registry_filled_once(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path))
    kb = load_knowledge()
    seed_demo(app.state.sessions, kb, EXAMPLES)
    seed_demo(app.state.sessions, kb, EXAMPLES)  # seeding again changes nothing
    with app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(t.TrialStudy)) == 20
        assert s.scalar(select(func.count()).select_from(t.TrialRegistryRefresh)) == 1
        imports = s.scalars(select(t.AuditEntry).where(t.AuditEntry.resource == "trial_registry")).all()
        assert [(e.action, e.detail) for e in imports if e.action == "import"] == [
            ("import", "20 added, 0 updated, 0 unchanged, 0 refused")
        ]
    clinician = sign_in(app, "dr.rivera")
    section = _section(clinician.get(f"/patients/{_patient(clinician, 'Example standard risk')}").text)
    assert "Trials to ask about" in section
    assert "20 studies" in section and _fitting(section)


def test_an_operators_registry_is_never_mixed_with_the_demo(web: WebApp) -> None:
    """The demo snapshot goes only into an empty registry: a filled one is left as it is."""
    with web.app.state.sessions() as s, s.begin():
        assert seed_demo_trials(UnitOfWork(s, None)) == 0
        assert s.scalar(select(func.count()).select_from(t.TrialRegistryRefresh)) == 1


def test_standard_risk_near_omaha_finds_aall1731_first(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")
    page = clinician.get(f"/patients/{child}?near=Omaha%2C+NE&status=any")
    assert page.status_code == 200
    section = _section(page.text)
    fitting = _fitting(section)
    assert fitting[0] == AALL1731
    assert {AALL1331, AALL15P1, INTERFANT_21} <= set(_excluded(section))
    words = _words(section)
    # Its details: status in words, the nearest site and distance, the NCT number linked to the registry.
    first = _study(section, AALL1731)
    assert "active, not recruiting" in first
    assert "Nearest site: Nebraska Medicine, Omaha, Nebraska, United States" in first
    assert re.search(r"— \d\.\d km \(\d\.\d miles\)", first)
    assert f'href="https://clinicaltrials.gov/study/{AALL1731}"' in section
    assert "Why it may fit" in first
    # The registry's date, the place measured from, the reminder that only the care team can confirm.
    assert re.search(r"last refreshed \d{4}-\d{2}-\d{2}", words)
    assert "distances from Omaha, Nebraska, United States" in words
    assert "Only the care team, with each study's team, can confirm whether this child can join a study." in words
    # Each study that does not fit names what excludes it.
    assert "Disease state:" in _excluded(section)[AALL1331]
    assert "Subgroup:" in _excluded(section)[INTERFANT_21]


def test_a_relapse_finds_the_relapse_studies_and_an_infant_the_infant_studies(clinician: User) -> None:
    relapse = _section(clinician.get(f"/patients/{_patient(clinician, 'Example relapse marrow late')}?status=any").text)
    assert AALL1331 in _fitting(relapse)
    assert AALL1731 in _excluded(relapse)
    infant = _section(clinician.get(f"/patients/{_patient(clinician, 'Example infant')}?status=any").text)
    assert {AALL15P1, INTERFANT_21} <= set(_fitting(infant))
    assert AALL1731 in _excluded(infant)


def test_the_status_filter_and_possibly_outdated_entries(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")
    any_status = _section(clinician.get(f"/patients/{child}?status=any").text)
    open_only = _section(clinician.get(f"/patients/{child}").text)  # open by default
    assert AALL1731 in _fitting(any_status)
    assert AALL1731 not in _fitting(open_only)
    assert "Status: The study is active, not recruiting" in _excluded(open_only)[AALL1731]
    assert 'value="open" selected' in open_only and 'value="any" selected' in any_status
    # AALL1731's entry was last updated on 2025-11-17: more than 365 days before any search of this session.
    assert "last updated in the registry on 2025-11-17" in _study(any_status, AALL1731)
    assert "possibly outdated" in _study(any_status, AALL1731)
    recruiting = _section(clinician.get(f"/patients/{child}?status=recruiting").text)
    assert _fitting(recruiting) and 'value="recruiting" selected' in recruiting
    for nct_id in _fitting(recruiting):
        assert "· recruiting ·" in _study(recruiting, nct_id)


def test_the_outdated_threshold_comes_from_the_settings(clinician: User, web: WebApp) -> None:
    """Possibly outdated: not updated for more than ALLPATH_TRIALS_OUTDATED_DAYS days (AALL1731: 2025-11-17)."""
    child = _patient(clinician, "Example standard risk")
    days = (datetime.now(UTC).date() - date(2025, 11, 17)).days
    settings = web.app.state.settings
    try:
        for threshold, outdated in ((days, False), (days - 1, True)):
            web.app.state.settings = replace(settings, trials_outdated_days=threshold)
            study = _study(_section(clinician.get(f"/patients/{child}?status=any").text), AALL1731)
            assert ("possibly outdated" in study) is outdated, threshold
    finally:
        web.app.state.settings = settings


def test_a_radius_keeps_the_studies_with_a_site_within_it(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")
    near = _section(clinician.get(f"/patients/{child}?near=68102&radius_km=10&status=any").text)
    assert _fitting(near) == [AALL1731]  # Nebraska Medicine, under 1 km from ZIP code 68102
    assert "sites within 10 km (6 miles)" in _words(near)
    wider = _section(clinician.get(f"/patients/{child}?near=68102&radius_km=900&status=any").text)
    assert AALL1731 in _fitting(wider) and len(_fitting(wider)) > 1  # Memphis (852 km) is within 900 km


@pytest.mark.parametrize(
    ("query", "field", "label", "words"),
    [
        ("near=Nowhereville+Xq", "near", "Place", 'No city called "Nowhereville Xq" was found'),
        ("near=99999", "near", "Place", "The ZIP code 99999 is not a US ZIP code"),
        ("near=68102&radius_km=far", "radius_km", "Distance", "The distance is a number of kilometres"),
        ("radius_km=50", "radius_km", "Distance", "A distance needs a place to measure from"),
        ("near=68102&radius_km=-1", "radius_km", "Distance", "The radius is a distance from 0 to"),
        (f"near=68102&radius_km={HALF_CIRCUMFERENCE_KM + 0.01}", "radius_km", "Distance", "half the Earth"),
        ("status=closed", "status", "Which studies", "Choose open, recruiting now, or any status."),
    ],
)
def test_a_value_that_cannot_be_used_is_said_beside_its_field(
    clinician: User, query: str, field: str, label: str, words: str
) -> None:
    child = _patient(clinician, "Example standard risk")
    page = clinician.get(f"/patients/{child}?{query}")
    assert page.status_code == 200
    section = _section(page.text)
    assert f"<strong>{label}:</strong>" in section
    assert words in html.unescape(section)
    assert re.search(rf'id="trials-{field}"[^>]*aria-invalid="true"', section, re.S)
    assert "The list below is the search without a place" in section
    assert _fitting(section)  # the studies are still shown
    assert not NOT_ON_A_PAGE.search(_words(section))


def test_the_radius_limits_themselves_are_accepted(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")
    for radius in (0, HALF_CIRCUMFERENCE_KM):
        section = _section(clinician.get(f"/patients/{child}?near=68102&radius_km={radius}&status=any").text)
        assert 'role="alert"' not in section, radius
    whole_earth = _section(clinician.get(f"/patients/{child}?near=68102&radius_km={HALF_CIRCUMFERENCE_KM}").text)
    nowhere = _section(clinician.get(f"/patients/{child}?near=68102&radius_km=0&status=any").text)
    assert len(_fitting(whole_earth)) >= 3 and _fitting(nowhere) == []
    assert "No study in the registry within this distance may fit this child" in _words(nowhere)


def test_the_section_has_no_codes_or_software_words(clinician: User) -> None:
    for name in ("Example standard risk", "Example relapse marrow late", "Example infant", "Example t cell"):
        page = clinician.get(f"/patients/{_patient(clinician, name)}?near=Omaha%2C+NE&status=any")
        words = _words(_section(page.text))
        assert not NOT_ON_A_PAGE.search(words), (name, NOT_ON_A_PAGE.search(words))


def test_the_form_replaces_only_the_section_with_htmx(clinician: User) -> None:
    child = _patient(clinician, "Example standard risk")
    section = clinician.get(f"/patients/{child}/trials?near=68102&status=any", headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert section.text.lstrip().startswith('<section id="trials"') and "<html" not in section.text
    assert _fitting(section.text)[0] == AALL1731
    page = _section(clinician.get(f"/patients/{child}").text)
    assert f'hx-get="/patients/{child}/trials"' in page and f'action="/patients/{child}#trials"' in page
    # Without htmx the address leads to the whole page with the same search.
    plain = clinician.get(f"/patients/{child}/trials?near=68102&status=any", follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/patients/{child}?near=68102&status=any#trials"


def test_the_search_is_audited_with_counts_only(clinician: User, web: WebApp) -> None:
    child = _patient(clinician, "Example standard risk")
    clinician.get(f"/patients/{child}?near=Omaha%2C+NE&status=any")
    clinician.get(f"/patients/{child}?near=Nowhereville+Xq")
    with web.app.state.sessions() as s:
        entries = s.scalars(
            select(t.AuditEntry).where(t.AuditEntry.resource == "trials", t.AuditEntry.resource_id == child)
        ).all()
    assert entries
    assert all(e.action == "search" for e in entries)
    assert {e.outcome for e in entries} == {"ok", "invalid"}
    for entry in entries:
        assert (
            # A refusal names the field only (other tests of this session refused other fields of this child).
            entry.outcome == "invalid"
            and entry.detail in {"near", "radius_km", "status"}
            or re.fullmatch(r"\d+ studies, \d+ may fit", entry.detail)
        ), entry.detail
        assert "Omaha" not in entry.detail and "Nowhereville" not in entry.detail


def test_no_one_else_sees_this_childs_trials(web: WebApp, family: User, other_clinician: User) -> None:
    not_theirs = web.ids["not_family"]

    def searches() -> int:  # the trial searches audited for this child (its own team's views search too)
        with web.app.state.sessions() as s:
            entries = select(func.count()).select_from(t.AuditEntry)
            query = entries.where(t.AuditEntry.resource == "trials", t.AuditEntry.resource_id == not_theirs)
            return s.scalar(query) or 0

    before = searches()
    for url in (f"/patients/{not_theirs}/report?near=68102", f"/patients/{not_theirs}/report.pdf?near=68102"):
        refused = family.get(url)
        assert refused.status_code == 404 and "Trials to ask about" not in refused.text
    assert family.get(f"/patients/{not_theirs}/trials", headers={"HX-Request": "true"}).status_code in (403, 404)
    for url in (f"/patients/{not_theirs}?near=68102", f"/patients/{not_theirs}/trials"):
        refused = other_clinician.get(url, headers={"HX-Request": "true"})
        assert refused.status_code == 404 and "Trials to ask about" not in refused.text
    assert searches() == before  # refused before any search


# ---- an empty registry ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[FastAPI, str]:
    """An installation whose registry was never filled: one clinician, one child, the child's family."""
    app = create_app(_settings(tmp_path_factory.mktemp("empty-registry")))
    kb = load_knowledge()
    with app.state.sessions() as s, s.begin():
        team = users.ensure_team(s, "Empty registry team")
        clinician = users.create_user(s, "dr.empty", "empty-clinician-1", "clinician", "Dr. Empty", team.id)
        record = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
        stored = create_patient(UnitOfWork(s, clinician), kb, "Empty registry child", record)
        code = invitations.create_invitation(s, clinician, stored.patient)
        invitations.accept_invitation(s, code, "family.empty", "empty-family-001", "A family")
        child = stored.patient.id
    return app, child


def test_an_empty_registry_is_said_and_how_an_operator_fills_it(empty_registry: tuple[FastAPI, str]) -> None:
    app, child = empty_registry
    clinician = sign_in(app, "dr.empty", "empty-clinician-1")
    section = _section(clinician.get(f"/patients/{child}").text)
    words = _words(section)
    assert "The trial registry has not been filled yet" in words
    assert "allpath trials sync" in words and "allpath trials import FILE" in words
    assert _fitting(section) == [] and 'class="panel trials-excluded"' not in section


def test_an_empty_registry_on_the_familys_page_has_no_command_line(empty_registry: tuple[FastAPI, str]) -> None:
    app, child = empty_registry
    family = sign_in(app, "family.empty", "empty-family-001")
    page = family.get(f"/patients/{child}")  # a family's page is the family report
    assert page.status_code == 200 and "Trials to ask about" in page.text
    section = _section(page.text)
    assert "Ask your care team if a trial could be an option." in _words(section)
    assert "allpath trials" not in _words(page.text) and "<code>" not in section
