"""Round trip: record -> ``record_to_bundle`` -> ``import_bundle`` gives back the same record, for every
bundled example, every record of the exhaustive risk grid and hypothesis-generated records (with the
treatment dates, pharmacogenomics and exposures of the extended contract)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.domain.vocabulary import EXPOSURE_DRUGS, GENETIC_TOKENS, PHENOTYPES, RADIATION_SITES, ROUTES
from allpath.engine.assess import assess
from allpath.engine.grid import COLUMNS, complete_grid_records
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


# The exhaustive grid is 9,216 rows (every combination of the probes of the ten other risk inputs) times the
# 11 genetics tokens. For FHIR the token is a separate part of the record: it travels alone in the genetic
# finding Observation, which is built from the token only (``bundle._genetic_finding``), is read back alone
# into the genetics list (``read_observations._genetics``), and no other entry is built from it or read into
# it; its only tie to the rest of the Bundle is the content-derived urn:uuid of every entry, which differs
# for every record anyway. So the round trip covers every distinct FHIR output of the grid when it takes
# every row once (every combination of the other entries, the Condition's lineage x age included) and every
# token at least once: the token of row i is token i mod 11, which, 11 being prime to every probe count,
# meets every value of every other input (checked below), and the premise itself is checked on the export
# by test_a_genetics_token_changes_only_its_own_entry. 11 times fewer round trips than the whole grid.


OTHER_INPUTS = tuple(name for name in COLUMNS if name != "genetics")


def _row(record: dict[str, Any]) -> tuple[tuple[str, object], ...]:
    """The probe value of every risk input but the genetics: the record's row of the grid."""
    flat = {**record, **record.get("response", {})}
    return tuple((name, flat[name]) for name in OTHER_INPUTS)


@pytest.fixture(scope="module")
def rotated(kb: KnowledgeBase) -> tuple[list[dict[str, Any]], int]:
    """The records of the grid that give row i (in the grid's order) token i mod 11, and the grid's size."""
    tokens = [[token] for token in GENETIC_TOKENS]
    rows: dict[tuple[tuple[str, object], ...], int] = {}
    chosen, size = [], 0
    for record in complete_grid_records(kb):
        i = rows.setdefault(_row(record), len(rows))
        if record["genetics"] == tokens[i % len(tokens)]:
            chosen.append(record)
        size += 1
    assert len(chosen) == len(rows) and len(rows) * len(tokens) == size
    return chosen, size


@pytest.mark.slow
def test_every_row_and_every_token_of_the_exhaustive_risk_grid_survive_the_round_trip(
    rotated: tuple[list[dict[str, Any]], int],
) -> None:
    records, size = rotated
    assert size > 100_000  # 9,216 grid rows x 11 genetics tokens
    met = {(token, value) for r in records for token in r["genetics"] for value in _row(r)}
    assert met == {(token, value) for token in GENETIC_TOKENS for r in records for value in _row(r)}
    for record in records:
        result = import_bundle(record_to_bundle(record))
        assert result.record == record and not result.conflicts and not result.ignored, record


def _without_urls(node: object) -> object:
    """The Bundle's content with the record-derived urn:uuid references blanked."""
    if isinstance(node, dict):
        return {k: "urn" if k in ("fullUrl", "reference") else _without_urls(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_urls(v) for v in node]
    return node


def test_a_genetics_token_changes_only_its_own_entry(rotated: tuple[list[dict[str, Any]], int]) -> None:
    """The premise of the grid round trip above: every entry but the genetic finding is the same whatever the
    token, and the genetic finding is the same whatever the rest of the record; checked with every token on
    rows that together hold every probe value of the other inputs and every lineage x age pair (the two
    inputs that share the Condition)."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[object, object]] = set()
    for record in rotated[0]:
        facets = {*_row(record), (record["immunophenotype"], record["age_years"])}
        if not facets <= seen:
            rows.append(record)
            seen |= facets
    findings: dict[str, object] = {}
    for record in rows:
        others: list[object] = []
        for token in GENETIC_TOKENS:
            entries = _without_urls(record_to_bundle({**record, "genetics": [token]})["entry"])
            assert isinstance(entries, list)
            genetic = [e for e in entries if "genetic" in json.dumps(e["resource"].get("code"))]
            assert len(genetic) == 1, entries
            assert findings.setdefault(token, genetic[0]) == genetic[0], token
            others.append([e for e in entries if e is not genetic[0]])
        assert all(rest == others[0] for rest in others), record
    assert len(findings) == len(GENETIC_TOKENS)


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
