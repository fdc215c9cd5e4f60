"""The Parquet path's column-by-column checks accept and refuse a row exactly as ``parse_record`` does, with the
same fields named and the same values (age filled from the dates): hypothesis draws valid records
(``tests/property/strategies``) and spoils them at the limits of ``domain/limits.py`` and the vocabularies."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.age import decimal_age_years
from allpath.domain.cohort_checks import _birthday, _calendar, settled
from allpath.domain.cohort_table import ROW, records_table
from allpath.domain.record import parse_record
from allpath.errors import RecordError
from allpath.interfaces.cohort import read_cohort
from allpath.interfaces.cohort.parquet_input import checked_table
from tests.cohort.helpers import parquet_table, read_all, write_parquet
from tests.property.strategies import PROPERTY_SETTINGS, valid_records


def _edges(limit: limits.Limit) -> list[float]:
    return [
        limit.low,
        math.nextafter(limit.low, -math.inf),
        limit.high,
        math.nextafter(limit.high, math.inf),
        math.nextafter(limit.high, -math.inf),
    ]


SPECIAL = [math.nan, math.inf, -math.inf, -0.0]
NUMBERS = {
    "age_years": _edges(limits.AGE_YEARS),
    "weight_kg": _edges(limits.WEIGHT_KG),
    "height_cm": _edges(limits.HEIGHT_CM),
    "wbc_per_ul": [*_edges(limits.WBC_PER_UL), 150.0, 0.2, 199.99, 0.0],
}
MRD = ("day8_blood_mrd_pct", "end_of_induction_marrow_mrd_pct", "end_of_consolidation_mrd_pct")
WORDS = {
    "sex": ["female", "male", "Female", ""],
    "immunophenotype": ["B", "T", "b", "NK"],
    "cns_status": ["CNS1", "CNS3", "CNS4", "cns1"],
    "id": ["x" * limits.ID_MAX_CHARS, "y" * (limits.ID_MAX_CHARS + 1), "", "ñ" * limits.ID_MAX_CHARS],
}
TOKEN_LISTS = {
    "genetics": [[], ["none_detected", "iAMP21"], ["iAMP21", "iAMP21"], ["bogus"], [None], ["iAMP21", "ph_like"]],
    "predisposition_syndromes": [[], ["bloom", "bloom"], ["li_fraumeni", "cmmrd"], ["trisomy_21"], [None]],
}
DAYS = [limits.EARLIEST_DATE, limits.EARLIEST_DATE - timedelta(days=1), limits.LATEST_DATE, date(2200, 1, 1)]
RELAPSE = st.fixed_dictionaries(
    {},
    optional={
        "months_from_diagnosis": st.sampled_from([*_edges(limits.RELAPSE_MONTHS), 0.1, 18.0, 36.0, None, math.nan]),
        "sites": st.sampled_from([["cns"], ["testis"], ["bone_marrow", "cns"], [], ["cns", "cns"], ["lung"], None]),
        "end_of_block1_mrd_pct": st.sampled_from([0.0, 0.1, 100.0, math.nextafter(100.0, math.inf), None]),
    },
)
RELAPSES = st.lists(RELAPSE, max_size=limits.RELAPSES_MAX_ITEMS + 1)
DATE_FIELDS = ("birth_date", "diagnosis_date", "treatment_start_date", "end_of_therapy_date")


@st.composite
def spoiled(draw: Any) -> dict[str, Any]:
    """A valid record with up to three values replaced by values at or past a limit."""
    record: dict[str, Any] = dict(draw(valid_records()))
    for _ in range(draw(st.integers(0, 3))):
        kinds = ["number", "mrd", "word", "tokens", "date", "order", "age", "sex", "genotype", "relapse"]
        kind = draw(st.sampled_from(kinds))
        if kind == "number":
            name = draw(st.sampled_from(sorted(NUMBERS)))
            record[name] = draw(st.sampled_from(NUMBERS[name] + SPECIAL))
        elif kind == "mrd":
            response = dict(record.get("response") or {})
            response[draw(st.sampled_from(MRD))] = draw(st.sampled_from([*_edges(limits.MRD_PCT), *SPECIAL]))
            record["response"] = response
        elif kind == "word":
            name = draw(st.sampled_from(sorted(WORDS)))
            record[name] = draw(st.sampled_from(WORDS[name]))
        elif kind == "tokens":
            name = draw(st.sampled_from(sorted(TOKEN_LISTS)))
            record[name] = draw(st.sampled_from(TOKEN_LISTS[name]))
        elif kind == "date":
            record[draw(st.sampled_from(DATE_FIELDS))] = draw(st.sampled_from(DAYS)).isoformat()
        elif kind == "order":
            base = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)))
            steps = draw(st.lists(st.integers(-3, 3), min_size=4, max_size=4))
            for name, step in zip(DATE_FIELDS, steps, strict=True):
                record[name] = (base + timedelta(days=step * 400)).isoformat()
        elif kind == "age":
            birth = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2024, 2, 29)))
            diagnosis = birth + timedelta(days=draw(st.sampled_from([0, 1, 365, 366, 3652, 14610, 14611, 20000])))
            record |= {"birth_date": birth.isoformat(), "diagnosis_date": diagnosis.isoformat()}
            record.pop("treatment_start_date", None)
            record.pop("end_of_therapy_date", None)
            if draw(st.booleans()):
                shift = draw(st.sampled_from([-0.05, -0.049, 0.0, 0.049, 0.05, 1.0]))
                record["age_years"] = decimal_age_years(birth, diagnosis) + shift
        elif kind == "sex":
            record |= {"sex": "female", "testicular_involvement": draw(st.booleans())}
        elif kind == "relapse":
            record["relapses"] = draw(RELAPSES)
        else:
            record["pharmacogenomics"] = {"tpmt": draw(st.sampled_from(["normal", "poor", "rapid", None]))}
    return record


def _parse(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        accepted = parse_record(record)
    except RecordError as error:
        return None, error.fields
    row = records_table([accepted]).drop_columns([ROW]).to_pylist()[0]
    return row, []


@given(st.lists(spoiled(), min_size=1, max_size=12))
@PROPERTY_SETTINGS
def test_a_row_is_accepted_or_refused_exactly_as_parse_record_does(records: list[dict[str, Any]]) -> None:
    batch = checked_table(parquet_table(records), first_row=1)
    accepted = {row.pop(ROW): row for row in batch.table.to_pylist()}
    for index, record in enumerate(records, start=1):
        expected, fields = _parse(record)
        assert accepted.get(index) == expected, record
        assert [p.field for p in batch.problems if p.row == index] == fields, record
    assert batch.table.column(ROW).to_pylist() == sorted(accepted)


def test_the_spoiled_rows_reach_both_sides_of_every_check(tmp_path: Path) -> None:
    """The file path (cast, batches) on rows at each limit: the ones past it are refused by name."""
    records: list[dict[str, Any]] = [
        {"id": "age-at-limit", "age_years": math.nextafter(limits.AGE_YEARS.high, 0)},
        {"id": "age-past", "age_years": limits.AGE_YEARS.high},
        {"id": "wbc-low", "wbc_per_ul": limits.WBC_PER_UL.low},
        {"id": "wbc-mistake", "wbc_per_ul": 150.0},
        {"id": "dates", "birth_date": "2016-02-29", "diagnosis_date": "2021-02-28"},
        {"id": "too-old", "birth_date": "1950-01-01", "diagnosis_date": "1990-01-01"},
        {"id": "nan", "weight_kg": math.nan},
        {"id": "first-date", "birth_date": limits.EARLIEST_DATE.isoformat()},
        {"id": "before-first", "birth_date": (limits.EARLIEST_DATE - timedelta(days=1)).isoformat()},
    ]
    table, problems = read_all(read_cohort(write_parquet(records, tmp_path / "edges.parquet"), batch_rows=4))
    assert table.column("id").to_pylist() == ["age-at-limit", "wbc-low", "dates", "first-date"]
    assert table.column("age_years").to_pylist()[2] == decimal_age_years(date(2016, 2, 29), date(2021, 2, 28))
    assert [(p.row, p.field) for p in problems] == [
        (2, "age_years"),
        (4, "wbc_per_ul"),
        (6, "diagnosis_date"),
        (7, "weight_kg"),
        (9, "birth_date"),
    ]


@given(st.lists(valid_records(), min_size=1, max_size=12))
@PROPERTY_SETTINGS
def test_valid_rows_without_exposures_are_settled_by_the_columns_alone(
    records: list[dict[str, Any]],
) -> None:
    """So the identity above is a claim about the column checks, not about ``parse_record`` checking itself."""
    plain = [{k: v for k, v in record.items() if k != "exposures"} for record in records]
    ok, ages, dated = settled(parquet_table(plain))
    assert ok.all()
    for index, record in enumerate(plain):
        if "birth_date" in record and "diagnosis_date" in record:
            assert dated[index]
            birth, diagnosis = date.fromisoformat(record["birth_date"]), date.fromisoformat(record["diagnosis_date"])
            assert ages[index] == decimal_age_years(birth, diagnosis)


def test_the_column_calendar_agrees_with_python_dates_over_the_allowed_span_and_beyond() -> None:
    first = (limits.EARLIEST_DATE - date(1970, 1, 1)).days - 366
    last = (limits.LATEST_DATE - date(1970, 1, 1)).days + 366
    days = np.arange(first, last + 1, dtype=np.int64)
    years, months, day_numbers = _calendar(days)
    for offset, year, month, day in zip(
        days.tolist(), years.tolist(), months.tolist(), day_numbers.tolist(), strict=True
    ):
        assert date(1970, 1, 1) + timedelta(days=offset) == date(year, month, day)
    # A child born on 29 February: the birthday in 2021 is 28 February, in 2024 the 29th (as domain.age).
    born = np.array([2016, 2016], dtype=np.int64), np.array([2, 2], dtype=np.int64), np.array([29, 29], np.int64)
    birthdays = _birthday(np.array([2021, 2024], dtype=np.int64), born[1], born[2])
    assert birthdays.tolist() == [
        (date(2021, 2, 28) - date(1970, 1, 1)).days,
        (date(2024, 2, 29) - date(1970, 1, 1)).days,
    ]
