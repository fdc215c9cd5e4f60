"""The synthetic cohort generator's figures (``synthetic_cohort.yaml``), validated.

Every number the generator draws from lives in that file with its source and a confidence of "H" or "M" (an
unverified figure, "L", is refused), so the code holds no clinical number. Shares of one distribution must add up
to 1 (to within rounding); a cited source must be listed under ``sources``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from allpath.errors import KnowledgeError

PARAMETERS_FILE = Path(__file__).with_name("synthetic_cohort.yaml")
_SUM_TOLERANCE = 0.002  # shares printed to three or four decimals add up to 1 within this

Confidence = Literal["H", "M"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    cite: str = Field(min_length=1)
    url: str | None = None


class _Cited(_Frozen):
    source: str
    confidence: Confidence
    note: str = ""


class Share(_Cited):
    value: float = Field(ge=0, le=1)


class InfantShare(Share):
    """A share that holds for infants: children younger than ``below_age_years``."""

    below_age_years: float = Field(gt=0)


class AgeBand(_Frozen):
    low: float = Field(ge=0)
    high: float
    weight: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        if self.high <= self.low:
            raise ValueError("an age band ends after it starts")
        return self


class AgeDistribution(_Cited):
    bands: list[AgeBand] = Field(min_length=1)


class LogNormal(_Cited):
    """A log-normal distribution (median and sigma of the logarithm), clipped to ``[low, high]``."""

    median: float = Field(gt=0)
    sigma: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)


class Weighted(_Frozen):
    token: str
    weight: float = Field(ge=0, le=1)
    source: str | None = None  # a source of its own, when it is not the distribution's


class Categorical(_Cited):
    items: list[Weighted] = Field(min_length=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> Categorical:
        _check_sum([item.weight for item in self.items])
        return self


class MrdBand(_Frozen):
    """``low == high == 0`` is "not detected"; otherwise log-uniform from ``low`` (included) to ``high``."""

    low: float = Field(ge=0, le=100)
    high: float = Field(ge=0, le=100)
    weight: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> MrdBand:
        undetected = self.low == 0 and self.high == 0
        if not undetected and not 0 < self.low < self.high:
            raise ValueError("an MRD band is either 0..0 (not detected) or low < high with low above 0")
        return self


class MrdDistribution(_Cited):
    bands: list[MrdBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> MrdDistribution:
        _check_sum([band.weight for band in self.bands])
        return self


class SurvivalAt(_Cited):
    """A published survival probability at a time; it gives a constant hazard ``-ln(survival) / years``."""

    survival: float = Field(gt=0, lt=1)
    years: float = Field(gt=0)

    @property
    def hazard_per_year(self) -> float:
        return -math.log(self.survival) / self.years


class OutcomeGroup(_Frozen):
    """A group of records with its own event hazard; a condition left out holds for every record."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    immunophenotype: Literal["B", "T"] | None = None
    age_at_least: float | None = None
    age_below: float | None = None
    wbc_below: float | None = None
    efs: SurvivalAt


class FollowUp(_Frozen):
    low: float = Field(ge=0)
    high: float = Field(gt=0)


class ByLineage(_Frozen):
    B: LogNormal
    T: LogNormal


class CnsByLineage(_Frozen):
    B: Categorical
    T: Categorical

    @model_validator(mode="after")
    def _same_tokens(self) -> CnsByLineage:
        if {item.token for item in self.B.items} != {item.token for item in self.T.items}:
            raise ValueError("both lineages list the same CNS statuses")
        return self


class SyntheticParameters(_Frozen):
    notice: str = Field(min_length=1)
    sources: dict[str, Source]
    age_years: AgeDistribution
    male_share: Share
    t_lineage_share: Share
    wbc_per_ul: ByLineage
    genetics_b: Categorical
    infant_kmt2a_share: InfantShare
    down_syndrome_share_b: Share
    cns_status: CnsByLineage
    testicular_share_of_boys: Share
    mrd_end_of_induction: MrdDistribution
    mrd_day8_blood: MrdDistribution
    outcome_groups: list[OutcomeGroup] = Field(min_length=1)
    relapse_share_of_events: Share
    survival_after_relapse: SurvivalAt
    relapse_sites: Categorical
    follow_up_years: FollowUp

    @model_validator(mode="after")
    def _sources_listed(self) -> SyntheticParameters:
        unknown = sorted(name for name in self.cited_sources() if name not in self.sources)
        if unknown:
            raise ValueError(f"figures cite sources that are not listed: {', '.join(unknown)}")
        ids = [group.id for group in self.outcome_groups]
        if len(set(ids)) != len(ids):
            raise ValueError("outcome group ids must differ")
        return self

    def cited_sources(self) -> set[str]:
        cited: set[str] = set()
        for value in self.__dict__.values():
            cited |= _sources_of(value)
        return cited


def _sources_of(value: object) -> set[str]:
    if isinstance(value, list):
        return {name for item in value for name in _sources_of(item)}
    if not isinstance(value, BaseModel):
        return set()
    found = {name for name in (getattr(value, "source", None),) if isinstance(name, str)}
    for child in value.__dict__.values():
        found |= _sources_of(child)
    return found


def _check_sum(weights: list[float]) -> None:
    if abs(sum(weights) - 1) > _SUM_TOLERANCE:
        raise ValueError(f"the shares add up to {sum(weights):.4f}, not 1")


def parse_parameters(raw: object) -> SyntheticParameters:
    """Validate decoded YAML; a problem is a ``KnowledgeError`` naming the file and the field."""
    try:
        return SyntheticParameters.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise KnowledgeError(f"{PARAMETERS_FILE.name}: {where}: {first['msg']}") from None


@lru_cache(maxsize=1)
def load_parameters() -> SyntheticParameters:
    """The generator's figures, read once."""
    return parse_parameters(yaml.safe_load(PARAMETERS_FILE.read_text(encoding="utf-8")))
