"""The trials to ask about in a stored patient's second-opinion package (issue 13): one R4 ResearchStudy per
study that may fit, each referenced by the List "Trials to ask about", on the 20 real childhood-ALL studies of
shared/trials/studies.json imported with ``service.trials.import_studies``.

The children are those of the issue's acceptance (``tests/knowledge/test_trial_snapshot.py``); each is stored,
the snapshot imported, and the package made by ``service.patient_package`` as the web and API routes make it.
``tests/fhir/test_validators.py`` runs these packages through the R4 JSON schema and every R4 invariant.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allpath import service
from allpath.domain.results.trials import StatusFilter, TrialSearch
from allpath.interfaces.fhir.package import package_bundle, second_opinion
from allpath.interfaces.fhir.research_study import LIST_TITLE, r4_phase, r4_status
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service import unit_of_work
from allpath.service.trial_search import TrialSearchOptions
from allpath.service.trials import Study, import_studies
from allpath.storage import tables as t
from allpath.storage import users
from allpath.storage.db import make_engine, migrate, session_factory
from tests.builders import record
from tests.conftest import require_shared
from tests.fhir.conftest import as_json, read_json

SEARCH_DAY = date(2026, 12, 1)
FIVE_YEAR_OLD: dict[str, object] = {"age_years": None, "birth_date": "2021-08-14", "diagnosis_date": "2026-11-20"}
INFANT_KMT2A: dict[str, object] = {
    "age_years": None,
    "birth_date": "2026-06-10",
    "diagnosis_date": "2026-11-25",
    "genetics": ["KMT2A_rearranged"],
}
FIRST_RELAPSE: dict[str, object] = {
    "age_years": None,
    "birth_date": "2014-06-01",
    "diagnosis_date": "2020-01-10",
    "relapses": [{"months_from_diagnosis": 70, "sites": ["bone_marrow"]}],
}
CHILDREN = {"five-year-old": FIVE_YEAR_OLD, "infant-kmt2a": INFANT_KMT2A, "first-relapse": FIRST_RELAPSE}
FRONTLINE = ("AALL1731", "AALL1732", "AALL0932", "AALL1131", "TOT17", "NCT06289673", "NCT04307576", "AALL1631")
RELAPSE = ("AALL1331", "AALL1821", "AALL1621", "CCTL019B2202", "CTL019B2205J")
INFANT = ("AALL15P1", "NCT05327894")
AALL1731 = "NCT03914625"
AALL1331 = "NCT02101853"
NCT_SYSTEM = "https://clinicaltrials.gov/nctid"

# The registry's overall statuses (API v2) and the R4 ResearchStudy.status each is written as; None: the study
# is left out (no R4 code that would not mislead). Written out here, not read from fhir_codes.yaml, so that a
# changed mapping fails this test.
R4_STATUS_OF: dict[str, str | None] = {
    "RECRUITING": "active",
    "NOT_YET_RECRUITING": "approved",
    "ENROLLING_BY_INVITATION": "active",
    "ACTIVE_NOT_RECRUITING": "closed-to-accrual",
    "COMPLETED": "completed",
    "SUSPENDED": "temporarily-closed-to-accrual",
    "TERMINATED": "administratively-completed",
    "WITHDRAWN": "withdrawn",
    "NO_LONGER_AVAILABLE": "closed-to-accrual",
    "TEMPORARILY_NOT_AVAILABLE": "temporarily-closed-to-accrual",
    "APPROVED_FOR_MARKETING": "completed",
    "AVAILABLE": None,
    "WITHHELD": None,
    "UNKNOWN": None,
}


# ---- a stored patient's package, with the registry -----------------------------------------------------------


@cache
def snapshot() -> tuple[dict[str, Any], ...]:
    page = json.loads((require_shared() / "trials" / "studies.json").read_text(encoding="utf-8"))
    return tuple(page["studies"])


def snapshot_study(nct_id: str) -> dict[str, Any]:
    """A copy of one study of the snapshot."""
    found = next(s for s in snapshot() if s["protocolSection"]["identificationModule"]["nctId"] == nct_id)
    return copy.deepcopy(found)


class Site:
    """A database with one clinician: stores children, imports studies, makes packages."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(f"sqlite:///{folder / 'allpath.db'}")
        migrate(self.engine)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        self.kb = load_knowledge()
        with self.factory() as s, s.begin():
            team = users.ensure_team(s, "Team")
            self.clinician = users.create_user(s, "clin", "a long clinician password", "clinician", "Dr. C", team.id)

    def store(self, changes: dict[str, object], name: str = "Child") -> str:
        with unit_of_work(self.factory, self.clinician) as work:
            return service.create_patient(work, self.kb, name, record(**changes)).patient.id

    def import_studies(self, studies: list[dict[str, Any]]) -> None:
        with unit_of_work(self.factory, None) as work:
            import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate(studies)], detail="test")

    def package(self, patient_id: str, status: StatusFilter | None = None) -> tuple[Any, TrialSearch | None]:
        """The package Bundle (as JSON) and the trial search it holds; ``status`` None: the routes' default."""
        options = TrialSearchOptions(status=status) if status is not None else None
        with unit_of_work(self.factory, self.clinician) as work:
            patient = work.session.get(t.Patient, patient_id)
            assert patient is not None
            answer = service.patient_package(work, self.kb, patient, trials=options, today=SEARCH_DAY)
        return as_json(package_bundle(answer.result)), answer.result.trials

    def audit(self) -> list[tuple[str, str, str | None, str, str]]:
        with self.factory() as s:
            rows = s.scalars(select(t.AuditEntry).order_by(t.AuditEntry.id))
            return [(e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in rows]

    def close(self) -> None:
        self.engine.dispose()


def trial_packages(folder: Path) -> Iterator[tuple[str, Any]]:
    """(name, Bundle) of the packages of stored children with the snapshot imported (every status and open
    studies only), and of a child whose registry holds no study that fits (the List without entries)."""
    site = Site(folder / "snapshot")
    site.import_studies(list(snapshot()))
    for name, changes in CHILDREN.items():
        patient_id = site.store(changes, name)
        yield f"{name}-any", site.package(patient_id, "any")[0]
        yield f"{name}-open", site.package(patient_id)[0]
    site.close()
    unfit = Site(folder / "relapse-only")
    unfit.import_studies([snapshot_study(AALL1331)])
    yield "no-fitting-study", unfit.package(unfit.store(FIVE_YEAR_OLD), "any")[0]
    unfit.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path)
    yield made
    made.close()


