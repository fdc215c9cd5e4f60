"""The prefetch templates ask for what the FHIR importer reads and nothing else (CDS Hooks 2.0, "Prefetch
Template": "services SHALL only receive the data they requested in their prefetch"): the Observations by the
codes of ``fhir_codes.yaml`` that the importer has a reader for, split over several keys when one URL would be
too long. Checked against the 40 Synthea bundles (shared/fhir-samples/synthea), which no one here wrote."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from allpath.interfaces.cds import services
from allpath.interfaces.cds.services import (
    MAX_TEMPLATE_URL,
    OBSERVATION_CONCEPTS,
    ORDER_SIGN,
    PATIENT_VIEW,
    SERVICES,
    concept_codes,
    filled_length,
    split_search,
)
from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir import import_bundle
from allpath.interfaces.fhir.findings import Findings
from allpath.interfaces.fhir.read_observations import read_observation
from tests.cds.conftest import search_answer
from tests.conftest import require_shared


def _template_codes(service: str, prefix: str = "Observation?") -> list[str]:
    out: list[str] = []
    for template in SERVICES[service].prefetch.values():
        if template.startswith(prefix) and "&code=" in template:
            out += template.split("&code=", 1)[1].split("&", 1)[0].split(",")
    return out


def _reads(system: str, code: str) -> bool:
    """Whether the importer reads an Observation with this one coding (it does not say "not an observation
    allpath reads")."""
    found = Findings()
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
    }
    read_observation(found, "Observation/x", observation)
    return not any("not an observation allpath reads" in item["reason"] for item in found.ignored)


def test_every_code_the_importer_reads_is_prefetched_and_nothing_else() -> None:
    codes = _template_codes(PATIENT_VIEW)
    assert len(codes) == len(set(codes))  # each code once, over all the keys
    read = {f"{s}|{k}" for (s, k), concept in c.lookup().concepts.items() if concept in OBSERVATION_CONCEPTS}
    assert set(codes) == read
    # the importer reads each of them, and no other code of fhir_codes.yaml as an Observation
    for pair in c.lookup().concepts:
        assert _reads(*pair) == (f"{pair[0]}|{pair[1]}" in read), pair
    assert "http://loinc.org|29463-7" in codes and "http://loinc.org|79713-4" in codes  # weight, TPMT
    assert "http://loinc.org|8867-4" not in codes  # heart rate: Synthea has it, allpath does not read it


def test_the_order_checks_prefetch_their_concepts_codes() -> None:
    sign = SERVICES[ORDER_SIGN].prefetch
    for key, concepts in (("weight", ["body_weight"]), ("height", ["body_height"])):
        assert sign[key].split("&code=")[1].split("&")[0].split(",") == concept_codes(*concepts)
    pgx = [t for k, t in sign.items() if k.startswith("pharmacogenomics")]
    found = [code for t in pgx for code in t.split("&code=")[1].split(",")]
    assert found == concept_codes(
        "tpmt_phenotype", "nudt15_phenotype", "drug_metabolism_effect", "therapeutic_implication"
    )
    assert "http://loinc.org|53040-2" in found  # a Genomics Reporting metabolizer result (TPMT or NUDT15)


def test_a_code_added_to_the_code_list_is_prefetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates are made from the importer's look-up table (fhir_codes.yaml), never a list of their own."""
    real = c.lookup()
    added = dataclasses.replace(real, concepts={**real.concepts, ("http://loinc.org", "00000-0"): "wbc"})
    monkeypatch.setattr(c, "lookup", lambda: added)
    codes = concept_codes(*OBSERVATION_CONCEPTS)
    assert "http://loinc.org|00000-0" in codes
    assert codes.index("http://loinc.org|00000-0") == len(codes) - 1
    assert "http://loinc.org|00000-0" in ",".join(split_search("observations", "Observation?x=1", codes).values())


def test_no_template_is_longer_than_a_url_may_be() -> None:
    for service in SERVICES.values():
        for template in service.prefetch.values():
            assert filled_length(template) <= MAX_TEMPLATE_URL, template[:80]
    keys = [k for k in SERVICES[PATIENT_VIEW].prefetch if k.startswith("observations")]
    assert keys[0] == "observations" and keys[1:] == [f"observations-{n}" for n in range(2, len(keys) + 1)]
    assert set(keys) <= set(SERVICES[PATIENT_VIEW].required)  # every part is needed


def test_templates_are_split_at_the_limit() -> None:
    base = "Observation?patient={{context.patientId}}"
    code = "http://loinc.org|12345-6"
    one = filled_length(f"{base}&code={code}")
    per_code = filled_length(f"{base}&code={code},{code}") - one  # a comma and a code
    fit = (MAX_TEMPLATE_URL - one) // per_code + 1  # codes that make a template of at most the limit
    at_limit = split_search("observations", base, [code] * fit)
    assert list(at_limit) == ["observations"] and filled_length(at_limit["observations"]) <= MAX_TEMPLATE_URL
    past = split_search("observations", base, [code] * (fit + 1))
    assert list(past) == ["observations", "observations-2"]
    assert past["observations-2"] == f"{base}&code={code}"


def _synthea() -> list[dict[str, Any]]:
    folder = require_shared() / "fhir-samples" / "synthea"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def test_synthea_patients_lose_nothing_the_importer_reads() -> None:
    """For each Synthea patient, the Observations the templates select give the importer the same record as
    every Observation the patient has; and more than two thirds of them (vital signs, other labs, surveys) are
    not sent at all."""
    sent = total = 0
    for bundle in _synthea():
        resources = [e["resource"] for e in bundle["entry"]]
        kept = [r for r in resources if r["resourceType"] in ("Patient", "Condition")]
        observations = [r for r in resources if r["resourceType"] == "Observation"]
        selected: list[dict[str, Any]] = []
        for key, template in SERVICES[PATIENT_VIEW].prefetch.items():
            if key.startswith("observations"):
                answer = search_answer(template.replace("{{context.patientId}}", "x"), observations)
                assert answer is not None
                selected += [entry["resource"] for entry in answer["entry"]]
        full = import_bundle(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in kept + observations]}
        )
        part = import_bundle(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in kept + selected]}
        )
        assert part.record == full.record, bundle["entry"][0]["resource"].get("id")
        sent, total = sent + len(selected), total + len(observations)
    assert total > 1000 and sent < total / 3, (sent, total)  # 718 of 2,691 when this was written


def test_services_module_names_no_code_of_its_own() -> None:
    """The code lists come from fhir_codes.yaml: no LOINC or SNOMED number is written in services.py."""
    text = open(services.__file__, encoding="utf-8").read()
    assert "29463-7" not in text and "79713-4" not in text and "loinc.org|" not in text
