"""The record fields added for roadmaps, doses and survivorship: accepted shapes, and the refusals that name
the field, the value and what is allowed (dates in order, phenotype tokens, exposure limits)."""

from __future__ import annotations

import pytest

from allpath.domain.record import parse_record
from allpath.errors import RecordError


def _problem(record: dict[str, object]) -> tuple[str, object, str]:
    with pytest.raises(RecordError) as caught:
        parse_record(record)
    first = caught.value.problems[0]
    return first.field, first.value, first.allowed


def test_a_complete_treatment_record_is_accepted() -> None:
    record = parse_record(
        {
            "birth_date": "2019-04-02",
            "diagnosis_date": "2025-03-01",
            "treatment_start_date": "2025-03-01",
            "end_of_therapy_date": "2027-05-01",
            "pharmacogenomics": {"tpmt": "possible_intermediate", "nudt15": "normal"},
            "exposures": {
                "courses": [{"drug": "daunorubicin", "date": "2025-03-02", "dose_mg_per_m2": 25}],
                "radiation": [{"site": "chest", "dose_gy": 15, "date": "2026-01-01"}],
            },
        }
    )
    assert record.pharmacogenomics is not None and record.pharmacogenomics.tpmt == "possible_intermediate"
    assert record.exposures is not None and record.exposures.courses is not None
    assert record.exposures.courses[0].dose_mg_per_m2 == 25


@pytest.mark.parametrize(
    ("record", "field", "allowed"),
    [
        ({"birth_date": "2020-01-01", "treatment_start_date": "2019-12-31"}, "treatment_start_date", "date of birth"),
        ({"diagnosis_date": "2020-01-02", "treatment_start_date": "2020-01-01"}, "treatment_start_date", "diagnosis"),
        ({"treatment_start_date": "2020-01-02", "end_of_therapy_date": "2020-01-01"}, "end_of_therapy_date", "first"),
        (
            {"birth_date": "2020-01-01", "exposures": {"courses": [{"drug": "doxorubicin", "date": "2019-06-01"}]}},
            "exposures.courses[0].date",
            "date of birth",
        ),
        (
            {"birth_date": "2020-01-01", "exposures": {"radiation": [{"site": "cranial", "date": "2019-06-01"}]}},
            "exposures.radiation[0].date",
            "date of birth",
        ),
        ({"pharmacogenomics": {"tpmt": "slow"}}, "pharmacogenomics.tpmt", "phenotype"),
        ({"pharmacogenomics": {"cyp2d6": "poor"}}, "pharmacogenomics.cyp2d6", "unknown field"),
        ({"exposures": {"courses": [{"drug": "aspirin", "date": "2020-01-01"}]}}, "exposures.courses[0].drug", "drug"),
        (
            {"exposures": {"courses": [{"drug": "doxorubicin", "date": "2020-01-01", "dose_mg_per_m2": -1}]}},
            "exposures.courses[0].dose_mg_per_m2",
            "at least 0",
        ),
        (
            {"exposures": {"courses": [{"drug": "doxorubicin", "date": "2020-01-01", "dose_mg_per_m2": 10_001}]}},
            "exposures.courses[0].dose_mg_per_m2",
            "at most 10,000",
        ),
        ({"exposures": {"radiation": [{"site": "chest", "dose_gy": 80.5}]}}, "exposures.radiation[0].dose_gy", "80"),
        (
            {"sex": "female", "exposures": {"radiation": [{"site": "testicular", "dose_gy": 24}]}},
            "exposures.radiation[0].site",
            "male",
        ),
        ({"exposures": {"courses": [{"drug": "doxorubicin"}]}}, "exposures.courses[0].date", "required"),
        ({"treatment_start_date": "2020-13-01"}, "treatment_start_date", "ISO date"),
    ],
)
def test_impossible_treatment_values_are_refused_naming_the_field(
    record: dict[str, object], field: str, allowed: str
) -> None:
    name, _value, text = _problem(record)
    assert name == field
    assert allowed in text


def test_limits_are_inclusive_at_their_edges() -> None:
    parse_record({"exposures": {"courses": [{"drug": "doxorubicin", "date": "2020-01-01", "dose_mg_per_m2": 0}]}})
    parse_record({"exposures": {"courses": [{"drug": "methotrexate", "date": "2020-01-01", "dose_mg_per_m2": 10_000}]}})
    parse_record({"exposures": {"radiation": [{"site": "chest", "dose_gy": 80}]}})
    parse_record({"birth_date": "2020-01-01", "treatment_start_date": "2020-01-01"})