# ---- reading a Bundle ---------------------------------------------------------------------------------------


def resources(bundle: Any, kind: str) -> list[tuple[str, Any]]:
    return [(e["fullUrl"], e["resource"]) for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def nct(study: Any) -> str:
    return next(str(i["value"]) for i in study["identifier"] if i.get("system") == NCT_SYSTEM)


def name(study: Any) -> str:
    """The study's name as the acceptance uses it: the sponsor's id when there is one, else the NCT number."""
    return next((str(i["value"]) for i in study["identifier"] if i["use"] == "secondary"), nct(study))


def fitting(search: TrialSearch | None) -> list[str]:
    assert search is not None
    return [str(r["nct_id"]) for r in search["results"] if r["verdict"] != "not_eligible"]


def the_list(bundle: Any) -> Any:
    (listing,) = [resource for _, resource in resources(bundle, "List")]
    return listing


# ---- the package of a stored patient -------------------------------------------------------------------------


@pytest.mark.parametrize("child", list(CHILDREN))
def test_the_package_holds_a_research_study_for_each_study_that_may_fit_and_references_each(
    site: Site, child: str
) -> None:
    site.import_studies(list(snapshot()))
    bundle, search = site.package(site.store(CHILDREN[child]), "any")
    studies = resources(bundle, "ResearchStudy")
    # Every status of the snapshot (recruiting, active not recruiting, completed) has an R4 status: each study
    # that may fit is there, best first, and no other.
    assert [nct(study) for _, study in studies] == fitting(search)
    assert search is not None and len(search["results"]) == 20 > len(studies) > 0
    left_out = {str(r["nct_id"]) for r in search["results"]} - set(fitting(search))
    assert not left_out & {nct(study) for _, study in studies}
    # One List, of the Patient, references each study once, in the same order.
    listing = the_list(bundle)
    (patient_url,) = [url for url, _ in resources(bundle, "Patient")]
    assert listing["title"] == LIST_TITLE and listing["subject"] == {"reference": patient_url}
    assert [e["item"]["reference"] for e in listing["entry"]] == [url for url, _ in studies]
    assert (listing["status"], listing["mode"], listing["date"]) == ("current", "snapshot", "2026-12-01")
    assert "Only the care team, with the study team, can confirm" in listing["note"][0]["text"]


def test_the_acceptance_children_find_their_studies_in_the_package(site: Site) -> None:
    site.import_studies(list(snapshot()))
    found = {}
    for child, changes in CHILDREN.items():
        bundle, _ = site.package(site.store(changes, child), "any")
        found[child] = {name(study): study for _, study in resources(bundle, "ResearchStudy")}
    assert "AALL1731" in found["five-year-old"] and not set(found["five-year-old"]) & set(RELAPSE + INFANT)
    assert set(INFANT) <= set(found["infant-kmt2a"]) and "AALL1731" not in found["infant-kmt2a"]
    assert "AALL1331" in found["first-relapse"] and not set(found["first-relapse"]) & set(FRONTLINE)
    aall1731 = found["five-year-old"]["AALL1731"]
    assert aall1731["identifier"][0] == {"use": "official", "system": NCT_SYSTEM, "value": AALL1731}
    assert aall1731["status"] == "closed-to-accrual"  # the snapshot says ACTIVE_NOT_RECRUITING
    assert "Registry status: active, not recruiting." in aall1731["note"][0]["text"]
    assert aall1731["phase"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/research-study-phase",
            "code": "phase-3",
            "display": "Phase 3",
        }
    ]
    assert {"text": "B Acute Lymphoblastic Leukemia"} in aall1731["condition"]
    assert aall1731["relatedArtifact"][0]["url"] == f"https://clinicaltrials.gov/study/{AALL1731}"
    assert "site" not in aall1731  # the registry page lists the sites: see research_study.py


