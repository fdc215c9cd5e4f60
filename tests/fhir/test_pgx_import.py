"""TPMT and NUDT15 phenotypes with standard codes only (issue 12): metabolizer results shaped as the HL7 Genomics
Reporting IG writes them, gene-neutrally. The answer is a LOINC metabolizer answer (LA25391-6 normal, LA10317-8
intermediate, LA9657-3 poor) in a component coded LOINC 53040-2 "Genetic variation's effect on drug metabolism"
(or in the Observation's value when 53040-2 is its code, or in the IG's therapeutic-implication component), and
the gene is a gene-studied component (LOINC 48018-6) with an HGNC id: TPMT HGNC:12014, NUDT15 HGNC:23063.

The IG's own examples are transcribed from its FSH sources (public repository HL7/genomics-reporting):
``input/fsh/examples/metab-1a.fsh`` at commit 75e981af (STU1: code tbd-codes-cs#therapeutic-implication,
components 51963-7 medication and 53040-2 metabolizer, the gene only through ``derivedFrom``),
``bundle-pgxexample.fsh`` before commit cf4d3df (a mercaptopurine implication derived from a CYP2C9 genotype,
the gene written ``HGNCID#2623``, without its ``HGNC:`` prefix), the STU2 ``predicted-therapeutic-implication``
component (commit cf4d3df) and the current ``CGExamples.fsh`` TxImp01 (component ``therapeutic-implication``).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from allpath.interfaces.fhir import import_bundle, record_to_bundle
from allpath.interfaces.fhir.importer import ImportResult
from tests.builders import record
from tests.fhir.conftest import as_bundle, as_json

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = "http://www.genenames.org"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
PATIENT = {"resourceType": "Patient", "id": "patient-1a", "gender": "female", "birthDate": "2016-03-01"}
ANSWERS = {"normal": "LA25391-6", "intermediate": "LA10317-8", "poor": "LA9657-3"}
GENES = {"tpmt": ("HGNC:12014", "TPMT"), "nudt15": ("HGNC:23063", "NUDT15")}


def _cc(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


def _answer(phenotype: str) -> dict[str, Any]:
    return _cc(LOINC, ANSWERS[phenotype], f"{phenotype.title()} metabolizer")


def _gene(gene_id: str, symbol: str, system: str = HGNC) -> dict[str, Any]:
    return {"code": _cc(LOINC, "48018-6", "Gene studied [ID]"), "valueCodeableConcept": _cc(system, gene_id, symbol)}


def metab_1a(answer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The IG's metab-1a (STU1) as its FSH writes it: a warfarin implication, rapid metabolizer, gene by derivedFrom."""
    return {
        "resourceType": "Observation",
        "id": "metab-1a",
        "status": "final",
        "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
        "code": _cc(TBD, "therapeutic-implication"),
        "subject": {"reference": "Patient/patient-1a"},
        "effectiveDateTime": "2016",
        "issued": "2016-09-06T00:00:00-05:00",
        "derivedFrom": [{"reference": "Observation/genotype-1a"}],
        "component": [
            {"code": _cc(LOINC, "51963-7"), "valueCodeableConcept": _cc(RXNORM, "11289", "Warfarin")},
            {
                "code": _cc(LOINC, "53040-2"),
                "valueCodeableConcept": answer or _cc(LOINC, "LA25390-8", "Rapid metabolizer"),
            },
        ],
    }


def implication(gene: str, phenotype: str) -> dict[str, Any]:
    """metab-1a with a mercaptopurine order, ``phenotype`` and the gene studied in the result itself."""
    observation = metab_1a(_answer(phenotype))
    observation["component"][0]["valueCodeableConcept"] = _cc(RXNORM, "103", "mercaptopurine")
    observation["component"].append(_gene(*GENES[gene]))
    return observation


def effect(gene: str, phenotype: str, hgnc_system: str = HGNC) -> dict[str, Any]:
    """53040-2 as the Observation's own code, the answer its value, the gene a component (as some EHRs send it)."""
    return {
        "resourceType": "Observation",
        "id": f"{gene}-effect",
        "status": "final",
        "code": _cc(LOINC, "53040-2", "Genetic variation's effect on drug metabolism"),
        "subject": {"reference": "Patient/patient-1a"},
        "effectiveDateTime": "2026-11-20",
        "valueCodeableConcept": _answer(phenotype),
        "component": [_gene(*GENES[gene], system=hgnc_system)],
    }


def imported(*resources: dict[str, Any]) -> ImportResult:
    return import_bundle(as_bundle(PATIENT, *resources))


def pharmacogenomics(result: ImportResult) -> object:
    return result.record.get("pharmacogenomics")


def reasons(result: ImportResult) -> list[str]:
    return [i["reason"] for i in result.ignored if i["resource"].startswith("Observation")]


@pytest.mark.parametrize("gene", ["tpmt", "nudt15"])
@pytest.mark.parametrize("phenotype", ["normal", "intermediate", "poor"])
def test_the_igs_implication_with_its_gene_gives_the_phenotype(gene: str, phenotype: str) -> None:
    result = imported(implication(gene, phenotype))
    assert pharmacogenomics(result) == {gene: phenotype}
    (mapped,) = [m for m in result.mapped if m["field"] == f"pharmacogenomics.{gene}"]
    assert mapped["from"].endswith(".component")


