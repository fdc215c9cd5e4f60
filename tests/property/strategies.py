"""Hypothesis strategies for patient records v1 (design.md, "Patient record, version 1").

``valid_records`` draws records that the contract and the plausibility limits of ``allpath.domain.limits``
accept: any subset of the fields, realistic values, and the cross-field rules kept (no testicular disease
or testis relapse in a girl, relapses oldest first, dates that agree with the age).

``invalid_records`` takes a valid record and applies exactly one corruption. It returns an ``Invalid``:
the corrupted record, the dotted path the error must name (as record.py prints it, e.g. ``wbc_per_ul``,
``response.day8_blood_mrd_pct``, ``relapses[0].sites[1]``) and the kind of corruption, for reading
failures.

The strategies are written from the contract, not from the engine: they do not import ``allpath`` except
for the token lists and limits that *are* the contract.
"""

from __future__ import annotations

import copy
import os
import re
from datetime import date, timedelta
from typing import Any, NamedTuple

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from allpath.domain import limits
from allpath.domain.labels import field_label
from allpath.domain.vocabulary import GENETIC_TOKENS, PREDISPOSITION_TOKENS, RELAPSE_SITES
from allpath.errors import _as_json  # how messages write a value (JSON words), shared rather than copied

# One settings object for every in-process property test: fast, no deadline (the first call loads the
# knowledge base), and no reproduction blob printed. ALLPATH_PROPERTY_EXAMPLES raises the number of
# examples for a deeper run (e.g. nightly); the default keeps tests/property under a minute.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("ALLPATH_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    derandomize=False,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)

TOP_LEVEL_FIELDS: tuple[str, ...] = (
    "id",
    "sex",
    "age_years",
    "birth_date",
    "diagnosis_date",
    "weight_kg",
    "height_cm",
    "immunophenotype",
    "wbc_per_ul",
    "genetics",
    "cns_status",
    "testicular_involvement",
    "down_syndrome",
    "predisposition_syndromes",
    "steroid_pretreatment",
    "response",
    "relapses",
    "refractory",
)
RESPONSE_FIELDS: tuple[str, ...] = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)
RELAPSE_FIELDS: tuple[str, ...] = ("months_from_diagnosis", "sites", "end_of_block1_mrd_pct")
FINDINGS: tuple[str, ...] = tuple(t for t in GENETIC_TOKENS if t != "none_detected")
AGE_FIELDS: tuple[str, ...] = ("age_years", "birth_date", "diagnosis_date")

RISK_ORDER: dict[str | None, int] = {"standard": 0, "high": 1, "very_high": 2}
COG_ORDER: dict[str | None, int] = {"low": 0, "average": 1, "high": 2, "very_high": 3}


# --------------------------------------------------------------------------------------------------
# Numbers: realistic values, with the clinical thresholds and the contract limits over-represented.
# --------------------------------------------------------------------------------------------------


def _number(
    low: float, high: float, *, exclude_high: bool = False, places: int = 2, special: tuple[float, ...] = ()
) -> Any:
    """Floats (rounded as a person types them), whole numbers and boundary values within [low, high]."""

    def in_range(x: float) -> bool:
        return low <= x < high if exclude_high else low <= x <= high

    floats = st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda x: round(x, places))
    ints = st.integers(int(low) if float(low).is_integer() else int(low) + 1, int(high))
    boundary = st.sampled_from([low, *special] + ([] if exclude_high else [high]))
    return st.one_of(floats, ints, boundary).filter(in_range)


