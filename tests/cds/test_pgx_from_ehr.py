"""The thiopurine order check with the TPMT and NUDT15 results as an EHR sends them: Observations in the
prefetch, each found by the ``pharmacogenomics`` template. The request is the specification's own order-sign
example (shared/cds-hooks/order-sign-example-1.json) with a mercaptopurine order added, and the results have
the shape of the FHIR R4 example ``Observation-example-phenotype`` (a LOINC "gene product metabolic activity
interpretation" code, a LOINC metabolizer answer: LA25391-6 normal, LA10317-8 intermediate, LA9657-3 poor).

Both arrive with standard codes only, no allpath local code anywhere. TPMT by its LOINC code (79713-4), or as
NUDT15 does: no LOINC number of a NUDT15 phenotype could be confirmed, so NUDT15 arrives the HL7 Genomics
Reporting IG's way, gene-neutrally: the code LOINC 53040-2 "Genetic variation's effect on drug metabolism" with
the gene studied (LOINC 48018-6) as an HGNC id (NUDT15 HGNC:23063, TPMT HGNC:12014), or the IG's therapeutic
implication (tbd-codes-cs) with the answer in a 53040-2 component, as the IG's example metab-1a writes it.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allpath.interfaces.cds.services import ORDER_SIGN, SERVICES
from allpath.interfaces.fhir import codes as c
from tests.cds.conftest import PATIENT_ID, Keys, cards_of, medication_request, search_answer
from tests.conftest import ROOT, require_shared

ANSWERS = {"normal": "LA25391-6", "intermediate": "LA10317-8", "poor": "LA9657-3"}


def _r4_phenotype() -> dict[str, Any]:
    """The FHIR R4 example phenotype Observation (hl7.fhir.r4.examples 4.0.1, unpacked under .cache)."""
    path = ROOT / ".cache" / "fhir-packages" / "hl7.fhir.r4.examples-4.0.1" / "package"
    example: dict[str, Any] = json.loads((path / "Observation-example-phenotype.json").read_text(encoding="utf-8"))
    return example


def _result(gene: str, phenotype: str, code: dict[str, str]) -> dict[str, Any]:
    """A phenotype result of ``gene`` shaped like the R4 example, coded with ``code``, for the patient."""
    observation = copy.deepcopy(_r4_phenotype())
    for key in ("text", "extension", "specimen", "derivedFrom"):  # the example's CYP2C9 gene, its specimen
        observation.pop(key, None)
    observation["id"] = f"{gene}-phenotype"
    observation["code"] = {"coding": [code]}
    observation["subject"] = {"reference": f"Patient/{PATIENT_ID}"}
    answer = {"system": "http://loinc.org", "code": ANSWERS[phenotype], "display": f"{phenotype.title()} metabolizer"}
    observation["valueCodeableConcept"] = {"coding": [answer]}
    return observation


def _tpmt(phenotype: str) -> dict[str, Any]:
    code = {
        "system": "http://loinc.org",
        "code": "79713-4",
        "display": "TPMT gene product metabolic activity interpretation",
    }
    return _result("tpmt", phenotype, code)


EFFECT = {"system": "http://loinc.org", "code": "53040-2", "display": "Genetic variation's effect on drug metabolism"}
HGNC_IDS = {"tpmt": ("HGNC:12014", "TPMT"), "nudt15": ("HGNC:23063", "NUDT15")}


def _gene_studied(gene: str) -> dict[str, Any]:
    gene_id, symbol = HGNC_IDS[gene]
    return {
        "code": {"coding": [{"system": "http://loinc.org", "code": "48018-6", "display": "Gene studied [ID]"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://www.genenames.org", "code": gene_id, "display": symbol}]
        },
    }


def _metabolism(gene: str, phenotype: str) -> dict[str, Any]:
    """A phenotype result coded LOINC 53040-2, its gene a gene-studied component."""
    observation = _result(gene, phenotype, EFFECT)
    observation["component"] = [_gene_studied(gene)]
    return observation


def _nudt15(phenotype: str) -> dict[str, Any]:
    return _metabolism("nudt15", phenotype)


def _implication(gene: str, phenotype: str) -> dict[str, Any]:
    """The IG's therapeutic implication (metab-1a's shape) for mercaptopurine, the gene studied in the result."""
    observation = _metabolism(gene, phenotype)
    answer = observation.pop("valueCodeableConcept")
    tbd = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
    observation["id"] = f"{gene}-implication"
    observation["code"] = {"coding": [{"system": tbd, "code": "therapeutic-implication"}]}
    medication = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "103", "display": "mercaptopurine"}
    observation["component"] = [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "51963-7"}]},
            "valueCodeableConcept": {"coding": [medication]},
        },
        {"code": {"coding": [EFFECT]}, "valueCodeableConcept": answer},
        _gene_studied(gene),
    ]
    return observation


def _no_local_code(body: dict[str, Any]) -> bool:
    return c.LOCAL_SYSTEM not in json.dumps(body["prefetch"])


def _request(results: list[dict[str, Any]], mg: float = 58.6, per_week: int = 7) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((require_shared() / "cds-hooks" / "order-sign-example-1.json").read_text())
    body |= {"hook": "order-sign", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}
    if per_week == 7:
        order = medication_request("mercaptopurine 50 MG Oral Tablet", mg, rxnorm="103")
    else:
        order = medication_request("mercaptopurine", mg, rxnorm="103", frequency=per_week, period_unit="wk")
    order["subject"] = {"reference": f"Patient/{body['context']['patientId']}"}
    body["context"]["draftOrders"]["entry"].append({"resource": order})
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "gender": "female", "birthDate": "2016-03-01"}
    weight = {
        "resourceType": "Observation",
        "id": "weight",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": "2026-11-30",
        "valueQuantity": {"value": 20, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }
    height = copy.deepcopy(weight) | {"id": "height"}
    height["code"] = {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]}
    height["valueQuantity"] = {"value": 110, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}
    everything: list[dict[str, Any]] = [patient, weight, height, *results]
    # each key holds what the EHR's FHIR server answers its template
    body["prefetch"] = {
        key: search_answer(template.replace("{{context.patientId}}", PATIENT_ID), everything)
        for key, template in SERVICES[ORDER_SIGN].prefetch.items()
    }
    return body


def _sign(client: TestClient, keys: Keys, body: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for card in cards_of(client, keys, ORDER_SIGN, body) if "mercaptopurine" in card["summary"].lower()]


def test_the_pharmacogenomics_template_finds_both_results() -> None:
    results = [_tpmt("poor"), _nudt15("normal")]
    template = SERVICES[ORDER_SIGN].prefetch["pharmacogenomics"].replace("{{context.patientId}}", PATIENT_ID)
    answer = search_answer(template, results)
    assert answer is not None and [e["resource"]["id"] for e in answer["entry"]] == [
        "tpmt-phenotype",
        "nudt15-phenotype",
    ]


def test_the_pharmacogenomics_template_asks_for_the_genomics_reporting_codes() -> None:
    template = SERVICES[ORDER_SIGN].prefetch["pharmacogenomics"]
    assert "http://loinc.org|53040-2" in template.split("code=")[1].split(",")
    assert "tbd-codes-cs|therapeutic-implication" in template
    results = [_metabolism("tpmt", "poor"), _implication("nudt15", "normal")]
    answer = search_answer(template.replace("{{context.patientId}}", PATIENT_ID), results)
    assert answer is not None and [e["resource"]["id"] for e in answer["entry"]] == [
        "tpmt-phenotype",
        "nudt15-implication",
    ]


def test_the_check_completes_with_both_results_from_the_ehr(client: TestClient, keys: Keys) -> None:
    # normal and normal: the normal dose, every day, gets no card (before, NUDT15 never arrived: "test before dosing")
    body = _request([_tpmt("normal"), _nudt15("normal")])
    assert _no_local_code(body) and _sign(client, keys, body) == []
    body = _request([_tpmt("intermediate"), _nudt15("normal")])
    (card,) = _sign(client, keys, body)
    assert _no_local_code(body)
    assert card["indicator"] == "warning" and "30–80 % of normal" in card["summary"]
    assert "Phenotypes:** TPMT intermediate, NUDT15 normal" in card["detail"]


@pytest.mark.parametrize(
    ("tpmt", "nudt15"),
    [(_metabolism, _metabolism), (_implication, _implication), (_metabolism, _implication)],
)
def test_the_check_completes_with_both_genes_coded_the_genomics_reporting_way(
    client: TestClient, keys: Keys, tpmt: Any, nudt15: Any
) -> None:
    body = _request([tpmt("tpmt", "normal"), nudt15("nudt15", "intermediate")])
    (card,) = _sign(client, keys, body)
    assert _no_local_code(body)
    assert "Phenotypes:** TPMT normal, NUDT15 intermediate" in card["detail"]
    assert _sign(client, keys, _request([tpmt("tpmt", "normal"), nudt15("nudt15", "normal")])) == []


def test_a_nudt15_poor_result_from_the_ehr_is_a_hard_stop(client: TestClient, keys: Keys) -> None:
    body = _request([_tpmt("normal"), _implication("nudt15", "poor")])
    (card,) = _sign(client, keys, body)
    assert _no_local_code(body) and card["indicator"] == "critical"
    assert "NUDT15 poor metabolizer" in card["summary"]


def test_a_metabolizer_result_of_another_gene_leaves_nudt15_unknown(client: TestClient, keys: Keys) -> None:
    other = _metabolism("nudt15", "normal")
    other["component"] = [_gene_studied("nudt15")]
    other["component"][0]["valueCodeableConcept"]["coding"][0] |= {"code": "HGNC:2623", "display": "CYP2C9"}
    (card,) = _sign(client, keys, _request([_tpmt("normal"), other]))
    assert card["summary"] == "NUDT15 not known: test before dosing mercaptopurine (6-MP)"
    assert "Known: TPMT normal" in card["detail"]


def test_a_tpmt_poor_child_on_the_normal_dose_is_a_hard_stop(client: TestClient, keys: Keys) -> None:
    (card,) = _sign(client, keys, _request([_tpmt("poor"), _nudt15("normal")]))
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Mercaptopurine (6-MP): TPMT poor metabolizer")
    assert _sign(client, keys, _request([_tpmt("poor"), _nudt15("normal")], mg=5.9, per_week=3)) == []
    # the standard-coded TPMT result alone is enough for the hard stop
    (card,) = _sign(client, keys, _request([_tpmt("poor")]))
    assert card["indicator"] == "critical" and "NUDT15 not known: test before dosing." in card["detail"]


def test_without_results_the_check_asks_for_them(client: TestClient, keys: Keys) -> None:
    (card,) = _sign(client, keys, _request([]))
    assert card["summary"] == "TPMT/NUDT15 not known: test before dosing mercaptopurine (6-MP)"