def test_the_registry_date_is_in_every_trial_resource(site: Site) -> None:
    site.import_studies(list(snapshot()))
    bundle, search = site.package(site.store(FIVE_YEAR_OLD), "any")
    assert search is not None
    snapshot_date = search["registry"]["snapshot_date"]
    assert snapshot_date is not None and date.fromisoformat(snapshot_date)
    for _, study in resources(bundle, "ResearchStudy"):
        assert {note["time"] for note in study["note"]} == {snapshot_date}
        assert f"as allpath held it on {snapshot_date}" in study["note"][0]["text"]
        assert f"as allpath held it on {snapshot_date}" in study["text"]["div"]
    listing = the_list(bundle)
    assert listing["note"][0]["time"] == snapshot_date and snapshot_date in listing["text"]["div"]


def test_a_study_that_may_fit_on_unknowns_says_which_facts_could_not_be_checked(site: Site) -> None:
    site.import_studies(list(snapshot()))
    bundle, search = site.package(site.store(FIVE_YEAR_OLD), "any")
    assert search is not None
    possibly = [r for r in search["results"] if r["verdict"] == "possibly"]
    assert possibly, "the snapshot has studies the five-year-old may fit on unknowns"
    flags = {e["item"]["reference"]: e["flag"]["text"] for e in the_list(bundle)["entry"]}
    studies = dict(resources(bundle, "ResearchStudy"))
    for result in possibly:
        url, study = next((u, s) for u, s in studies.items() if nct(s) == result["nct_id"])
        assert flags[url] == "May fit; some facts could not be checked"
        for criterion in result["criteria"]:
            if criterion["outcome"] == "unknown":
                assert criterion["explanation"] in study["note"][1]["text"]
    assert "eligible" not in json.dumps(the_list(bundle))  # never a promise


def test_the_package_searches_open_studies_by_default(site: Site) -> None:
    site.import_studies(list(snapshot()))
    patient_id = site.store(FIVE_YEAR_OLD)
    bundle, search = site.package(patient_id)
    assert search is not None and search["status"] == "open" and search["place"] is None
    studies = [study for _, study in resources(bundle, "ResearchStudy")]
    assert [nct(study) for study in studies] == fitting(search)
    assert {study["status"] for study in studies} == {"active"}  # the snapshot's open studies all recruit
    assert {"NCT06289673", "NCT04307576"} <= {nct(study) for study in studies}
    assert AALL1731 not in {nct(study) for study in studies}  # active, not recruiting
    # Made twice, the package is the same (its identifiers are derived from the content).
    assert site.package(patient_id)[0] == bundle