@pytest.mark.parametrize("gene", ["tpmt", "nudt15"])
@pytest.mark.parametrize("phenotype", ["normal", "intermediate", "poor"])
def test_53040_2_as_the_code_with_the_gene_in_a_component(gene: str, phenotype: str) -> None:
    result = imported(effect(gene, phenotype))
    assert pharmacogenomics(result) == {gene: phenotype}
    (mapped,) = [m for m in result.mapped if m["field"] == f"pharmacogenomics.{gene}"]
    assert mapped["from"].endswith(".valueCodeableConcept")


def test_both_genes_from_standard_codes_only() -> None:
    result = imported(effect("tpmt", "intermediate"), implication("nudt15", "poor"))
    assert pharmacogenomics(result) == {"tpmt": "intermediate", "nudt15": "poor"}


def test_the_igs_example_as_written_names_no_gene_and_is_ignored() -> None:
    # metab-1a's gene is only in the genotype it was derived from, which allpath does not follow
    result = imported(metab_1a())
    assert pharmacogenomics(result) is None
    assert reasons(result) == [
        "a metabolizer result that names no gene: its gene studied must be given as an HGNC id in the result "
        "itself (a gene named only by the genotype it was derived from is not followed)"
    ]


def test_the_igs_mercaptopurine_implication_of_cyp2c9_is_ignored() -> None:
    # bundle-pgxexample's med-impact result, with the gene of its genotype (HGNCID#2623 "CYP2C9", no prefix)
    observation = metab_1a(_cc(LOINC, "LA9657-3", "Poor metabolizer"))
    observation["component"][0]["valueCodeableConcept"] = _cc(RXNORM, "103", "mercaptopurine")
    observation["component"].append(_gene("2623", "CYP2C9"))
    result = imported(observation)
    assert pharmacogenomics(result) is None
    assert reasons(result) == ["a metabolizer result of CYP2C9: allpath reads the phenotypes of TPMT and NUDT15 only"]


def test_hgnc_ids_at_and_next_to_the_genes() -> None:
    # an id one past NUDT15's (HGNC:23064) is another gene; the id written without its prefix is NUDT15 itself
    past = implication("nudt15", "poor")
    past["component"][-1] = _gene("HGNC:23064", "")
    assert reasons(imported(past)) == [
        "a metabolizer result of HGNC:23064: allpath reads the phenotypes of TPMT and NUDT15 only"
    ]
    bare = implication("nudt15", "poor")
    bare["component"][-1] = _gene("23063", "NUDT15")
    assert pharmacogenomics(imported(bare)) == {"nudt15": "poor"}


def test_a_gene_symbol_without_an_hgnc_id_is_not_read() -> None:
    no_id = implication("tpmt", "poor")
    no_id["component"][-1] = _gene("TPMT", "TPMT", system="http://example.org/genes")
    result = imported(no_id)
    assert pharmacogenomics(result) is None
    assert reasons(result)[0].startswith("a metabolizer result that names no gene")


def test_a_result_of_two_genes_is_ignored() -> None:
    both = implication("tpmt", "poor")
    both["component"].append(_gene(*GENES["nudt15"]))
    result = imported(both)
    assert pharmacogenomics(result) is None
    assert reasons(result) == [
        "a metabolizer result that names several genes (NUDT15, TPMT): it is not clear whose it is"
    ]


def test_an_answer_allpath_does_not_know_is_ignored() -> None:
    rapid = implication("tpmt", "normal")
    rapid["component"][1]["valueCodeableConcept"] = _cc(LOINC, "LA25390-8", "Rapid metabolizer")
    assert reasons(imported(rapid)) == ["a TPMT result with no single metabolizer phenotype allpath knows"]
    empty = effect("nudt15", "poor")
    del empty["valueCodeableConcept"]
    assert reasons(imported(empty)) == ["a NUDT15 result with no metabolizer phenotype"]


def test_the_stu2_and_current_ig_component_codes() -> None:
    # STU2 (commit cf4d3df): component tbd-codes-cs#predicted-therapeutic-implication replaced 53040-2
    stu2 = implication("nudt15", "intermediate")
    stu2["component"][1]["code"] = _cc(TBD, "predicted-therapeutic-implication", "Predicted Therapeutic Implication")
    assert pharmacogenomics(imported(stu2)) == {"nudt15": "intermediate"}
    # the current IG (CGExamples.fsh TxImp01): component[therapeutic-implication], coded as the Observation is
    current = implication("tpmt", "poor")
    current["component"][1]["code"] = _cc(TBD, "therapeutic-implication")
    assert pharmacogenomics(imported(current)) == {"tpmt": "poor"}


def test_the_hgnc_gene_id_spelling_of_the_igs_first_release() -> None:
    result = imported(effect("nudt15", "poor", hgnc_system="http://www.genenames.org/geneId"))
    assert pharmacogenomics(result) == {"nudt15": "poor"}


def test_a_preliminary_result_is_not_read() -> None:
    preliminary = copy.deepcopy(effect("tpmt", "poor")) | {"status": "preliminary"}
    assert pharmacogenomics(imported(preliminary)) is None


def test_allpaths_own_export_still_round_trips_by_its_local_codes() -> None:
    given = record(pharmacogenomics={"tpmt": "possible_intermediate", "nudt15": "indeterminate"})
    bundle = as_json(record_to_bundle(given))
    assert import_bundle(bundle).record["pharmacogenomics"] == {
        "tpmt": "possible_intermediate",
        "nudt15": "indeterminate",
    }
