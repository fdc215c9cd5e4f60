"""Schema of ``order_checks.yaml``: which draft medication orders the CDS dose checks read, and how.

Unknown keys are errors; every name pattern must be a valid regular expression.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from allpath.knowledge.cite import FROZEN, Evidence


def _valid_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None
    return patterns


class CheckedDrug(BaseModel):
    """A drug whose orders are checked: ``check`` says which check, ``names`` how its name is written."""

    model_config = FROZEN
    drug: str
    check: Literal["cap_per_dose", "thiopurine_phenotypes"]
    names: list[str] = Field(min_length=1)

    _names = field_validator("names")(_valid_patterns)


class NotChecked(BaseModel):
    """Orders that are never checked, though their text names a checked drug (another product)."""

    model_config = FROZEN
    names: list[str] = Field(min_length=1)
    note: str

    _names = field_validator("names")(_valid_patterns)


class NoCalculatedDose(BaseModel):
    """Populations (``populations.yaml``) for which no dose is calculated, and what a card says of it."""

    model_config = FROZEN
    populations: list[str] = Field(min_length=1)
    explanation: str


class PoorMetabolizerStop(BaseModel):
    """The genes whose poor-metabolizer result makes a thiopurine order above that result's advice (the rule of
    ``pharmacogenomics.yaml`` for this gene poor and the other normal) a critical card, whatever the other
    gene's result; with the explanation and evidence a card cites."""

    model_config = FROZEN
    genes: list[Literal["tpmt", "nudt15"]] = Field(min_length=1)
    explanation: str
    evidence: list[Evidence] = Field(min_length=1)


class OrderChecksFile(BaseModel):
    model_config = FROZEN
    drugs: list[CheckedDrug] = Field(min_length=1)
    not_checked: NotChecked
    no_calculated_dose: NoCalculatedDose
    poor_metabolizer_hard_stop: PoorMetabolizerStop
