"""Patient record, version 1: the input contract of allpath (see design.md).

A record is a JSON object. Unknown keys are an error. Every field is optional; a field that is absent
(or JSON ``null``) is *missing*, and the engine lists it instead of guessing a value.

``parse_record`` is the only way in: it returns a complete, typed, immutable ``PatientRecord`` or raises
``RecordError`` naming each field, the value given and what is allowed. The models are in ``record_model``,
the checks beyond the types in ``record_checks``, the vocabularies in ``vocabulary``; they are imported here,
where every caller finds them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from allpath.domain import limits
from allpath.domain.record_checks import (
    consistency_problems,
    problems_from,
    range_problems,
    size_problems,
    with_age_from_dates,
)
from allpath.domain.record_model import FIELD_NAMES as FIELD_NAMES
from allpath.domain.record_model import Course as Course
from allpath.domain.record_model import Exposures as Exposures
from allpath.domain.record_model import PatientRecord as PatientRecord
from allpath.domain.record_model import Pharmacogenomics as Pharmacogenomics
from allpath.domain.record_model import Radiation as Radiation
from allpath.domain.record_model import Relapse as Relapse
from allpath.domain.record_model import Response as Response
from allpath.domain.vocabulary import EXPOSURE_DRUGS as EXPOSURE_DRUGS
from allpath.domain.vocabulary import GENETIC_TOKENS as GENETIC_TOKENS
from allpath.domain.vocabulary import PHENOTYPES as PHENOTYPES
from allpath.domain.vocabulary import PREDISPOSITION_TOKENS as PREDISPOSITION_TOKENS
from allpath.domain.vocabulary import RADIATION_SITES as RADIATION_SITES
from allpath.domain.vocabulary import RELAPSE_SITES as RELAPSE_SITES
from allpath.domain.vocabulary import ROUTES as ROUTES
from allpath.domain.vocabulary import ExposureDrug as ExposureDrug
from allpath.domain.vocabulary import GeneticToken as GeneticToken
from allpath.domain.vocabulary import Phenotype as Phenotype
from allpath.domain.vocabulary import PredispositionToken as PredispositionToken
from allpath.domain.vocabulary import RadiationSite as RadiationSite
from allpath.domain.vocabulary import RelapseSite as RelapseSite
from allpath.domain.vocabulary import Route as Route
from allpath.errors import FieldProblem, RecordError


def parse_record(data: Any) -> PatientRecord:
    """Validate one decoded JSON value as a patient record v1.

    Raises
    ------
    RecordError
        With one ``FieldProblem`` per invalid field; nothing is assessed or stored.
    """
    if not isinstance(data, dict):
        raise RecordError([FieldProblem("record", data, "expected a JSON object (a patient record)")])
    oversized = size_problems(data)
    if oversized:
        raise RecordError(oversized)
    try:
        record = PatientRecord.model_validate(data)
    except ValidationError as error:
        raise RecordError(problems_from(error)) from None
    problems = range_problems(record) + consistency_problems(record)
    if problems:
        raise RecordError(problems[: limits.PROBLEMS_MAX_REPORTED])
    return with_age_from_dates(record)
