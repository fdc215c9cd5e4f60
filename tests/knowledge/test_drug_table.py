"""``drugs.yaml`` is the one drug table: the plan's catalogue and the dose calculator's drugs come from it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from allpath.errors import KnowledgeError
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge


def _edited(tmp_path: Path, name: str, edit: Any) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    data = yaml.safe_load((copy / name).read_text(encoding="utf-8"))
    edit(data)
    (copy / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def _entry(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(d for d in data["drugs"] if d["name"] == name)


def test_the_plan_catalogue_and_the_dose_tables_are_views_of_one_table(kb: KnowledgeBase) -> None:
    raw = yaml.safe_load((default_data_dir() / "drugs.yaml").read_text(encoding="utf-8"))["drugs"]
    assert list(kb.drugs) == [d["name"] for d in raw if "cite" in d]
    assert sorted(kb.therapy.drugs) == sorted(d["name"] for d in raw if "dosing" in d)
    # a drug of both views is one entry: its class and citation for the plan, its dosing for the doses
    assert kb.drugs["mercaptopurine"].drug_class == "chemotherapy"
    assert kb.therapy.drugs["mercaptopurine"].label == "mercaptopurine (6-MP)"
    assert "pegaspargase" in kb.therapy.drugs and "pegaspargase" not in kb.drugs  # dosed, not named by the summary
    assert not hasattr(kb.files["catalog.yaml"], "drugs")


def test_a_changed_cap_reaches_the_dose_calculator(tmp_path: Path) -> None:
    def lower_cap(data: dict[str, Any]) -> None:
        _entry(data, "vincristine")["dosing"]["cap_per_dose"] = 1.5

    assert load_knowledge(_edited(tmp_path, "drugs.yaml", lower_cap)).therapy.drugs["vincristine"].cap_per_dose == 1.5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: _entry(d, "pegaspargase").pop("dosing"), "cites the summary's section"),
        (lambda d: d["drugs"].append(dict(_entry(d, "vincristine"))), "repeated: vincristine"),
        (lambda d: _entry(d, "vincristine").update(klass="chemotherapy"), "drugs.yaml"),
    ],
)
def test_a_wrong_drug_entry_is_refused(tmp_path: Path, edit: Any, message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(_edited(tmp_path, "drugs.yaml", edit))


def test_a_drug_list_in_the_catalogue_is_refused(tmp_path: Path) -> None:
    def second_table(data: dict[str, Any]) -> None:
        data["drugs"] = [{"name": "vincristine", "class": "chemotherapy", "cite": {"section": "Chemotherapy"}}]

    with pytest.raises(KnowledgeError, match="catalog.yaml"):
        load_knowledge(_edited(tmp_path, "catalog.yaml", second_table))
