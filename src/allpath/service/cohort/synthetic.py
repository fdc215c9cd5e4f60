"""A synthetic cohort of childhood-ALL records, with outcomes, for demonstrations and benchmarks (issue 15).

The records follow the distributions of ``synthetic_cohort.yaml`` (each figure cited there; no number here is
clinical) and arrive in blocks of ``BLOCK_ROWS`` rows, each a table of ``TABLE_SCHEMA`` beside a table of
outcomes keyed by ``row``. A block's random numbers come from ``(seed, block number)`` alone, so the same seed
gives the same cohort and ten million rows never sit in memory at once.

Outcomes come from constant hazards: each record falls into the first outcome group whose conditions hold; its
first event (relapse or death in remission) comes after an exponential time with the group's hazard, a relapse
with ``relapse_share_of_events``; after a relapse, death comes after an exponential time with the hazard of
``survival_after_relapse``. Follow-up is uniform between the file's bounds and censors later events. A record
whose relapse falls within its follow-up carries that relapse (months from diagnosis and site), as a registry
record would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from allpath.domain.cohort_table import RELAPSE, RESPONSE, ROW, TABLE_SCHEMA
from allpath.service.cohort.synthetic_parameters import (
    Categorical,
    MrdDistribution,
    OutcomeGroup,
    SyntheticParameters,
    load_parameters,
)

if TYPE_CHECKING:
    Column = pa.Array[Any]
else:
    Column = pa.Array

BLOCK_ROWS = 65_536
"""Rows generated together from one random stream (a unit of work, not a clinical figure)."""

ID_PREFIX = "SYNTHETIC-"
"""Every generated record's id starts with this, so that a single record still says it is synthetic."""

_MONTHS_PER_YEAR = 12
_TENTH_OF_A_MONTH = 0.1

EVENT_RELAPSE = "relapse"
EVENT_DEATH_IN_REMISSION = "death_in_remission"
EVENT_CENSORED = "censored"

_OUTCOME_FIELDS: list[pa.Field[Any]] = [
    pa.field(ROW, pa.int64(), nullable=False),
    pa.field("outcome_group", pa.string()),
    pa.field("efs_years", pa.float64()),
    pa.field("efs_event", pa.bool_()),
    pa.field("first_event", pa.string()),  # relapse, death_in_remission or censored: the competing risks
    pa.field("relapse_years", pa.float64()),  # null when no relapse was seen during follow-up
    pa.field("os_years", pa.float64()),
    pa.field("death", pa.bool_()),
]
OUTCOME_SCHEMA = pa.schema(_OUTCOME_FIELDS)
"""One row per record: event-free survival (time, event), its first event, relapse time, overall survival."""


@dataclass(frozen=True)
class SyntheticBlock:
    """One block of the cohort: the records and their outcomes, both numbered by ``row``."""

    records: pa.Table
    outcomes: pa.Table


@dataclass(frozen=True)
class _Draws:
    """The draws that both the outcomes and the record columns depend on: lineage, sex, age and white count."""

    is_t: np.ndarray
    is_male: np.ndarray
    age: np.ndarray
    wbc: np.ndarray


def generate(rows: int, seed: int, parameters: SyntheticParameters | None = None) -> Iterator[SyntheticBlock]:
    """The cohort of ``rows`` records, block by block (rows numbered from 1)."""
    if rows < 0:
        raise ValueError("the number of rows cannot be negative")
    figures = parameters or load_parameters()
    for block, first in enumerate(range(0, rows, BLOCK_ROWS)):
        size = min(BLOCK_ROWS, rows - first)
        rng = np.random.default_rng([seed, block])
        yield _block(rng, figures, first_row=first + 1, size=size)


def _block(rng: np.random.Generator, figures: SyntheticParameters, first_row: int, size: int) -> SyntheticBlock:
    row = pa.array(np.arange(first_row, first_row + size, dtype=np.int64))
    is_t = rng.random(size) < figures.t_lineage_share.value
    is_male = rng.random(size) < figures.male_share.value
    age = _ages(rng, figures, size)
    wbc = np.where(is_t, _log_normal(rng, figures, "T", size), _log_normal(rng, figures, "B", size))
    draws = _Draws(is_t=is_t, is_male=is_male, age=age, wbc=wbc)
    outcomes, relapse_years = _outcomes(rng, figures, draws, row)
    records = _records(rng, figures, draws, row, relapse_years)
    return SyntheticBlock(records=records, outcomes=outcomes)


def _ages(rng: np.random.Generator, figures: SyntheticParameters, size: int) -> np.ndarray:
    bands = figures.age_years.bands
    weights = np.array([band.weight for band in bands])
    chosen = rng.choice(len(bands), size=size, p=weights / weights.sum())
    low = np.array([band.low for band in bands])[chosen]
    high = np.array([band.high for band in bands])[chosen]
    # Hundredths of a year, rounded down so that an age stays inside its band.
    return np.asarray(np.floor((low + rng.random(size) * (high - low)) * 100) / 100, dtype=float)