AGES = _number(0, 40, exclude_high=True, special=(0.5, 0.99, 1, 1.01, 9.99, 10, 12.99, 13, 14.99, 15, 39.99))
WBC = _number(
    limits.WBC_UNIT_MISTAKE_BELOW,
    limits.WBC_PER_UL.high,
    places=0,
    special=(201, 1_000, 49_999, 50_000, 50_001, 100_000, 1_999_999),
)
WEIGHT = _number(limits.WEIGHT_KG.low, limits.WEIGHT_KG.high, places=1, special=(3.5, 20))
HEIGHT = _number(limits.HEIGHT_CM.low, limits.HEIGHT_CM.high, places=1, special=(50, 110))
MRD = _number(0, 100, places=4, special=(0.0001, 0.001, 0.0099, 0.01, 0.0101, 0.099, 0.1, 0.5, 0.99, 1, 5))
MRD_NEGATIVE = st.one_of(st.sampled_from([0, 0.0, 0.0001, 0.001, 0.005, 0.0099]), st.floats(0, 0.0099))
MRD_POSITIVE = st.one_of(st.sampled_from([0.01, 0.0101, 0.1, 1, 5, 50, 100]), st.floats(0.01, 100))
# A relapse comes after the diagnosis: month 0 is refused (the smallest month typed with one decimal is 0.1).
MONTHS = _number(0.1, limits.RELAPSE_MONTHS.high, places=1, special=(17.9, 18, 35.9, 36))


# --------------------------------------------------------------------------------------------------
# Valid records
# --------------------------------------------------------------------------------------------------


def _distinct(tokens: tuple[str, ...], *, min_size: int = 0, max_size: int = 4) -> Any:
    return st.lists(st.sampled_from(tokens), min_size=min_size, max_size=max_size, unique=True)


GENETICS = st.one_of(st.just(["none_detected"]), _distinct(FINDINGS, min_size=1, max_size=4))
PREDISPOSITIONS = _distinct(PREDISPOSITION_TOKENS, max_size=3)


def approx_age(birth: date, diagnosis: date) -> float:
    """Age in years by days / 365.25: within a few thousandths of a year of the calendar-birthday age."""
    return (diagnosis - birth).days / 365.25


@st.composite
def date_pair(draw: Any, *, min_years: float = 0.0, max_years: float = 39.5) -> tuple[date, date]:
    """A birth date and a diagnosis date between ``min_years`` and ``max_years`` later."""
    birth = draw(st.dates(min_value=date(1980, 1, 1), max_value=date(2024, 12, 31)))
    days = draw(st.integers(int(min_years * 365.25), int(max_years * 365.25)))
    return birth, birth + timedelta(days=days)


@st.composite
def response_objects(draw: Any, *, complete: bool = False) -> dict[str, Any]:
    values = {
        "day8_blood_mrd_pct": MRD,
        "end_of_induction_marrow_mrd_pct": MRD,
        "end_of_induction_remission": st.booleans(),
        "end_of_consolidation_mrd_pct": MRD,
    }
    return {name: draw(strategy) for name, strategy in values.items() if complete or draw(st.booleans())}


@st.composite
def relapse_lists(draw: Any, *, female: bool, min_size: int = 1, max_size: int = 3) -> list[dict[str, Any]]:
    count = draw(st.integers(min_size, max_size))
    months = sorted(draw(st.lists(MONTHS, min_size=count, max_size=count, unique=True)))
    sites_allowed = tuple(s for s in RELAPSE_SITES if not (female and s == "testis"))
    relapses = []
    for month in months:
        relapse: dict[str, Any] = {
            "months_from_diagnosis": month,
            "sites": draw(_distinct(sites_allowed, min_size=1, max_size=len(sites_allowed))),
        }
        if draw(st.booleans()):
            relapse["end_of_block1_mrd_pct"] = draw(MRD)
        relapses.append(relapse)
    return relapses


