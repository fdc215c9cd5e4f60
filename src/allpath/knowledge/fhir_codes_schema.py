"""Schema of ``fhir_codes.yaml``: the codes of allpath's FHIR mapping (systems, concepts, value codes).

The file is part of the knowledge base: the loader validates it with these models and it feeds
``knowledge_version``, so a corrected code changes the version that every answer reports. Each standard coding
says where it was found (``source``); a coding's ``system`` is a key of ``systems``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN


class CodingSpec(BaseModel):
    """A standard coding: ``system`` names an entry of ``systems``; ``source`` says where the code was found."""

    model_config = FROZEN
    system: str
    code: str
    display: str
    source: str


class ConceptSpec(BaseModel):
    """An Observation, Condition or Procedure code. ``accept`` codings are read on import, never written."""

    model_config = FROZEN
    display: str
    codings: list[CodingSpec] = []
    accept: list[CodingSpec] = []
    source: str | None = None


class GeneSpec(BaseModel):
    """An HGNC gene of a fusion: the HGNC id and the gene symbol."""

    model_config = FROZEN
    code: str = Field(pattern=r"^HGNC:\d+$")
    display: str


class ChangeTypeSpec(BaseModel):
    """A Sequence Ontology change type that marks a gene rearrangement."""

    model_config = FROZEN
    code: str
    display: str
    source: str


class FhirCodesFile(BaseModel):
    model_config = FROZEN
    local_system: str
    extension_base: str
    record_id_system: str
    systems: dict[str, str] = Field(min_length=1)
    mcode: dict[str, str]
    concepts: dict[str, ConceptSpec]
    # value group -> token -> its standard codings (none: the local code only)
    values: dict[str, dict[str, list[CodingSpec] | None]]
    fusion_genes: dict[str, list[GeneSpec]]
    rearrangement_change_types: list[ChangeTypeSpec] = Field(min_length=1)
    empty_values: list[str]

    @model_validator(mode="after")
    def _known_systems(self) -> FhirCodesFile:
        codings = [c for concept in self.concepts.values() for c in (*concept.codings, *concept.accept)]
        codings += [c for tokens in self.values.values() for entries in tokens.values() for c in entries or []]
        unknown = sorted({c.system for c in codings} - set(self.systems))
        if unknown:
            raise ValueError(f"codings name systems that are not in systems: {', '.join(unknown)}")
        return self
