"""Knowledge-change impact (issue 15, item 3): ``service.cohort.diff`` names exactly the records a changed threshold
moves, and the rule and threshold that move each.

The changed knowledge bases are copies of the bundled one with one cut point changed in its YAML: the NCI white
count (50,000 -> 40,000 per microliter, every place the cut point is written) and the B-ALL end-of-consolidation
MRD cut point (0.01% -> 0.1%, one rule).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from allpath.domain.cohort_table import records_table
from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.columnar.fallback import record_of
from allpath.knowledge.loader import KnowledgeBase, default_data_dir, load_knowledge
from allpath.service.cohort.diff import CohortDiff, diff_cohort
from allpath.service.cohort.synthetic import generate
from tests.conftest import complete_b_all

OLD_WBC, NEW_WBC = 50000, 40000


def changed_knowledge(folder: Path, replacements: dict[str, list[tuple[str, str]]]) -> KnowledgeBase:
    """A copy of the bundled knowledge base with text replaced in its YAML files (each replacement must occur)."""
    data = folder / "data"
    shutil.copytree(default_data_dir(), data)
    for name, pairs in replacements.items():
        path = data / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"{old!r} is no longer in {name}: the fixture needs updating"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return load_knowledge(data)


WBC_BELOW = (f"wbc_per_ul, lt: {OLD_WBC}", f"wbc_per_ul, lt: {NEW_WBC}")
WBC_AT_LEAST = (f"wbc_per_ul, ge: {OLD_WBC}", f"wbc_per_ul, ge: {NEW_WBC}")
WBC_CHANGE = {"definitions.yaml": [WBC_BELOW, WBC_AT_LEAST], "risk_groups.yaml": [WBC_AT_LEAST]}


@pytest.fixture(scope="module")
def wbc_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return changed_knowledge(tmp_path_factory.mktemp("wbc"), WBC_CHANGE)


@pytest.fixture(scope="module")
def eoc_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    rule = "{fact: immunophenotype, eq: B}, {fact: end_of_consolidation_mrd_pct, ge: "
    return changed_knowledge(tmp_path_factory.mktemp("eoc"), {"risk_groups.yaml": [(rule + "0.01}", rule + "0.1}")]})


def child(record_id: str, **overrides: object) -> dict[str, object]:
    """A newly diagnosed 5-year-old with B-ALL, neutral genetics, CNS1 and a fast response (NCI and COG groups
    decided by age and white count alone)."""
    record = complete_b_all(id=record_id, age_years=5.0, genetics=["none_detected"])
    record.update(overrides)
    return record


# White counts around both cut points: one below the new one, exactly at it, between, one below the old one,
# exactly at the old one, above both.
WBC_COHORT = [
    child("low", wbc_per_ul=10000),
    child("below-new", wbc_per_ul=NEW_WBC - 1),
    child("at-new", wbc_per_ul=NEW_WBC),
    child("between", wbc_per_ul=45000),
    child("below-old", wbc_per_ul=OLD_WBC - 1),
    child("at-old", wbc_per_ul=OLD_WBC),
    child("high", wbc_per_ul=60000),
    child("aged-12-between", age_years=12.0, wbc_per_ul=45000),  # high by age in both versions
    child("infant-between", age_years=0.5, wbc_per_ul=45000),  # very high as an infant in both versions
]
MOVED_BY_WBC = {"at-new": 3, "between": 4, "below-old": 5}


def table_of(records: list[dict[str, object]], first_row: int = 1) -> pa.Table:
    return records_table([parse_record(r) for r in records], first_row)


@pytest.fixture(scope="module")
def wbc_diff(kb: KnowledgeBase, wbc_kb: KnowledgeBase) -> CohortDiff:
    return diff_cohort([table_of(WBC_COHORT)], kb, wbc_kb)


def test_the_diff_names_exactly_the_records_between_the_old_and_the_new_white_count_cut_point(
    wbc_diff: CohortDiff,
) -> None:
    assert {(m.id, m.row) for m in wbc_diff.moved} == set(MOVED_BY_WBC.items())
    assert [m.row for m in wbc_diff.moved] == sorted(MOVED_BY_WBC.values())


def test_at_the_new_cut_point_the_record_moves_and_at_the_old_one_it_does_not(wbc_diff: CohortDiff) -> None:
    moved = {m.id for m in wbc_diff.moved}
    assert "at-new" in moved  # 40,000 is at least 40,000: high under the new version, standard under the old
    assert "below-new" not in moved  # 39,999: standard in both
    assert "below-old" in moved  # 49,999: standard under the old version, high under the new
    assert "at-old" not in moved  # 50,000: high in both


def test_each_moved_record_names_the_changed_rules_and_threshold(wbc_diff: CohortDiff) -> None:
    for record in wbc_diff.moved:
        nci = next(move for move in record.moves if move.column == "risk_group")
        assert (nci.before, nci.after) == ("standard", "high")
        assert [r.rule_id for r in nci.rules] == ["risk.nci.standard", "risk.nci.high_wbc"]
        for rule in nci.rules:
            assert [(t.fact, t.before_threshold, t.after_threshold) for t in rule.thresholds] == [
                ("wbc_per_ul", OLD_WBC, NEW_WBC)
            ]
            assert "Risk groups for childhood acute lymphoblastic leukemia" in rule.citation
        standard, high = nci.rules
        assert (standard.held_before, standard.holds_after) == (True, False)
        assert (high.held_before, high.holds_after) == (False, True)
        assert standard.thresholds[0].before == "below 50,000 per microliter"
        assert high.thresholds[0].after == "at least 40,000 per microliter"
        assert [r.rule_id for r in nci.deciding_before] == ["risk.nci.standard"]
        assert [r.rule_id for r in nci.deciding_after] == ["risk.nci.high_wbc"]
        assert "white blood cell count at diagnosis" in dict(nci.deciding_after[0].inputs)
        assert any(line.startswith("risk group: standard -> high") for line in record.summary)


def test_the_cog_group_moves_with_the_nci_cut_point_its_rules_read(wbc_diff: CohortDiff) -> None:
    for record in wbc_diff.moved:
        cog = next(move for move in record.moves if move.column == "cog_risk_group")
        assert (cog.before, cog.after) == ("average", "high")
        assert all(t.fact == "wbc_per_ul" for rule in cog.rules for t in rule.thresholds)
        assert any(rule.thresholds for rule in cog.rules)
    assert {move.column for record in wbc_diff.moved for move in record.moves} == {"risk_group", "cog_risk_group"}


def test_the_cross_tables_count_every_record_old_by_new(wbc_diff: CohortDiff) -> None:
    tables = {table.column: table for table in wbc_diff.tables}
    nci = {(c.before, c.after): c.count for c in tables["risk_group"].cells}
    # low, below-new stay standard; at-new, between, below-old move; at-old, high, aged 12 stay high; the infant
    # stays very high.
    assert nci == {
        ("standard", "standard"): 2,
        ("standard", "high"): 3,
        ("high", "high"): 3,
        ("very_high", "very_high"): 1,
    }
    assert tables["risk_group"].moved == 3
    for table in wbc_diff.tables:
        assert sum(c.count for c in table.cells) == len(WBC_COHORT) == wbc_diff.records
    assert tables["disease_state"].moved == tables["relapse_risk_group"].moved == 0
    assert wbc_diff.old_version != wbc_diff.new_version


def test_moved_records_are_grouped_by_their_change(wbc_diff: CohortDiff) -> None:
    (group,) = wbc_diff.groups()
    assert [record.row for record in group.records] == sorted(MOVED_BY_WBC.values())
    assert [column for column, *_ in group.key] == ["risk_group", "cog_risk_group"]


def test_identical_knowledge_moves_no_record(kb: KnowledgeBase, tmp_path: Path) -> None:
    same = changed_knowledge(tmp_path, {})
    for other in (kb, same):
        result = diff_cohort([table_of(WBC_COHORT)], kb, other)
        assert result.moved == ()
        assert all(c.before == c.after for table in result.tables for c in table.cells)
        assert result.records == len(WBC_COHORT)


def test_streamed_batches_give_the_same_diff_with_their_own_row_numbers(
    kb: KnowledgeBase, wbc_kb: KnowledgeBase, wbc_diff: CohortDiff
) -> None:
    batches = [table_of(WBC_COHORT[:4], 1), table_of([], 5), table_of(WBC_COHORT[4:], 5)]
    streamed = diff_cohort(iter(batches), kb, wbc_kb)
    assert streamed == wbc_diff


def test_a_single_mrd_rule_change_names_that_rule_and_no_other(kb: KnowledgeBase, eoc_kb: KnowledgeBase) -> None:
    def eoc(record_id: str, mrd: float, phenotype: str = "B") -> dict[str, object]:
        record = complete_b_all(
            id=record_id, age_years=5.0, immunophenotype=phenotype, end_of_consolidation_mrd_pct=mrd
        )
        return record

    cohort = [eoc("below-old", 0.009), eoc("at-old", 0.01), eoc("between", 0.05), eoc("at-new", 0.1)]
    cohort.append(eoc("t-cell-between", 0.05, "T"))  # T-ALL has its own 0.1% rule, unchanged
    result = diff_cohort([table_of(cohort)], kb, eoc_kb)
    assert [(m.row, m.id) for m in result.moved] == [(2, "at-old"), (3, "between")]
    for record in result.moved:
        nci = next(move for move in record.moves if move.column == "risk_group")
        assert (nci.before, nci.after) == ("very_high", "standard")
        (rule,) = nci.rules
        assert rule.rule_id == "risk.response.eoc_mrd"
        (threshold,) = rule.thresholds
        assert (threshold.fact, threshold.before_threshold, threshold.after_threshold) == (
            "end_of_consolidation_mrd_pct",
            0.01,
            0.1,
        )


def test_on_a_generated_cohort_the_moved_records_are_those_the_per_patient_engine_moves(
    kb: KnowledgeBase, wbc_kb: KnowledgeBase
) -> None:
    tables = [block.records for block in generate(3000, seed=15)]
    result = diff_cohort(tables, kb, wbc_kb)
    expected = set()
    for table in tables:
        for row in table.to_pylist():
            patient = record_of(row)
            old, new = assess(patient, kb), assess(patient, wbc_kb)
            if (old["risk_group"], old["cog_risk_group"]) != (new["risk_group"], new["cog_risk_group"]):
                expected.add(row["row"])
    assert expected  # the generated white counts do fall between the cut points
    assert {m.row for m in result.moved} == expected
    for record in result.moved:
        named = {t.fact for move in record.moves for rule in move.rules for t in rule.thresholds}
        assert named == {"wbc_per_ul"}


def test_a_group_no_longer_waiting_for_an_input_says_which_inputs_it_waited_for(
    kb: KnowledgeBase, wbc_kb: KnowledgeBase
) -> None:
    # Slow responder (end-of-induction MRD 0.05%) without the steroid and remission answers: under the old cut
    # point the COG group waits for them; at 45,000 the new one makes the child NCI high risk, which with the MRD
    # decides COG very high risk whatever the missing answers say.
    record = complete_b_all(
        id="waiting",
        age_years=5.0,
        wbc_per_ul=45000,
        steroid_pretreatment=None,
        end_of_induction_remission=None,
        end_of_induction_marrow_mrd_pct=0.05,
    )
    (moved,) = diff_cohort([table_of([record])], kb, wbc_kb).moved
    moves = {move.column: move for move in moved.moves}
    assert (moves["cog_risk_group"].before, moves["cog_risk_group"].after) == (None, "very_high")
    assert [r.rule_id for r in moves["cog_risk_group"].deciding_after] == ["cog.very_high.nci_high_mrd"]
    provisional = moves["cog_risk_group_provisional"]
    assert (provisional.before, provisional.after, provisional.missing_after) == (True, False, ())
    assert set(provisional.missing_before) == {"steroid_pretreatment", "response.end_of_induction_remission"}
    (reason,) = provisional.reasons
    assert "steroids before the diagnostic tests" in reason and "now for nothing" not in reason
    assert "steroid_pretreatment" not in reason  # a reviewer reads labels, not record paths


def test_a_named_parameter_changed_in_definitions_names_the_relapse_timing_rules(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    # The early/late cut-off of a relapse involving the marrow, 36 -> 30 months (a {param: ...} of
    # definitions.yaml, read by the relapse_early and relapse_late definitions).
    param = "relapse_marrow_early_below_months: "
    moved_kb = changed_knowledge(tmp_path, {"definitions.yaml": [(param + "36", param + "30")]})

    def relapsed(record_id: str, months: float, sites: list[str]) -> dict[str, object]:
        return complete_b_all(
            id=record_id, relapses=[{"months_from_diagnosis": months, "sites": sites, "end_of_block1_mrd_pct": 0.0}]
        )

    cohort = [
        relapsed("marrow-below-new", 29.9, ["bone_marrow"]),
        relapsed("marrow-at-new", 30.0, ["bone_marrow"]),
        relapsed("marrow-between", 33.0, ["bone_marrow"]),
        relapsed("marrow-at-old", 36.0, ["bone_marrow"]),
        relapsed("cns-between", 33.0, ["cns"]),  # isolated extramedullary: its own 18-month cut-off
    ]
    result = diff_cohort([table_of(cohort)], kb, moved_kb)
    assert [(m.row, m.id) for m in result.moved] == [(2, "marrow-at-new"), (3, "marrow-between")]
    for record in result.moved:
        timing = next(move for move in record.moves if move.column == "relapse_timing")
        assert (timing.before, timing.after) == ("early", "late")
        assert [r.rule_id for r in timing.rules] == ["relapse.timing.early", "relapse.timing.late"]
        thresholds = {(t.fact, t.before_threshold, t.after_threshold) for r in timing.rules for t in r.thresholds}
        assert thresholds == {("relapse_months_from_diagnosis", 36.0, 30.0)}
        assert [r.rule_id for r in timing.deciding_after] == ["relapse.timing.late"]


AYA_CHANGE = {"populations.yaml": [("{fact: age_years, ge: 15}", "{fact: age_years, ge: 13}")]}
AYA_COHORT = [
    child("aged-12", age_years=12.0),
    child("aged-13", age_years=13.0),
    child("aged-14", age_years=14.5),
    child("aged-15", age_years=15.0),
    child("aged-5-ph", genetics=["BCR::ABL1"]),
]


@pytest.fixture(scope="module")
def aya_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return changed_knowledge(tmp_path_factory.mktemp("aya"), AYA_CHANGE)


def test_a_changed_population_rule_names_the_records_that_enter_it_and_counts_each_population(
    kb: KnowledgeBase, aya_kb: KnowledgeBase
) -> None:
    result = diff_cohort([table_of(AYA_COHORT)], kb, aya_kb)
    assert [(m.row, m.id) for m in result.moved] == [(2, "aged-13"), (3, "aged-14")]
    for record in result.moved:
        (move,) = record.moves  # no risk group moved: the population alone
        assert (move.column, move.population, move.before, move.after) == (
            "populations",
            "adolescent_young_adult",
            False,
            True,
        )
        (rule,) = move.rules
        assert rule.rule_id == "adolescent_young_adult"
        (threshold,) = rule.thresholds
        assert (threshold.fact, threshold.before_threshold, threshold.after_threshold) == ("age_years", 15, 13)
    counts = {p.population: p for p in result.populations}
    assert set(counts) == {p.spec.id for p in kb.populations}
    aya = counts["adolescent_young_adult"]
    assert (aya.before, aya.after, aya.entered, aya.left) == (1, 3, 2, 0)
    ph = counts["ph_positive"]
    assert (ph.before, ph.after, ph.entered, ph.left) == (1, 1, 0, 0)
    assert len(result.groups()) == 1


def test_records_leaving_a_population_are_named_the_other_way_round(kb: KnowledgeBase, aya_kb: KnowledgeBase) -> None:
    result = diff_cohort([table_of(AYA_COHORT)], aya_kb, kb)
    assert [(m.id, m.moves[0].before, m.moves[0].after) for m in result.moved] == [
        ("aged-13", True, False),
        ("aged-14", True, False),
    ]
    aya = next(p for p in result.populations if p.population == "adolescent_young_adult")
    assert (aya.before, aya.after, aya.entered, aya.left) == (3, 1, 0, 2)