@st.composite
def valid_records(draw: Any, *, newly_diagnosed: bool = False, complete: bool = False) -> dict[str, Any]:
    """A valid patient record v1 (a JSON-ready dict).

    ``newly_diagnosed``: no relapse and no refractory disease. ``complete``: every input of a newly
    diagnosed child is given, response included (age as age_years, dates or both).
    """

    def present(name: str) -> bool:
        return complete or draw(st.booleans(), label=f"has {name}")

    record: dict[str, Any] = {}
    if not complete and draw(st.booleans()):
        record["id"] = draw(st.text(max_size=12))
    sex = draw(st.sampled_from(["female", "male"])) if present("sex") else None
    if sex is not None:
        record["sex"] = sex

    age_form = draw(st.sampled_from(["age", "dates", "both"] if complete else ["none", "age", "dates", "both", "one"]))
    if age_form == "age":
        record["age_years"] = draw(AGES)
    elif age_form in ("dates", "both", "one"):
        birth, diagnosis = draw(date_pair())
        record["birth_date"] = birth.isoformat()
        record["diagnosis_date"] = diagnosis.isoformat()
        if age_form == "both":
            # A typed age rounded to one or two places, off by at most 0.02 years: agrees within 0.05.
            offset = draw(st.sampled_from([0.0, -0.02, 0.02, 0.01]))
            record["age_years"] = max(0.0, round(approx_age(birth, diagnosis) + offset, draw(st.sampled_from([1, 2]))))
            if abs(record["age_years"] - approx_age(birth, diagnosis)) > 0.04:
                record["age_years"] = round(approx_age(birth, diagnosis), 2)
        elif age_form == "one":
            del record[draw(st.sampled_from(["birth_date", "diagnosis_date"]))]

    simple = {
        "weight_kg": WEIGHT,
        "height_cm": HEIGHT,
        "immunophenotype": st.sampled_from(["B", "T"]),
        "wbc_per_ul": WBC,
        "genetics": GENETICS,
        "cns_status": st.sampled_from(["CNS1", "CNS2", "CNS3"]),
        "testicular_involvement": st.just(False) if sex == "female" else st.booleans(),
        "down_syndrome": st.booleans(),
        "predisposition_syndromes": PREDISPOSITIONS,
        "steroid_pretreatment": st.booleans(),
    }
    for name, strategy in simple.items():
        if present(name):
            record[name] = draw(strategy)
    if present("response"):
        record["response"] = draw(response_objects(complete=complete))
    if not newly_diagnosed and not complete:
        if draw(st.booleans()):
            record["relapses"] = draw(relapse_lists(female=sex == "female", min_size=0))
        if draw(st.booleans()):
            record["refractory"] = draw(st.booleans())
    elif draw(st.booleans()):
        record["refractory"] = False
    return record


# --------------------------------------------------------------------------------------------------
# Invalid records: one corruption each
# --------------------------------------------------------------------------------------------------


class Invalid(NamedTuple):
    record: dict[str, Any]
    path: str  # the field path the error must name
    kind: str  # which corruption, to read a failure


# The JSON kind of each field, for wrong-type corruptions.
FIELD_KINDS: dict[str, str] = {
    "id": "string",
    "sex": "enum",
    "age_years": "number",
    "birth_date": "date",
    "diagnosis_date": "date",
    "weight_kg": "number",
    "height_cm": "number",
    "immunophenotype": "enum",
    "wbc_per_ul": "number",
    "genetics": "list",
    "cns_status": "enum",
    "testicular_involvement": "boolean",
    "down_syndrome": "boolean",
    "predisposition_syndromes": "list",
    "steroid_pretreatment": "boolean",
    "response": "object",
    "relapses": "list",
    "refractory": "boolean",
    "response.day8_blood_mrd_pct": "number",
    "response.end_of_induction_marrow_mrd_pct": "number",
    "response.end_of_induction_remission": "boolean",
    "response.end_of_consolidation_mrd_pct": "number",
    "relapses[].months_from_diagnosis": "number",
    "relapses[].sites": "list",
    "relapses[].end_of_block1_mrd_pct": "number",
    "relapses[]": "object",
    "genetics[]": "enum",
    "predisposition_syndromes[]": "enum",
    "relapses[].sites[]": "enum",
}

