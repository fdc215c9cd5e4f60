"""``order_checks.yaml``: the CDS order-check rules are knowledge, validated by the loader and read by the checks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from allpath.errors import KnowledgeError
from allpath.interfaces.cds.order_reading import drug_of
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge


def _order(text: str, rxnorm: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if rxnorm:
        concept["coding"] = [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}]
    return {"resourceType": "MedicationRequest", "status": "draft", "medicationCodeableConcept": concept}


def _edited(tmp_path: Path, edit: Any) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    path = copy / "order_checks.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def test_the_shipped_checks_recognise_drugs_by_code_and_by_name(kb: KnowledgeBase) -> None:
    assert set(kb.order_checks.drugs) == {"vincristine", "mercaptopurine", "thioguanine"}
    assert drug_of(_order("vincristine sulfate", rxnorm="11202"), kb) == "vincristine"
    assert drug_of(_order("Purixan (6-MP) oral suspension"), kb) == "mercaptopurine"
    assert drug_of(_order("6-TG 40 mg tablet"), kb) == "thioguanine"
    assert drug_of(_order("vinCRIStine sulfate LIPOSOME injection", rxnorm="11202"), kb) is None
    assert drug_of(_order("mercaptopurine and thioguanine"), kb) is None  # two drugs named: never guessed
    assert drug_of(_order("methotrexate 20 mg"), kb) is None


def test_no_dose_is_calculated_for_the_populations_the_file_names(kb: KnowledgeBase) -> None:
    rules = kb.order_checks
    assert rules.spec.no_calculated_dose.populations == ["infant"]
    assert not rules.calculates_dose(0.99)
    assert rules.calculates_dose(1.0)  # the infant population of populations.yaml ends at the first birthday
    assert rules.calculates_dose(None)


def test_a_name_added_to_the_file_is_recognised_and_the_version_changes(tmp_path: Path) -> None:
    def add_brand(data: dict[str, Any]) -> None:
        data["drugs"][0]["names"].append(r"\boncovin")

    edited = load_knowledge(_edited(tmp_path, add_brand))
    assert drug_of(_order("Oncovin 1.5 mg IV"), edited) == "vincristine"
    assert drug_of(_order("Oncovin 1.5 mg IV"), load_knowledge()) is None
    assert edited.version != load_knowledge().version


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["drugs"][0].update(drug="vinblastine"), "'vinblastine' has no dose table"),
        (lambda d: d["no_calculated_dose"].update(populations=["newborn"]), "unknown population 'newborn'"),
        (lambda d: d["drugs"][0].update(names=["vincristin("]), "not a regular expression"),
        (lambda d: d["drugs"][0].update(check="by_weight"), "order_checks.yaml"),
        (lambda d: d["drugs"].append(dict(d["drugs"][0])), "listed twice"),
    ],
)
def test_a_wrong_order_check_rule_is_refused(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_edited(tmp_path, edit))


def test_lint_refuses_a_checked_drug_without_a_drug_code(tmp_path: Path) -> None:
    from allpath.knowledge.lint import lint

    assert not [e for e in lint(load_knowledge()).errors if "order_checks.yaml" in e]
    copy = _edited(tmp_path, lambda data: None)
    path = copy / "fhir_codes.yaml"
    codes = yaml.safe_load(path.read_text(encoding="utf-8"))
    codes["values"]["drug"]["thioguanine"] = []
    path.write_text(yaml.safe_dump(codes, allow_unicode=True), encoding="utf-8")
    errors = lint(load_knowledge(copy)).errors
    assert errors == ["order_checks.yaml: thioguanine has no standard drug code in fhir_codes.yaml"]
