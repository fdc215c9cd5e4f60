"""The record checks of ``parse_record``, column by column, for tables of ``RECORD_SCHEMA`` (issue 15: a million
rows a second). Pure validation of the table contract (``cohort_table``) against the record contract's limits and
vocabularies, so that every path that reads such a table checks it the same way: the local Parquet reader
(``interfaces/cohort/parquet_input``) and the Spark path (``service/cohort/spark``), per Arrow batch.

``settled`` says which rows of a batch are valid beyond doubt: every check ``parse_record`` makes of them
(ranges from ``domain/limits``, vocabularies from ``domain/vocabulary``, sizes, the consistency checks, the
age from the dates) holds. Every other row goes through ``parse_record`` itself, so that a row is refused
exactly as ``parse_record`` refuses it, with the same fields named. Rows with recorded exposures are left to
``parse_record`` (their checks are many and such rows are few). ``tests/cohort`` proves with hypothesis
that a settled row is one ``parse_record`` accepts, with the same values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from allpath.domain import limits
from allpath.domain.limits import Limit
from allpath.domain.vocabulary import GENETIC_TOKENS, PHENOTYPES, PREDISPOSITION_TOKENS, RELAPSE_SITES
from allpath.errors import FieldProblem

Mask = npt.NDArray[np.bool_]
if TYPE_CHECKING:
    Column = pa.Array[Any]
else:
    Column = pa.Array


def _f(function: str, *args: object, options: pc.FunctionOptions | None = None) -> Column:
    """An Arrow compute function on whole columns (one typed door for the many functions the checks use)."""
    result: Column = pc.call_function(function, list(args), options)
    return result


def _column(table: pa.Table, name: str) -> Column:
    return table.column(name).combine_chunks()


def _numbers(values: Column, fill: object) -> npt.NDArray[Any]:
    return np.asarray(_f("coalesce", values, pa.scalar(fill, values.type)).to_numpy(zero_copy_only=False))


_SITES = RELAPSE_SITES
_NONE_DETECTED = GENETIC_TOKENS.index("none_detected")
_TOKEN_LISTS = {"genetics": GENETIC_TOKENS, "predisposition_syndromes": PREDISPOSITION_TOKENS}
_CHOICES = {"sex": ("female", "male"), "immunophenotype": ("B", "T"), "cns_status": ("CNS1", "CNS2", "CNS3")}
_RANGES = {
    "age_years": limits.AGE_YEARS,
    "weight_kg": limits.WEIGHT_KG,
    "height_cm": limits.HEIGHT_CM,
    "wbc_per_ul": limits.WBC_PER_UL,
}
_MRD_FIELDS = ("day8_blood_mrd_pct", "end_of_induction_marrow_mrd_pct", "end_of_consolidation_mrd_pct")
_DATES = ("birth_date", "diagnosis_date", "treatment_start_date", "end_of_therapy_date")


def _mask(values: Column, when_null: bool = True) -> Mask:
    return np.asarray(_numbers(values, when_null), dtype=np.bool_)


def _within(values: Column, limit: Limit) -> Mask:
    """True where the value is missing or inside the limit (NaN is outside: no comparison holds for it)."""
    above_low = _f("greater_equal", values, pa.scalar(limit.low))
    below_high = _f("less_equal" if limit.high_inclusive else "less", values, pa.scalar(limit.high))
    return _mask(_f("and", above_low, below_high))


def _one_of(values: Column, allowed: tuple[str, ...]) -> Mask:
    known = _f("is_in", values, options=pc.SetLookupOptions(pa.array(allowed)))
    return _mask(_f("or", _f("is_null", values), known))


def _struct_child(values: Column, name: str) -> Column:
    """A child of a struct column, missing where the struct itself is missing."""
    child = _f("struct_field", values, options=pc.StructFieldOptions(name))
    return _f("if_else", _f("is_null", values), pa.nulls(len(values), child.type), child)


def _lengths(values: Column) -> Column:
    return _f("list_value_length", values)


def _tokens_ok(values: Column, allowed: tuple[str, ...], non_empty: bool) -> Mask:
    """A token list: missing, or each token allowed and given once (and, for genetics, not empty and
    "none_detected" alone)."""
    lengths = _lengths(values)
    ok = _mask(_f("less_equal", lengths, pa.scalar(len(allowed), lengths.type)))
    if non_empty:
        ok &= _mask(_f("greater", lengths, pa.scalar(0, lengths.type)))
    parents = np.asarray(_f("list_parent_indices", values).to_numpy(zero_copy_only=False), dtype=np.int64)
    codes = _f("index_in", _f("list_flatten", values), options=pc.SetLookupOptions(pa.array(allowed)))
    code_values = np.asarray(_numbers(codes, -1), dtype=np.int64)
    ok[parents[code_values < 0]] = False  # a token not allowed (or a missing token)
    width = len(allowed) + 1
    counts = np.bincount(parents * width + code_values + 1, minlength=len(values) * width)
    ok[np.flatnonzero(counts > 1) // width] = False  # a token given twice in one list
    if allowed is GENETIC_TOKENS:
        long = _mask(_f("greater", lengths, pa.scalar(1, lengths.type)), when_null=False)
        ok[parents[(code_values == _NONE_DETECTED) & long[parents]]] = False
    return ok


def _dates_ok(table: pa.Table) -> Mask:
    """Dates in the allowed span, none before the birth, treatment after the diagnosis and in order."""
    earliest = pa.scalar(limits.EARLIEST_DATE, pa.date32())
    latest = pa.scalar(limits.LATEST_DATE, pa.date32())
    birth = _column(table, "birth_date")
    ok = np.ones(table.num_rows, dtype=np.bool_)
    for name in _DATES:
        day = _column(table, name)
        ok &= _mask(_f("and", _f("greater_equal", day, earliest), _f("less_equal", day, latest)))
        if name != "birth_date":
            ok &= _mask(_f("greater_equal", day, birth))
    start = _column(table, "treatment_start_date")
    ok &= _mask(_f("greater_equal", start, _column(table, "diagnosis_date")))
    ok &= _mask(_f("greater_equal", _column(table, "end_of_therapy_date"), start))
    return ok


# Calendar arithmetic on whole arrays of integers (the proleptic Gregorian calendar, as Python's ``date``),
# after H. Hinnant's "chrono-compatible low-level date algorithms"; numpy's datetime64 conversions are far slower.
_DAYS_0000_TO_1970 = 719_468
_DAYS_PER_ERA = 146_097  # 400 years


def _calendar(days: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """Year, month and day of days since 1970."""
    z = days + _DAYS_0000_TO_1970
    era = z // _DAYS_PER_ERA
    day_of_era = z - era * _DAYS_PER_ERA
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # March = 0
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def _days_since_1970(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    march_year = year - (month <= 2)
    era = march_year // 400
    year_of_era = march_year - era * 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return np.asarray(era * _DAYS_PER_ERA + day_of_era - _DAYS_0000_TO_1970, dtype=np.int64)


def _birthday(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The birthday in ``year`` as days since 1970 (29 February falls on 28 February in other years, as
    ``domain.age``)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _days_since_1970(year, month, np.where((month == 2) & (day == 29) & ~leap, 28, day))


def _days(values: Column) -> npt.NDArray[np.int64]:
    """Days since 1970 of a date column (a missing date as day 0: the caller uses only rows with both dates)."""
    as_days = _f("cast", values, options=pc.CastOptions(pa.int32()))
    return np.asarray(_numbers(as_days, 0), dtype=np.int64)


def ages_from_dates(birth: Column, diagnosis: Column) -> npt.NDArray[np.float64]:
    """``domain.age.decimal_age_years`` for whole columns, with the same float arithmetic (where both dates are
    given and the diagnosis is not before the birth; elsewhere the value is meaningless)."""
    born, on = _days(birth), _days(diagnosis)
    birth_year, birth_month, birth_day = _calendar(born)
    years = _calendar(on)[0] - birth_year
    years -= (_birthday(birth_year + years, birth_month, birth_day) > on).astype(np.int64)
    last = _birthday(birth_year + years, birth_month, birth_day)
    following = _birthday(birth_year + years + 1, birth_month, birth_day)
    return np.asarray(years + (on - last) / (following - last), dtype=np.float64)


def _simple_columns_ok(table: pa.Table) -> Mask:
    ok = _mask(_f("less_equal", _f("utf8_length", _column(table, "id")), pa.scalar(limits.ID_MAX_CHARS, pa.int32())))
    for name, allowed in _CHOICES.items():
        ok &= _one_of(_column(table, name), allowed)
    for name, limit in _RANGES.items():
        ok &= _within(_column(table, name), limit)
    female = _mask(_f("equal", _column(table, "sex"), pa.scalar("female")), when_null=False)
    ok &= ~(female & _mask(_column(table, "testicular_involvement"), when_null=False))
    response = _column(table, "response")
    for name in _MRD_FIELDS:
        ok &= _within(_struct_child(response, name), limits.MRD_PCT)
    genotype = _column(table, "pharmacogenomics")
    for name in ("tpmt", "nudt15"):
        ok &= _one_of(_struct_child(genotype, name), PHENOTYPES)
    for name, allowed in _TOKEN_LISTS.items():
        ok &= _tokens_ok(_column(table, name), allowed, non_empty=name == "genetics")
    return ok


def _has_items(values: Column) -> Mask:
    lengths = _lengths(values)
    return _mask(_f("greater", lengths, pa.scalar(0, lengths.type)), when_null=False)


def _relapses_ok(table: pa.Table) -> Mask:
    """Relapses: at most ``RELAPSES_MAX_ITEMS``, each dated after the diagnosis within the limit and later than the
    one before, its block-1 MRD within the limit, its sites allowed, not empty, each once, testis only for a boy.
    A relapse without its month is left to ``parse_record`` (the order then skips it)."""
    relapses = _column(table, "relapses")
    lengths = _lengths(relapses)
    ok = _mask(_f("less_equal", lengths, pa.scalar(limits.RELAPSES_MAX_ITEMS, lengths.type)))
    parents = np.asarray(_f("list_parent_indices", relapses).to_numpy(zero_copy_only=False), dtype=np.int64)
    each = _f("list_flatten", relapses)
    months = _f("struct_field", each, options=pc.StructFieldOptions("months_from_diagnosis"))
    each_ok = _mask(_f("is_valid", each), when_null=False) & _mask(_f("is_valid", months), when_null=False)
    each_ok &= _mask(_f("greater", months, pa.scalar(limits.RELAPSE_MONTHS.low)), when_null=False)
    each_ok &= _within(months, limits.RELAPSE_MONTHS)
    each_ok &= _within(_f("struct_field", each, options=pc.StructFieldOptions("end_of_block1_mrd_pct")), limits.MRD_PCT)
    month_values = np.asarray(_numbers(months, 0.0), dtype=np.float64)
    same_child = parents[1:] == parents[:-1]
    each_ok[1:] &= ~same_child | (month_values[1:] > month_values[:-1])
    sites = _f("struct_field", each, options=pc.StructFieldOptions("sites"))
    sites_ok = _tokens_ok(sites, _SITES, non_empty=True)
    female = _mask(_f("equal", _column(table, "sex"), pa.scalar("female")), when_null=False)
    site_parents = np.asarray(_f("list_parent_indices", sites).to_numpy(zero_copy_only=False), dtype=np.int64)
    testis = np.asarray(_f("equal", _f("list_flatten", sites), pa.scalar("testis")).to_numpy(zero_copy_only=False))
    sites_ok[site_parents[np.asarray(testis, dtype=np.bool_) & female[parents][site_parents]]] = False
    ok[parents[~(each_ok & sites_ok)]] = False
    return ok


def _left_to_parse_record(table: pa.Table) -> Mask:
    """Rows with recorded exposures: ``parse_record`` checks them (their checks are many, such rows are few)."""
    exposures = _column(table, "exposures")
    return _has_items(_struct_child(exposures, "courses")) | _has_items(_struct_child(exposures, "radiation"))


def settled(table: pa.Table) -> tuple[Mask, npt.NDArray[np.float64], Mask]:
    """For a table of ``RECORD_SCHEMA``: which rows are valid beyond doubt, the age from the dates, and where
    that age replaces ``age_years`` (both dates given), as ``parse_record`` fills it."""
    ok = _simple_columns_ok(table) & _dates_ok(table) & _relapses_ok(table) & ~_left_to_parse_record(table)
    birth, diagnosis = _column(table, "birth_date"), _column(table, "diagnosis_date")
    dated = _mask(_f("greater_equal", diagnosis, birth), when_null=False)
    ages = ages_from_dates(birth, diagnosis)
    given = _column(table, "age_years")
    has_given = _mask(_f("is_valid", given), when_null=False)
    disagree = has_given & ~(
        np.abs(ages - np.asarray(_numbers(given, 0.0), dtype=np.float64)) < limits.AGE_AGREEMENT_YEARS
    )
    too_old = ~((ages >= limits.AGE_YEARS.low) & (ages < limits.AGE_YEARS.high))
    ok &= ~(dated & (disagree | too_old))
    return ok, ages, dated


def with_ages(table: pa.Table, ages: npt.NDArray[np.float64], dated: Mask) -> pa.Table:
    """``table`` with ``age_years`` from the dates where both are given (``settled``'s ages), as ``parse_record``
    fills it."""
    filled = _f("if_else", pa.array(dated), pa.array(ages, type=pa.float64()), _column(table, "age_years"))
    return table.set_column(table.schema.get_field_index("age_years"), "age_years", filled)


UNREADABLE = "expected a value this field can hold; the Parquet cell could not be read"


def rows_as_values(subset: pa.Table) -> list[dict[str, object] | FieldProblem]:
    """Each row as the JSON-like value ``parse_record`` reads (a date a Python date cannot hold is a problem)."""
    try:
        return [dict(row) for row in subset.to_pylist()]
    except (ValueError, OverflowError):
        return [_one_row(subset.slice(i, 1)) for i in range(subset.num_rows)]


def _one_row(row: pa.Table) -> dict[str, object] | FieldProblem:
    values: dict[str, object] = {}
    for name in row.column_names:
        try:
            values[name] = row.column(name).to_pylist()[0]
        except (ValueError, OverflowError):
            # A date beyond the years a calendar date can hold (date32 reaches far past year 9999).
            return FieldProblem(name, None, UNREADABLE)
    return values
