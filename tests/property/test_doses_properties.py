"""Properties of the dose calculator and the thiopurine adjustments, over generated measurements, ages and
TPMT/NUDT15 phenotypes (hypothesis).

(a) every drug line of every phase of every regimen: the dose never falls as the body surface area grows,
    and never exceeds the drug's cap;
(b) a line with status "ok" never carries a dose of zero or less;
(c) a pharmacogenomic adjustment never gives more than the normal-phenotype dose;
(d) TPMT poor with NUDT15 normal always gives a tenth, three times a week (clinical-facts §9);
(e) ``round_and_cap`` never exceeds the cap, and stays within half a step of the value below it.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import cache
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.domain.record_model import PatientRecord, Pharmacogenomics
from allpath.domain.results import DoseLine
from allpath.domain.vocabulary import PHENOTYPES
from allpath.engine.doses import body_surface_area, phase_doses, round_and_cap
from allpath.engine.pharmacogenomics import Adjustment, adjust
from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.builders import present
from tests.property.strategies import HEIGHT, PROPERTY_SETTINGS, date_pair


@cache
def _kb() -> KnowledgeBase:
    return load_knowledge()


def phases() -> list[tuple[str, str]]:
    return [(r.id, p.id) for r in _kb().therapy.regimens.regimens for p in r.phases]


THIOPURINES = ("mercaptopurine", "thioguanine")
PAIRS = st.tuples(st.sampled_from(PHENOTYPES), st.sampled_from(PHENOTYPES))


@st.composite
def measurements(draw: Any) -> tuple[float, float]:
    """A weight and height within the record's limits and plausible together (body mass index 7-80)."""
    height = draw(HEIGHT)
    bmi = draw(st.floats(limits.BODY_MASS_INDEX.low, limits.BODY_MASS_INDEX.high))
    weight = round(bmi * (height / 100) ** 2, 1)
    assume(limits.WEIGHT_KG.contains(weight))
    assume(limits.BODY_MASS_INDEX.contains(weight / (height / 100) ** 2))
    return weight, height


@st.composite
def children(draw: Any, *, genotype: tuple[str, str] | None = ("normal", "normal")) -> tuple[PatientRecord, date]:
    """A child with a birth date (any age of the contract) and the day of the doses (diagnosis or later)."""
    birth, diagnosis = draw(date_pair(min_years=0, max_years=39.5))
    on = diagnosis + timedelta(days=draw(st.integers(0, 3 * 365)))
    record: dict[str, Any] = {"birth_date": birth.isoformat(), "diagnosis_date": diagnosis.isoformat()}
    if genotype is not None:
        record["pharmacogenomics"] = {"tpmt": genotype[0], "nudt15": genotype[1]}
    return parse_record(record), on


def doses_of(line: DoseLine) -> list[float]:
    return [d for d in [line["dose"], *(line["dose_range"] or [])] if d is not None]


# ---- (a) non-decreasing in body surface area, never above the cap ----------------------------------------------


@PROPERTY_SETTINGS
@given(child=children(), first=measurements(), second=measurements())
def test_dose_non_decreasing_in_bsa_and_capped(
    child: tuple[PatientRecord, date], first: tuple[float, float], second: tuple[float, float]
) -> None:
    kb = _kb()
    record, on = child
    small, large = sorted([first, second], key=lambda m: body_surface_area(kb, *m))
    for regimen, phase in phases():
        low = phase_doses(record, kb, regimen, phase, weight_kg=small[0], height_cm=small[1], on=on)
        high = phase_doses(record, kb, regimen, phase, weight_kg=large[0], height_cm=large[1], on=on)
        assert [(x["drug"], x["route"]) for x in low["lines"]] == [(x["drug"], x["route"]) for x in high["lines"]]
        for a, b in zip(low["lines"], high["lines"], strict=True):
            assert a["status"] == b["status"], (regimen, phase, a["drug"])
            if a["status"] != "ok":
                continue
            for dose in doses_of(a) + doses_of(b):
                assert a["cap"] is None or dose <= a["cap"], (regimen, phase, a["drug"], dose)
            assert a["dose"] is not None and b["dose"] is not None  # normal TPMT/NUDT15: one dose, no range
            assert a["dose"] <= b["dose"], (regimen, phase, a["drug"], small, large, a["dose"], b["dose"])


# ---- (b) no zero or negative dose with status ok ---------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data(), size=measurements(), pair=PAIRS)
def test_ok_lines_have_positive_doses(data: Any, size: tuple[float, float], pair: tuple[str, str]) -> None:
    kb = _kb()
    record, on = data.draw(children(genotype=pair))
    for regimen, phase in phases():
        result = phase_doses(record, kb, regimen, phase, weight_kg=size[0], height_cm=size[1], on=on)
        for line in result["lines"]:
            if line["status"] == "ok":
                values = doses_of(line)
                assert values, (regimen, phase, line["drug"])
                assert all(v > 0 for v in values), (regimen, phase, line["drug"], values)
            else:
                assert line["dose"] is None and line["dose_range"] is None
                assert line["refusal"]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_smallest_child_gets_positive_doses(data: Any) -> None:
    # The smallest plausible body: 0.5 kg at 25 cm (0.059 m2), with every phenotype pair.
    kb = _kb()
    record, on = data.draw(children(genotype=data.draw(PAIRS)))
    for regimen, phase in phases():
        for line in phase_doses(record, kb, regimen, phase, weight_kg=0.5, height_cm=25, on=on)["lines"]:
            if line["status"] == "ok":
                assert all(v > 0 for v in doses_of(line))


# ---- (c) an adjustment never raises a dose -----------------------------------------------------------------------


