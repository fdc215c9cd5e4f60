"""The trial search of the API (issue 13), on both backends, with the 20-study snapshot of
shared/trials/studies.json imported through the service as an operator's ``allpath trials import`` does.

Stateless (``POST /api/trials/search``, clinician or researcher like ``/api/assess``) and per patient
(``GET /api/patients/{id}/trials``, the team's clinician or the child's family): the issue's child near Omaha
finds AALL1731 as the nearest study that may fit; both routes agree for the same record; ``recruiting`` keeps no
study of another status as fitting; other families and teams are refused as on every patient route; an invalid
record, an unknown place, a radius that is not a distance and a search day outside the record's dates are 422
naming the field; an empty registry answers with no results and says so. Audit entries hold counts only, and no
log holds the record or the place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import TypeAdapter
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from allpath.domain.geo import HALF_CIRCUMFERENCE_KM
from allpath.domain.results.trials import TrialSearch
from allpath.interfaces.api.schemas import PatientTrialSearchOut
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import unit_of_work
from allpath.service.trials import Study, import_studies
from tests.api.conftest import Service
from tests.api.conftest import _service as fresh_service
from tests.api.test_openapi import answer_problems
from tests.api.test_schema import MAX_EXAMPLES, Case
from tests.api.test_schema import _exercise as exercise
from tests.builders import record
from tests.conftest import SENTINELS, require_shared, sentinel_record

SEARCH_DAY = "2026-12-01"
OMAHA = "68102"  # downtown Omaha, NE
# The child: 5 years old on the search day, newly diagnosed standard-risk B-ALL.
FIVE_YEAR_OLD = record(id="A-1", age_years=None, birth_date="2021-08-14", diagnosis_date="2026-11-20")
RELAPSE = {"AALL1331", "AALL1821", "AALL1621", "CCTL019B2202", "CTL019B2205J"}
INFANT = {"AALL15P1", "NCT05327894"}
SEARCH = "/api/trials/search"


def _import_snapshot(service: Service) -> None:
    page = json.loads((require_shared() / "trials" / "studies.json").read_text(encoding="utf-8"))
    studies = [Study(f"studies.json: study {n}", study) for n, study in enumerate(page["studies"], 1)]
    with unit_of_work(service.sessions, None) as work:
        import_studies(work, studies, detail="studies.json")


@pytest.fixture(scope="module")
def service(module_service: Service) -> Iterator[Service]:
    """The module's service with the snapshot in its registry and the family's child 5 years old."""
    _import_snapshot(module_service)
    response = module_service.client().put(
        f"/api/patients/{module_service.patient_id}",
        json={"record": FIVE_YEAR_OLD},
        headers=module_service.bearer("clinician"),
    )
    assert response.status_code == 200, response.text
    yield module_service


def _search(service: Service, role: str = "clinician", **fields: Any) -> Any:
    body = {"record": FIVE_YEAR_OLD, "on": SEARCH_DAY, **fields}
    return service.client().post(SEARCH, json=body, headers=service.bearer(role))


def _patient_search(service: Service, role: str = "clinician", patient_id: str | None = None, **query: Any) -> Any:
    url = f"/api/patients/{patient_id or service.patient_id}/trials"
    return service.client().get(url, params={"on": SEARCH_DAY, **query}, headers=service.bearer(role))


def _fitting(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in answer["results"] if r["verdict"] != "not_eligible"]


def _name(result: dict[str, Any]) -> str:
    return str(result["org_study_id"] or result["nct_id"])


def _new_audit(service: Service, seen: int) -> list[tuple[str | None, str, str, str | None, str, str]]:
    return [(e.role, e.action, e.resource, e.resource_id, e.outcome, e.detail) for e in service.audit()[seen:]]


# ---- what the search finds ---------------------------------------------------------------------------------


def test_the_five_year_old_near_omaha_finds_aall1731_nearest(service: Service) -> None:
    response = _search(service, near=OMAHA, status="any")
    assert response.status_code == 200, response.text
    answer = response.json()
    TypeAdapter(TrialSearch).validate_python(answer)  # the contract, closed: no key more or less
    assert answer["registry"]["studies"] == 20
    assert answer["registry"]["snapshot_date"] == date.today().isoformat()  # imported today, by the fixture
    assert answer["registry"]["outdated_after_days"] == 365  # the operator's default
    assert answer["place"]["name"] == "ZIP code 68102 (Omaha, NE)"
    assert (answer["searched_on"], answer["status"], answer["radius_km"]) == (SEARCH_DAY, "any", None)
    assert answer["disclaimer"]
    assert len(answer["results"]) == 20
    fitting = _fitting(answer)
    nearest = min(fitting, key=lambda r: r["nearest_site"]["distance_km"])
    assert _name(nearest) == "AALL1731"
    assert nearest["nearest_site"]["city"] == "Omaha" and nearest["nearest_site"]["distance_km"] < 5
    assert nearest["registry_url"] == f"https://clinicaltrials.gov/study/{nearest['nct_id']}"
    assert not {_name(r) for r in fitting} & (RELAPSE | INFANT)


def test_the_per_patient_search_gives_the_stateless_answer_for_the_same_record(service: Service) -> None:
    stateless = _search(service, near="Omaha, NE", status="any", radius_km=1000)
    assert stateless.status_code == 200, stateless.text
    for role in ("clinician", "family"):
        response = _patient_search(service, role, near="Omaha, NE", status="any", radius_km=1000)
        assert response.status_code == 200, (role, response.text)
        answer = response.json()
        TypeAdapter(PatientTrialSearchOut).validate_python(answer)
        assert (answer.pop("patient_id"), answer.pop("patient_version")) == (service.patient_id, 2)
        assert "stored_knowledge_version" not in answer
        assert answer == stateless.json(), role
    assert all(r["within_radius"] in ("within", "distance unknown") for r in stateless.json()["results"])
    assert len(stateless.json()["results"]) < 20  # the radius dropped the studies whose sites are all farther


def test_recruiting_keeps_no_study_of_another_status_as_fitting(service: Service) -> None:
    every = _search(service, status="any").json()
    recruiting = _search(service, status="recruiting").json()
    by_patient = _patient_search(service, status="recruiting").json()
    assert recruiting["status"] == by_patient["status"] == "recruiting"
    fitting = {_name(r) for r in _fitting(recruiting)}
    assert fitting == {_name(r) for r in _fitting(every) if r["overall_status"] == "RECRUITING"}
    assert fitting == {_name(r) for r in _fitting(by_patient)}
    assert fitting and "AALL1731" not in fitting  # the snapshot has it active, not recruiting
    aall1731 = next(r for r in recruiting["results"] if _name(r) == "AALL1731")
    status = next(c for c in aall1731["criteria"] if c["criterion"] == "status")
    assert (aall1731["verdict"], status["outcome"]) == ("not_eligible", "not_met")


def test_the_default_status_is_open(service: Service) -> None:
    answer = _search(service).json()
    assert answer["status"] == "open" and answer["place"] is None
    assert all(r["nearest_site"] is None for r in answer["results"])
    assert _patient_search(service).json()["status"] == "open"


def test_a_radius_at_its_limit_is_taken_and_one_past_it_is_refused(service: Service) -> None:
    for radius in (0, HALF_CIRCUMFERENCE_KM):
        assert _search(service, near=OMAHA, radius_km=radius).status_code == 200, radius
        assert _patient_search(service, near=OMAHA, radius_km=radius).status_code == 200, radius
    beyond = HALF_CIRCUMFERENCE_KM + 0.001
    for response in (
        _search(service, near=OMAHA, radius_km=-0.001),
        _search(service, near=OMAHA, radius_km=beyond),
        _patient_search(service, near=OMAHA, radius_km=beyond),
        _patient_search(service, near=OMAHA, radius_km="nan"),
    ):
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["detail"] == "the trial search cannot be made"
        assert [e["field"] for e in body["errors"]] == ["radius_km"]
        assert "0 to 20015 km" in body["errors"][0]["message"]
    # A radius of 0 keeps only studies with a site at the place itself or of unknown distance.
    nothing_near = _search(service, near=OMAHA, radius_km=0).json()["results"]
    assert all(r["within_radius"] == "distance unknown" for r in nothing_near)


# ---- who may search ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_clinicians_and_researchers_search_a_record_as_they_assess_one(service: Service, role: str) -> None:
    seen = len(service.audit())
    response = _search(service, role)
    assert response.status_code == 200
    counts = f"20 studies, {len(_fitting(response.json()))} may fit"
    assert _new_audit(service, seen) == [
        (role, "read", "trial_registry", None, "ok", ""),
        (role, "search", "trials", None, "ok", counts),
    ]


@pytest.mark.parametrize("role", ["family", "admin"])
def test_a_family_and_an_admin_have_no_stateless_search(service: Service, role: str) -> None:
    """A family's data is its own child (the per-patient search); an admin has no patient data at all."""
    seen = len(service.audit())
    response = _search(service, role)
    assert response.status_code == 403
    assert response.json() == {"detail": "this needs the role clinician or researcher"}
    assert _new_audit(service, seen) == [(role, "access", "route", None, "forbidden", f"POST {SEARCH}")]


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_only_the_care_team_and_the_family_search_for_a_stored_child(service: Service, role: str) -> None:
    seen = len(service.audit())
    assert _patient_search(service, role).status_code == 403
    template = "GET /api/patients/{patient_id}/trials"
    assert _new_audit(service, seen) == [(role, "access", "route", None, "forbidden", template)]


