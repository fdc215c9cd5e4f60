"""Units and comparators of imported FHIR Quantities (issue 12): every spelling an EHR sends is converted by the
UCUM library to the record's unit (through the alias list of units.yaml when it is not UCUM), a unit of another
dimension is refused with a plain reason, and a value with a comparator is a bound, never a value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.interfaces.fhir import import_bundle, record_to_bundle
from allpath.interfaces.fhir import units as u
from allpath.interfaces.fhir.codes import LOINC, UCUM
from allpath.knowledge.loader import load_knowledge
from tests.conftest import complete_b_all, require_shared
from tests.fhir.conftest import MCODE, R4_EXAMPLES, as_bundle, as_json, fhir_package, read_json

PATIENT = {"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "2018-03-01"}
LOINC_OF = {"wbc_per_ul": "6690-2", "weight_kg": "29463-7", "height_cm": "8302-2"}


def quantity(value: float, unit: str, ucum: bool = False, comparator: str | None = None) -> dict[str, Any]:
    """A Quantity as EHRs send it: a UCUM code with the UCUM system, or only a unit text."""
    given: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        given |= {"system": UCUM, "code": unit}
    if comparator is not None:
        given["comparator"] = comparator
    return given


def observation(field: str, given: dict[str, Any], ident: str = "x") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": LOINC_OF[field]}]},
        "subject": {"reference": "Patient/p"},
        "valueQuantity": given,
    }


def imported(field: str, given: dict[str, Any]) -> Any:
    return import_bundle(as_bundle(PATIENT, observation(field, given)))


# ---- each spelling -> its value in the record's unit --------------------------------------------------------

WHITE_COUNTS = [
    # (value, unit, sent as a UCUM code, cells per microliter)
    (12, "10*3/uL", True, 12_000),
    (12, "10*9/L", True, 12_000),
    (12, "10^3/uL", True, 12_000),
    (12, "/nL", True, 12_000),
    (8, "/nL", False, 8_000),
    (12_000, "/uL", True, 12_000),
    (12_000, "/mm3", True, 12_000),
    (12_000, "{cells}/uL", True, 12_000),
    (12, "10*3/mm3", True, 12_000),
    (12, "K/mcL", False, 12_000),
    (12, "K/uL", False, 12_000),
    (12, "K/µL", False, 12_000),
    (12, "K/mm3", False, 12_000),
    (12, "thou/mm3", False, 12_000),
    (12, "thou/uL", False, 12_000),
    (12, "thou/mcL", False, 12_000),
    (12, "thousand/uL", False, 12_000),
    (12, "x10E3/uL", False, 12_000),
    (12, "10E3/mm3", False, 12_000),
    (12, "x10(3)/uL", False, 12_000),
    (12, "x10^9/L", False, 12_000),
    (12_000, "cells/mcL", False, 12_000),
    (12_000, "cells/uL", False, 12_000),
    (12_000, "/cumm", False, 12_000),
    (12, "Gpt/L", False, 12_000),
    (12, "G/L", False, 12_000),
    (12, "g/L", False, 12_000),  # a cell count cannot be in grams: giga per liter (units.yaml, G/L)
    (12, "Giga/L", False, 12_000),
    (12, "10*3/UL", True, 12_000),  # all capitals: UCUM's case-insensitive form
    (12.345, "10*3/uL", True, 12_345),  # a power of ten moves the decimal point: exact
]


@pytest.mark.parametrize(("value", "unit", "ucum", "expected"), WHITE_COUNTS)
def test_each_spelling_of_a_white_count_gives_cells_per_microliter(
    value: float, unit: str, ucum: bool, expected: int
) -> None:
    result = imported("wbc_per_ul", quantity(value, unit, ucum))
    assert result.record["wbc_per_ul"] == expected
    assert {"field": "wbc_per_ul", "from": "Observation/x.valueQuantity"} in [
        {"field": m["field"], "from": m["from"]} for m in result.mapped
    ]


@pytest.mark.parametrize(
    ("value", "unit", "ucum", "expected"),
    [
        (70, "lb", False, 31.751),
        (70, "lbs", False, 31.751),
        (70, "[lb_av]", True, 31.751),
        (20, "oz", False, 0.567),
        (20, "[oz_av]", True, 0.567),
        (31.75, "kg", True, 31.75),  # already in the record's unit: kept as given
        (31.7514, "kg", True, 31.7514),
        (12_500, "g", True, 12.5),
        (12, "KG", False, 12),
    ],
)
def test_each_spelling_of_a_weight_gives_kilograms(value: float, unit: str, ucum: bool, expected: float) -> None:
    assert imported("weight_kg", quantity(value, unit, ucum)).record["weight_kg"] == expected


@pytest.mark.parametrize(
    ("value", "unit", "ucum", "expected"),
    [
        (50, "in", False, 127.0),
        (50, "[in_i]", True, 127.0),
        (50.25, "in", False, 127.6),  # 127.635 cm, to the millimetre
        (1.27, "m", True, 127.0),
        (1270, "mm", True, 127.0),
        (127.35, "cm", True, 127.35),
        (4, "ft", False, 121.9),
    ],
)
def test_each_spelling_of_a_height_gives_centimetres(value: float, unit: str, ucum: bool, expected: float) -> None:
    assert imported("height_cm", quantity(value, unit, ucum)).record["height_cm"] == expected


def condition_with_age(age: dict[str, Any]) -> dict[str, Any]:
    bundle = as_json(record_to_bundle({"sex": "male", "immunophenotype": "B", "age_years": 4.0}))
    condition: dict[str, Any]
    [condition] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    condition["onsetAge"] = age
    condition["id"] = "c"
    condition["subject"] = {"reference": "Patient/p"}
    return condition


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        ({"value": 4, "unit": "years", "system": UCUM, "code": "a"}, 4),
        ({"value": 18, "unit": "months", "system": UCUM, "code": "mo"}, 1.5),
        ({"value": 18, "unit": "mos"}, 1.5),
        ({"value": 52, "unit": "wk", "system": UCUM, "code": "wk"}, 0.9966),  # 364 / 365.25 days
        ({"value": 365, "unit": "d", "system": UCUM, "code": "d"}, 0.9993),
        ({"value": 4, "unit": "yr"}, 4),
    ],
)
def test_an_age_at_diagnosis_is_read_in_years(age: dict[str, Any], expected: float) -> None:
    result = import_bundle(as_bundle(PATIENT, condition_with_age(age)))
    assert result.record["age_years"] == expected


def treatment_bundle(dose: dict[str, Any], radiation: dict[str, Any]) -> dict[str, Any]:
    """An exported record's administration and radiation course, their dose Quantities replaced."""
    record = {
        "sex": "male",
        "birth_date": "2018-01-01",
        "exposures": {
            "courses": [{"drug": "doxorubicin", "date": "2022-02-01", "dose_mg": 30.0}],
            "radiation": [{"site": "cranial", "dose_gy": 18.0, "date": "2022-06-01"}],
        },
    }
    bundle: dict[str, Any] = as_json(record_to_bundle(record))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "MedicationAdministration":
            resource["id"] = "m"
            resource["dosage"]["dose"] = dose
        elif resource["resourceType"] == "Procedure":
            resource["id"] = "r"
            [total] = [
                part
                for extension in resource["extension"]
                for part in extension.get("extension", [])
                if part["url"] == "totalDoseDelivered"
            ]
            total["valueQuantity"] = radiation
    return bundle


