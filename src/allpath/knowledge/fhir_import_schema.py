"""Schema of ``fhir_import.yaml``: the time windows the FHIR importer places values in.

The importer keeps one value per record field. Which one depends on time: a diagnostic value (white count, CNS
status ...) is the one nearest the diagnosis inside its window, a response value (MRD) belongs to a time point
counted from the first day of treatment, and body size is the latest measurement. The windows are clinical
numbers, so they are knowledge: validated here, counted in ``knowledge_version``, each with its reason and
whether a source says it or it is a mapping choice of allpath's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN

Basis = Literal["source", "mapping_choice"]


class DiagnosticWindow(BaseModel):
    """Days before .. days after the diagnosis; ``until_treatment_start`` ends it on the first day of treatment."""

    model_config = FROZEN
    label: str
    days_before: int = Field(ge=0)
    days_after: int = Field(ge=0)
    until_treatment_start: bool
    basis: Basis
    reason: str = Field(min_length=10)


class ResponseWindow(BaseModel):
    """A response time point, in days of treatment (day 1 = the first day of treatment), from .. to inclusive."""

    model_config = FROZEN
    label: str
    day: int = Field(ge=1)
    from_day: int = Field(ge=1)
    to_day: int = Field(ge=1)
    basis: Basis
    reason: str = Field(min_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> ResponseWindow:
        if not self.from_day <= self.day <= self.to_day:
            raise ValueError(f"{self.label}: day {self.day} is not within days {self.from_day}..{self.to_day}")
        return self


class LatestRule(BaseModel):
    """Fields whose latest dated measurement is used, and how old it may be before the report says so."""

    model_config = FROZEN
    fields: list[str] = Field(min_length=1)
    check_older_than_days: int = Field(ge=1)
    basis: Basis
    reason: str = Field(min_length=10)


class FhirImportFile(BaseModel):
    model_config = FROZEN
    diagnostic: dict[str, DiagnosticWindow] = Field(min_length=1)
    response: dict[str, ResponseWindow] = Field(min_length=1)
    latest: LatestRule

    @model_validator(mode="after")
    def _apart(self) -> FhirImportFile:
        """Response windows never overlap, so a dated result belongs to one time point at most."""
        spans = sorted((w.from_day, w.to_day, name) for name, w in self.response.items())
        for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
            if start <= end:
                raise ValueError(f"response windows {first} and {second} overlap")
        shared = (set(self.diagnostic) & set(self.response)) | (set(self.latest.fields) & set(self.diagnostic))
        if shared:
            raise ValueError(f"a field has two kinds of window: {', '.join(sorted(shared))}")
        return self
