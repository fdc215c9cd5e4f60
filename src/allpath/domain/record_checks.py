"""The checks of a patient record beyond its types: sizes, ranges, fields that contradict each other, the age
from the dates, and the words that say what each field allows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from pydantic import ValidationError

from allpath.domain import limits
from allpath.domain.age import decimal_age_years
from allpath.domain.record_model import FIELD_NAMES, NESTED_FIELDS, PatientRecord
from allpath.domain.vocabulary import (
    EXPOSURE_DRUGS,
    GENETIC_TOKENS,
    PHENOTYPES,
    PREDISPOSITION_TOKENS,
    RADIATION_SITES,
    RELAPSE_SITES,
    ROUTES,
)
from allpath.errors import ABSENT, FieldProblem, RecordError

_DATE_ALLOWED = f"expected an ISO date (YYYY-MM-DD) from {limits.EARLIEST_DATE} to {limits.LATEST_DATE}"
_ALLOWED: dict[str, str] = {
    "id": f"expected a string identifier of at most {limits.ID_MAX_CHARS} characters",
    "sex": 'expected "female" or "male"',
    "age_years": f"expected {limits.AGE_YEARS.describe()}",
    "birth_date": f"expected an ISO date (YYYY-MM-DD) from {limits.EARLIEST_DATE} to {limits.LATEST_DATE}",
    "diagnosis_date": f"expected an ISO date (YYYY-MM-DD) from {limits.EARLIEST_DATE} to {limits.LATEST_DATE}",
    "weight_kg": f"expected {limits.WEIGHT_KG.describe()}",
    "height_cm": f"expected {limits.HEIGHT_CM.describe()}",
    "immunophenotype": 'expected "B" or "T"',
    "wbc_per_ul": f"expected {limits.WBC_PER_UL.describe()}",
    "genetics": "expected a list of tokens from: " + ", ".join(GENETIC_TOKENS),
    "cns_status": 'expected "CNS1", "CNS2" or "CNS3"',
    "testicular_involvement": "expected true or false",
    "down_syndrome": "expected true or false",
    "predisposition_syndromes": "expected a list of tokens from: " + ", ".join(PREDISPOSITION_TOKENS),
    "steroid_pretreatment": "expected true or false",
    "response": "expected an object with day8_blood_mrd_pct, end_of_induction_marrow_mrd_pct, "
    "end_of_induction_remission, end_of_consolidation_mrd_pct",
    "response.day8_blood_mrd_pct": f"expected {limits.MRD_PCT.describe()}",
    "response.end_of_induction_marrow_mrd_pct": f"expected {limits.MRD_PCT.describe()}",
    "response.end_of_induction_remission": "expected true or false",
    "response.end_of_consolidation_mrd_pct": f"expected {limits.MRD_PCT.describe()}",
    "relapses": "expected a list of relapse objects, oldest first",
    "relapses[].months_from_diagnosis": f"expected {limits.RELAPSE_MONTHS.describe()}",
    "relapses[].sites": "expected a non-empty list of sites from: " + ", ".join(RELAPSE_SITES),
    "relapses[].end_of_block1_mrd_pct": f"expected {limits.MRD_PCT.describe()}",
    "refractory": "expected true or false",
    "treatment_start_date": "expected the ISO date (YYYY-MM-DD) of the first day of induction, "
    f"from {limits.EARLIEST_DATE} to {limits.LATEST_DATE}",
    "end_of_therapy_date": "expected the ISO date (YYYY-MM-DD) of the last day of treatment, "
    f"from {limits.EARLIEST_DATE} to {limits.LATEST_DATE}",
    "pharmacogenomics": "expected an object with tpmt and nudt15",
    "pharmacogenomics.tpmt": "expected a phenotype from: " + ", ".join(PHENOTYPES),
    "pharmacogenomics.nudt15": "expected a phenotype from: " + ", ".join(PHENOTYPES),
    "exposures": "expected an object with courses and radiation",
    "exposures.courses": "expected a list of course objects (drug, date, dose_mg_per_m2 or dose_mg, route)",
    "exposures.courses[].drug": "expected a drug from: " + ", ".join(EXPOSURE_DRUGS),
    "exposures.courses[].date": _DATE_ALLOWED,
    "exposures.courses[].dose_mg_per_m2": f"expected {limits.COURSE_DOSE_MG_PER_M2.describe()}",
    "exposures.courses[].dose_mg": f"expected {limits.COURSE_DOSE_MG.describe()}",
    "exposures.courses[].route": "expected a route from: " + ", ".join(ROUTES),
    "exposures.radiation": "expected a list of radiation objects (site, dose_gy, date)",
    "exposures.radiation[].site": "expected a site from: " + ", ".join(RADIATION_SITES),
    "exposures.radiation[].dose_gy": f"expected {limits.RADIATION_GY.describe()}",
    "exposures.radiation[].date": _DATE_ALLOWED,
}
_SHOWN_KEY_CHARS = 40


def _path(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Turn a pydantic location into (shown path, lookup key without list indices)."""
    shown = ""
    key = ""
    for part in loc:
        if isinstance(part, int):
            shown += f"[{part}]"
            key += "[]"
        else:
            # An unknown key is quoted as its field: shortened, like every value a message quotes.
            name = part if len(part) <= _SHOWN_KEY_CHARS else part[: _SHOWN_KEY_CHARS - 3] + "..."
            shown += ("." if shown else "") + name
            key += ("." if key else "") + part
    return shown, key