@pytest.mark.parametrize(
    ("dose", "field", "expected"),
    [
        (quantity(30, "mg", True), "dose_mg", 30),
        (quantity(250, "ug", True), "dose_mg", 0.25),
        (quantity(250, "mcg"), "dose_mg", 0.25),
        (quantity(1.5, "g", True), "dose_mg", 1_500),
        (quantity(30, "MG"), "dose_mg", 30),
        (quantity(25, "mg/m2", True), "dose_mg_per_m2", 25),
        (quantity(25, "mg/m^2"), "dose_mg_per_m2", 25),
        (quantity(25_000, "ug/m2", True), "dose_mg_per_m2", 25),
    ],
)
def test_each_spelling_of_a_dose_gives_milligrams_or_milligrams_per_square_metre(
    dose: dict[str, Any], field: str, expected: float
) -> None:
    result = import_bundle(treatment_bundle(dose, quantity(18, "Gy", True)))
    [course] = as_json(result.record)["exposures"]["courses"]
    assert course[field] == expected and set(course) & {"dose_mg", "dose_mg_per_m2"} == {field}


@pytest.mark.parametrize(
    ("radiation", "expected"),
    [(quantity(1800, "cGy", True), 18), (quantity(18, "Gy", True), 18), (quantity(1800, "CGY"), 18)],
)
def test_each_spelling_of_a_radiation_dose_gives_gray(radiation: dict[str, Any], expected: float) -> None:
    result = import_bundle(treatment_bundle(quantity(30, "mg", True), radiation))
    assert as_json(result.record)["exposures"]["radiation"][0]["dose_gy"] == expected


