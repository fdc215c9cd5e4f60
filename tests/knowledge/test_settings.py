"""Facts have a context: the lint rejects a rule resting on evidence from another setting (settings.yaml)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from allpath.errors import KnowledgeError
from allpath.knowledge import schema as s
from allpath.knowledge.lint import lint, setting_mismatch
from allpath.knowledge.loader import default_data_dir, load_knowledge

FIXTURES = Path(__file__).parent / "fixtures"


def _copy_with(tmp_path: Path, name: str, edit: Any) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    data = yaml.safe_load((copy / name).read_text(encoding="utf-8"))
    edit(data)
    (copy / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return copy


def test_the_shipped_knowledge_base_has_no_rule_resting_on_another_setting() -> None:
    report = lint(load_knowledge())
    assert not [e for e in report.errors if "rests on" in e or "setting" in e]


def test_lint_rejects_the_relapse_trial_list_behind_a_rule_for_newly_diagnosed_children(tmp_path: Path) -> None:
    rule = yaml.safe_load((FIXTURES / "rule_from_another_setting.yaml").read_text(encoding="utf-8"))
    copy = _copy_with(tmp_path, "risk_groups.yaml", lambda data: data["scheme"]["rules"].append(rule))
    report = lint(load_knowledge(copy))
    assert not report.ok
    [error] = [e for e in report.errors if "risk.genetics.very_high_trial_list" in e]
    assert "newly diagnosed ALL" in error and "relapsed ALL" in error
    assert "the rule applies to newly_diagnosed disease" in error


def test_lint_rejects_a_b_all_cut_off_behind_a_t_all_rule(tmp_path: Path) -> None:
    def b_all_evidence(data: dict[str, Any]) -> None:
        rule = next(r for r in data["scheme"]["rules"] if r["id"] == "risk.response.eoc_mrd_t_cell")
        rule["evidence"][0]["setting"] = "newly_diagnosed_b"

    report = lint(load_knowledge(_copy_with(tmp_path, "risk_groups.yaml", b_all_evidence)))
    assert any("risk.response.eoc_mrd_t_cell" in e and "lineage T" in e for e in report.errors)


def test_a_rule_with_evidence_must_say_its_setting(tmp_path: Path) -> None:
    def no_setting(data: dict[str, Any]) -> None:
        element = next(e for e in data["elements"] if e["id"] == "plan.t_cell.nelarabine")
        del element["setting"]

    report = lint(load_knowledge(_copy_with(tmp_path, "plan.yaml", no_setting)))
    assert any("plan.t_cell.nelarabine rests on evidence but does not say the setting" in e for e in report.errors)


def test_evidence_must_say_its_setting_and_name_a_known_one(tmp_path: Path) -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["scheme"]["rules"][0]["evidence"][0]["setting"]

    with pytest.raises(KnowledgeError, match="setting"):
        load_knowledge(_copy_with(tmp_path, "risk_groups.yaml", drop))

    def unknown(data: dict[str, Any]) -> None:
        data["scheme"]["rules"][0]["evidence"][0]["setting"] = "adults"

    with pytest.raises(KnowledgeError, match="unknown setting 'adults'"):
        load_knowledge(_copy_with(tmp_path / "again", "risk_groups.yaml", unknown))


def _setting(**fields: Any) -> s.Setting:
    return s.Setting.model_validate({"label": "x", **fields})


@pytest.mark.parametrize(
    ("rule", "evidence", "errors", "warnings"),
    [
        ({"disease_state": ["newly_diagnosed"]}, {"disease_state": ["relapsed"]}, 1, 0),
        ({"disease_state": ["newly_diagnosed", "relapsed"]}, {"disease_state": ["relapsed"]}, 1, 0),
        ({"disease_state": ["relapsed"]}, {"disease_state": ["relapsed", "refractory"]}, 0, 0),
        ({}, {}, 0, 0),
        ({"lineage": ["T"]}, {"lineage": ["B"]}, 1, 0),
        ({}, {"lineage": ["B"]}, 0, 1),
        ({"age_years": {"from_years": 1}}, {"age_years": {"below_years": 1}}, 1, 0),  # touching: no overlap
        ({"age_years": {"from_years": 0.5}}, {"age_years": {"below_years": 1}}, 0, 1),
        ({"age_years": {"below_years": 1}}, {}, 0, 0),
    ],
)
def test_setting_mismatch_by_dimension(
    rule: dict[str, Any], evidence: dict[str, Any], errors: int, warnings: int
) -> None:
    found_errors, found_warnings = setting_mismatch(_setting(**rule), _setting(**evidence))
    assert (len(found_errors), len(found_warnings)) == (errors, warnings)
