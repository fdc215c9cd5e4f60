"""A TPMT or NUDT15 poor metabolizer ordered a thiopurine above the poor-metabolizer advice gets a critical card
(order_checks.yaml, ``poor_metabolizer_hard_stop``; clinical-facts.md section 9, CPIC: "TPMT PM, malignancy:
reduce daily dose 10-fold and give 3x/week instead of daily" [H]; "NUDT15 PM, malignancy: start 10 mg/m2/d"
[M]), whether or not the other gene's result is known. Boundaries: poor, intermediate and normal results; a dose
at the reduced level and one step (the drug's rounding, 0.1 mg) above it; daily against three times a week.

The child: 20 kg, 110 cm, 0.782 m2 (Mosteller). Mercaptopurine's normal dose is 75 mg/m2 a day (58.6 mg); TPMT
poor: 7.5 mg/m2 (5.9 mg) three times a week; NUDT15 poor: 10 mg/m2 (7.8 mg) a day.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds.conftest import Keys, medication_request
from tests.cds.test_orders import MERCAPTOPURINE, THIOGUANINE, child, sign

NORMAL_DAILY = 58.6  # mg, 75 mg/m2 for 0.782 m2


def _mp(mg: float, per_week: int = 7, unit: str = "mg") -> dict[str, Any]:
    if per_week == 7:
        return medication_request("mercaptopurine", mg, unit, rxnorm=MERCAPTOPURINE)
    return medication_request("mercaptopurine", mg, unit, rxnorm=MERCAPTOPURINE, frequency=per_week, period_unit="wk")


def _indicators(client: TestClient, keys: Keys, record: dict[str, Any], order: dict[str, Any]) -> list[str]:
    return [card["indicator"] for card in sign(client, keys, record, order)]


@pytest.mark.parametrize(("tpmt", "expected"), [("poor", ["critical"]), ("intermediate", ["warning"]), ("normal", [])])
def test_the_normal_dose_daily_by_tpmt_result(client: TestClient, keys: Keys, tpmt: str, expected: list[str]) -> None:
    record = child(20, 110, tpmt=tpmt, nudt15="normal")
    assert _indicators(client, keys, record, _mp(NORMAL_DAILY)) == expected


@pytest.mark.parametrize(
    ("nudt15", "expected"), [("poor", ["critical"]), ("intermediate", ["warning"]), ("normal", [])]
)
def test_the_normal_dose_daily_by_nudt15_result(
    client: TestClient, keys: Keys, nudt15: str, expected: list[str]
) -> None:
    record = child(20, 110, tpmt="normal", nudt15=nudt15)
    assert _indicators(client, keys, record, _mp(NORMAL_DAILY)) == expected


def test_tpmt_poor_dose_at_the_reduced_level_and_one_step_above(client: TestClient, keys: Keys) -> None:
    record = child(20, 110, tpmt="poor", nudt15="normal")
    assert _indicators(client, keys, record, _mp(5.9, per_week=3)) == []
    assert _indicators(client, keys, record, _mp(6.0, per_week=3)) == ["critical"]
    assert _indicators(client, keys, record, _mp(7.5, per_week=3, unit="mg/m2")) == []
    assert _indicators(client, keys, record, _mp(7.6, per_week=3, unit="mg/m2")) == ["critical"]


def test_tpmt_poor_three_times_a_week_and_more_often(client: TestClient, keys: Keys) -> None:
    record = child(20, 110, tpmt="poor", nudt15="normal")
    assert _indicators(client, keys, record, _mp(5.9, per_week=3)) == []
    assert _indicators(client, keys, record, _mp(5.9, per_week=4)) == ["critical"]
    (card,) = sign(client, keys, record, _mp(5.9))  # the reduced dose, but every day
    assert card["indicator"] == "critical"
    assert "Ordered 7 times a week; advised: three times a week." in card["detail"]
    assert "**Hard stop.**" in card["detail"] and "CPIC 2018 update, TPMT table" in card["detail"]


def test_nudt15_poor_dose_at_the_reduced_level_and_one_step_above(client: TestClient, keys: Keys) -> None:
    """NUDT15 poor: 10 mg/m2 every day (moderate confidence), so daily is allowed at that dose."""
    record = child(20, 110, tpmt="normal", nudt15="poor")
    assert _indicators(client, keys, record, _mp(7.8)) == []
    assert _indicators(client, keys, record, _mp(7.9)) == ["critical"]
    (card,) = sign(client, keys, record, _mp(NORMAL_DAILY))
    assert card["summary"] == "Mercaptopurine (6-MP): NUDT15 poor metabolizer, ordered above the advised 10 mg/m² a day"
    assert "Confidence: moderate." in card["detail"]


def test_tpmt_poor_whether_or_not_nudt15_is_known(client: TestClient, keys: Keys) -> None:
    for record in (child(20, 110, tpmt="poor"), child(20, 110, tpmt="poor", nudt15="indeterminate")):
        (card,) = sign(client, keys, record, _mp(NORMAL_DAILY))
        assert card["indicator"] == "critical", record
        assert card["summary"].startswith("Mercaptopurine (6-MP): TPMT poor metabolizer")
        assert "The advice above is for the poor result alone." in card["detail"]
    (card,) = sign(client, keys, child(20, 110, tpmt="poor"), _mp(NORMAL_DAILY))
    assert "NUDT15 not known: test before dosing." in card["detail"]
    assert "pharmacogenomics." not in card["detail"]  # plain words, no record path
    # within the poor-metabolizer advice, the missing result is still asked for
    (card,) = sign(client, keys, child(20, 110, tpmt="poor"), _mp(5.9, per_week=3))
    assert card["indicator"] == "warning" and card["summary"].startswith("NUDT15 not known")


def test_nudt15_poor_whether_or_not_tpmt_is_known(client: TestClient, keys: Keys) -> None:
    for record in (child(20, 110, nudt15="poor"), child(20, 110, tpmt="intermediate", nudt15="poor")):
        (card,) = sign(client, keys, record, _mp(NORMAL_DAILY))
        assert card["indicator"] == "critical", record
        assert "NUDT15 poor metabolizer" in card["summary"]


def test_both_poor_take_the_lower_advice(client: TestClient, keys: Keys) -> None:
    record = child(20, 110, tpmt="poor", nudt15="poor")
    (card,) = sign(client, keys, record, _mp(NORMAL_DAILY))
    assert card["indicator"] == "critical"
    assert card["summary"] == (
        "Mercaptopurine (6-MP): TPMT and NUDT15 poor metabolizer, ordered above the advised 7.5 mg/m² "
        "three times a week"
    )
    # NUDT15's 10 mg/m2 a day is above TPMT's advice: still critical
    assert _indicators(client, keys, record, _mp(7.8)) == ["critical"]
    # at TPMT's advice no card is critical; the pair has no rule of its own, which the warning says
    assert _indicators(client, keys, record, _mp(5.9, per_week=3)) == ["warning"]


def test_thioguanine_for_a_tpmt_poor_metabolizer(client: TestClient, keys: Keys) -> None:
    # normal 60 mg/m2 a day = 46.9 mg; TPMT poor: 6 mg/m2 = 4.7 mg three times a week (moderate confidence)
    record = child(20, 110, tpmt="poor", nudt15="normal")
    order = medication_request("Tabloid 40 MG Oral Tablet", 40, rxnorm=THIOGUANINE)
    (card,) = sign(client, keys, record, order)
    assert card["indicator"] == "critical"
    assert (
        card["summary"]
        == "Thioguanine (6-TG): TPMT poor metabolizer, ordered above the advised 6 mg/m² three times a week"
    )
    reduced = medication_request("thioguanine", 4.7, rxnorm=THIOGUANINE, frequency=3, period_unit="wk")
    assert sign(client, keys, record, reduced) == []