def relapse_and_mrd_bundle(months: dict[str, Any], mrd: dict[str, Any]) -> dict[str, Any]:
    """An exported record's relapse (its months from diagnosis replaced) and end-of-induction MRD."""
    record = {
        "sex": "male",
        "response": {"end_of_induction_marrow_mrd_pct": 0.005},
        "relapses": [{"months_from_diagnosis": 30, "sites": ["bone_marrow"]}],
    }
    bundle: dict[str, Any] = as_json(record_to_bundle(record))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Observation":
            continue
        code = resource["code"]["coding"][0]["code"]
        if code == "relapse":
            resource["id"] = "rel"
            resource["component"][0]["valueQuantity"] = months
        elif "mrd" in code:
            resource["id"] = "mrd"
            resource["valueQuantity"] = mrd
    return bundle


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        ({"value": 30, "unit": "months", "system": UCUM, "code": "mo"}, 30),
        ({"value": 2.5, "unit": "years", "system": UCUM, "code": "a"}, 30),
        ({"value": 2.5, "unit": "yrs"}, 30),
        ({"value": 13, "unit": "wk", "system": UCUM, "code": "wk"}, 2.99),  # 91 days = 2.990 months
    ],
)
def test_a_relapse_time_is_read_in_months(months: dict[str, Any], expected: float) -> None:
    result = import_bundle(relapse_and_mrd_bundle(months, quantity(0.005, "%", True)))
    assert as_json(result.record)["relapses"][0]["months_from_diagnosis"] == expected
    assert as_json(result.record)["response"]["end_of_induction_marrow_mrd_pct"] == 0.005


def test_a_relapse_time_or_an_mrd_with_a_comparator_is_a_bound() -> None:
    months = {"value": 18, "comparator": ">", "unit": "months", "system": UCUM, "code": "mo"}
    result = import_bundle(relapse_and_mrd_bundle(months, quantity(0.01, "%", True, "<")))
    record = as_json(result.record)
    assert all("months_from_diagnosis" not in relapse for relapse in record.get("relapses", []))
    assert "end_of_induction_marrow_mrd_pct" not in record.get("response", {})
    assert sorted(str(b["text"]) for b in result.bounds) == [
        "MRD: less than 0.01 % (Observation/mrd)",
        "time from diagnosis to relapse: more than 18 months (Observation/rel)",
    ]
    assert {b["field"] for b in result.bounds} == {
        "relapses.months_from_diagnosis",
        "response.end_of_induction_marrow_mrd_pct",
    }


# ---- a unit of another dimension is refused, with a plain reason --------------------------------------------


