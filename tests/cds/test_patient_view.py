"""patient-view: cards from prefetched data and from the EHR's FHIR server (a fake one, no network)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from allpath.interfaces.cds.services import PATIENT_VIEW, SERVICES
from tests.cds.conftest import (
    BASE,
    FHIR_SERVER,
    FHIR_TOKEN,
    PATIENT_ID,
    Keys,
    audit,
    call,
    cards_of,
    ehr_resources,
    hook_request,
    medication_request,
    of_type,
    patient_view_prefetch,
    search_answer,
    searchset,
)
from tests.conftest import EXAMPLES

SERVICE = "allpath-patient-view"


def example(name: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    record.update(changes)
    return record


def view(client: TestClient, keys: Keys, record: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    prefetch = patient_view_prefetch(record)
    prefetch.update(extra)
    return cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch))


def by_summary(cards: list[dict[str, Any]], words: str) -> dict[str, Any]:
    found = [card for card in cards if words in card["summary"]]
    assert len(found) == 1, [card["summary"] for card in cards]
    return found[0]


def test_standard_risk_with_treatment_dates(client: TestClient, keys: Keys, app: FastAPI) -> None:
    start = date.today() - timedelta(days=40)  # day 41: consolidation (weeks 5 to 8)
    cards = view(client, keys, example("standard_risk", treatment_start_date=start.isoformat()))
    risk = by_summary(cards, "Risk group")
    assert risk["summary"] == "Risk group: standard risk (NCI/PDQ), COG low risk"
    assert risk["indicator"] == "info"
    assert risk["source"] == {"label": "allpath (NCI PDQ + cited facts)", "url": f"{BASE}/sources"}
    detail = risk["detail"]
    assert "**Decides:** Aged at least 1 and under 10 years" in detail
    assert "age years 4.2" in detail and "wbc per ul 8500" in detail
    assert "*Risk groups for childhood acute lymphoblastic leukemia*" in detail
    assert "not a prescription" in detail and "decision support" in detail
    assert risk["links"][0]["url"].startswith(f"{BASE}/sources/")
    assert risk["links"][0]["type"] == "absolute"
    # the record gives no TPMT/NUDT15 results, and the regimen has thiopurines
    missing = by_summary(cards, "still missing")
    assert missing["indicator"] == "warning"
    assert "TPMT and NUDT15 phenotype" in missing["detail"]
    phase = by_summary(cards, "Current phase")
    assert phase["summary"].startswith("Current phase: Consolidation, week 2")
    assert phase["indicator"] == "info"
    assert "- vincristine (intravenous), 1.5 mg/m2 per dose: 1.05 mg per dose; day 0" in phase["detail"]
    assert "mercaptopurine (6-MP) (oral), 75 mg/m2 per day: not calculated" in phase["detail"]
    assert "Body surface area 0.7" in phase["detail"]  # 17.1 kg, 104 cm
    assert "not calculated" in phase["detail"]  # mercaptopurine without the phenotypes
    assert all("not a prescription" in card["detail"] for card in cards)
    assert len({card["uuid"] for card in cards}) == len(cards)
    entry = audit(app)[-1]
    assert (entry.action, entry.resource, entry.user_id) == ("cds_service", f"cds:{SERVICE}", None)
    assert entry.detail == "client=https://ehr.example.org/; cards=3"


def test_missing_results_make_a_provisional_group_and_a_list_of_tests(client: TestClient, keys: Keys) -> None:
    cards = view(client, keys, example("missing_data"))
    risk = by_summary(cards, "Risk group")
    assert risk["indicator"] == "warning"
    assert "provisional" in risk["summary"]
    missing = by_summary(cards, "still missing")
    for test in ("Lumbar puncture", "Genetic tests", "Bone marrow aspiration"):
        assert test in missing["detail"]
    assert "Later checkpoints" in missing["detail"]
    assert not any("phase" in card["summary"].lower() for card in cards)  # no treatment start date


def test_relapse_and_unknown_groups(client: TestClient, keys: Keys) -> None:
    cards = view(client, keys, example("relapse_marrow_early"))
    assert by_summary(cards, "Relapsed ALL")["summary"].startswith("Relapsed ALL (relapse 1, early)")
    cards = view(client, keys, {"id": "x", "immunophenotype": "B"})
    assert by_summary(cards, "Risk group")["summary"] == "Risk group not yet determined: results are missing"


_ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_SNOMED = "http://snomed.info/sct"
_RELAPSE_CODINGS = {
    "icd-10-cm undotted": ({"system": _ICD10CM, "code": "C9102"}, None),
    "icd-10-cm": ({"system": _ICD10CM, "code": "C91.02"}, None),
    "snomed": ({"system": _SNOMED, "code": "12301000132103"}, None),
    "clinicalStatus relapse": ({"system": _SNOMED, "code": "91857003"}, "relapse"),
    "clinicalStatus recurrence": ({"system": _ICD10CM, "code": "C91.00"}, "recurrence"),
}


@pytest.mark.parametrize("path", sorted(_RELAPSE_CODINGS))
def test_a_relapse_coded_in_the_ehr_gives_a_relapse_card(client: TestClient, keys: Keys, path: str) -> None:
    """An EHR's "ALL, in relapse" (ICD-10-CM C91.02 dotted or not, SNOMED CT, or a leukemia Condition whose
    clinicalStatus says relapse or recurrence; no date or site) beside a standard-risk record: the card says
    relapse, not standard risk, and its group stays open (issue 12)."""
    prefetch = patient_view_prefetch(example("standard_risk"))
    coding, status = _RELAPSE_CODINGS[path]
    relapse: dict[str, object] = {
        "resourceType": "Condition",
        "id": "relapse",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [coding]},
    }
    if status is not None:
        clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
        relapse["clinicalStatus"] = {"coding": [{"system": clinical, "code": status}]}
    prefetch["conditions"]["entry"].append({"fullUrl": f"{FHIR_SERVER}/Condition/relapse", "resource": relapse})
    cards = cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch))
    assert by_summary(cards, "Relapsed ALL")["summary"] == "Relapsed ALL (relapse 1): relapse risk group not determined"
    assert not any(card["summary"].startswith("Risk group: standard risk") for card in cards)


def test_a_patient_without_leukemia_gets_no_card(client: TestClient, keys: Keys) -> None:
    prefetch = patient_view_prefetch(example("standard_risk"))
    prefetch["conditions"] = searchset([])
    body = hook_request("patient-view", {}, prefetch)
    assert cards_of(client, keys, SERVICE, body) == []
    prefetch["conditions"] = None  # "no data" for the key
    assert cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch)) == []


def test_data_of_another_patient_is_not_used(client: TestClient, keys: Keys) -> None:
    prefetch = patient_view_prefetch(example("missing_data"))
    other = of_type(ehr_resources(example("high_risk_wbc"), "someone-else"), "Observation")
    prefetch["observations"]["entry"] += searchset(other)["entry"]
    risk = by_summary(cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch)), "Risk group")
    assert "wbc per ul 14000" in risk["detail"]  # not the other child's 150,000


def test_disagreeing_values_are_left_out_and_said(client: TestClient, keys: Keys) -> None:
    prefetch = patient_view_prefetch(example("standard_risk"))
    wbc = next(r for r in prefetch["observations"]["entry"] if r["resource"]["code"]["coding"][0]["code"] == "6690-2")
    second = json.loads(json.dumps(wbc))
    second["resource"]["id"] = "another-wbc"
    second["resource"]["valueQuantity"]["value"] = 60
    prefetch["observations"]["entry"].append(second)
    cards = cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch))
    risk = by_summary(cards, "Risk group")
    assert "wbc\\_per\\_ul: 2 different values in the EHR; left out" in risk["detail"]
    assert risk["summary"].startswith("Risk group not yet determined")


def test_latest_weight_is_used(client: TestClient, keys: Keys) -> None:
    start = date.today() - timedelta(days=3)
    prefetch = patient_view_prefetch(example("standard_risk", treatment_start_date=start.isoformat()))
    entries = prefetch["observations"]["entry"]
    weight = next(e for e in entries if e["resource"]["code"]["coding"][0]["code"] == "29463-7")
    weight["resource"]["effectiveDateTime"] = "2020-01-01"
    newer = json.loads(json.dumps(weight))
    newer["resource"] |= {"id": "w2", "effectiveDateTime": date.today().isoformat()}
    newer["resource"]["valueQuantity"]["value"] = 18.0
    entries.append(newer)
    phase = by_summary(cards_of(client, keys, SERVICE, hook_request("patient-view", {}, prefetch)), "phase")
    assert f"18 kg, 104 cm; weight of {date.today().isoformat()}" in phase["detail"]


def test_thiopurine_orders_ask_for_the_phenotypes(client: TestClient, keys: Keys) -> None:
    record = example("relapse_marrow_early")  # no regimen: only a current order asks for the phenotypes
    order = medication_request("mercaptopurine 50 MG Oral Tablet", 50) | {"status": "active"}
    cards = view(client, keys, record, medications=searchset([order]))
    assert "TPMT and NUDT15 phenotype" in by_summary(cards, "still missing")["detail"]
    cards = view(client, keys, record)
    assert not any("TPMT" in card.get("detail", "") for card in cards if "missing" in card["summary"])


def test_without_prefetch_or_fhir_server_412(client: TestClient, keys: Keys) -> None:
    response = call(client, keys, SERVICE, hook_request("patient-view", {}))
    assert response.status_code == 412
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "patient, conditions, observations" in body["issue"][0]["details"]["text"]
    prefetch = patient_view_prefetch(example("standard_risk"))
    prefetch["observations"] = {"resourceType": "OperationOutcome", "issue": []}
    assert call(client, keys, SERVICE, hook_request("patient-view", {}, prefetch)).status_code == 412
    paged = patient_view_prefetch(example("standard_risk"))
    paged["observations"]["link"] = [{"relation": "next", "url": f"{FHIR_SERVER}/Observation?page=2"}]
    assert call(client, keys, SERVICE, hook_request("patient-view", {}, paged)).status_code == 412
    bad = hook_request("patient-view", {"patientId": None}, patient_view_prefetch(example("standard_risk")))
    assert call(client, keys, SERVICE, bad).status_code == 400


class FakeFhirServer:
    """An EHR's FHIR server for one patient: reads and searches by patient, observations in pages of 4."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.resources = ehr_resources(record)
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {FHIR_TOKEN}":
            return httpx.Response(401)
        path = request.url.path.removeprefix("/fhir/")
        query = parse_qs(request.url.query.decode())
        if path == f"Patient/{PATIENT_ID}":
            return httpx.Response(200, json=of_type(self.resources, "Patient")[0])
        if path.startswith("Patient/"):
            return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})
        if query.get("patient") != [PATIENT_ID]:
            return httpx.Response(400)
        found = _matching(path, query.get("code", [""])[0], self.resources)
        page = int(query.get("_page", ["1"])[0])
        bundle = searchset(found[(page - 1) * 4 : page * 4])
        if page * 4 < len(found):
            following = {"patient": PATIENT_ID, "_page": page + 1} | (
                {"code": query["code"][0]} if "code" in query else {}
            )
            bundle["link"] = [{"relation": "next", "url": f"{FHIR_SERVER}/{path}?{urlencode(following)}"}]
        return httpx.Response(200, json=bundle)


