"""Patient record, version 1: the input contract of allpath (see design.md).

A record is a JSON object. Unknown keys are an error. Every field is optional; a field that is absent
(or JSON ``null``) is *missing*, and the engine lists it instead of guessing a value.

``parse_record`` is the only way in: it returns a complete, typed, immutable ``PatientRecord`` or raises
``RecordError`` naming each field, the value given and what is allowed. The models are in ``record_model``,
the checks beyond the types in ``record_checks``, the vocabularies in ``vocabulary``: import each from its own
module.
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
from allpath.domain.record_model import PatientRecord
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