@pytest.mark.parametrize(
    ("field", "given", "words"),
    [
        ("wbc_per_ul", quantity(12, "mg", True), 'a white count in "mg", which allpath cannot convert to per'),
        ("wbc_per_ul", quantity(12, "mmol/L", True), 'a white count in "mmol/L"'),
        ("wbc_per_ul", quantity(12, "%", True), 'a white count in "%"'),
        ("weight_kg", quantity(5, "g/L", True), 'a weight in "g/L", which allpath cannot convert to kg'),
        ("weight_kg", quantity(5, "G/L"), 'a weight in "G/L"'),  # giga per liter is read for cell counts only
        ("weight_kg", quantity(31, "cm", True), 'a weight in "cm"'),
        ("height_cm", quantity(127, "kg", True), 'a height in "kg"'),
        ("height_cm", quantity(127, "furlongs"), 'a height in "furlongs"'),
        ("wbc_per_ul", {"value": 12}, "a white count without a unit"),
    ],
)
def test_a_unit_of_another_dimension_is_refused_with_a_plain_reason(
    field: str, given: dict[str, Any], words: str
) -> None:
    result = imported(field, given)
    assert field not in result.record
    [reason] = [i["reason"] for i in result.ignored if i["resource"] == "Observation/x.valueQuantity"]
    assert reason.startswith(words)
    assert "Error" not in reason and "{" not in reason.replace("{cells}", "")  # no library message, no repr


def test_a_dose_in_neither_a_mass_nor_a_mass_per_area_is_refused() -> None:
    result = import_bundle(treatment_bundle(quantity(5, "mL", True), quantity(18, "Gy", True)))
    assert set(as_json(result.record)["exposures"]["courses"][0]) == {"drug", "date"}
    [item] = [i for i in result.ignored if i["resource"] == "MedicationAdministration/m.dosage.dose"]
    assert item["reason"] == 'a dose in "mL", which allpath cannot convert to mg or mg/m²'


def test_a_radiation_dose_in_another_dimension_is_refused() -> None:
    result = import_bundle(treatment_bundle(quantity(30, "mg", True), quantity(18, "mg", True)))
    assert "dose_gy" not in as_json(result.record)["exposures"]["radiation"][0]
    assert any(i["resource"] == "Procedure/r.extension" and "Gy" in i["reason"] for i in result.ignored)


def test_mrd_is_read_in_percent_only() -> None:
    assert u.read(quantity(0.01, "%", True), "mrd_pct", "an MRD value") == u.Reading(0.01)
    assert isinstance(u.read(quantity(0.0001, "1", True), "mrd_pct", "an MRD value"), u.Unreadable)
    assert isinstance(u.read(quantity(3, "{cells}", True), "mrd_pct", "an MRD value"), u.Unreadable)


# ---- comparators are bounds, never values --------------------------------------------------------------------

COMPARATOR_WORDS = {"<": "less than", "<=": "at most", ">=": "at least", ">": "more than", "ad": "enough to reach"}


@pytest.mark.parametrize("comparator", sorted(COMPARATOR_WORDS))
def test_a_white_count_with_a_comparator_is_a_bound_and_no_value(comparator: str) -> None:
    result = imported("wbc_per_ul", quantity(500, "10*3/uL", True, comparator))
    assert "wbc_per_ul" not in result.record
    assert not any(m["field"] == "wbc_per_ul" for m in result.mapped)
    words = COMPARATOR_WORDS[comparator]
    assert result.bounds == [
        {
            "field": "wbc_per_ul",
            "comparator": comparator,
            "value": 500_000,
            "from": "Observation/x.valueQuantity",
            "text": f"white count: {words} 500,000 per microliter (Observation/x)",
        }
    ]
    assert result.as_dict()["bounds"] == result.bounds


def test_a_bound_leaves_the_field_missing_so_the_assessment_is_provisional() -> None:
    kb = load_knowledge()
    complete = complete_b_all()
    assert not assess(parse_record(import_bundle(record_to_bundle(complete)).record), kb)["provisional"]
    bundle = as_json(record_to_bundle(complete_b_all(wbc_per_ul=None)))
    bound = observation("wbc_per_ul", quantity(50, "10*3/uL", True, ">"), "w")
    bound["subject"] = {"reference": bundle["entry"][0]["fullUrl"]}
    bundle["entry"].append({"resource": bound})
    result = import_bundle(bundle)
    assert "wbc_per_ul" not in result.record
    assert [b["text"] for b in result.bounds] == ["white count: more than 50,000 per microliter (Observation/w)"]
    assessment = assess(parse_record(result.record), kb)
    assert assessment["provisional"] is True and assessment["missing"] == ["wbc_per_ul"]