def _log_normal(rng: np.random.Generator, figures: SyntheticParameters, lineage: str, size: int) -> np.ndarray:
    shape = figures.wbc_per_ul.B if lineage == "B" else figures.wbc_per_ul.T
    values = rng.lognormal(mean=np.log(shape.median), sigma=shape.sigma, size=size)
    return np.asarray(np.round(np.clip(values, shape.low, shape.high)), dtype=float)


def _pick(rng: np.random.Generator, distribution: Categorical, size: int) -> np.ndarray:
    weights = np.array([item.weight for item in distribution.items])
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _tokens(indices: np.ndarray, vocabulary: Sequence[str]) -> Column:
    return pc.take(pa.array(list(vocabulary), pa.string()), pa.array(indices))


def _mrd(rng: np.random.Generator, distribution: MrdDistribution, size: int) -> np.ndarray:
    bands = distribution.bands
    weights = np.array([band.weight for band in bands])
    chosen = rng.choice(len(bands), size=size, p=weights / weights.sum())
    detected = np.array([band.high > 0 for band in bands])[chosen]
    # An undetected band stands in as 0..1 and gives the value 0; a detected one is log-uniform from low to high,
    # to four decimals as a laboratory reports it.
    low = np.array([band.low if band.high > 0 else 1 for band in bands])[chosen]
    high = np.array([band.high if band.high > 0 else 1 for band in bands])[chosen]
    spread = np.clip(np.round(low * (high / low) ** rng.random(size), 4), low, high)
    return np.where(detected, spread, 0.0)


def _group_of(figures: SyntheticParameters, draws: _Draws) -> np.ndarray:
    """The index of the first outcome group whose conditions hold (-1 for none)."""
    chosen = np.full(draws.age.shape, -1, dtype=np.int64)
    for index, group in enumerate(figures.outcome_groups):
        holds = (chosen == -1) & _conditions(group, draws)
        chosen[holds] = index
    return chosen


def _conditions(group: OutcomeGroup, draws: _Draws) -> np.ndarray:
    holds = np.ones(draws.age.shape, dtype=bool)
    if group.immunophenotype is not None:
        holds &= draws.is_t == (group.immunophenotype == "T")
    if group.age_at_least is not None:
        holds &= draws.age >= group.age_at_least
    if group.age_below is not None:
        holds &= draws.age < group.age_below
    if group.wbc_below is not None:
        holds &= draws.wbc < group.wbc_below
    return holds


def group_hazards(figures: SyntheticParameters | None = None) -> dict[str, float]:
    """Each outcome group's event hazard per year, as the generator uses it (the truth a test checks against)."""
    chosen = figures or load_parameters()
    return {group.id: group.efs.hazard_per_year for group in chosen.outcome_groups}


def _outcomes(
    rng: np.random.Generator, figures: SyntheticParameters, draws: _Draws, row: Column
) -> tuple[pa.Table, np.ndarray]:
    size = len(draws.age)
    group = _group_of(figures, draws)
    if (group < 0).any():
        raise ValueError("a generated record falls into no outcome group; the last group should have no condition")
    hazards = np.array([g.efs.hazard_per_year for g in figures.outcome_groups])[group]
    event_time = rng.exponential(1 / hazards)
    is_relapse = rng.random(size) < figures.relapse_share_of_events.value
    follow_up = rng.uniform(figures.follow_up_years.low, figures.follow_up_years.high, size)
    after_relapse = rng.exponential(1 / figures.survival_after_relapse.hazard_per_year, size)
    seen = event_time <= follow_up
    death_time = np.where(is_relapse, event_time + after_relapse, event_time)
    died = death_time <= follow_up
    first_event = np.where(seen, np.where(is_relapse, 0, 1), 2)
    relapse_years = np.where(seen & is_relapse, event_time, np.nan)
    columns = [
        row,
        _tokens(group, [g.id for g in figures.outcome_groups]),
        pa.array(np.minimum(event_time, follow_up)),
        pa.array(seen),
        _tokens(first_event, [EVENT_RELAPSE, EVENT_DEATH_IN_REMISSION, EVENT_CENSORED]),
        pa.array(relapse_years, mask=np.isnan(relapse_years)),
        pa.array(np.minimum(death_time, follow_up)),
        pa.array(died),
    ]
    return pa.Table.from_arrays(columns, schema=OUTCOME_SCHEMA), relapse_years