_NUMBERISH_STRINGS = ["5", "10000", "0.01", "12,000", "", "abc", "NaN", "1e3", " 4 "]
WRONG_TYPE_VALUES: dict[str, Any] = {
    "number": st.one_of(
        st.sampled_from(_NUMBERISH_STRINGS),
        st.booleans(),
        st.just([]),
        st.lists(st.integers(0, 9), min_size=1, max_size=2),
        st.just({}),
        st.just({"value": 5}),
    ),
    "boolean": st.one_of(
        st.sampled_from([0, 1, 2, 0.0, 1.0, "true", "false", "yes", "", [], [True], {}]),
    ),
    "string": st.one_of(st.integers(-5, 5), st.floats(0, 10, allow_nan=False), st.booleans(), st.just([]), st.just({})),
    "enum": st.one_of(st.integers(0, 3), st.booleans(), st.just(["B"]), st.just({}), st.floats(0, 1)),
    "list": st.one_of(
        st.just({}),
        st.just({"0": "bone_marrow"}),
        st.sampled_from(["bone_marrow", "iAMP21", "", "cns"]),
        st.integers(0, 3),
        st.booleans(),
    ),
    "object": st.one_of(st.just([]), st.just([{}]), st.sampled_from(["", "ok"]), st.integers(0, 3), st.booleans()),
    "date": st.one_of(
        st.sampled_from(
            ["2020/01/05", "05-01-2020", "2020-1-5", "2020-02-30", "2021-13-01", "20200105", "yesterday", ""]
        ),
        st.integers(2000, 2025),
        st.booleans(),
        st.just([2020, 1, 5]),
        st.just({"year": 2020}),
    ),
}

UNKNOWN_KEY_TYPOS = {
    "": ["wbc", "WBC_per_ul", "age", "Age_years", "genetic", "mrd", "cns", "dob", "sex_", "response_", "relapse"],
    "response": ["day8_mrd_pct", "day29_marrow_mrd_pct", "eoi_mrd", "remission", "day8_blood_mrd"],
    "relapse": ["month_from_diagnosis", "months", "site", "block1_mrd_pct", "date"],
}
UNKNOWN_TOKENS = {
    "genetics": ["ETV6-RUNX1", "etv6::runx1", "BCR-ABL1", "hyperdiploidy", "KMT2A", "Ph+", "none", "normal", ""],
    "predisposition_syndromes": ["NF1", "down_syndrome", "Fanconi", "lynch", "none", ""],
    "sites": ["marrow", "CNS", "testes", "skin", "bone marrow", ""],
}


def _identifier(known: tuple[str, ...], typos: list[str]) -> Any:
    return st.one_of(st.sampled_from(typos), st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True)).filter(
        lambda k: k not in known
    )


def _scalar() -> Any:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-10, 100_000), st.floats(0, 100, allow_nan=False), st.text(max_size=8)
    )


def _ensure_relapses(draw: Any, record: dict[str, Any], min_size: int = 1) -> list[dict[str, Any]]:
    relapses = record.get("relapses") or []
    if len(relapses) < min_size:
        relapses = draw(relapse_lists(female=record.get("sex") == "female", min_size=min_size))
        record["relapses"] = relapses
    return relapses


def _wrong_type(draw: Any, record: dict[str, Any]) -> Invalid:
    target = draw(st.sampled_from(sorted(FIELD_KINDS)), label="wrong-type target")
    bad = draw(WRONG_TYPE_VALUES[FIELD_KINDS[target]], label="wrong-type value")
    if target.startswith("response."):
        name = target.split(".", 1)[1]
        record["response"] = {**(record.get("response") or {}), name: bad}
        return Invalid(record, target, f"wrong type ({FIELD_KINDS[target]})")
    if target.startswith("relapses[]"):
        relapses = _ensure_relapses(draw, record)
        i = draw(st.integers(0, len(relapses) - 1))
        path = f"relapses[{i}]"
        if target == "relapses[]":
            relapses[i] = bad
        elif target == "relapses[].sites[]":
            j = draw(st.integers(0, len(relapses[i]["sites"])))
            relapses[i]["sites"].insert(j, bad)
            path += f".sites[{j}]"
        else:
            name = target.split(".", 1)[1]
            relapses[i][name] = bad
            path += f".{name}"
        return Invalid(record, path, f"wrong type ({FIELD_KINDS[target]})")
    if target.endswith("[]"):
        name = target[:-2]
        tokens = list(record.get(name) or [])
        j = draw(st.integers(0, len(tokens)))
        tokens.insert(j, bad)
        record[name] = tokens
        return Invalid(record, f"{name}[{j}]", "wrong type (list element)")
    record[target] = bad
    return Invalid(record, target, f"wrong type ({FIELD_KINDS[target]})")


