"""The typed patient record (contract version 1): the models that ``parse_record`` validates into."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from allpath.domain.vocabulary import (
    ExposureDrug,
    GeneticToken,
    Phenotype,
    PredispositionToken,
    RadiationSite,
    RelapseSite,
    Route,
)

_CALENDAR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """Accept only an ISO calendar date string (YYYY-MM-DD); leave anything else to fail typing.

    ``date.fromisoformat`` also reads week dates (2020-W01-1) and compact forms, which the contract does
    not allow, so the shape is checked first.
    """
    if isinstance(value, str) and _CALENDAR_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _list_as_tuple(value: Any) -> Any:
    """JSON has lists; records hold tuples so that a validated record cannot be changed."""
    return tuple(value) if isinstance(value, list) else value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Genetics = Annotated[tuple[GeneticToken, ...], BeforeValidator(_list_as_tuple)]
Predispositions = Annotated[tuple[PredispositionToken, ...], BeforeValidator(_list_as_tuple)]
Sites = Annotated[tuple[RelapseSite, ...], BeforeValidator(_list_as_tuple)]

# allow_inf_nan=False: NaN and infinity are no measurement, and no JSON answer could carry them.
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Response(BaseModel):
    """Response to the first treatment (minimal residual disease, MRD, in percent of cells)."""

    model_config = _STRICT

    day8_blood_mrd_pct: float | None = None
    end_of_induction_marrow_mrd_pct: float | None = None
    end_of_induction_remission: bool | None = None
    end_of_consolidation_mrd_pct: float | None = None


class Relapse(BaseModel):
    """One relapse, dated from the original diagnosis. A relapse known only as such (an EHR's "in relapse"
    diagnosis without its date or sites) leaves ``months_from_diagnosis`` or ``sites`` out: they are unknown,
    and the assessment lists them as missing."""

    model_config = _STRICT

    months_from_diagnosis: float | None = None
    sites: Sites | None = None
    end_of_block1_mrd_pct: float | None = None


class Pharmacogenomics(BaseModel):
    """Thiopurine-metabolism phenotypes, as a laboratory reports them (CPIC terms)."""

    model_config = _STRICT

    tpmt: Phenotype | None = None
    nudt15: Phenotype | None = None


class Course(BaseModel):
    """One administered dose (or one day's dose) of a drug. Anthracycline totals need ``dose_mg_per_m2``."""

    model_config = _STRICT

    drug: ExposureDrug
    date: IsoDate
    dose_mg_per_m2: float | None = None
    dose_mg: float | None = None
    route: Route | None = None


class Radiation(BaseModel):
    """One course of radiation therapy: the site, the total dose in gray and the date it ended."""

    model_config = _STRICT

    site: RadiationSite
    dose_gy: float | None = None
    date: IsoDate | None = None


class Exposures(BaseModel):
    """Treatment actually given, for the survivorship plan (planned exposures come from the roadmap)."""

    model_config = _STRICT

    courses: Annotated[tuple[Course, ...], BeforeValidator(_list_as_tuple)] | None = None
    radiation: Annotated[tuple[Radiation, ...], BeforeValidator(_list_as_tuple)] | None = None


class PatientRecord(BaseModel):
    """A validated patient record. ``age_years`` is filled from the dates when only dates are given."""

    model_config = _STRICT

    id: str | None = None
    sex: Literal["female", "male"] | None = None
    age_years: float | None = None
    birth_date: IsoDate | None = None
    diagnosis_date: IsoDate | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    immunophenotype: Literal["B", "T"] | None = None
    wbc_per_ul: float | None = None
    genetics: Genetics | None = None
    cns_status: Literal["CNS1", "CNS2", "CNS3"] | None = None
    testicular_involvement: bool | None = None
    down_syndrome: bool | None = None
    predisposition_syndromes: Predispositions | None = None
    steroid_pretreatment: bool | None = None
    response: Response | None = None
    relapses: Annotated[tuple[Relapse, ...], BeforeValidator(_list_as_tuple)] | None = None
    refractory: bool | None = None
    # Extensions of contract v1 (all optional): treatment dates, genotype and exposures for the roadmap,
    # the dose calculator and the survivorship plan.
    treatment_start_date: IsoDate | None = None
    end_of_therapy_date: IsoDate | None = None
    pharmacogenomics: Pharmacogenomics | None = None
    exposures: Exposures | None = None


FIELD_NAMES: tuple[str, ...] = tuple(PatientRecord.model_fields)

NESTED_FIELDS = {
    "": FIELD_NAMES,
    "response": tuple(Response.model_fields),
    "relapses[]": tuple(Relapse.model_fields),
    "pharmacogenomics": tuple(Pharmacogenomics.model_fields),
    "exposures": tuple(Exposures.model_fields),
    "exposures.courses[]": tuple(Course.model_fields),
    "exposures.radiation[]": tuple(Radiation.model_fields),
}
