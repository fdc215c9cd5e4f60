"""Limits on every string and list of the patient record: at the limit accepted, one past refused, with the
field, the value shortened and what is allowed; an oversized record is refused at once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from allpath.domain import limits
from allpath.domain.record import parse_record
from allpath.domain.vocabulary import GENETIC_TOKENS, PREDISPOSITION_TOKENS, RELAPSE_SITES
from allpath.errors import SHOWN_CHARS, RecordError
from tests.conftest import complete_b_all

COURSE = {"drug": "mercaptopurine", "date": "2021-03-01", "dose_mg_per_m2": 75, "route": "oral"}
BEAM = {"site": "cranial", "dose_gy": 12, "date": "2021-06-01"}


def _relapses(n: int) -> list[dict[str, Any]]:
    return [{"months_from_diagnosis": 6 + i, "sites": ["bone_marrow"]} for i in range(n)]


def _problem(record: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(RecordError) as caught:
        parse_record(record)
    (problem,) = caught.value.problems
    return problem.field, problem.message()


def test_the_id_at_its_limit_is_accepted_and_one_character_more_refused() -> None:
    at_limit = "A" * limits.ID_MAX_CHARS
    assert parse_record(complete_b_all(id=at_limit)).id == at_limit
    field, message = _problem(complete_b_all(id=at_limit + "A"))
    assert field == "id"
    assert message.endswith(f"is not allowed; expected a string identifier of at most {limits.ID_MAX_CHARS} characters")
    assert "..." in message and len(message) < 200


# (record field, list at its limit, what one more element is, the message's end)
LISTS = [
    ("genetics", list(GENETIC_TOKENS), "iAMP21", f"at most {len(GENETIC_TOKENS)} tokens, each at most once"),
    (
        "predisposition_syndromes",
        list(PREDISPOSITION_TOKENS),
        "bloom",
        f"at most {len(PREDISPOSITION_TOKENS)} tokens, each at most once",
    ),
    ("relapses", _relapses(limits.RELAPSES_MAX_ITEMS), None, f"at most {limits.RELAPSES_MAX_ITEMS} relapses"),
]


@pytest.mark.parametrize(("field", "full", "extra", "allowed"), LISTS, ids=[case[0] for case in LISTS])
def test_each_list_of_the_record_has_a_limit(field: str, full: list[Any], extra: Any, allowed: str) -> None:
    # at the limit: no size problem (the tokens may still contradict one another; that is another check)
    try:
        parse_record(complete_b_all(**{field: full}))
    except RecordError as error:
        assert all("at most" not in p.allowed or "list" not in p.allowed for p in error.problems), error
    more = [*full, extra if extra is not None else _relapses(limits.RELAPSES_MAX_ITEMS + 1)[-1]]
    got, message = _problem(complete_b_all(**{field: more}))
    assert got == field and message.endswith(f"expected a list of {allowed}")


def test_relapse_sites_have_a_limit() -> None:
    every = complete_b_all(relapses=[{"months_from_diagnosis": 30, "sites": list(RELAPSE_SITES)}], sex="male")
    assert parse_record(every).relapses is not None
    more = complete_b_all(relapses=[{"months_from_diagnosis": 30, "sites": [*RELAPSE_SITES, "cns"]}], sex="male")
    assert _problem(more) == (
        "relapses[0].sites",
        'relapse 1: where the relapse was found: ["bone_marrow", "cns", "testis", "other", "cns"] is not allowed; '
        f"expected a list of at most {len(RELAPSE_SITES)} sites, each at most once",
    )


@pytest.mark.parametrize(
    ("field", "item", "most"),
    [("courses", COURSE, limits.COURSES_MAX_ITEMS), ("radiation", BEAM, limits.RADIATION_MAX_ITEMS)],
)
def test_exposure_lists_have_a_limit(field: str, item: dict[str, Any], most: int) -> None:
    record = complete_b_all(birth_date="2016-01-01", age_years=None, diagnosis_date="2020-01-01")
    exposures = parse_record({**record, "exposures": {field: [item] * most}}).exposures
    assert exposures is not None and len(getattr(exposures, field)) == most
    got, message = _problem({**record, "exposures": {field: [item] * (most + 1)}})
    assert got == f"exposures.{field}"
    assert message.endswith(
        f"expected a list of at most {most:,} {'courses' if field == 'courses' else 'radiation courses'}"
    )
    assert len(message) < 250


def test_an_oversized_record_is_refused_at_once() -> None:
    """A million bad tokens used to take 14 s and give a million problems; now it is one problem, at once."""
    started = time.perf_counter()
    with pytest.raises(RecordError) as caught:
        parse_record(complete_b_all(genetics=["not-a-token"] * 1_000_000))
    assert time.perf_counter() - started < 0.5
    assert caught.value.fields == ["genetics"]


def test_no_more_than_the_reported_number_of_problems() -> None:
    courses = [{"drug": "aspirin", "date": "yesterday"}] * limits.COURSES_MAX_ITEMS
    with pytest.raises(RecordError) as caught:
        parse_record(complete_b_all(exposures={"courses": courses}))
    assert len(caught.value.problems) == limits.PROBLEMS_MAX_REPORTED


def test_unfinite_numbers_are_refused_by_the_record_itself() -> None:
    """The record refuses NaN and infinity whatever read the JSON (the command line, a Python caller)."""
    for value in (float("nan"), float("inf"), float("-inf"), 10**400):
        field, message = _problem(complete_b_all(wbc_per_ul=value))
        assert field == "wbc_per_ul" and "at least 200 and at most 2,000,000" in message


def test_a_quoted_value_is_never_longer_than_the_limit() -> None:
    for value in ("x" * 10_000, ["x" * 1000] * 1000, {"k" * 500: "v" * 500}, 10**5000):
        field, message = _problem(complete_b_all(sex=value))
        assert field == "sex"
        quoted = message.split(": ", 1)[1].split(" is not allowed")[0]
        assert len(quoted) <= SHOWN_CHARS