def _out_of_range(draw: Any, record: dict[str, Any]) -> Invalid:
    choice = draw(
        st.sampled_from(
            [
                "wbc_negative",
                "wbc_unit_mistake",
                "wbc_too_high",
                "age_too_high",
                "age_negative",
                "weight",
                "height",
                "mrd_response",
                "mrd_block1",
                "months_negative",
                "months_too_high",
            ]
        ),
        label="out-of-range target",
    )
    if choice == "wbc_negative":
        record["wbc_per_ul"] = draw(st.one_of(st.sampled_from([-1, -0.5, -50_000]), st.floats(-1e6, -1e-6)))
        return Invalid(record, "wbc_per_ul", choice)
    if choice == "wbc_unit_mistake":
        # 0 to just under 200: the typical "12.5" (10^9/L) typed into the per-microliter field.
        record["wbc_per_ul"] = draw(st.one_of(st.sampled_from([0, 1, 4.2, 12.5, 50, 199, 199.99]), st.floats(0, 199.9)))
        return Invalid(record, "wbc_per_ul", choice)
    if choice == "wbc_too_high":
        record["wbc_per_ul"] = draw(st.one_of(st.sampled_from([2_000_001, 1e7]), st.floats(2_000_000.5, 1e12)))
        return Invalid(record, "wbc_per_ul", choice)
    if choice == "age_too_high":
        record["age_years"] = draw(st.one_of(st.sampled_from([40, 40.0, 41, 99, 400]), st.floats(40, 1e4)))
        return Invalid(record, "age_years", choice)
    if choice == "age_negative":
        record["age_years"] = draw(st.one_of(st.sampled_from([-1, -0.01]), st.floats(-100, -1e-6)))
        return Invalid(record, "age_years", choice)
    if choice == "weight":
        record["weight_kg"] = draw(st.one_of(st.sampled_from([0, 0.49, 251, 1000, -3]), st.floats(250.01, 1e5)))
        return Invalid(record, "weight_kg", choice)
    if choice == "height":
        record["height_cm"] = draw(st.one_of(st.sampled_from([0, 24.9, 251, 1.2, -10]), st.floats(250.01, 1e5)))
        return Invalid(record, "height_cm", choice)
    bad_mrd = draw(st.one_of(st.sampled_from([100.01, 101, 1000, -0.01, -1]), st.floats(100.001, 1e6)))
    if choice == "mrd_response":
        name = draw(st.sampled_from([f for f in RESPONSE_FIELDS if f.endswith("_pct")]))
        record["response"] = {**(record.get("response") or {}), name: bad_mrd}
        return Invalid(record, f"response.{name}", choice)
    relapses = _ensure_relapses(draw, record)
    if choice == "mrd_block1":
        i = draw(st.integers(0, len(relapses) - 1))
        relapses[i]["end_of_block1_mrd_pct"] = bad_mrd
        return Invalid(record, f"relapses[{i}].end_of_block1_mrd_pct", choice)
    if choice == "months_negative":
        # Only the first relapse can go below zero without also breaking the order.
        relapses[0]["months_from_diagnosis"] = draw(st.one_of(st.just(-1), st.just(0), st.floats(-1000, -0.01)))
        return Invalid(record, "relapses[0].months_from_diagnosis", choice)
    last = len(relapses) - 1
    relapses[last]["months_from_diagnosis"] = draw(st.one_of(st.sampled_from([481, 1000]), st.floats(480.01, 1e5)))
    return Invalid(record, f"relapses[{last}].months_from_diagnosis", choice)


def _unknown_key(draw: Any, record: dict[str, Any]) -> Invalid:
    where = draw(st.sampled_from(["top", "response", "relapse"]), label="unknown-key place")
    value = draw(_scalar())
    if where == "top":
        key = draw(_identifier(TOP_LEVEL_FIELDS, UNKNOWN_KEY_TYPOS[""]))
        record[key] = value
        return Invalid(record, key, "unknown top-level key")
    if where == "response":
        key = draw(_identifier(RESPONSE_FIELDS, UNKNOWN_KEY_TYPOS["response"]))
        record["response"] = {**(record.get("response") or {}), key: value}
        return Invalid(record, f"response.{key}", "unknown key in response")
    relapses = _ensure_relapses(draw, record)
    i = draw(st.integers(0, len(relapses) - 1))
    key = draw(_identifier(RELAPSE_FIELDS, UNKNOWN_KEY_TYPOS["relapse"]))
    relapses[i][key] = value
    return Invalid(record, f"relapses[{i}].{key}", "unknown key in a relapse")


