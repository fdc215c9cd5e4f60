"""Clinical safety properties over the whole risk grid (``allpath kb grid``) and over generated records and
children (hypothesis), clinical-facts.md §2a, §7 and §10c:

(a) no plan under age 1 (at diagnosis or at the latest relapse) holds radiation to the brain or spinal cord;
(b) TCF3::PBX1 alone never raises a group: in every row of the committed grid its groups equal those of the
    same child with no genetic finding;
(c) every refractory plan holds combination chemotherapy, and so does every relapse plan;
(d) every calculated dose line names a table whose kind serves the line (per square meter from the regimen,
    an intrathecal drug given alone only from a column that serves single-agent doses), and single-agent
    intrathecal cytarabine is never calculated.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from functools import cache
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from allpath.domain.record import parse_record
from allpath.domain.results import Assessment
from allpath.engine.assess import assess
from allpath.engine.doses import phase_doses
from allpath.engine.grid import complete_grid_records
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.builders import present
from tests.conftest import GOLDEN
from tests.grid_shards import over_grid_shards, shard_records
from tests.property.strategies import PROPERTY_SETTINGS, date_pair, valid_records


@cache
def _kb() -> KnowledgeBase:
    return load_knowledge()


@cache
def _grid() -> tuple[dict[str, Any], ...]:
    return tuple(complete_grid_records(_kb()))


def _plan(record: dict[str, Any]) -> Assessment:
    return assess(parse_record(record), _kb())


def _codes(assessment: Assessment) -> set[str]:
    return {t["code"] for t in assessment["plan"]["therapies"]}


# ---- (a) no brain radiation under age 1 ---------------------------------------------------------------------------


def _infants_shard(kb: KnowledgeBase, shard: int, shards: int) -> int:
    """Checks the infants of one shard of the grid (each also with Down syndrome); returns how many."""
    count = 0
    for record in shard_records(kb, shard, shards):
        if record["age_years"] < 1:  # type: ignore[operator]
            for variant in (record, {**record, "down_syndrome": True}):
                assert "cns_radiation" not in _codes(assess(parse_record(variant), kb)), variant
            count += 1
    return count


def test_no_infant_of_the_risk_grid_has_brain_radiation_in_the_plan() -> None:
    infants = [r for r in _grid() if r["age_years"] < 1]
    assert len(infants) > 10_000  # every infant row of the grid, with every genetic finding
    assert sum(over_grid_shards(_infants_shard, _kb())) == len(infants)


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_no_generated_plan_under_age_1_holds_brain_radiation(record: dict[str, Any]) -> None:
    assessment = _plan(record)
    age = assessment["relapse"]["age_at_relapse_years"] if assessment["relapse"] else None
    facts_age = parse_record(record).age_years
    latest = age if age is not None else facts_age
    if latest is not None and latest < 1:
        assert "cns_radiation" not in _codes(assessment)


# ---- (b) TCF3::PBX1 alone never raises a group --------------------------------------------------------------------


def test_tcf3_pbx1_never_raises_a_group_in_the_committed_risk_grid() -> None:
    rows = list(csv.DictReader((GOLDEN / "risk_grid.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) > 10_000
    for row in rows:
        assert row["TCF3::PBX1"] == row["none_detected"], row


@PROPERTY_SETTINGS
@given(record=valid_records(newly_diagnosed=True, complete=True))
def test_adding_tcf3_pbx1_to_a_generated_record_changes_no_group(record: dict[str, Any]) -> None:
    genetics = [g for g in record.get("genetics", []) if g != "none_detected"]
    with_fusion = {**record, "genetics": sorted({*genetics, "TCF3::PBX1"})}
    without = {**record, "genetics": genetics or ["none_detected"]}
    before, after = _plan(without), _plan(with_fusion)
    assert (after["risk_group"], after["cog_risk_group"]) == (before["risk_group"], before["cog_risk_group"])


# ---- (c) refractory and relapse plans keep chemotherapy -----------------------------------------------------------


def test_every_refractory_child_of_the_risk_grid_keeps_combination_chemotherapy() -> None:
    for record in _grid()[::7]:
        refractory = {**record, "refractory": True}
        assert "combination_chemotherapy" in _codes(_plan(refractory)), refractory


@PROPERTY_SETTINGS
@given(record=valid_records())
def test_every_generated_refractory_or_relapse_plan_keeps_combination_chemotherapy(record: dict[str, Any]) -> None:
    assessment = _plan(record)
    if assessment["disease_state"] in ("refractory", "relapsed"):
        assert "combination_chemotherapy" in _codes(assessment)


# ---- (d) every dose line names a table of its own kind ------------------------------------------------------------


@PROPERTY_SETTINGS
@given(pair=date_pair(min_years=0, max_years=25), later=st.integers(0, 3 * 365), data=st.data())
def test_every_dose_line_cites_a_table_whose_kind_matches_the_line(pair: Any, later: int, data: Any) -> None:
    birth, diagnosis = pair
    child = parse_record(
        {
            "birth_date": birth.isoformat(),
            "diagnosis_date": diagnosis.isoformat(),
            "pharmacogenomics": {"tpmt": "normal", "nudt15": "normal"},
        }
    )
    regimen = data.draw(st.sampled_from(_kb().therapy.regimens.regimens))
    phase = data.draw(st.sampled_from(regimen.phases))
    result = phase_doses(
        child, _kb(), regimen.id, phase.id, weight_kg=20, height_cm=115, on=diagnosis + timedelta(days=later)
    )
    for line in result["lines"]:
        if line["drug"] == "cytarabine" and line["kind"] == "intrathecal_single_agent":
            assert line["status"] == "refused" and line["dose"] is None
            assert present(line["refusal"]).startswith("Not verified")
        if line["status"] != "ok":
            continue
        table = line["table"]
        assert table is not None, line
        assert line["kind"] in table["serves"], line
        if line["kind"] == "per_m2":
            assert table["id"] == f"{regimen.id}.{phase.id}"
        else:
            assert table["id"] == _kb().therapy.intrathecal.id and table["column"] == line["drug"]
        assert line["text"] and line["text"].endswith(".")
        assert "_" not in line["text"]  # a sentence, not machine words
