"""Round trip: record -> ``record_to_bundle`` -> ``import_bundle`` gives back the same record, for every
bundled example, every record of the exhaustive risk grid and hypothesis-generated records (with the
treatment dates, pharmacogenomics and exposures of the extended contract)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.domain.vocabulary import EXPOSURE_DRUGS, PHENOTYPES, RADIATION_SITES, ROUTES
from allpath.engine.assess import assess
from allpath.engine.grid import complete_grid_records
from allpath.interfaces.fhir import import_bundle, record_to_bundle, second_opinion_bundle
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import EXAMPLES
from tests.fhir.conftest import read_json
from tests.property.strategies import PROPERTY_SETTINGS, valid_records


def assert_round_trip(record: dict[str, Any]) -> dict[str, Any]:
    bundle = record_to_bundle(record)
    result = import_bundle(bundle)
    assert result.conflicts == []
    # A record without sex, birth date or id gives an empty Patient, which the import notes as giving nothing.
    unused = [i for i in result.ignored if not (i["resource"].startswith("Patient") and "no field" in i["reason"])]
    assert unused == [], result.ignored
    assert len(result.ignored) == len(unused) + (not {"sex", "birth_date", "id"} & set(record))
    assert result.record == record
    return bundle


def test_every_bundled_example_survives_the_round_trip(kb: KnowledgeBase) -> None:
    count = 0
    for path in sorted(EXAMPLES.glob("*.json")):
        data = read_json(path)
        for record in data if isinstance(data, list) else [data]:
            bundle = assert_round_trip(record)
            Bundle.model_validate(bundle)
            Bundle.model_validate(second_opinion_bundle(record, assess(parse_record(record), kb)))
            count += 1
    assert count >= 40


@pytest.mark.slow
def test_every_record_of_the_exhaustive_risk_grid_survives_the_round_trip(kb: KnowledgeBase) -> None:
    count = 0
    for record in complete_grid_records(kb):
        result = import_bundle(record_to_bundle(record))
        assert result.record == record and not result.conflicts and not result.ignored, record
        count += 1
    assert count >= 100_000  # 9,216 grid rows x 11 genetics tokens


# ---- hypothesis: the extended contract --------------------------------------------------------------------

DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


def dates_from(floor: date | None) -> Any:
    """Dates on or after ``floor`` (the record refuses treatment and exposure dates before the birth date,
    and a treatment start before the diagnosis date)."""
    if floor is None:
        return DATES
    return st.dates(min_value=floor, max_value=min(floor + timedelta(days=40 * 366), limits.LATEST_DATE))


def _amount(high: float) -> Any:
    return st.one_of(st.integers(0, int(high)), st.floats(0, high, allow_nan=False).map(lambda x: round(x, 2)))


@st.composite
def courses(draw: Any, floor: date | None = None) -> dict[str, Any]:
    course: dict[str, Any] = {
        "drug": draw(st.sampled_from(EXPOSURE_DRUGS)),
        "date": draw(dates_from(floor)).isoformat(),
    }
    if draw(st.booleans()):
        course["dose_mg_per_m2"] = draw(_amount(limits.COURSE_DOSE_MG_PER_M2.high))
    if draw(st.booleans()):
        course["dose_mg"] = draw(_amount(limits.COURSE_DOSE_MG.high))
    if draw(st.booleans()):
        course["route"] = draw(st.sampled_from(ROUTES))
    return course


@st.composite
def beams(draw: Any, female: bool, floor: date | None = None) -> dict[str, Any]:
    sites = [s for s in RADIATION_SITES if not (female and s == "testicular")]
    beam: dict[str, Any] = {"site": draw(st.sampled_from(sites))}
    if draw(st.booleans()):
        beam["dose_gy"] = draw(_amount(limits.RADIATION_GY.high))
    if draw(st.booleans()):
        beam["date"] = draw(dates_from(floor)).isoformat()
    return beam


@st.composite
def extended_records(draw: Any) -> dict[str, Any]:
    record: dict[str, Any] = draw(valid_records())
    female = record.get("sex") == "female"
    birth = date.fromisoformat(record["birth_date"]) if record.get("birth_date") else None
    diagnosis = date.fromisoformat(record["diagnosis_date"]) if record.get("diagnosis_date") else None
    start_floor = max((d for d in (birth, diagnosis) if d is not None), default=None)
    if draw(st.booleans()):
        start = draw(dates_from(start_floor))
        record["treatment_start_date"] = start.isoformat()
        if draw(st.booleans()):
            record["end_of_therapy_date"] = (start + timedelta(days=draw(st.integers(0, 3000)))).isoformat()
    elif draw(st.booleans()):
        record["end_of_therapy_date"] = draw(dates_from(birth)).isoformat()
    if draw(st.booleans()):
        genotype = {}
        for gene in ("tpmt", "nudt15"):
            if draw(st.booleans()):
                genotype[gene] = draw(st.sampled_from(PHENOTYPES))
        record["pharmacogenomics"] = genotype
    if draw(st.booleans()):
        exposures: dict[str, Any] = {}
        if draw(st.booleans()):
            exposures["courses"] = draw(st.lists(courses(birth), max_size=4))
        if draw(st.booleans()):
            exposures["radiation"] = draw(st.lists(beams(female, birth), max_size=2))
        record["exposures"] = exposures
    if draw(st.booleans()):
        record["predisposition_syndromes"] = record.get("predisposition_syndromes") or []
    return record


@PROPERTY_SETTINGS
@given(extended_records())
def test_generated_records_survive_the_round_trip(record: dict[str, Any]) -> None:
    parse_record(record)  # the strategy keeps to the contract
    assert_round_trip(record)


@PROPERTY_SETTINGS
@given(extended_records())
def test_the_round_trip_changes_no_assessment(kb: KnowledgeBase, record: dict[str, Any]) -> None:
    back = import_bundle(record_to_bundle(record)).record
    assert assess(parse_record(back), kb) == assess(parse_record(record), kb)