def _unknown_token(draw: Any, record: dict[str, Any]) -> Invalid:
    where = draw(st.sampled_from(["genetics", "predisposition_syndromes", "sites"]), label="unknown-token list")
    known = {"genetics": GENETIC_TOKENS, "predisposition_syndromes": PREDISPOSITION_TOKENS, "sites": RELAPSE_SITES}
    token = draw(
        st.one_of(st.sampled_from(UNKNOWN_TOKENS[where]), st.text(max_size=12)).filter(lambda t: t not in known[where])
    )
    if where == "sites":
        relapses = _ensure_relapses(draw, record)
        i = draw(st.integers(0, len(relapses) - 1))
        j = draw(st.integers(0, len(relapses[i]["sites"])))
        relapses[i]["sites"].insert(j, token)
        return Invalid(record, f"relapses[{i}].sites[{j}]", "unknown relapse site")
    tokens = list(record.get(where) or [])
    j = draw(st.integers(0, len(tokens)))
    tokens.insert(j, token)
    record[where] = tokens
    return Invalid(record, f"{where}[{j}]", f"unknown token in {where}")


def _list_rules(draw: Any, record: dict[str, Any]) -> Invalid:
    """Lists whose every token is known but which break a rule of the list: repeats, mixing, emptiness."""
    choice = draw(
        st.sampled_from(
            [
                "genetics_repeat",
                "none_detected_mixed",
                "genetics_empty",
                "predisposition_repeat",
                "sites_repeat",
                "no_sites",
            ]
        )
    )
    if choice == "genetics_empty":
        record["genetics"] = []
        return Invalid(record, "genetics", choice)
    if choice == "genetics_repeat":
        tokens = draw(_distinct(FINDINGS, min_size=1))
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(tokens)))
        record["genetics"] = tokens
        return Invalid(record, "genetics", choice)
    if choice == "none_detected_mixed":
        tokens = draw(_distinct(FINDINGS, min_size=1))
        tokens.insert(draw(st.integers(0, len(tokens))), "none_detected")
        record["genetics"] = tokens
        return Invalid(record, "genetics", choice)
    if choice == "predisposition_repeat":
        tokens = draw(_distinct(PREDISPOSITION_TOKENS, min_size=1))
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(tokens)))
        record["predisposition_syndromes"] = tokens
        return Invalid(record, "predisposition_syndromes", choice)
    relapses = _ensure_relapses(draw, record)
    i = draw(st.integers(0, len(relapses) - 1))
    if choice == "sites_repeat":
        sites = relapses[i]["sites"]
        sites.insert(draw(st.integers(0, len(sites))), draw(st.sampled_from(sites)))
    else:
        relapses[i]["sites"] = []
    return Invalid(record, f"relapses[{i}].sites", choice)


def _relapse_order(draw: Any, record: dict[str, Any]) -> Invalid:
    relapses = _ensure_relapses(draw, record, min_size=2)
    i = draw(st.integers(1, len(relapses) - 1))
    previous = relapses[i - 1]["months_from_diagnosis"]
    # Same month as the previous relapse, or earlier (never below 0, never below the one before that).
    floor = relapses[i - 2]["months_from_diagnosis"] if i >= 2 else 0
    relapses[i]["months_from_diagnosis"] = draw(
        st.one_of(st.just(previous), st.floats(floor, previous, exclude_min=i >= 2).map(lambda x: round(x, 1))).filter(
            lambda m: (i < 2 or m > floor) and m <= previous
        )
    )
    return Invalid(record, f"relapses[{i}].months_from_diagnosis", "relapses not oldest first")


