"""Schema of ``fhir_codes.yaml``: the codes of allpath's FHIR mapping (systems, concepts, value codes).

The file is part of the knowledge base: the loader validates it with these models and it feeds
``knowledge_version``, so a corrected code changes the version that every answer reports. Each standard coding
says where it was found (``source``); a coding's ``system`` is a key of ``systems``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from allpath.knowledge.cite import FROZEN


class CodingSpec(BaseModel):
    """A standard coding: ``system`` names an entry of ``systems``; ``source`` says where the code was found.

    ``accept``: read on import, never written (e.g. an RxNorm clinical drug, which names a product and strength
    that an export of the record could not know)."""

    model_config = FROZEN
    system: str
    code: str
    display: str
    source: str
    accept: bool = False


class SystemSpellingSpec(BaseModel):
    """Another URI that EHRs send for a code system of ``systems`` (e.g. its ``urn:oid:`` form)."""

    model_config = FROZEN
    system: str
    uri: str
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


class BirthSexSpec(BaseModel):
    """The US Core birth-sex extension: its URL and the record's sex of each of its codes."""

    model_config = FROZEN
    url: str
    values: dict[str, Literal["female", "male"]]
    source: str


class RegistryStatusSpec(BaseModel):
    """The R4 ResearchStudy.status of one registry overall status, and where the mapping comes from."""

    model_config = FROZEN
    code: str
    source: str


class RegistryPhaseSpec(BaseModel):
    """The R4 ResearchStudy.phase of a study's list of registry phases (e.g. PHASE1 and PHASE2)."""

    model_config = FROZEN
    registry: list[str] = Field(min_length=1)
    code: str
    display: str


class NctIdentifierSpec(BaseModel):
    model_config = FROZEN
    system: str
    source: str


class ResearchStudySpec(BaseModel):
    """ClinicalTrials.gov studies as R4 ResearchStudy: the NCT identifier system, the registry's overall
    statuses (mapped, or left out with the reason) and phases. Every mapped status is an R4 status."""

    model_config = FROZEN
    nct_identifier: NctIdentifierSpec
    r4_statuses: list[str] = Field(min_length=1)
    r4_statuses_source: str
    statuses: dict[str, RegistryStatusSpec] = Field(min_length=1)
    unmapped: dict[str, str] = {}
    phase_system: str
    phases: list[RegistryPhaseSpec] = []
    phases_source: str

    @model_validator(mode="after")
    def _r4_statuses(self) -> ResearchStudySpec:
        wrong = sorted({s.code for s in self.statuses.values()} - set(self.r4_statuses))
        if wrong:
            raise ValueError(f"statuses that are not R4 ResearchStudy statuses: {', '.join(wrong)}")
        both = sorted(set(self.statuses) & set(self.unmapped))
        if both:
            raise ValueError(f"registry statuses both mapped and unmapped: {', '.join(both)}")
        return self


class FhirCodesFile(BaseModel):
    model_config = FROZEN
    local_system: str
    extension_base: str
    record_id_system: str
    systems: dict[str, str] = Field(min_length=1)
    # Other spellings of the systems' URIs, and the systems whose codes are read with or without their dot
    # (ICD-10 "C91.02" or "C9102").
    system_spellings: list[SystemSpellingSpec] = []
    undotted_code_systems: list[str] = []
    mcode: dict[str, str]
    birth_sex: BirthSexSpec
    research_study: ResearchStudySpec
    concepts: dict[str, ConceptSpec]
    # value group -> token -> its standard codings (none: the local code only)
    values: dict[str, dict[str, list[CodingSpec] | None]]
    fusion_genes: dict[str, list[GeneSpec]]
    # field of the record's pharmacogenomics (tpmt, nudt15) -> its gene, read from a metabolizer result
    pharmacogenes: dict[str, GeneSpec] = {}
    rearrangement_change_types: list[ChangeTypeSpec] = Field(min_length=1)
    empty_values: list[str]

    @model_validator(mode="after")
    def _known_systems(self) -> FhirCodesFile:
        codings = [c for concept in self.concepts.values() for c in (*concept.codings, *concept.accept)]
        codings += [c for tokens in self.values.values() for entries in tokens.values() for c in entries or []]
        named = {c.system for c in codings} | {s.system for s in self.system_spellings}
        unknown = sorted((named | set(self.undotted_code_systems)) - set(self.systems))
        if unknown:
            raise ValueError(f"codings name systems that are not in systems: {', '.join(unknown)}")
        return self