def test_an_anonymous_caller_is_refused(service: Service) -> None:
    assert service.client().post(SEARCH, json={"record": FIVE_YEAR_OLD}).status_code == 401
    assert service.client().get(f"/api/patients/{service.patient_id}/trials").status_code == 401


def test_another_family_or_team_is_refused_as_on_every_patient_route(service: Service) -> None:
    seen = len(service.audit())
    theirs = service.other_team_patient_id
    assert _patient_search(service, "family", theirs).status_code == 404
    assert _patient_search(service, "other_clinician", service.patient_id).status_code == 404
    assert _patient_search(service, "clinician", theirs).json() == {"detail": "no such patient"}
    assert _new_audit(service, seen) == [
        ("family", "read", "patient", theirs, "denied", ""),
        ("clinician", "read", "patient", service.patient_id, "denied", ""),  # other_clinician is a clinician
        ("clinician", "read", "patient", theirs, "denied", ""),
    ]


def test_the_family_searches_for_its_own_child_audited_with_counts(service: Service) -> None:
    seen = len(service.audit())
    response = _patient_search(service, "family", near=OMAHA, status="any")
    assert response.status_code == 200
    counts = f"20 studies, {len(_fitting(response.json()))} may fit"
    assert _new_audit(service, seen) == [
        ("family", "read", "trial_registry", None, "ok", ""),
        ("family", "search", "trials", service.patient_id, "ok", counts),
    ]