def test_the_package_is_audited_with_its_trial_search(site: Site) -> None:
    site.import_studies(list(snapshot()))
    patient_id = site.store(FIVE_YEAR_OLD)
    site.package(patient_id)
    entries = site.audit()
    assert ("read", "second_opinion", patient_id, "ok", "") in entries
    searches = [e for e in entries if e[:2] == ("search", "trials")]
    assert [(e[2], e[3]) for e in searches] == [(patient_id, "ok")]
    assert searches[0][4].endswith("may fit")  # counts only


# ---- the registry's statuses and phases --------------------------------------------------------------------


def test_every_registry_status_has_its_r4_status_or_is_left_out(kb: KnowledgeBase) -> None:
    assert set(R4_STATUS_OF) == set(kb.trials.statuses.labels)
    for registry_status, expected in R4_STATUS_OF.items():
        assert r4_status(registry_status) == expected, registry_status
    assert r4_status(None) is None and r4_status("") is None and r4_status("recruiting") is None


@pytest.mark.parametrize("registry_status", list(R4_STATUS_OF))
def test_a_study_of_each_registry_status_in_the_package(site: Site, registry_status: str) -> None:
    study = snapshot_study(AALL1731)
    study["protocolSection"]["statusModule"]["overallStatus"] = registry_status
    site.import_studies([study])
    bundle, search = site.package(site.store(FIVE_YEAR_OLD), "any")
    assert fitting(search) == [AALL1731]
    studies = [s for _, s in resources(bundle, "ResearchStudy")]
    listing = the_list(bundle)
    expected = R4_STATUS_OF[registry_status]
    if expected is None:
        assert studies == [] and "entry" not in listing
        assert "1 more may fit but has a registry status with no FHIR R4 counterpart" in listing["note"][0]["text"]
    else:
        assert [s["status"] for s in studies] == [expected]
        label = load_knowledge().trials.statuses.labels[registry_status]
        assert f"Registry status: {label}." in studies[0]["note"][0]["text"]
        assert "more may fit" not in listing["note"][0]["text"]


def test_a_study_without_a_status_may_fit_but_is_left_out_and_counted(site: Site) -> None:
    study = snapshot_study(AALL1731)
    del study["protocolSection"]["statusModule"]["overallStatus"]
    site.import_studies([study, snapshot_study("NCT06289673")])
    bundle, search = site.package(site.store(FIVE_YEAR_OLD))  # open: an unknown status cannot exclude it
    assert search is not None and set(fitting(search)) == {AALL1731, "NCT06289673"}
    assert [nct(s) for _, s in resources(bundle, "ResearchStudy")] == ["NCT06289673"]
    assert "1 more may fit" in the_list(bundle)["note"][0]["text"]


@pytest.mark.parametrize(
    ("phases", "code"),
    [
        (["PHASE3"], "phase-3"),
        (["PHASE4"], "phase-4"),
        (["NA"], "n-a"),
        (["EARLY_PHASE1"], "early-phase-1"),
        (["PHASE1", "PHASE2"], "phase-1-phase-2"),
        (["PHASE2", "PHASE1"], "phase-1-phase-2"),
        (["PHASE2", "PHASE3"], "phase-2-phase-3"),
        (["PHASE1", "PHASE3"], None),  # no R4 code for this pair: no phase rather than a guess
        (["PHASE1", "PHASE2", "PHASE3"], None),
        ([], None),
    ],
)
def test_the_phase_is_written_only_when_mapped(phases: list[str], code: str | None) -> None:
    phase = r4_phase(phases)
    assert (phase["coding"][0]["code"] if phase else None) == code  # type: ignore[index]


def test_the_mapped_codes_are_the_r4_code_systems(kb: KnowledgeBase, r4_examples: Path) -> None:
    """Checked against the official R4 definitions: the statuses of ResearchStudy's required value set, and the
    phase codes with their displays."""
    spec = kb.fhir_codes.research_study
    statuses = read_json(r4_examples / "CodeSystem-research-study-status.json")
    assert spec.r4_statuses == [concept["code"] for concept in statuses["concept"]]
    phases = read_json(r4_examples / "CodeSystem-research-study-phase.json")
    assert spec.phase_system == phases["url"]
    official = {concept["code"]: concept["display"] for concept in phases["concept"]}
    assert {p.code: p.display for p in spec.phases} == official


# ---- without a registry, and without a fitting study -------------------------------------------------------