@pytest.mark.parametrize(
    ("field", "given", "text"),
    [
        ("weight_kg", quantity(70, "lb", comparator="<"), "weight: less than 31.751 kg (Observation/x)"),
        ("height_cm", quantity(50, "in", comparator=">="), "height: at least 127 cm (Observation/x)"),
    ],
)
def test_a_weight_or_height_with_a_comparator_is_a_bound_in_the_records_unit(
    field: str, given: dict[str, Any], text: str
) -> None:
    result = imported(field, given)
    assert field not in result.record
    assert [b["text"] for b in result.bounds] == [text]


def test_an_age_with_a_comparator_is_a_bound() -> None:
    age = {"value": 1, "comparator": "<", "unit": "years", "system": UCUM, "code": "a"}
    result = import_bundle(as_bundle(PATIENT, condition_with_age(age)))
    assert "age_years" not in result.record
    assert [b["text"] for b in result.bounds] == ["age at diagnosis: less than 1 years (Condition/c)"]


def test_doses_with_a_comparator_are_bounds() -> None:
    result = import_bundle(
        treatment_bundle(quantity(30, "mg", True, "<="), quantity(1800, "cGy", True, "<")),
    )
    assert "dose_mg" not in as_json(result.record)["exposures"]["courses"][0]
    assert "dose_gy" not in as_json(result.record)["exposures"]["radiation"][0]
    assert [(b["field"], b["text"]) for b in result.bounds] == [
        ("exposures.courses.dose_mg", "dose: at most 30 mg (MedicationAdministration/m)"),
        ("exposures.radiation.dose_gy", "radiation dose: less than 18 Gy (Procedure/r)"),
    ]


def test_a_bound_carries_its_resources_date() -> None:
    dated = observation("wbc_per_ul", quantity(500, "10*3/uL", True, ">")) | {"effectiveDateTime": "2024-03-01"}
    [bound] = import_bundle(as_bundle(PATIENT, dated)).bounds
    assert bound["date"] == "2024-03-01" and bound["value"] == 500_000


def test_a_comparator_fhir_does_not_define_is_refused() -> None:
    result = imported("wbc_per_ul", quantity(500, "10*3/uL", True, "~"))
    assert "wbc_per_ul" not in result.record and not result.bounds
    assert any('comparator "~"' in i["reason"] for i in result.ignored)


def test_without_a_comparator_there_is_no_bound() -> None:
    result = imported("wbc_per_ul", quantity(500, "10*3/uL", True))
    assert result.record["wbc_per_ul"] == 500_000 and result.bounds == []


# ---- outside material: the FHIR R4 and mCODE 4.0.0 examples -------------------------------------------------


@pytest.mark.parametrize(
    ("package", "name", "field", "expected"),
    [
        (R4_EXAMPLES, "Observation-example.json", "weight_kg", 83.915),  # 185 [lb_av] ("lbs")
        (R4_EXAMPLES, "Observation-body-height.json", "height_cm", 169.9),  # 66.9 [in_i]
        (MCODE, "example/Observation-bodyweight-jenny-m-2018-03-16.json", "weight_kg", 70.307),  # 155 [lb_av]
        (MCODE, "example/Observation-bodyheight-jenny-m-2018-03-06.json", "height_cm", 165.1),  # 65 [in_i]
    ],
)
def test_the_official_examples_weights_and_heights_in_us_units_are_converted(
    package: str, name: str, field: str, expected: float
) -> None:
    example = read_json(fhir_package(package) / name)
    result = import_bundle(as_bundle(example))
    assert result.record[field] == expected, result.ignored