def thiopurine_lines() -> list[tuple[str, str, float]]:
    return [
        (phase.id, line.drug, line.dose.per_m2)
        for regimen in _kb().therapy.regimens.regimens
        for phase in regimen.phases
        for line in phase.drugs
        if line.drug in THIOPURINES and line.dose.per_m2 is not None
    ]


def test_every_regimen_has_thiopurine_lines() -> None:
    assert {drug for _, drug, _ in thiopurine_lines()} == set(THIOPURINES)


@PROPERTY_SETTINGS
@given(data=st.data(), size=measurements(), pair=PAIRS)
def test_adjustment_never_above_the_normal_phenotype_dose(
    data: Any, size: tuple[float, float], pair: tuple[str, str]
) -> None:
    kb = _kb()
    birth, diagnosis = data.draw(date_pair())
    base = {"birth_date": birth.isoformat(), "diagnosis_date": diagnosis.isoformat()}
    adjusted = parse_record({**base, "pharmacogenomics": {"tpmt": pair[0], "nudt15": pair[1]}})
    normal = parse_record({**base, "pharmacogenomics": {"tpmt": "normal", "nudt15": "normal"}})
    for regimen in kb.therapy.regimens.regimens:
        for phase in regimen.phases:
            if not any(line.drug in THIOPURINES for line in phase.drugs):
                continue
            kwargs: dict[str, Any] = {"weight_kg": size[0], "height_cm": size[1], "on": diagnosis}
            mine = phase_doses(adjusted, kb, regimen.id, phase.id, **kwargs)["lines"]
            reference = phase_doses(normal, kb, regimen.id, phase.id, **kwargs)["lines"]
            for a, n in zip(mine, reference, strict=True):
                if a["drug"] not in THIOPURINES or a["status"] != "ok":
                    continue
                assert n["status"] == "ok"
                assert max(doses_of(a)) <= present(n["dose"]), (regimen.id, phase.id, a["drug"], pair)
    # and at the level of the rules, for every thiopurine line's normal dose
    for _, drug, per_m2 in thiopurine_lines():
        result = adjust(kb, drug, Pharmacogenomics(tpmt=pair[0], nudt15=pair[1]), per_m2)  # type: ignore[arg-type]
        if isinstance(result, Adjustment):
            assert result.per_m2_day_low <= result.per_m2_day_high <= per_m2
            assert 0 < result.share_low <= result.share_high <= 1


@PROPERTY_SETTINGS
@given(
    drug=st.sampled_from(THIOPURINES),
    pair=PAIRS,
    normal=st.floats(0.01, 10_000, allow_nan=False, allow_infinity=False),
)
def test_adjustment_never_above_any_normal_dose(drug: str, pair: tuple[str, str], normal: float) -> None:
    result = adjust(_kb(), drug, Pharmacogenomics(tpmt=pair[0], nudt15=pair[1]), normal)  # type: ignore[arg-type]
    if isinstance(result, Adjustment):
        assert result.per_m2_day_high <= normal
        assert result.per_m2_day_low > 0


# ---- (d) TPMT poor, NUDT15 normal: a tenth, three times a week ---------------------------------------------------


@PROPERTY_SETTINGS
@given(drug=st.sampled_from(THIOPURINES), normal=st.floats(0.01, 10_000, allow_nan=False, allow_infinity=False))
def test_tpmt_poor_is_a_tenth_three_times_weekly(drug: str, normal: float) -> None:
    # clinical-facts §9 "TPMT PM, malignancy: reduce daily dose 10-fold and give 3×/week" (thioguanine: [M]).
    result = adjust(_kb(), drug, Pharmacogenomics(tpmt="poor", nudt15="normal"), normal)
    assert isinstance(result, Adjustment)
    assert (result.share_low, result.share_high) == (0.1, 0.1)
    assert result.frequency == "three_times_weekly"
    assert math.isclose(result.per_m2_day_high, normal * 0.1)


@PROPERTY_SETTINGS
@given(data=st.data(), size=measurements())
def test_tpmt_poor_lines_three_times_weekly(data: Any, size: tuple[float, float]) -> None:
    kb = _kb()
    record, on = data.draw(children(genotype=("poor", "normal")))
    for regimen, phase in phases():
        for line in phase_doses(record, kb, regimen, phase, weight_kg=size[0], height_cm=size[1], on=on)["lines"]:
            if line["drug"] in THIOPURINES:
                assert line["status"] == "ok"
                assert line["frequency"] == "three_times_weekly"
                assert present(line["adjustment"])["share_of_normal"] == [0.1, 0.1]


# ---- (e) round_and_cap -----------------------------------------------------------------------------------------

VALUES = st.one_of(
    st.floats(0, 1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.99, 1.994999, 1.995, 1.9950001, 2.0, 2.0000001, 2.004, 2.005, 2.5]),
)


@PROPERTY_SETTINGS
@given(drug=st.sampled_from(sorted(load_knowledge().therapy.drugs)), value=VALUES)
def test_round_and_cap_never_exceeds_the_cap(drug: str, value: float) -> None:
    spec = _kb().therapy.drugs[drug]
    dose, capped = round_and_cap(value, spec)
    if spec.cap_per_dose is not None:
        assert dose <= spec.cap_per_dose
        assert capped == (value > spec.cap_per_dose)
    if not capped:
        # nearest step: never more than half a step away (plus floating-point slack)
        assert abs(dose - value) <= spec.round_to / 2 + 1e-9 * max(1.0, value)


@PROPERTY_SETTINGS
@given(drug=st.sampled_from(sorted(load_knowledge().therapy.drugs)), a=VALUES, b=VALUES)
def test_round_and_cap_is_monotonic(drug: str, a: float, b: float) -> None:
    spec = _kb().therapy.drugs[drug]
    low, high = sorted([a, b])
    assert round_and_cap(low, spec)[0] <= round_and_cap(high, spec)[0]