def test_an_empty_registry_gives_the_package_as_before(site: Site) -> None:
    changes = {**FIVE_YEAR_OLD, "id": "R-13"}
    patient_id = site.store(changes)
    bundle, search = site.package(patient_id)
    assert search is None
    assert not resources(bundle, "ResearchStudy") and not resources(bundle, "List")
    # The same Bundle as the stateless package of the same record: nothing was added.
    assert bundle == as_json(second_opinion(record(**changes), site.kb))
    assert not [e for e in site.audit() if e[:2] == ("search", "trials")]  # nothing was searched


def test_the_stateless_package_holds_no_trials(kb: KnowledgeBase) -> None:
    assert service.record_package(kb, record(**FIVE_YEAR_OLD)).trials is None
    bundle = as_json(second_opinion(record(**FIVE_YEAR_OLD), kb))
    assert {e["resource"]["resourceType"] for e in bundle["entry"]}.isdisjoint({"ResearchStudy", "List"})


def test_a_registry_without_a_fitting_study_gives_a_list_without_entries(site: Site) -> None:
    site.import_studies([snapshot_study(AALL1331)])  # a relapse study: not for a newly diagnosed child
    bundle, search = site.package(site.store(FIVE_YEAR_OLD), "any")
    assert search is not None and search["registry"]["studies"] == 1 and fitting(search) == []
    assert not resources(bundle, "ResearchStudy")
    listing = the_list(bundle)
    assert "entry" not in listing and "emptyReason" not in listing
    assert "No study of the registry may fit." in listing["note"][0]["text"]


# ---- through the API, with the operator's settings -----------------------------------------------------------


@pytest.mark.parametrize(("outdated_days", "marked"), [(1, True), (100_000, False)])
def test_the_api_package_holds_the_trials_and_honours_the_outdated_setting(
    kb: KnowledgeBase, tmp_path: Path, outdated_days: int, marked: bool
) -> None:
    """``GET /api/patients/{id}/fhir/second-opinion`` as the routes make it: open studies, today, and entries
    not updated for longer than ``ALLPATH_TRIALS_OUTDATED_DAYS`` said to be possibly out of date."""
    from allpath.interfaces.app import create_app
    from tests.api.conftest import seed, settings_for

    settings = settings_for(f"sqlite:///{tmp_path / 'api.db'}", tmp_path, trials_outdated_days=outdated_days)
    app = create_app(settings, kb=kb)
    try:
        _, tokens, patient_id, _ = seed(app.state.sessions, kb)
        # ALLTogether1 recruits and has no update date in the snapshot: given one, it can be marked or not.
        dated = snapshot_study("NCT04307576")
        dated["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2025-06-01"}
        studies = [s for s in snapshot() if s["protocolSection"]["identificationModule"]["nctId"] != "NCT04307576"]
        with unit_of_work(app.state.sessions, None) as work:
            import_studies(work, [Study(f"study {i + 1}", s) for i, s in enumerate([*studies, dated])], detail="t")
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get(
                f"/api/patients/{patient_id}/fhir/second-opinion",
                headers={"Authorization": f"Bearer {tokens['clinician']}"},
            )
    finally:
        app.state.engine.dispose()
    assert response.status_code == 200, response.text
    bundle = response.json()
    studies = [study for _, study in resources(bundle, "ResearchStudy")]
    assert studies and {study["status"] for study in studies} == {"active"}  # open: the snapshot's recruit
    (alltogether,) = [s for s in studies if nct(s) == "NCT04307576"]
    assert "The registry entry was last updated on 2025-06-01" in alltogether["note"][0]["text"]
    assert ("may be out of date" in alltogether["note"][0]["text"]) is marked
    assert [e["item"]["reference"] for e in the_list(bundle)["entry"]] == [
        url for url, _ in resources(bundle, "ResearchStudy")
    ]


def test_the_package_with_trials_still_imports_back_to_the_stored_record(site: Site) -> None:
    """A hospital that reads the package with allpath gets the record back; the trials are not part of it."""
    from allpath.interfaces.fhir import import_bundle

    site.import_studies(list(snapshot()))
    changes = {**FIRST_RELAPSE, "id": "R-14"}
    bundle, _ = site.package(site.store(changes), "any")
    assert resources(bundle, "ResearchStudy")
    imported = import_bundle(bundle)
    assert imported.record == record(**changes)
    assert not imported.conflicts