def _female_testis(draw: Any, record: dict[str, Any]) -> Invalid:
    record["sex"] = "female"
    if draw(st.booleans(), label="testicular involvement (else a testis relapse)"):
        for relapse in record.get("relapses") or []:
            relapse["sites"] = [s for s in relapse["sites"] if s != "testis"] or ["bone_marrow"]
        record["testicular_involvement"] = True
        return Invalid(record, "testicular_involvement", "female with testicular involvement")
    if record.get("testicular_involvement"):
        record["testicular_involvement"] = False
    relapses = _ensure_relapses(draw, record)
    for relapse in relapses:
        relapse["sites"] = [s for s in relapse["sites"] if s != "testis"] or ["bone_marrow"]
    i = draw(st.integers(0, len(relapses) - 1))
    relapses[i]["sites"].insert(draw(st.integers(0, len(relapses[i]["sites"]))), "testis")
    return Invalid(record, f"relapses[{i}].sites", "female with a testis relapse")


def _dates(draw: Any, record: dict[str, Any]) -> Invalid:
    choice = draw(
        st.sampled_from(["birth_after_diagnosis", "age_disagrees", "dates_give_40_or_more", "date_outside_window"])
    )
    if choice == "date_outside_window":
        # A year typed wrongly (1899, 2200, 9999, 0020): only this date, so no other date rule applies.
        name, other = draw(st.sampled_from([("birth_date", "diagnosis_date"), ("diagnosis_date", "birth_date")]))
        day = draw(
            st.one_of(
                st.dates(max_value=limits.EARLIEST_DATE - timedelta(days=1)),
                st.dates(min_value=limits.LATEST_DATE + timedelta(days=1)),
                st.sampled_from([date(1899, 12, 31), date(2200, 1, 1), date(9999, 6, 1), date(20, 5, 4)]),
            )
        )
        record.pop(other, None)
        record[name] = day.isoformat()
        return Invalid(record, name, choice)
    if choice == "birth_after_diagnosis":
        diagnosis = draw(st.dates(min_value=date(1985, 1, 1), max_value=date(2025, 12, 31)))
        birth = diagnosis + timedelta(days=draw(st.integers(1, 5000)))
        record["birth_date"] = birth.isoformat()
        record["diagnosis_date"] = diagnosis.isoformat()
        return Invalid(record, "diagnosis_date", choice)
    if choice == "dates_give_40_or_more":
        birth, diagnosis = draw(date_pair(min_years=40.01, max_years=70))
        record.pop("age_years", None)
        record["birth_date"] = birth.isoformat()
        record["diagnosis_date"] = diagnosis.isoformat()
        return Invalid(record, "diagnosis_date", choice)
    birth, diagnosis = draw(date_pair())
    age = approx_age(birth, diagnosis)
    # A typed age a year or more away from the dates, still inside the 0-40 range of age_years.
    candidates = st.one_of(st.floats(0, 39.99), st.integers(0, 39)).filter(lambda a: abs(a - age) >= 1.01)
    record["birth_date"] = birth.isoformat()
    record["diagnosis_date"] = diagnosis.isoformat()
    record["age_years"] = draw(candidates)
    return Invalid(record, "age_years", choice)


CORRUPTIONS = {
    "wrong_type": _wrong_type,
    "out_of_range": _out_of_range,
    "unknown_key": _unknown_key,
    "unknown_token": _unknown_token,
    "list_rules": _list_rules,
    "relapse_order": _relapse_order,
    "female_testis": _female_testis,
    "dates": _dates,
}