# ---- refusals ----------------------------------------------------------------------------------------------


def test_an_invalid_record_is_422_naming_the_field_as_assess_does(service: Service) -> None:
    seen = len(service.audit())
    invalid = {**FIVE_YEAR_OLD, "wbc_per_ul": -5}
    response = service.client().post(
        SEARCH, json={"record": invalid, "near": OMAHA}, headers=service.bearer("clinician")
    )
    assessed = service.client().post("/api/assess", json=invalid, headers=service.bearer("clinician"))
    assert response.status_code == assessed.status_code == 422
    assert response.json() == assessed.json()
    assert [e["field"] for e in response.json()["errors"]] == ["wbc_per_ul"]
    assert _new_audit(service, seen) == [("clinician", "search", "trials", None, "invalid", "record")]


def test_an_unknown_place_is_422_naming_near_in_plain_words(service: Service) -> None:
    seen = len(service.audit())
    for response in (
        _search(service, near="Atlantis, Neverland"),
        _patient_search(service, near="00000"),
        _search(service, near="   "),
    ):
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == ["near"]
        assert "Give a US ZIP code" in errors[0]["message"]
        assert "PlaceNotFound" not in response.text and "Traceback" not in response.text
    assert [entry[1:] for entry in _new_audit(service, seen)] == [
        ("search", "trials", None, "invalid", "near"),
        ("search", "trials", service.patient_id, "invalid", "near"),
        ("search", "trials", None, "invalid", "near"),
    ]


def test_malformed_requests_are_422_naming_the_input(service: Service) -> None:
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"near": ""}, ["body", "near"]),
        ({"near": "x" * 101}, ["body", "near"]),
        ({"status": "closed"}, ["body", "status"]),
        ({"on": "1899-12-31"}, ["body", "on"]),  # the record's dates are 1900-01-01 to 2199-12-31
        ({"on": "2200-01-01"}, ["body", "on"]),
        ({"unknown": 1}, ["body", "unknown"]),
    ]
    for fields, loc in cases:
        response = _search(service, **fields)
        assert response.status_code == 422, fields
        assert [problem["loc"] for problem in response.json()["detail"]] == [loc], fields
    for on in ("1900-01-01", "2199-12-31"):
        assert _search(service, on=on).status_code == 200, on
        assert _patient_search(service, on=on).status_code == 200, on
    assert _patient_search(service, on="2200-01-01").status_code == 422
    assert _patient_search(service, status="closed").status_code == 422