def _matching(kind: str, codes: str, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources of a search by patient and (when given) by ``code``, as a FHIR server finds them."""
    answer = search_answer(f"{kind}?patient={PATIENT_ID}" + (f"&code={codes}" if codes else ""), resources)
    assert answer is not None
    return [entry["resource"] for entry in answer["entry"]]


def test_reads_the_fhir_server_when_nothing_is_prefetched(client: TestClient, keys: Keys, app: FastAPI) -> None:
    start = date.today() - timedelta(days=40)
    record = example("standard_risk", treatment_start_date=start.isoformat())
    server = FakeFhirServer(record)
    app.state.cds_fhir_transport = httpx.MockTransport(server.handle)
    body = hook_request("patient-view", {})
    body |= {
        "fhirServer": FHIR_SERVER,
        "fhirAuthorization": {
            "access_token": FHIR_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Observation.read",
            "subject": "allpath",
        },
    }
    fetched = cards_of(client, keys, SERVICE, body)
    prefetched = view(client, keys, record)
    assert [(c["summary"], c["indicator"]) for c in fetched] == [(c["summary"], c["indicator"]) for c in prefetched]
    paths = [r.url.path for r in server.requests]
    assert f"/fhir/Patient/{PATIENT_ID}" in paths
    assert len(of_type(server.resources, "Observation")) > 8
    # each Observation key's search by code, in pages of 4, every page read
    searches = [t for t in SERVICES[PATIENT_VIEW].prefetch.values() if t.startswith("Observation?")]
    matched = [len(_matching("Observation", t.split("&code=")[1], server.resources)) for t in searches]
    assert len(searches) >= 2 and sum(matched) > 8
    assert paths.count("/fhir/Observation") == sum(max(1, -(-n // 4)) for n in matched)
    assert all(r.headers["authorization"] == f"Bearer {FHIR_TOKEN}" for r in server.requests)
    # a prefetched key is used as it is; only the missing ones are read
    server.requests.clear()
    body["prefetch"] = {"patient": patient_view_prefetch(record)["patient"]}
    cards_of(client, keys, SERVICE, body)
    assert f"/fhir/Patient/{PATIENT_ID}" not in [r.url.path for r in server.requests]
    # a prefetched first page: the service reads the further pages itself
    server.requests.clear()
    authorized = {"Authorization": f"Bearer {FHIR_TOKEN}"}
    first = httpx.Request("GET", f"{FHIR_SERVER}/Observation?patient={PATIENT_ID}", headers=authorized)
    first_page = server.handle(first).json()
    assert "link" in first_page
    body["prefetch"] = {"observations": first_page}
    assert [c["summary"] for c in cards_of(client, keys, SERVICE, body)] == [c["summary"] for c in prefetched]


def test_the_fhir_token_goes_to_the_fhir_server_only(client: TestClient, keys: Keys, app: FastAPI) -> None:
    server = FakeFhirServer(example("standard_risk"))
    app.state.cds_fhir_transport = httpx.MockTransport(server.handle)
    prefetch = patient_view_prefetch(example("standard_risk"))
    prefetch["observations"]["link"] = [{"relation": "next", "url": "https://elsewhere.example.com/steal"}]
    body = hook_request("patient-view", {}, prefetch)
    authorization = {
        "access_token": FHIR_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "x",
        "subject": "y",
    }
    body |= {"fhirServer": FHIR_SERVER, "fhirAuthorization": authorization}
    response = call(client, keys, SERVICE, body)
    assert response.status_code == 200  # the key is read again from the FHIR server instead
    assert all(r.url.host == "ehr.example.org" for r in server.requests)
    failing = httpx.MockTransport(lambda request: httpx.Response(503))
    app.state.cds_fhir_transport = failing
    del body["prefetch"]
    response = call(client, keys, SERVICE, body)
    assert response.status_code == 412
    assert "503" in response.json()["issue"][0]["details"]["text"]