def _genetics(rng: np.random.Generator, figures: SyntheticParameters, draws: _Draws) -> Column:
    """One finding per B-lineage record (infants: KMT2A or none); T-lineage records have none recorded."""
    size = len(draws.age)
    vocabulary = [item.token for item in figures.genetics_b.items]
    picked = _pick(rng, figures.genetics_b, size)
    infant_kmt2a = rng.random(size) < figures.infant_kmt2a_share.value
    is_infant = draws.age < figures.infant_kmt2a_share.below_age_years
    kmt2a = vocabulary.index("KMT2A_rearranged")
    none_detected = vocabulary.index("none_detected")
    picked = np.where(is_infant, np.where(infant_kmt2a, kmt2a, none_detected), picked)
    return _lists(np.arange(size + 1), _tokens(picked, vocabulary), null=draws.is_t)


def _relapses(rng: np.random.Generator, figures: SyntheticParameters, draws: _Draws, years: np.ndarray) -> Column:
    size = len(years)
    relapsed = ~np.isnan(years)
    vocabulary = [item.token for item in figures.relapse_sites.items]
    site = _pick(rng, figures.relapse_sites, size)
    # A girl has no testis: her extramedullary relapse is a CNS relapse.
    site = np.where((site == vocabulary.index("testis")) & ~draws.is_male, vocabulary.index("cns"), site)
    kept = np.flatnonzero(relapsed)
    relapse = pa.StructArray.from_arrays(
        [
            # Tenths of a month; a relapse is found after the diagnosis, so never at month 0.
            pa.array(np.maximum(np.round(years[kept] * _MONTHS_PER_YEAR, 1), _TENTH_OF_A_MONTH)),
            _lists(np.arange(len(kept) + 1), _tokens(site[kept], vocabulary), null=np.zeros(len(kept), bool)),
            pa.nulls(len(kept), pa.float64()),
        ],
        fields=list(RELAPSE),
    )
    return _lists(np.concatenate([[0], np.cumsum(relapsed)]), relapse, null=~relapsed)


def _lists(offsets: np.ndarray, values: Column, null: np.ndarray) -> Column:
    """A list column: row i holds ``values[offsets[i]:offsets[i + 1]]``, or null where ``null`` is true."""
    starts: Column = pa.array(offsets.astype(np.int32), pa.int32())
    made: Column = pa.ListArray.from_arrays(starts, values, mask=pa.array(null, pa.bool_()))  # type: ignore[call-overload]
    return made


def _ids(row: Column) -> Column:
    """``SYNTHETIC-000000001`` and so on: the prefix, then the row number in nine digits."""
    digits = pc.utf8_lpad(pc.cast(row, pa.string()), 9, "0")
    prefix: Column = pa.repeat(pa.scalar(ID_PREFIX, pa.string()), len(row))
    joined: Column = pc.binary_join_element_wise(prefix, digits, "")  # type: ignore[call-overload]
    return joined


def _records(
    rng: np.random.Generator, figures: SyntheticParameters, draws: _Draws, row: Column, relapse_years: np.ndarray
) -> pa.Table:
    size = len(draws.age)
    is_b = ~draws.is_t
    cns_vocabulary = [item.token for item in figures.cns_status.B.items]
    cns_b = _pick(rng, figures.cns_status.B, size)
    t_as_b = np.array([cns_vocabulary.index(item.token) for item in figures.cns_status.T.items])
    cns_t = t_as_b[_pick(rng, figures.cns_status.T, size)]
    day8 = _mrd(rng, figures.mrd_day8_blood, size)
    end_of_induction = _mrd(rng, figures.mrd_end_of_induction, size)
    testicular = draws.is_male & (rng.random(size) < figures.testicular_share_of_boys.value)
    down = is_b & (rng.random(size) < figures.down_syndrome_share_b.value)
    columns: dict[str, Column] = {
        ROW: row,
        "id": _ids(row),
        "sex": _tokens(np.where(draws.is_male, 0, 1), ["male", "female"]),
        "age_years": pa.array(draws.age),
        "immunophenotype": _tokens(draws.is_t.astype(np.int64), ["B", "T"]),
        "wbc_per_ul": pa.array(draws.wbc),
        "genetics": _genetics(rng, figures, draws),
        "cns_status": _tokens(np.where(draws.is_t, cns_t, cns_b), cns_vocabulary),
        "testicular_involvement": pa.array(testicular),
        "down_syndrome": pa.array(down),
        "response": pa.StructArray.from_arrays(
            [
                pa.array(day8, mask=draws.is_t),  # day-8 blood MRD is a B-lineage measure (COG)
                pa.array(end_of_induction),
                pa.nulls(size, pa.bool_()),
                pa.nulls(size, pa.float64()),
            ],
            fields=list(RESPONSE),
        ),
        "relapses": _relapses(rng, figures, draws, relapse_years),
    }
    arrays = [columns[field.name] if field.name in columns else pa.nulls(size, field.type) for field in TABLE_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=TABLE_SCHEMA)