def _allowed_for(key: str) -> str:
    if key in _ALLOWED:
        return _ALLOWED[key]
    # A list element: the allowed text of the list describes its elements.
    trimmed = key[:-2] if key.endswith("[]") else key
    return _ALLOWED.get(trimmed, "see the patient record contract (design.md)")


def problems_from(error: ValidationError) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for item in error.errors():
        loc = tuple(item["loc"])
        shown, key = _path(loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            parent_key = key.rsplit(".", 1)[0] if "." in key else ""
            known = ", ".join(NESTED_FIELDS.get(parent_key, FIELD_NAMES))
            allowed = f"unknown field; the allowed fields here are: {known}"
        elif kind == "missing":
            allowed = "this field is required; " + _allowed_for(key)
            item["input"] = ABSENT
        else:
            allowed = _allowed_for(key)
        if shown in seen:
            # A union (e.g. float | None) reports one failure per member; one message is enough.
            continue
        seen.add(shown)
        problems.append(FieldProblem(shown or "record", item.get("input"), allowed))
        if len(problems) == limits.PROBLEMS_MAX_REPORTED:
            break
    return problems


def size_problems(data: Mapping[str, object]) -> list[FieldProblem]:
    """Strings and lists longer than the record allows (``limits``), found before anything else is checked:
    an oversized record is refused at the cost of a glance, not of validating every element."""
    problems: list[FieldProblem] = []

    def too_long(path: str, value: object, most: int, items: str) -> bool:
        if isinstance(value, list) and len(value) > most:
            problems.append(FieldProblem(path, value, f"expected a list of at most {most:,} {items}"))
            return True
        return False

    ident = data.get("id")
    if isinstance(ident, str) and len(ident) > limits.ID_MAX_CHARS:
        problems.append(FieldProblem("id", ident, _ALLOWED["id"]))
    too_long("genetics", data.get("genetics"), len(GENETIC_TOKENS), "tokens, each at most once")
    too_long(
        "predisposition_syndromes",
        data.get("predisposition_syndromes"),
        len(PREDISPOSITION_TOKENS),
        "tokens, each at most once",
    )
    relapses = data.get("relapses")
    if not too_long("relapses", relapses, limits.RELAPSES_MAX_ITEMS, "relapses") and isinstance(relapses, list):
        for i, relapse in enumerate(relapses):
            if isinstance(relapse, dict):
                too_long(f"relapses[{i}].sites", relapse.get("sites"), len(RELAPSE_SITES), "sites, each at most once")
    exposures = data.get("exposures")
    if isinstance(exposures, dict):
        too_long("exposures.courses", exposures.get("courses"), limits.COURSES_MAX_ITEMS, "courses")
        too_long("exposures.radiation", exposures.get("radiation"), limits.RADIATION_MAX_ITEMS, "radiation courses")
    return problems


def range_problems(record: PatientRecord) -> list[FieldProblem]:
    problems: list[FieldProblem] = []

    def check(name: str, value: float | None, limit: limits.Limit) -> None:
        if value is not None and not limit.contains(value):
            problems.append(FieldProblem(name, value, f"expected {limit.describe()}"))

    check("age_years", record.age_years, limits.AGE_YEARS)
    check("weight_kg", record.weight_kg, limits.WEIGHT_KG)
    check("height_cm", record.height_cm, limits.HEIGHT_CM)
    wbc = record.wbc_per_ul
    if wbc is not None and 0 < wbc < limits.WBC_UNIT_MISTAKE_BELOW and limits.WBC_PER_UL.contains(wbc * 1000):
        problems.append(
            FieldProblem(
                "wbc_per_ul",
                wbc,
                f"expected {limits.WBC_PER_UL.describe()}; this looks like a count in 10^9/L "
                f"(thousands per microliter): if so, enter {limits.number(wbc * 1000)} cells per microliter",
            )
        )
    else:
        check("wbc_per_ul", wbc, limits.WBC_PER_UL)
    if record.response is not None:
        r = record.response
        check("response.day8_blood_mrd_pct", r.day8_blood_mrd_pct, limits.MRD_PCT)
        check("response.end_of_induction_marrow_mrd_pct", r.end_of_induction_marrow_mrd_pct, limits.MRD_PCT)
        check("response.end_of_consolidation_mrd_pct", r.end_of_consolidation_mrd_pct, limits.MRD_PCT)
    for i, relapse in enumerate(record.relapses or ()):
        check(f"relapses[{i}].months_from_diagnosis", relapse.months_from_diagnosis, limits.RELAPSE_MONTHS)
        check(f"relapses[{i}].end_of_block1_mrd_pct", relapse.end_of_block1_mrd_pct, limits.MRD_PCT)
    exposures = record.exposures
    for i, course in enumerate((exposures.courses if exposures else None) or ()):
        check(f"exposures.courses[{i}].dose_mg_per_m2", course.dose_mg_per_m2, limits.COURSE_DOSE_MG_PER_M2)
        check(f"exposures.courses[{i}].dose_mg", course.dose_mg, limits.COURSE_DOSE_MG)
    for i, beam in enumerate((exposures.radiation if exposures else None) or ()):
        check(f"exposures.radiation[{i}].dose_gy", beam.dose_gy, limits.RADIATION_GY)
    return problems


def _duplicates(items: tuple[str, ...]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if x in seen or seen.add(x)]  # type: ignore[func-returns-value]


def _dates(record: PatientRecord) -> list[tuple[str, date | None]]:
    """Every calendar date of a record with its field path."""
    found: list[tuple[str, date | None]] = [
        (name, getattr(record, name))
        for name in ("birth_date", "diagnosis_date", "treatment_start_date", "end_of_therapy_date")
    ]
    exposures = record.exposures
    for i, course in enumerate((exposures.courses if exposures else None) or ()):
        found.append((f"exposures.courses[{i}].date", course.date))
    for i, beam in enumerate((exposures.radiation if exposures else None) or ()):
        found.append((f"exposures.radiation[{i}].date", beam.date))
    return found


def consistency_problems(record: PatientRecord) -> list[FieldProblem]:
    """Checks across fields: things that cannot all be true of one child."""
    checks = (_token_problems, _identity_problems, _date_problems, _radiation_problems, _relapse_problems)
    return [problem for check in checks for problem in check(record)]


def _radiation_problems(record: PatientRecord) -> list[FieldProblem]:
    """Testicular radiation only for a boy."""
    if record.sex != "female" or not record.exposures or not record.exposures.radiation:
        return []
    return [
        FieldProblem(f"exposures.radiation[{i}].site", beam.site, 'only possible when sex is "male"')
        for i, beam in enumerate(record.exposures.radiation)
        if beam.site == "testicular"
    ]


def _token_problems(record: PatientRecord) -> list[FieldProblem]:
    """Token lists: each token once; genetics not empty, and "none_detected" alone."""
    problems: list[FieldProblem] = []
    for name in ("genetics", "predisposition_syndromes"):
        tokens: tuple[str, ...] | None = getattr(record, name)
        if not tokens or len(tokens) == 1:
            continue  # nothing repeated (the usual case, found without a set)
        dups = _duplicates(tokens)
        if dups:
            problems.append(FieldProblem(name, list(tokens or ()), f"each token at most once (repeated: {dups[0]})"))
    if record.genetics is not None and not record.genetics:
        problems.append(
            FieldProblem(
                "genetics",
                [],
                'a non-empty list: use ["none_detected"] when the tests found no change, or leave the field '
                "out while results are pending",
            )
        )
    if record.genetics and "none_detected" in record.genetics and len(record.genetics) > 1:
        problems.append(
            FieldProblem("genetics", list(record.genetics), '"none_detected" cannot be combined with findings')
        )
    return problems


def _identity_problems(record: PatientRecord) -> list[FieldProblem]:
    """The identifier is valid text; testicular involvement only for a boy."""
    problems: list[FieldProblem] = []
    if record.sex == "female" and record.testicular_involvement:
        problems.append(
            FieldProblem("testicular_involvement", True, 'only possible when sex is "male" (sex is "female")')
        )
    if record.id is not None:
        try:
            record.id.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(FieldProblem("id", record.id, "expected a string of valid Unicode text"))
    return problems


def _date_problems(record: PatientRecord) -> list[FieldProblem]:
    """Dates within the allowed span, none before the birth, and treatment in the order it happens."""
    problems: list[FieldProblem] = []
    dates = _dates(record)
    for name, day in dates:
        if day is not None and not limits.EARLIEST_DATE <= day <= limits.LATEST_DATE:
            key = re.sub(r"\[\d+\]", "[]", name)
            problems.append(FieldProblem(name, day.isoformat(), _ALLOWED[key]))
    if record.birth_date is not None:
        birth = record.birth_date
        problems += [
            FieldProblem(name, day.isoformat(), "a date on or after the date of birth")
            for name, day in dates
            if name != "birth_date" and day is not None and day < birth
        ]
    start, end = record.treatment_start_date, record.end_of_therapy_date
    if record.diagnosis_date and start and start < record.diagnosis_date:
        problems.append(
            FieldProblem("treatment_start_date", start.isoformat(), "a date on or after the date of diagnosis")
        )
    if start and end and end < start:
        problems.append(
            FieldProblem("end_of_therapy_date", end.isoformat(), "a date on or after the first day of treatment")
        )
    return problems


def _relapse_problems(record: PatientRecord) -> list[FieldProblem]:
    """Each relapse: sites given once each (testis only for a boy), after the diagnosis, oldest first."""
    problems: list[FieldProblem] = []
    previous = None
    for i, relapse in enumerate(record.relapses or ()):
        sites = relapse.sites if relapse.sites is not None else ()
        if relapse.sites is not None and not sites:
            problems.append(FieldProblem(f"relapses[{i}].sites", [], _ALLOWED["relapses[].sites"]))
        dups = _duplicates(sites)
        if dups:
            problems.append(FieldProblem(f"relapses[{i}].sites", list(sites), f"each site at most once ({dups[0]})"))
        if relapse.months_from_diagnosis == limits.RELAPSE_MONTHS.low:
            # A relapse is leukemia that comes back after treatment, so it cannot be found on the day of diagnosis.
            problems.append(
                FieldProblem(
                    f"relapses[{i}].months_from_diagnosis",
                    relapse.months_from_diagnosis,
                    "a relapse comes back after treatment, so it is found more than 0 months after the diagnosis",
                )
            )
        if record.sex == "female" and "testis" in sites:
            problems.append(FieldProblem(f"relapses[{i}].sites", list(sites), '"testis" only when sex is "male"'))
        months = relapse.months_from_diagnosis
        if previous is not None and months is not None and months <= previous:
            problems.append(
                FieldProblem(
                    f"relapses[{i}].months_from_diagnosis",
                    relapse.months_from_diagnosis,
                    f"relapses oldest first: later than the previous relapse ({limits.number(previous)} months)",
                )
            )
        previous = months if months is not None else previous
    return problems


def with_age_from_dates(record: PatientRecord) -> PatientRecord:
    """Fill or cross-check ``age_years`` from ``birth_date`` and ``diagnosis_date``."""
    if record.birth_date is None or record.diagnosis_date is None:
        return record
    if record.diagnosis_date < record.birth_date:
        return record  # reported by the consistency checks
    from_dates = decimal_age_years(record.birth_date, record.diagnosis_date)
    if record.age_years is not None and abs(from_dates - record.age_years) >= limits.AGE_AGREEMENT_YEARS:
        raise RecordError(
            [
                FieldProblem(
                    "age_years",
                    record.age_years,
                    f"an age that agrees with the date of birth and the date of diagnosis ({from_dates:.2f} years), "
                    "or give only the age or only the dates",
                )
            ]
        )
    if not limits.AGE_YEARS.contains(from_dates):
        raise RecordError(
            [
                FieldProblem(
                    "diagnosis_date",
                    record.diagnosis_date.isoformat(),
                    f"a date that gives an age at diagnosis below {limits.number(limits.AGE_YEARS.high)} years "
                    f"(these dates give {from_dates:.2f} years)",
                )
            ]
        )
    # The dates are the more precise statement of the age (when both are given they agree).
    return record.model_copy(update={"age_years": from_dates})
