"""The application layer's dose checks of draft orders (``allpath.service.order_checks``), without HTTP: what
the CDS interface turns into cards (tests/cds/test_orders.py checks the cards themselves)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from allpath.errors import RecordError
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from allpath.service.order_checks import CapCheck, OrderedDose, ThiopurineCheck, check_orders

TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def record(weight: float | None = 45, height: float | None = 150, **pgx: str) -> dict[str, object]:
    out: dict[str, object] = {"id": "child", "sex": "female", "birth_date": "2015-03-01"}
    if weight is not None:
        out["weight_kg"] = weight
    if height is not None:
        out["height_cm"] = height
    if pgx:
        out["pharmacogenomics"] = pgx
    return out


def mg(value: float, per_week: float | None = None) -> OrderedDose:
    return OrderedDose(0, value, None, per_week, "mg")


def per_m2(value: float) -> OrderedDose:
    return OrderedDose(0, None, value, None, "mg/m2")


def test_vincristine_above_the_cap_is_measured_against_cap_and_calculated_dose(kb: KnowledgeBase) -> None:
    # 45 kg, 150 cm: 1.369 m2; 1.5 mg/m2 would be 2.05 mg, capped at 2 mg
    checks = check_orders(kb, record(), TODAY)
    assert checks.body.m2 == pytest.approx(1.369, abs=0.001)
    found = checks.check("vincristine", [mg(1.0), mg(2.5)])
    assert isinstance(found, CapCheck)
    assert found.ordered_mg == 2.5 and found.ordered == mg(2.5)  # the largest dose is the one checked
    assert found.calculated_mg == 2.0
    assert found.over_cap and found.above_calculated
    assert found.evidence  # the cap's citation reaches the card
    within = checks.check("vincristine", [mg(2.0)])
    assert isinstance(within, CapCheck) and not within.over_cap and not within.above_calculated


def test_vincristine_per_m2_needs_the_body_surface_area(kb: KnowledgeBase) -> None:
    checks = check_orders(kb, record(weight=None), TODAY)
    assert checks.body.m2 is None and checks.body.why_not
    found = checks.check("vincristine", [per_m2(1.5)])
    assert isinstance(found, CapCheck) and found.ordered is None and found.calculated_mg is None
    with_body = check_orders(kb, record(), TODAY).check("vincristine", [per_m2(1.5)])
    assert isinstance(with_body, CapCheck) and with_body.ordered_mg == 2.05  # 1.5 x 1.369, to the 0.01 mg step
    assert with_body.over_cap  # above 2 mg + half a step


def test_an_infant_gets_no_calculated_dose(kb: KnowledgeBase) -> None:
    infant = record() | {"birth_date": (TODAY - timedelta(days=120)).isoformat()}
    checks = check_orders(kb, infant, TODAY)
    assert not checks.calculates_dose
    found = checks.check("vincristine", [mg(0.5)])
    assert isinstance(found, CapCheck) and found.calculated_mg is None and not found.above_calculated


def test_thiopurine_for_a_tpmt_poor_metabolizer(kb: KnowledgeBase) -> None:
    # 20 kg, 110 cm: 0.782 m2; TPMT poor: 10 % of 75 mg/m2 = 7.5 mg/m2 = 5.9 mg three times a week
    checks = check_orders(kb, record(20, 110, tpmt="poor", nudt15="normal"), TODAY)
    found = checks.check("mercaptopurine", [mg(60, per_week=7)])
    assert isinstance(found, ThiopurineCheck)
    assert found.normal_per_m2 == 75 and found.refusal is None and found.adjusted is not None
    assert found.three_weekly and found.reduced
    assert (found.low_mg, found.high_mg, found.suggested_mg) == (5.9, 5.9, 5.9)
    assert [(x.kind, x.value) for x in found.excess] == [("mg", 60), ("per_week", 7)]
    within = checks.check("mercaptopurine", [mg(5.9, per_week=3)])
    assert isinstance(within, ThiopurineCheck) and within.excess == [] and within.flagged is None


def test_thiopurine_without_phenotypes_is_refused_with_what_is_missing(kb: KnowledgeBase) -> None:
    found = check_orders(kb, record(20, 110), TODAY).check("thioguanine", [mg(40)])
    assert isinstance(found, ThiopurineCheck) and found.adjusted is None and found.refusal is not None
    assert found.refusal.missing == ("pharmacogenomics.tpmt", "pharmacogenomics.nudt15")


def test_thiopurine_in_mg_without_weight_is_not_checked(kb: KnowledgeBase) -> None:
    found = check_orders(kb, record(weight=None, tpmt="normal", nudt15="normal"), TODAY).check(
        "mercaptopurine", [mg(60)]
    )
    assert isinstance(found, ThiopurineCheck) and found.unchecked and found.high_mg is None and not found.excess


def test_an_invalid_record_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(RecordError):
        check_orders(kb, {"sex": "unknown"}, TODAY)
