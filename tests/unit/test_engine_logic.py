"""Engine logic on fixture knowledge bases (tests/builders.py), not on the shipped clinical content.

Each test builds the knowledge it needs (a risk scheme of a few rules, a changed exposure class) and asserts
how the engine uses it: the highest floor decides, a missing decisive input leaves the group open, another
missing input makes it provisional, thresholds and drug classes are read from the data. The risk-scheme tests
run on two fixture bases whose cut-offs differ from the shipped ones (and from each other), so they hold for
whatever thresholds the knowledge base states; test_content_boundaries.py checks the shipped thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from allpath.domain.record import parse_record
from allpath.domain.results import Assessment
from allpath.engine.assess import assess
from allpath.engine.diff import explain_changes
from allpath.engine.grid import boundary_values
from allpath.engine.survivorship import survivorship_plan
from allpath.errors import KnowledgeError
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.builders import knowledge, patient, record, risk_rule, risk_scheme, shipped

MRD_CUT = 0.05  # end-of-induction marrow MRD (%) at or above which the fixture scheme gives very high risk
CUT_OFFS = [(8.0, 30_000), (12.0, 70_000)]  # (age in years, white count per microliter) of two fixture bases


def fixture_base(age_cut: float, wbc_cut: int) -> KnowledgeBase:
    """Standard below both cut-offs, high at or above either, very high for a slow response or an infant."""
    return knowledge(risk_groups=_scheme_file(age_cut, wbc_cut))


def _scheme_file(age_cut: float, wbc_cut: int) -> dict[str, Any]:
    below = [
        {"fact": "age_years", "ge": 1},
        {"fact": "age_years", "lt": age_cut},
        {"fact": "wbc_per_ul", "lt": wbc_cut},
    ]
    return risk_scheme(
        [
            risk_rule("fixture.standard", "standard", {"all": below}),
            risk_rule("fixture.high_age", "high", {"fact": "age_years", "ge": age_cut}),
            risk_rule(
                "fixture.high_wbc",
                "high",
                {"all": [{"fact": "age_years", "ge": 1}, {"fact": "wbc_per_ul", "ge": wbc_cut}]},
            ),
            risk_rule("fixture.infant", "very_high", {"fact": "age_years", "lt": 1}),
            risk_rule("fixture.slow_response", "very_high", {"fact": "end_of_induction_marrow_mrd_pct", "ge": MRD_CUT}),
        ]
    )


@pytest.fixture(params=CUT_OFFS, ids=[f"age {a:g}, wbc {w}" for a, w in CUT_OFFS])
def base(request: pytest.FixtureRequest) -> tuple[KnowledgeBase, float, int]:
    age_cut, wbc_cut = request.param
    return fixture_base(age_cut, wbc_cut), age_cut, wbc_cut


def _risk_factors(result: Assessment) -> dict[str, bool | None]:
    """The risk-scheme rules that applied, each with whether it decided the group."""
    return {f["id"]: f.get("decides") for f in result["factors"] if f["scheme"] == "risk_group"}


def test_the_fixture_cut_offs_differ_from_the_shipped_ones() -> None:
    shipped_probes = boundary_values(load_knowledge())
    for age_cut, wbc_cut in CUT_OFFS:
        assert age_cut not in shipped_probes["age_years"]
        assert wbc_cut not in shipped_probes["wbc_per_ul"]


def test_the_group_changes_exactly_at_the_knowledge_base_cut_offs(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, age_cut, wbc_cut = base
    assert assess(patient(age_years=age_cut - 0.01, wbc_per_ul=wbc_cut - 1), kb)["risk_group"] == "standard"
    assert assess(patient(age_years=age_cut, wbc_per_ul=wbc_cut - 1), kb)["risk_group"] == "high"
    assert assess(patient(age_years=age_cut - 0.01, wbc_per_ul=wbc_cut), kb)["risk_group"] == "high"


def test_the_highest_floor_wins_and_only_its_rule_decides(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, age_cut, _ = base
    result = assess(patient(age_years=age_cut, end_of_induction_marrow_mrd_pct=MRD_CUT), kb)
    assert result["risk_group"] == "very_high"
    assert _risk_factors(result) == {"fixture.high_age": False, "fixture.slow_response": True}


def test_a_factor_shows_the_inputs_its_rule_saw_and_its_source(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, age_cut, _ = base
    result = assess(patient(age_years=age_cut), kb)
    factor = next(f for f in result["factors"] if f["id"] == "fixture.high_age")
    assert factor["inputs"] == {"age_years": age_cut}
    assert factor["effect"] == "risk_group=high"
    assert factor["source"]["section"] == "Risk groups for childhood acute lymphoblastic leukemia"


def test_a_missing_decisive_input_leaves_the_group_open_and_names_it(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, _, _ = base
    result = assess(patient(wbc_per_ul=None), kb)
    assert result["risk_group"] is None
    assert result["provisional"] is True
    assert "wbc_per_ul" in result["missing"]


def test_a_missing_input_that_could_only_raise_the_group_keeps_it_provisional(
    base: tuple[KnowledgeBase, float, int],
) -> None:
    kb, _, _ = base
    result = assess(patient(end_of_induction_marrow_mrd_pct=None), kb)
    assert result["risk_group"] == "standard"
    assert result["provisional"] is True
    assert "response.end_of_induction_marrow_mrd_pct" in result["missing"]


def test_a_missing_input_no_longer_matters_once_the_top_group_is_reached(
    base: tuple[KnowledgeBase, float, int],
) -> None:
    kb, _, _ = base
    result = assess(patient(age_years=0.5, end_of_induction_marrow_mrd_pct=None), kb)
    assert result["risk_group"] == "very_high"
    assert "response.end_of_induction_marrow_mrd_pct" not in result["missing"]


def test_the_scheme_gives_no_group_where_it_does_not_apply(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, _, _ = base
    relapsed = patient(relapses=[{"months_from_diagnosis": 40, "sites": ["bone_marrow"]}])
    assert assess(relapsed, kb)["risk_group"] is None


def test_the_grid_probes_each_threshold_and_the_step_below_it(base: tuple[KnowledgeBase, float, int]) -> None:
    kb, age_cut, wbc_cut = base
    probes = boundary_values(kb)
    assert {age_cut, round(age_cut - 0.01, 10)} <= set(probes["age_years"])
    assert {wbc_cut, wbc_cut - 1} <= set(probes["wbc_per_ul"])


def _doxorubicin_course_record() -> dict[str, object]:
    return {
        "sex": "male",
        "birth_date": "2012-03-15",
        "diagnosis_date": "2016-05-02",
        "end_of_therapy_date": "2018-09-01",
        "exposures": {
            "courses": [{"drug": "doxorubicin", "date": "2016-10-03", "dose_mg_per_m2": 150, "route": "intravenous"}]
        },
    }


def test_which_drugs_count_as_anthracyclines_is_read_from_the_knowledge_base() -> None:
    record = parse_record(_doxorubicin_course_record())
    survivorship = shipped("survivorship")
    classes = survivorship["exposure_classes"]
    counted = knowledge(survivorship=survivorship)
    survivorship["exposure_classes"] = {
        **classes,
        "anthracyclines": [d for d in classes["anthracyclines"] if d != "doxorubicin"],
    }
    not_counted = knowledge(survivorship=survivorship)
    assert survivorship_plan(record, counted, None)["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 150
    plan = survivorship_plan(record, not_counted, None)
    assert plan["exposures"]["doxorubicin_equivalent_mg_per_m2"] == 0
    assert plan["exposures"]["last_cardiotoxic_exposure"] is None


# ---- ids and vocabulary the engine reads from the knowledge base ------------------------------------------------


def test_which_timepoints_are_upcoming_is_read_from_the_knowledge_base(base: tuple[KnowledgeBase, float, int]) -> None:
    # With end_of_induction named upcoming, a missing end-of-induction MRD is listed as upcoming, not missing.
    _, age_cut, wbc_cut = base
    inputs = shipped("inputs")
    inputs["upcoming_timepoints"] = ["end_of_induction", "end_of_consolidation"]
    record = patient(end_of_induction_marrow_mrd_pct=None)
    field = "response.end_of_induction_marrow_mrd_pct"
    as_shipped = assess(record, base[0])
    later = assess(record, knowledge(risk_groups=_scheme_file(age_cut, wbc_cut), inputs=inputs))
    assert field in as_shipped["missing"] and field not in as_shipped["upcoming"]
    assert field in later["upcoming"] and field not in later["missing"]
    assert later["risk_group"] == as_shipped["risk_group"] == "standard"


def test_the_factor_comparing_the_two_classifications_takes_its_id_from_the_knowledge_base() -> None:
    # Age 14 gives "high" in the summary's groups and "very high" in the COG groups: the comparison factor.
    text = shipped("text")
    text["scheme_comparison_id"] = "fixture.compare"
    ids = {
        name: [f["id"] for f in assess(patient(age_years=14), kb)["factors"] if f["scheme"] == "comparison"]
        for name, kb in (("shipped", load_knowledge()), ("fixture", knowledge(text=text)))
    }
    assert ids == {"shipped": ["compare.risk_group_vs_cog"], "fixture": ["fixture.compare"]}


def test_a_change_is_explained_by_the_input_of_the_rule_that_now_decides(
    base: tuple[KnowledgeBase, float, int],
) -> None:
    kb, age_cut, _ = base
    before, after = record(age_years=age_cut - 0.01), record(age_years=age_cut)
    changes = explain_changes(kb, before, assess(parse_record(before), kb), after, assess(parse_record(after), kb))
    risk = next(c for c in changes if c["field"] == "risk_group")
    assert (risk["before"], risk["after"]) == ("standard", "high")
    assert risk["because"] == [f"age at diagnosis {age_cut:g} years"]
    assert next(c for c in changes if c["field"] == "record")["fields"] == ["age_years"]


@pytest.mark.parametrize(("count", "warned"), [(1_999, True), (2_000, False)])
def test_a_warning_holds_below_the_knowledge_base_cut_off_and_fills_its_message(count: int, warned: bool) -> None:
    # A fixture warnings.yaml: the white count to confirm lies below 2,000 per microliter (shipped: 1,000).
    warnings = shipped("warnings")
    wbc = next(w for w in warnings["warnings"] if w["code"] == "input.wbc_unit")
    wbc["when"] = {"fact": "wbc_per_ul", "lt": 2_000}
    wbc["message"] = "Fixture: {value} per microliter, or {value_x1000}?"
    found = assess(patient(wbc_per_ul=count), knowledge(warnings=warnings))["warnings"]
    expected = [
        {"code": "input.wbc_unit", "field": "wbc_per_ul", "message": "Fixture: 1,999 per microliter, or 1,999,000?"}
    ]
    assert found == (expected if warned else [])
    assert assess(patient(wbc_per_ul=count), load_knowledge())["warnings"] == []  # shipped: only below 1,000


# ---- the loader refuses ids and vocabulary that do not fit the rest of the knowledge base ------------------------


def _with(stem: str, change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    content = shipped(stem)
    change(content)
    return content


@pytest.mark.parametrize(
    ("stem", "change", "problem"),
    [
        ("text", lambda c: c.update(scheme_comparison_id="risk.nci.standard"), "is the id of a rule"),
        ("regimens", lambda c: c.update(phase_at_diagnosis="consolidation"), "does not start with 'consolidation'"),
        ("survivorship", lambda c: c["cardiac_frequency"].update(topic="lungs"), "no screening rule has the heart"),
        ("survivorship", lambda c: c["exposure_classes"].update(first_dose_age_drug="aspirin"), "unknown drug"),
        (
            "survivorship",
            lambda c: c["anthracyclines"].update(not_covered_id="surv.not_covered.ltfu_schedules"),
            "is already an id",
        ),
        ("inputs", lambda c: c.update(upcoming_timepoints=["week_12"]), "upcoming_timepoints"),
    ],
)
def test_the_loader_refuses_an_engine_id_that_does_not_fit(
    stem: str, change: Callable[[dict[str, Any]], object], problem: str
) -> None:
    with pytest.raises(KnowledgeError, match=problem):
        knowledge(**{stem: _with(stem, change)})