def test_a_body_over_the_limit_is_refused_before_it_is_read(service: Service) -> None:
    padding = "x" * (2 * 1024 * 1024)
    response = service.client().post(
        SEARCH,
        content=json.dumps({"record": {**FIVE_YEAR_OLD, "notes": padding}}),
        headers={**service.bearer("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_neither_the_record_nor_the_place_reaches_a_log_or_the_audit(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    seen = len(service.audit())
    with caplog.at_level(logging.DEBUG):
        found = service.client().post(
            SEARCH,
            json={"record": sentinel_record(), "near": "Omaha, Nebraska", "on": SEARCH_DAY},
            headers=service.bearer("clinician"),
        )
        refused = service.client().post(
            SEARCH,
            json={"record": sentinel_record(wbc_per_ul=-1), "near": "Zorbalindtown"},
            headers=service.bearer("clinician"),
        )
        unknown = _patient_search(service, near="Zorbalindtown, Nebraska")
    assert (found.status_code, refused.status_code, unknown.status_code) == (200, 422, 422)
    # The test client's own log (httpx) shows the address it called; the server's logs are the rest.
    server_logs = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "httpx" for r in caplog.records)  # the capture did see the calls
    logged = "".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in server_logs)
    logged += "".join(str(entry) for entry in _new_audit(service, seen))
    for private in (*SENTINELS, "Omaha", "Nebraska", "Zorbalindtown"):
        assert private not in logged, private


# ---- an empty registry -------------------------------------------------------------------------------------


@pytest.fixture
def fresh(database_url: str, tmp_path: Path, kb: KnowledgeBase) -> Iterator[Service]:
    """A service over a fresh database of each backend (the module's registry is filled)."""
    yield from fresh_service(database_url, tmp_path, kb)


def test_an_empty_registry_is_no_error(fresh: Service) -> None:
    stateless = fresh.client().post(
        SEARCH, json={"record": FIVE_YEAR_OLD, "near": OMAHA}, headers=fresh.bearer("clinician")
    )
    by_patient = fresh.client().get(f"/api/patients/{fresh.patient_id}/trials", headers=fresh.bearer("family"))
    for response in (stateless, by_patient):
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["registry"] == {
            "snapshot_date": None,
            "source": None,
            "studies": 0,
            "outdated_after_days": 365,
        }
        assert answer["results"] == []
    searches = [(e.role, e.resource_id, e.outcome, e.detail) for e in fresh.audit() if e.action == "search"]
    assert searches == [
        ("clinician", None, "ok", "0 studies, 0 may fit"),
        ("family", fresh.patient_id, "ok", "0 studies, 0 may fit"),
    ]


# ---- the description -----------------------------------------------------------------------------------------


def test_both_routes_are_described_with_their_answers_and_refusals(service: Service) -> None:
    document = service.client().get("/api/openapi.json").json()
    assert answer_problems(document) == []
    search = document["paths"][SEARCH]["post"]["responses"]
    by_patient = document["paths"]["/api/patients/{patient_id}/trials"]["get"]["responses"]
    assert search["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TrialSearch"}
    patient_answer = by_patient["200"]["content"]["application/json"]["schema"]
    assert patient_answer == {"$ref": "#/components/schemas/PatientTrialSearchOut"}
    for responses in (search, by_patient):
        refusals = responses["422"]["content"]["application/json"]["schema"]["anyOf"]
        assert {choice["$ref"].rsplit("/", 1)[1] for choice in refusals} == {
            "RecordErrorOut",
            "SearchErrorOut",
            "ValidationErrorOut",
        }
        assert {"401", "403"} <= set(responses)
    assert "404" in by_patient


def test_both_routes_match_their_description_with_a_filled_registry(service: Service, subtests: Any) -> None:
    """As tests/api/test_schema.py does for every operation (whose registry is empty): generated requests, valid
    and invalid, as the clinician, anonymously and, per patient, for the real child as the clinician and the
    family, so that answers with the snapshot's studies are checked against the description too."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", service.app)
    wanted = {("POST", SEARCH), ("GET", "/api/patients/{patient_id}/trials")}
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if not isinstance(result, Err) and (result.ok().method.upper(), result.ok().path) in wanted
    ]
    assert len(operations) == 2
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(msg=f"{operation.label} ({mode.value})"):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Case) -> None:
                    exercise(case, service)

                run()