@st.composite
def fewer_inputs(draw: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The same record with some inputs left out (a record from earlier in the work-up).

    Age is kept or left out as a whole (``age_years`` with its dates): the dates restate the age more
    precisely, so dropping only some of them changes the age rather than leaving it out.
    """
    smaller: dict[str, Any] = {}
    keep_age = draw(st.booleans(), label="keep age")
    for key, value in record.items():
        if key in AGE_FIELDS:
            if keep_age:
                smaller[key] = value
        elif key == "response":
            if draw(st.booleans(), label="keep response"):
                smaller[key] = {k: v for k, v in value.items() if draw(st.booleans(), label=f"keep {k}")}
        elif draw(st.booleans(), label=f"keep {key}"):
            smaller[key] = copy.deepcopy(value)
    return smaller


@st.composite
def one_input_fewer(draw: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The same record without one of its inputs (a top-level field, the age as a whole, or one response field)."""
    choices = sorted({"age" if key in AGE_FIELDS else key for key in record if key != "id"})
    choices += [f"response.{name}" for name in sorted(record.get("response") or {})]
    if not choices:
        return copy.deepcopy(record)
    dropped = draw(st.sampled_from(choices), label="input left out")
    smaller = copy.deepcopy(record)
    if dropped == "age":
        for key in AGE_FIELDS:
            smaller.pop(key, None)
    elif dropped.startswith("response."):
        del smaller["response"][dropped.split(".", 1)[1]]
    else:
        del smaller[dropped]
    return smaller


@st.composite
def invalid_records(draw: Any, *, kinds: tuple[str, ...] = tuple(CORRUPTIONS)) -> Invalid:
    """A valid record with exactly one corruption, and the field path its error must name."""
    record = copy.deepcopy(draw(valid_records()))
    kind = draw(st.sampled_from(kinds), label="corruption")
    return CORRUPTIONS[kind](draw, record)


# --------------------------------------------------------------------------------------------------
# Reading paths back: what the error should show for a named field
# --------------------------------------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
ABSENT = object()


def path_parts(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _PATH_PART.findall(path)]


def value_at(record: Any, path: str) -> Any:
    """The value a record holds at a dotted path, or ``ABSENT``."""
    node = record
    for part in path_parts(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return ABSENT
    return node


def is_same_or_ancestor(named: str, path: str) -> bool:
    """``named`` is ``path`` itself or a parent of it (``relapses[0]`` of ``relapses[0].sites[1]``)."""
    return named == path or path.startswith(named + ".") or path.startswith(named + "[")


def shown_forms(value: Any) -> list[str]:
    """How an error may show ``value``: repr as given, or as the float pydantic made of a whole number."""
    if value is ABSENT:
        return ["(absent)"]
    forms = [repr(value)]
    if isinstance(value, int) and not isinstance(value, bool):
        forms.append(repr(float(value)))
    if isinstance(value, float) and value.is_integer():
        forms.append(repr(int(value)))
    # Messages write values the way the record is typed (JSON words and double quotes).
    forms += [_as_json(f) for f in forms]
    return [f if len(f) <= 80 else f[:77] + "..." for f in forms]


def assert_names_the_field(message_lines: list[str], invalid: Invalid, prefix: str = "") -> None:
    """One line of the message is ``<prefix><path>: <value> is not allowed; <what is allowed>``.

    The line may name a parent of the corrupted field (``genetics`` for a repeated token), never another
    field; the value shown is the one the record holds at the path named.
    """
    named_lines = []
    for line in message_lines:
        assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
        rest = line[len(prefix) :]
        # Messages name a field by its label; find which of the path's ancestors (or itself) is named.
        ancestors = [invalid.path[:end] for end in range(len(invalid.path), 0, -1)]
        named_paths = [p for p in ancestors if p == invalid.path or invalid.path[len(p)] in ".["]
        # The command line adds the key in the record after the label; the web and the API do not.
        labels = {field_label(p): p for p in named_paths} | {
            f"{field_label(p)} (key {p} in the record)": p for p in named_paths
        }
        named = next((lab for lab in sorted(labels, key=len, reverse=True) if rest.startswith(lab + ": ")), None)
        field = labels[named] if named else rest.split(": ", 1)[0]
        assert is_same_or_ancestor(field, invalid.path), (
            f"{invalid.kind}: the message names {field!r}, expected {invalid.path!r}: {line!r}"
        )
        named_lines.append((field, rest[len(named or field) + 2 :]))
    assert named_lines, f"{invalid.kind}: empty message"
    for field, rest in named_lines:
        forms = shown_forms(value_at(invalid.record, field))
        assert any(rest.startswith(form + " is not allowed") for form in forms), (
            f"{invalid.kind}: {field}: value not shown as any of {forms}: {rest!r}"
        )
        allowed = rest.split(" is not allowed; ", 1)[1] if " is not allowed; " in rest else ""
        assert len(allowed) >= 10, f"{invalid.kind}: {field}: the message does not say what is allowed: {rest!r}"