@pytest.mark.parametrize(
    ("entry", "text"), [(53, "less than 1 per microliter"), (54, "less than 0.001 per microliter")]
)
def test_the_official_examples_counts_with_a_comparator_are_bounds(entry: int, text: str) -> None:
    """FHIR R4's Bundle-ghp gives urine cell counts as "< 1 /uL" and "< 1 /mL" (no UCUM system): the same
    Quantity on a white count is a bound in cells per microliter, and no value."""
    ghp = read_json(fhir_package(R4_EXAMPLES) / "Bundle-ghp.json")
    given = ghp["entry"][entry]["resource"]["valueQuantity"]
    result = imported("wbc_per_ul", given)
    assert "wbc_per_ul" not in result.record
    assert [b["text"] for b in result.bounds] == [f"white count: {text} (Observation/x)"]


def test_every_quantity_of_the_synthea_bundles_is_read_in_the_records_units() -> None:
    """The 40 Synthea patients of shared/ send kg, cm and 10*3/uL (UCUM codes): none is refused for its unit,
    none is a bound, and every weight, height and white count found is a number in the record's unit."""
    bundles = sorted((require_shared() / "fhir-samples" / "synthea").glob("*.json"))
    assert len(bundles) == 40
    read = 0
    for path in bundles:
        result = import_bundle(read_json(path))
        assert not result.bounds, path.name
        unit_reasons = [i for i in result.ignored if "convert" in i["reason"] or "without a unit" in i["reason"]]
        assert not unit_reasons, (path.name, unit_reasons[:3])
        read += sum(1 for name in ("weight_kg", "height_cm", "wbc_per_ul") if name in result.record)
    assert read >= 100  # 119 of the 120 weights, heights and white counts when this was written


# ---- the alias list (units.yaml) -----------------------------------------------------------------------------

ALIASES = load_knowledge().units.aliases
KIND_OF = {name: q.kind for name, q in load_knowledge().units.quantities.items()}
QUANTITY_OF_KIND = {kind: name for name, kind in reversed(list(KIND_OF.items()))}


@pytest.mark.parametrize("alias", ALIASES, ids=[a.spelling for a in ALIASES])
def test_every_alias_converts_like_the_ucum_code_it_names(alias: Any) -> None:
    name = QUANTITY_OF_KIND[alias.kind]
    spelled = u.read(quantity(7, alias.spelling), name, "it")
    coded = u.read(quantity(7, alias.ucum, True), name, "it")
    assert isinstance(coded, u.Reading), f"{alias.ucum} is not a UCUM code of a {alias.kind}"
    assert spelled == coded


@pytest.mark.parametrize("alias", ALIASES, ids=[a.spelling for a in ALIASES])
def test_no_alias_hides_a_ucum_code_of_the_same_kind(alias: Any) -> None:
    """An alias is read before the UCUM code: it may only stand for a spelling that is no UCUM code of its
    kind (like G/L, which UCUM reads as gauss per liter), or one that means the same."""
    name = QUANTITY_OF_KIND[alias.kind]
    as_ucum = u.ucum_factor(alias.spelling, name)
    assert as_ucum is None or u.read(quantity(7, alias.ucum, True), name, "it") == u.Reading(round(7 * as_ucum, 6))


# ---- properties ----------------------------------------------------------------------------------------------

SAME_UNIT = {
    "wbc_per_ul": ["10*3/uL", "K/uL", "K/mcL", "thou/uL", "thou/mm3", "x10E3/uL", "10*9/L", "Gpt/L", "G/L", "/nL"],
    "weight_kg": ["[lb_av]", "lb", "lbs", "pounds"],
    "height_cm": ["[in_i]", "in", "inch", "inches"],
    "age_years": ["mo", "months", "mos", "MO"],
}


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SAME_UNIT)),
    st.decimals(min_value="0.001", max_value="999", places=3),
    st.data(),
)
def test_another_spelling_of_the_same_unit_gives_the_same_record_value(name: str, value: Any, data: Any) -> None:
    first, second = data.draw(st.permutations(SAME_UNIT[name]))[:2]
    assert u.read(quantity(float(value), first), name, "it") == u.read(quantity(float(value), second), name, "it")


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value="0.001", max_value="999.999", places=3))
def test_a_count_in_thousands_per_microliter_is_exact(thousands: Any) -> None:
    reading = u.read(quantity(float(thousands), "10*3/uL", True), "wbc_per_ul", "it")
    assert reading == u.Reading(float(thousands * 1000))
