"""Children unlike those of the issue's examples, against the 20 real studies of the snapshot (issue 13 review):
T-cell ALL at diagnosis and at relapse, a record without the lineage or the age, Down syndrome, young adults at
the day of a birthday, a second relapse and an isolated CNS relapse. Built with the record builder and assessed
with the real ``assess``, as in test_trial_snapshot.py."""

from __future__ import annotations

import pytest

from tests.knowledge.test_trial_snapshot import FRONTLINE, INFANT, RELAPSE, _child, _found, _outcome, _search

DIAGNOSED = "2026-11-20"  # shortly before the search day, 2026-12-01
B_ONLY = ("AALL1731", "AALL1732", "AALL0932", "AALL1131", "AALL1631", "NCT06124157")
B_RELAPSE = ("AALL1331", "AALL1821", "AALL1621", "CCTL019B2202", "CTL019B2205J")


def _dated(birth: str, **changes: object) -> dict[str, object]:
    return {"birth_date": birth, "diagnosis_date": DIAGNOSED, "age_years": None, **changes}


def test_a_child_with_newly_diagnosed_t_all_finds_the_t_cell_studies_and_no_b_cell_one() -> None:
    found = _found(_search(_child(**_dated("2018-06-01", immunophenotype="T"))))
    assert {"AALL0434", "AALL1231"} <= found
    assert not found & set(B_ONLY)
    assert not found & set(RELAPSE + INFANT)


def test_a_child_with_relapsed_t_all_finds_no_b_cell_relapse_study() -> None:
    relapse = [{"months_from_diagnosis": 20, "sites": ["bone_marrow"]}]
    results = _search(_child(immunophenotype="T", relapses=relapse))
    assert not _found(results) & set(B_RELAPSE + FRONTLINE)
    assert _outcome(results["AALL1331"], "lineage") == {"not_met"}


def test_a_record_without_the_lineage_says_so_for_a_study_of_one_lineage() -> None:
    results = _search(_child(**_dated("2018-06-01", immunophenotype=None)))
    for name in ("AALL1731", "AALL0434", "AALL1231"):
        assert results[name]["verdict"] == "possibly"
        assert _outcome(results[name], "lineage") == {"unknown"}


def test_a_record_without_any_age_never_excludes_on_age() -> None:
    results = _search(_child(age_years=None))
    for result in results.values():
        assert _outcome(result, "age") <= {"unknown", "met"}
    assert _outcome(results["AALL1731"], "age") == {"unknown"}


def test_a_child_with_down_syndrome_finds_the_standard_risk_or_down_syndrome_study() -> None:
    results = _search(_child(**_dated("2020-06-01", down_syndrome=True)))
    assert "AALL1731" in _found(results)
    assert _outcome(results["AALL1731"], "subgroup") == {"met"}


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ("2001-12-01", "met"),  # 25th birthday on the search day: within "25 Years"
        ("2000-12-02", "met"),  # the day before the 26th birthday
        ("2000-12-01", "not_met"),  # the 26th birthday
    ],
)
def test_a_young_adult_at_the_maximum_of_25_years(birth: str, expected: str) -> None:
    results = _search(_child(**_dated(birth)))
    assert _outcome(results["CCTL019G2201J"], "age") == {expected}


@pytest.mark.parametrize(
    ("study", "birth", "expected"),
    [
        ("TOT17", "2007-12-02", "met"),  # "18 Years": the day before the 19th birthday
        ("TOT17", "2007-12-01", "not_met"),  # the 19th birthday
        ("AALL1631", "2004-12-02", "met"),  # "21 Years": the day before the 22nd birthday
        ("AALL1631", "2004-12-01", "not_met"),
        ("AALL1131", "1995-12-02", "met"),  # "30 Years": the day before the 31st birthday
        ("AALL1131", "1995-12-01", "not_met"),
    ],
)
def test_adolescents_and_young_adults_at_the_maximum_ages(study: str, birth: str, expected: str) -> None:
    assert _outcome(_search(_child(**_dated(birth)))[study], "age") == {expected}


def test_a_second_relapse_is_not_offered_the_first_relapse_studies() -> None:
    relapses = [
        {"months_from_diagnosis": 20, "sites": ["bone_marrow"]},
        {"months_from_diagnosis": 44, "sites": ["bone_marrow"]},
    ]
    results = _search(_child(relapses=relapses))
    for name in ("AALL1331", "AALL1821"):
        assert _outcome(results[name], "disease_state") == {"not_met"}
    assert "CCTL019B2202" in _found(results)


def test_an_isolated_cns_relapse_is_not_limited_by_studies_that_name_no_site() -> None:
    results = _search(_child(relapses=[{"months_from_diagnosis": 20, "sites": ["cns"]}]))
    assert "AALL1331" in _found(results)
    assert _outcome(results["AALL1331"], "disease_state") == {"met"}
