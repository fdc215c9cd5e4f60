"""The shipped doses: reference values of the dose calculator on the shipped knowledge base.

Content tests: each checks a shipped number (a dose per m2, a cap, a rounding step, an intrathecal age band,
a regimen's age cut-off) against the clinical-facts.md row it comes from, so a content edit fails here and
only here. How the calculator uses any such number (scaling, rounding before the cap, the age bands, the
refusals) is tested on a fixture knowledge base in test_doses_logic.py.

Every expected value below is computed by hand from the row of ``clinical-facts.md`` (or the paper) named
next to it, not from the engine: body surface area by Mosteller (NEJM 1987), sqrt(height cm x weight kg /
3600); a dose per m2 times that area, rounded to the drug's step (drugs.yaml ``round_to``) and then capped.
Weight/height pairs are chosen so that height x weight / 3600 is a perfect square and the area is exact.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from allpath.domain.limits import number
from allpath.domain.record import parse_record
from allpath.domain.results import DoseLine, PhaseDoses
from allpath.engine.doses import (
    DoseError,
    body_surface_area,
    phase_doses,
    round_and_cap,
)
from allpath.knowledge.loader import KnowledgeBase
from tests.builders import present

SR = "b_all_standard_risk"
HR = "b_all_high_risk"
FACTS_6 = "6. Treatment phases and durations (COG)"
FACTS_7 = "7. Intrathecal (IT) dosing by age"
FACTS_8 = "8. Dose facts and caps"

# (weight kg, height cm) -> exact Mosteller area (m2): h x w / 3600 is a perfect square.
EXACT_AREAS = [
    (10, 90, 0.5),  # 900 / 3600 = 0.25
    (24, 96, 0.8),  # 2304 / 3600 = 0.64
    (36, 100, 1.0),  # 3600 / 3600 = 1
    (36, 144, 1.2),  # 5184 / 3600 = 1.44
    (40, 160, 4 / 3),  # 6400 / 3600 = 16/9: vincristine 1.5 mg/m2 gives exactly the 2 mg cap
    (54, 150, 1.5),  # 8100 / 3600 = 2.25
    (80, 180, 2.0),  # 14400 / 3600 = 4
]

# The child of most reference values: 36 kg, 144 cm -> 1.2 m2 exactly; born 2015-06-01, so 5 years old on
# the day of every later-phase dose below (intrathecal band "3 to 8 years"), normal TPMT and NUDT15.
WEIGHT, HEIGHT, BSA = 36, 144, 1.2
ON = date(2020, 9, 1)


def record(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "birth_date": "2015-06-01",
        "diagnosis_date": "2020-06-01",
        "weight_kg": WEIGHT,
        "height_cm": HEIGHT,
        "pharmacogenomics": {"tpmt": "normal", "nudt15": "normal"},
    }
    base.update(fields)
    return parse_record({k: v for k, v in base.items() if v is not None})


def lines_of(result: PhaseDoses) -> dict[tuple[str, str], DoseLine]:
    out = {(line["drug"], line["route"]): line for line in result["lines"]}
    assert len(out) == len(result["lines"]), "one line per drug and route in a phase"
    return out


# ---- body surface area: Mosteller, NEJM 1987 (clinical-facts §8 "BSA: Mosteller") ----------------------------


@pytest.mark.parametrize(("weight", "height", "expected"), EXACT_AREAS)
def test_bsa_mosteller_nejm_1987_exact_pairs(kb: KnowledgeBase, weight: float, height: float, expected: float) -> None:
    assert body_surface_area(kb, weight, height) == pytest.approx(expected, abs=1e-12)


def test_bsa_mosteller_nejm_1987_standard_risk_example(kb: KnowledgeBase) -> None:
    # examples/standard_risk.json: 17.1 kg, 104 cm -> sqrt(1778.4 / 3600) = sqrt(0.494) = 0.70285 m2.
    assert body_surface_area(kb, 17.1, 104) == pytest.approx(0.702851, abs=1e-6)
    result = phase_doses(parse_record({"age_years": 4.2, "weight_kg": 17.1, "height_cm": 104.0}), kb, SR, "induction")
    assert result["body_surface_area"]["m2"] == 0.703
    assert result["body_surface_area"]["formula"] == "mosteller"
    assert any(e["section"] == FACTS_8 for e in result["body_surface_area"]["evidence"])


def test_bsa_divisor_is_the_mosteller_3600(kb: KnowledgeBase) -> None:
    # clinical-facts §8: "Mosteller = √(height cm × weight kg / 3600)".
    assert kb.therapy.bsa.divisor == 3600


# ---- vincristine cap: clinical-facts §8 "Vincristine 1.5 mg/m², max 2 mg" ------------------------------------


@pytest.mark.parametrize(
    ("weight", "height", "calculated", "dose", "capped"),
    [
        (36, 144, 1.8, 1.8, False),  # 1.2 m2 x 1.5 = 1.8 mg: below the cap
        (40, 159.201, 1.995, 2.0, False),  # 1.33 m2 x 1.5 = 1.995 -> rounded (0.01 mg) to 2.00: at the cap by rounding
        (40, 160, 2.0, 2.0, False),  # 4/3 m2 = 2 / 1.5 exactly: 2.0 mg, the cap itself
        (54, 150, 2.25, 2.0, True),  # 1.5 m2 x 1.5 = 2.25 mg -> capped at 2 mg
        (80, 180, 3.0, 2.0, True),  # 2.0 m2 x 1.5 = 3.0 mg -> capped at 2 mg
    ],
)
def test_vincristine_facts_8_max_2_mg(
    kb: KnowledgeBase, weight: float, height: float, calculated: float, dose: float, capped: bool
) -> None:
    result = phase_doses(record(weight_kg=weight, height_cm=height), kb, SR, "induction", on=ON)
    line = lines_of(result)[("vincristine", "intravenous")]
    assert line["status"] == "ok"
    assert line["calculated"] == pytest.approx(calculated, abs=1e-4)
    assert line["dose"] == dose
    assert line["capped"] is capped
    assert line["cap"] == 2
    assert line["cap_explanation"]
    assert line["dose"] <= 2


def test_round_then_cap_facts_8_vincristine(kb: KnowledgeBase) -> None:
    # drugs.yaml: rounded to the nearest 0.01 mg, then capped, so rounding can never lift a dose over 2 mg.
    vincristine = kb.therapy.drugs["vincristine"]
    assert round_and_cap(1.994, vincristine) == (1.99, False)
    assert round_and_cap(1.995, vincristine) == (2.0, False)  # rounding reaches the cap; the cap changed nothing
    assert round_and_cap(2.0, vincristine) == (2.0, False)
    assert round_and_cap(2.004, vincristine) == (2.0, True)  # would round to 2.00 but is above the cap
    assert round_and_cap(2.006, vincristine) == (2.0, True)  # would round to 2.01
    assert round_and_cap(1e9, vincristine) == (2.0, True)


def test_uncapped_drug_is_rounded_to_its_step(kb: KnowledgeBase) -> None:
    assert round_and_cap(4.2171, kb.therapy.drugs["dexamethasone"]) == (4.2, False)  # 0.1 mg steps
    assert round_and_cap(1757.1283, kb.therapy.drugs["pegaspargase"]) == (1757.0, False)  # 1 IU steps
    assert round_and_cap(1757.5, kb.therapy.drugs["pegaspargase"]) == (1758.0, False)
    assert round_and_cap(61.25, kb.therapy.drugs["prednisone"]) == (61.5, False)  # 0.5 mg steps, half up


# ---- every per-m2 line of every phase: dose per m2 (clinical-facts §6 and §8 rows) x 1.2 m2 --------------------

# (regimen, phase, drug, route) -> (dose per m2, dose at 1.2 m2, the clinical-facts row it checks)
PER_M2: list[tuple[str, str, str, str, float, float, str]] = [
    # Standard risk: clinical-facts §6 "Standard risk" table (CCG-1991), caps and doses §8.
    (SR, "induction", "vincristine", "intravenous", 1.5, 1.8, "§8 Vincristine 1.5 mg/m², max 2 mg"),
    (SR, "induction", "pegaspargase", "intramuscular_or_intravenous", 2500, 3000, "§8 PEG-asparaginase 2500 IU/m²"),
    (SR, "induction", "dexamethasone", "oral", 6, 7.2, "§8 Dexamethasone induction 6 mg/m²/d ×28 d"),
    (SR, "consolidation", "vincristine", "intravenous", 1.5, 1.8, "§6 SR Consolidation: VCR d0"),
    (SR, "consolidation", "mercaptopurine", "oral", 75, 90, "§6 SR Consolidation: 6-MP 75 mg/m²/d"),
    (SR, "interim_maintenance", "vincristine", "intravenous", 1.5, 1.8, "§6 SR IM Capizzi arm: VCR"),
    (SR, "interim_maintenance", "methotrexate", "intravenous", 100, 120, "§6 SR IM Capizzi: IV MTX 100 mg/m²"),
    (SR, "delayed_intensification", "vincristine", "intravenous", 1.5, 1.8, "§6 SR DI: VCR d0,7,14"),
    (SR, "delayed_intensification", "pegaspargase", "intramuscular_or_intravenous", 2500, 3000, "§6 SR DI: PEG d3"),
    (SR, "delayed_intensification", "dexamethasone", "oral", 10, 12, "§8 Dexamethasone DI 10 mg/m²/d ×7 d, twice"),
    (SR, "delayed_intensification", "doxorubicin", "intravenous", 25, 30, "§6 SR DI: doxorubicin 25 mg/m²"),
    (SR, "delayed_intensification", "cyclophosphamide", "intravenous", 1000, 1200, "§6 SR DI: cyclophosphamide 1000"),
    (SR, "delayed_intensification", "cytarabine", "intravenous_or_subcutaneous", 75, 90, "§6 SR DI: cytarabine 75"),
    (SR, "delayed_intensification", "thioguanine", "oral", 60, 72, "§6 SR DI: thioguanine 60 mg/m²/d"),
    (SR, "maintenance", "vincristine", "intravenous", 1.5, 1.8, "§6 SR Maintenance: VCR pulses"),
    (SR, "maintenance", "dexamethasone", "oral", 6, 7.2, "§8 Dexamethasone maintenance pulses 6 mg/m²/d ×5 d"),
    (SR, "maintenance", "mercaptopurine", "oral", 75, 90, "§8 Maintenance: 6-MP 75 mg/m²/d PO"),
    (SR, "maintenance", "methotrexate", "oral", 20, 24, "§8 Maintenance: MTX 20 mg/m²/wk PO"),
    # High risk: clinical-facts §6 "High risk" (AALL0232, PMC6215054 Table 1) and §8.
    (HR, "induction", "daunorubicin", "intravenous", 25, 30, "§6 HR Induction: daunorubicin 25 mg/m² d1,8,15,22"),
    (HR, "induction", "dexamethasone", "oral", 10, 12, "§8 Dexamethasone HR age <10 y: 10 mg/m²/d ×14 d"),
    (HR, "induction", "vincristine", "intravenous", 1.5, 1.8, "§8 Vincristine 1.5 mg/m², max 2 mg"),
    (HR, "induction", "pegaspargase", "intramuscular_or_intravenous", 2500, 3000, "§8 PEG-asparaginase 2500 IU/m²"),
    (HR, "consolidation", "cyclophosphamide", "intravenous", 1000, 1200, "§6 HR aBFM: cyclophosphamide 1000 mg/m²"),
    (HR, "consolidation", "cytarabine", "intravenous_or_subcutaneous", 75, 90, "§6 HR aBFM: cytarabine 75 mg/m²"),
    (HR, "consolidation", "mercaptopurine", "oral", 60, 72, "§6 HR aBFM: 6-MP 60 mg/m² d1–14, 29–42"),
    (HR, "consolidation", "vincristine", "intravenous", 1.5, 1.8, "§8 Vincristine 1.5 mg/m², max 2 mg"),
    (HR, "consolidation", "pegaspargase", "intramuscular_or_intravenous", 2500, 3000, "§8 PEG-asparaginase 2500"),
    (HR, "interim_maintenance", "methotrexate", "intravenous", 5000, 6000, "§6 HR IM1: HD-MTX 5 g/m² q14 d ×4"),
    (HR, "interim_maintenance", "mercaptopurine", "oral", 25, 30, "§6 HR IM1: 6-MP 25 mg/m²/d"),
    (HR, "delayed_intensification", "doxorubicin", "intravenous", 25, 30, "§8 HR doxorubicin 75 mg/m² (one DI)"),
]


@pytest.mark.parametrize(
    ("regimen", "phase", "drug", "route", "per_m2", "expected", "row"),
    PER_M2,
    ids=[f"{r[0][6:]}-{r[1]}-{r[2]}-{r[3]}" for r in PER_M2],
)
def test_phase_dose_per_m2_times_bsa(
    kb: KnowledgeBase, regimen: str, phase: str, drug: str, route: str, per_m2: float, expected: float, row: str
) -> None:
    result = phase_doses(record(), kb, regimen, phase, on=ON)
    assert result["body_surface_area"]["m2"] == BSA
    line = lines_of(result)[(drug, route)]
    assert line["status"] == "ok", (row, line["refusal"])
    assert present(line["basis"]).startswith(f"{number(per_m2)} {line['unit']}/m2"), row
    assert line["calculated"] == pytest.approx(per_m2 * BSA, abs=1e-4), row
    assert line["dose"] == pytest.approx(expected), row
    assert present(line["dose"]) <= (line["cap"] or float("inf"))
    assert line["evidence"], row


def test_every_per_m2_line_of_the_knowledge_base_has_a_reference_value(kb: KnowledgeBase) -> None:
    """The table above covers every per-m2 line of both regimens (a new line needs its reference value)."""
    listed = {(r[0], r[1], r[2], r[3]) for r in PER_M2}
    in_kb = {
        (regimen.id, phase.id, line.drug, line.route)
        for regimen in kb.therapy.regimens.regimens
        for phase in regimen.phases
        for line in phase.drugs
        if line.dose.per_m2 is not None and kb.therapy.line_fits_age(line, 0.0)  # the lines of young children
    }
    assert in_kb == listed
    for regimen, phase, drug, route, per_m2, _, _ in PER_M2:
        spec = next(r for r in kb.therapy.regimens.regimens if r.id == regimen)
        line = next(
            d for d in next(p for p in spec.phases if p.id == phase).drugs if (d.drug, d.route) == (drug, route)
        )
        assert line.dose.per_m2 == per_m2


def test_high_risk_doxorubicin_carries_moderate_confidence(kb: KnowledgeBase) -> None:
    # regimens.yaml: the HR delayed intensification rests on §8 "(one DI)", a computed total: confidence M.
    line = lines_of(phase_doses(record(), kb, HR, "delayed_intensification", on=ON))[("doxorubicin", "intravenous")]
    assert line["confidence"] == "moderate"


# ---- HR induction steroid: clinical-facts §6 "High risk" (AALL0232) and §8 -----------------------------------
# "Dexamethasone HR age <10 y: 10 mg/m²/d ×14 d"; "Prednisone: 60 mg/m²/d ×28 d (HR ≥10 y)".


@pytest.mark.parametrize(
    ("age", "drug", "per_m2", "dose"),
    [
        (9.99, "dexamethasone", 10, 12.0),
        (10.0, "prednisone", 60, 72.0),
        (10.01, "prednisone", 60, 72.0),
        (14.5, "prednisone", 60, 72.0),
    ],
)
def test_hr_induction_steroid_by_age_aall0232(
    kb: KnowledgeBase, age: float, drug: str, per_m2: float, dose: float
) -> None:
    child = parse_record({"age_years": age, "weight_kg": WEIGHT, "height_cm": HEIGHT})
    lines = lines_of(phase_doses(child, kb, HR, "induction"))
    steroids = {d for d, _ in lines} & {"dexamethasone", "prednisone"}
    assert steroids == {drug}
    line = lines[(drug, "oral")]
    assert line["status"] == "ok"
    assert line["calculated"] == pytest.approx(per_m2 * BSA)
    assert line["dose"] == dose


def test_hr_induction_steroid_by_exact_age_on_the_tenth_birthday(kb: KnowledgeBase) -> None:
    # Born 2010-03-15, induction starting on the tenth birthday: age 10.0 -> prednisone; the day before -> dex.
    for on, drug in ((date(2020, 3, 15), "prednisone"), (date(2020, 3, 14), "dexamethasone")):
        child = parse_record({"birth_date": "2010-03-15", "weight_kg": WEIGHT, "height_cm": HEIGHT})
        lines = lines_of(phase_doses(child, kb, HR, "induction", on=on))
        assert {d for d, _ in lines} & {"dexamethasone", "prednisone"} == {drug}


# ---- intrathecal doses by age band: clinical-facts §7 (PMC3957178 Table 1), confidence moderate -------------
# | Age (y) | <1 | 1 | 2 | 3–8 | ≥9 |; MTX 7.5/8/10/12/15 mg; cytarabine 15/16/20/24/30 mg.

# With only the age at diagnosis, induction's doses use the ages over the whole 4-week phase, so the highest
# age of a band here is 4 weeks (0.077 y) below the next band; the exact edges are tested from birth dates.
IT_BANDS = [
    (0.0, 7.5, 15),
    (0.92, 7.5, 15),
    (1.0, 8, 16),
    (1.92, 8, 16),
    (2.0, 10, 20),
    (2.92, 10, 20),
    (3.0, 12, 24),
    (8.92, 12, 24),
    (9.0, 15, 30),
    (17.0, 15, 30),
]


@pytest.mark.parametrize(("age", "methotrexate", "cytarabine"), IT_BANDS)
def test_intrathecal_age_band_pmc3957178(kb: KnowledgeBase, age: float, methotrexate: float, cytarabine: float) -> None:
    # SR induction has IT cytarabine (day 0) and IT methotrexate (days 7 and 28); induction uses age at diagnosis.
    # Both are single-agent lines. Methotrexate alone is dosed from the methotrexate column of the triple table
    # (moderate confidence, BFM: the same amount alone and in triple therapy).
    child = parse_record({"age_years": age, "weight_kg": 10, "height_cm": 80})
    lines = lines_of(phase_doses(child, kb, SR, "induction"))
    line = lines[("methotrexate", "intrathecal")]
    assert line["status"] == "ok"
    assert line["dose"] == methotrexate
    assert line["calculated"] == methotrexate  # fixed milligrams: not scaled by body surface area
    assert line["confidence"] == "moderate"  # §7: [H] for the table, [M] for COG applicability
    assert any(e["section"] == FACTS_7 for e in line["evidence"])
    assert "age at diagnosis" in present(line["basis"])
    assert line["kind"] == "intrathecal_single_agent"
    assert (
        present(line["table"])["id"] == "dose.intrathecal.age_table"
        and present(line["table"])["column"] == "methotrexate"
    )
    assert "intrathecal_single_agent" in present(line["table"])["serves"]
    # clinical-facts §7: the triple table's cytarabine column (here {cytarabine} mg) must never dose
    # single-agent intrathecal cytarabine, a different and higher dose that is not verified: refused.
    single = lines[("cytarabine", "intrathecal")]
    assert single["status"] == "refused"
    assert single["dose"] is None and single["calculated"] is None and single["table"] is None
    assert present(single["refusal"]).startswith("Not verified")
    assert single["kind"] == "intrathecal_single_agent"
    assert cytarabine not in (single["dose"], single["calculated"])


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2019, 5, 31), 7.5),  # the day before the first birthday: 0.99... years
        (date(2019, 6, 1), 8),  # first birthday: exactly 1
        (date(2020, 5, 31), 8),
        (date(2020, 6, 1), 10),  # second birthday
        (date(2021, 5, 31), 10),
        (date(2021, 6, 1), 12),  # third birthday
        (date(2027, 5, 31), 12),  # the day before the ninth birthday: 8.99... years
        (date(2027, 6, 1), 15),  # ninth birthday
    ],
)
def test_intrathecal_age_on_the_day_of_the_dose_from_birth_date(kb: KnowledgeBase, on: date, expected: float) -> None:
    # clinical-facts §7: the band is the age on the day of the lumbar puncture (maintenance: IT MTX every 12 wk).
    child = parse_record({"birth_date": "2018-06-01", "weight_kg": 10, "height_cm": 80})
    result = phase_doses(child, kb, SR, "maintenance", on=on)
    line = lines_of(result)[("methotrexate", "intrathecal")]
    assert line["status"] == "ok"
    assert line["dose"] == expected
    assert line["confidence"] == "moderate"
    assert "from the birth date" in present(line["basis"])


# ---- refusals at the shipped phases, cut-offs and band edges ---------------------------------------------------


def test_refuses_unknown_phase_and_regimen(kb: KnowledgeBase) -> None:
    with pytest.raises(DoseError) as raised:
        phase_doses(record(), kb, SR, "reinduction")
    assert raised.value.field == "phase"
    assert "induction" in raised.value.message  # names the phases that exist
    with pytest.raises(DoseError) as raised:
        phase_doses(record(), kb, "b_all_very_high_risk", "induction")
    assert raised.value.field == "regimen"


def test_refuses_age_dependent_line_without_age(kb: KnowledgeBase) -> None:
    # HR induction: dexamethasone (<10 y) or prednisone (>=10 y); without an age neither is chosen or guessed.
    child = parse_record({"weight_kg": WEIGHT, "height_cm": HEIGHT})
    result = phase_doses(child, kb, HR, "induction")
    lines = lines_of(result)
    for drug in ("dexamethasone", "prednisone"):
        line = lines[(drug, "oral")]
        assert line["status"] == "refused"
        assert line["dose"] is None
        assert line["missing"] == ["age_years"]
        assert "age" in present(line["refusal"])
    assert {line["drug"] for line in result["refused"]} == {"dexamethasone", "prednisone"}
    # the other lines do not need the age
    assert lines[("daunorubicin", "intravenous")]["status"] == "ok"


@pytest.mark.parametrize("age", [0.95, 1.99, 2.93, 8.99])
def test_refuses_intrathecal_dose_when_induction_crosses_an_age_band(kb: KnowledgeBase, age: float) -> None:
    # clinical-facts §7: the band is the age on the day of the dose. A child this close to a band edge reaches
    # the next band during the 4 weeks of induction: without the birth date the dose of each day is unknown.
    child = parse_record({"age_years": age, "weight_kg": 10, "height_cm": 80})
    lines = lines_of(phase_doses(child, kb, SR, "induction"))
    line = lines[("methotrexate", "intrathecal")]
    assert line["status"] == "refused"
    assert line["dose"] is None
    assert line["missing"] == ["birth_date"]
    assert "new age band" in present(line["refusal"])
    assert present(lines[("cytarabine", "intrathecal")]["refusal"]).startswith("Not verified")


def test_intrathecal_dose_after_induction_from_age_and_diagnosis_date(kb: KnowledgeBase) -> None:
    # Age 2.5 at diagnosis on 2025-01-01: on 2025-09-01 the child is about 3.17 years old -> band 3-8 years.
    child = parse_record({"age_years": 2.5, "diagnosis_date": "2025-01-01", "weight_kg": 14, "height_cm": 92})
    line = lines_of(phase_doses(child, kb, SR, "maintenance", on=date(2025, 9, 1)))[("methotrexate", "intrathecal")]
    assert line["status"] == "ok"
    assert line["dose"] == 12
    assert "diagnosis date" in present(line["basis"])


def test_thiopurine_adjusted_dose_range_cpic(kb: KnowledgeBase) -> None:
    # clinical-facts §9 "TPMT or NUDT15 IM: start at 30–80% of normal": 75 mg/m2 x 1.2 m2 = 90 -> 27 to 72 mg.
    child = record(pharmacogenomics={"tpmt": "intermediate", "nudt15": "normal"})
    line = lines_of(phase_doses(child, kb, SR, "maintenance", on=ON))[("mercaptopurine", "oral")]
    assert line["status"] == "ok"
    assert line["dose_range"] == [27.0, 72.0]
    assert line["dose"] is None  # a range, not one dose
    assert present(line["adjustment"])["rule"] == "pgx.mercaptopurine.one_intermediate"
    # TPMT poor: a tenth, three times a week: 90 mg x 0.1 = 9 mg.
    child = record(pharmacogenomics={"tpmt": "poor", "nudt15": "normal"})
    line = lines_of(phase_doses(child, kb, SR, "maintenance", on=ON))[("mercaptopurine", "oral")]
    assert line["dose"] == 9.0
    assert line["frequency"] == "three_times_weekly"


def test_every_line_cites_its_evidence_and_disclaimer(kb: KnowledgeBase) -> None:
    for regimen in kb.therapy.regimens.regimens:
        for phase in regimen.phases:
            result = phase_doses(record(), kb, regimen.id, phase.id, on=ON)
            assert result["disclaimer"]
            for line in result["lines"]:
                assert line["evidence"], (regimen.id, phase.id, line["drug"])
                assert line["confidence"] in ("high", "moderate")
                assert all(e["section"] in (FACTS_6, FACTS_7, FACTS_8) for e in line["evidence"])
