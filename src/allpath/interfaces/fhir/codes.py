"""The codes of allpath's FHIR mapping, from ``knowledge/data/fhir_codes.yaml`` as the knowledge loader read it.

Codes are data: the YAML file names each code with its display and where it comes from; the knowledge loader
validates it and counts it in ``knowledge_version``. This module only turns them into FHIR ``Coding`` dicts for
the exporter and into look-up tables for the importer.

Every exported ``CodeableConcept`` lists the standard codings first and the allpath local coding last
(``LOCAL_SYSTEM``), so that allpath can always read back what it wrote, even where a standard code is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from allpath.knowledge.fhir_codes_schema import CodingSpec, FhirCodesFile
from allpath.knowledge.loader import load_knowledge

Coding = dict[str, str]

# The codes come from the knowledge base, validated by its schema and counted in knowledge_version.
_DATA: Final[FhirCodesFile] = load_knowledge().fhir_codes

LOCAL_SYSTEM: Final[str] = _DATA.local_system
"""The allpath local code system, for everything that has no verified standard code."""
EXTENSION_BASE: Final[str] = _DATA.extension_base
RECORD_ID_SYSTEM: Final[str] = _DATA.record_id_system
SYSTEMS: Final[dict[str, str]] = dict(_DATA.systems)
MCODE: Final[dict[str, str]] = dict(_DATA.mcode)
BIRTH_SEX_URL: Final[str] = _DATA.birth_sex.url
BIRTH_SEX: Final[dict[str, str]] = dict(_DATA.birth_sex.values)

LOINC: Final[str] = SYSTEMS["loinc"]
SNOMED: Final[str] = SYSTEMS["snomed"]
UCUM: Final[str] = SYSTEMS["ucum"]
HGNC: Final[str] = SYSTEMS["hgnc"]
SEQUENCE_ONTOLOGY: Final[str] = SYSTEMS["sequence_ontology"]
CONDITION_CLINICAL: Final[str] = SYSTEMS["condition_clinical"]

# Other spellings of the systems' URIs (their OID forms), and the systems whose codes may come without a dot.
_SPELLINGS: Final[dict[str, str]] = {s.uri: SYSTEMS[s.system] for s in _DATA.system_spellings}
_UNDOTTED: Final[frozenset[str]] = frozenset(SYSTEMS[name] for name in _DATA.undotted_code_systems)


def normalised(system: object, code: object) -> tuple[str, str]:
    """A (system, code) pair as the look-up tables hold it: the system's URI in the form ``systems`` gives it,
    and an ICD-10 code with its dot after the category ("C9102" -> "C91.02") and in capitals."""
    uri = str(system).strip()
    uri = _SPELLINGS.get(uri, uri)
    text = str(code).strip()
    if uri in _UNDOTTED:
        text = text.upper()
        if "." not in text and len(text) > 3:
            text = f"{text[:3]}.{text[3:]}"
    return uri, text


def extension_url(name: str) -> str:
    """The URL of an allpath extension (e.g. ``age-at-diagnosis``)."""
    return EXTENSION_BASE + name


def _coding(entry: CodingSpec) -> Coding:
    return {"system": SYSTEMS[entry.system], "code": entry.code, "display": entry.display}


def local_code(group: str, token: str) -> str:
    """The local code of a value: ``<group>.<token>``."""
    return f"{group}.{token}"


def concept_local_code(key: str) -> str:
    return key.replace("_", "-")


@cache
def concept(key: str) -> tuple[Coding, ...]:
    """The codings of a concept (an Observation, Condition or Procedure code): standard ones, then local."""
    entry = _DATA.concepts[key]
    codings = [_coding(c) for c in entry.codings]
    codings.append({"system": LOCAL_SYSTEM, "code": concept_local_code(key), "display": entry.display})
    return tuple(codings)


def concept_cc(key: str) -> dict[str, object]:
    """A CodeableConcept for a concept, with its display as text."""
    codings = concept(key)
    return {"coding": [dict(c) for c in codings], "text": codings[-1]["display"]}


@cache
def value(group: str, token: str) -> tuple[Coding, ...]:
    """The codings of a value (a token of the record or of the assessment): standard ones, then local."""
    entries = [c for c in _DATA.values[group][token] or [] if not c.accept]
    codings = [_coding(c) for c in entries]
    display = codings[0]["display"] if codings else token.replace("_", " ")
    codings.append({"system": LOCAL_SYSTEM, "code": local_code(group, token), "display": display})
    return tuple(codings)


def value_cc(group: str, token: str) -> dict[str, object]:
    return {"coding": [dict(c) for c in value(group, token)]}


def value_tokens(group: str) -> tuple[str, ...]:
    return tuple(_DATA.values[group])


def _find(table: dict[tuple[str, str], str], coding: dict[object, object]) -> str | None:
    """The entry of a FHIR Coding dict: as written (the common case, and allpath's own export), else with its
    system and code normalised (an OID system URI, an undotted ICD-10 code)."""
    system, code = coding.get("system"), coding.get("code")
    found = table.get((str(system), str(code)))
    return found if found is not None else table.get(normalised(system, code))


@dataclass(frozen=True)
class Lookup:
    """Look-up tables for the importer: which concept or value a (system, code) pair stands for."""

    concepts: dict[tuple[str, str], str]
    values: dict[str, dict[tuple[str, str], str]]
    fusion_genes: dict[frozenset[str], str]
    rearrangements: frozenset[str]

    def concept_of(self, codings: Sequence[object] | None) -> str | None:
        """The concept of the first coding that allpath knows (a list of FHIR Coding dicts)."""
        for coding in codings or []:
            if isinstance(coding, dict):
                found = _find(self.concepts, coding)
                if found:
                    return found
        return None

    def concepts_of(self, codings: Sequence[object] | None) -> set[str]:
        found: set[str] = set()
        for coding in codings or []:
            if isinstance(coding, dict):
                key = _find(self.concepts, coding)
                if key:
                    found.add(key)
        return found

    def value_of(self, group: str, codings: Sequence[object] | None) -> str | None:
        table = self.values[group]
        found: set[str] = set()
        for coding in codings or []:
            if isinstance(coding, dict):
                token = _find(table, coding)
                if token is not None:
                    found.add(token)
        # Two codings of one concept that name different tokens are not read (never guess).
        return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=1)
def lookup() -> Lookup:
    concepts: dict[tuple[str, str], str] = {}
    for key, entry in _DATA.concepts.items():
        for c in (*entry.codings, *entry.accept):
            concepts[(SYSTEMS[c.system], c.code)] = key
        concepts[(LOCAL_SYSTEM, concept_local_code(key))] = key
    values: dict[str, dict[tuple[str, str], str]] = {}
    for group, tokens in _DATA.values.items():
        table: dict[tuple[str, str], str] = {}
        for token, entries in tokens.items():
            for c in entries or []:
                table[(SYSTEMS[c.system], c.code)] = token
            table[(LOCAL_SYSTEM, local_code(group, token))] = token
        values[group] = table
    fusions = {frozenset(g.display for g in genes): token for token, genes in _DATA.fusion_genes.items()}
    rearrangements = frozenset(c.code for c in _DATA.rearrangement_change_types)
    return Lookup(concepts, values, fusions, rearrangements)


def fusion_genes(token: str) -> list[Coding]:
    """HGNC codings of the genes of a fusion token (empty for tokens that are not gene rearrangements)."""
    return [{"system": HGNC, "code": g.code, "display": g.display} for g in _DATA.fusion_genes.get(token, [])]


def hgnc_symbols() -> dict[str, str]:
    """HGNC id -> gene symbol, for reading gene-studied components that carry only the id."""
    return {g.code: g.display for genes in _DATA.fusion_genes.values() for g in genes}


def pharmacogenes() -> dict[str, tuple[str, str]]:
    """HGNC id -> the record's pharmacogenomics field of that gene's phenotype (``tpmt``, ``nudt15``) and the
    gene's symbol."""
    return {gene.code: (field, gene.display) for field, gene in _DATA.pharmacogenes.items()}


def rearrangement_coding() -> Coding:
    first = _DATA.rearrangement_change_types[0]
    return {"system": SEQUENCE_ONTOLOGY, "code": first.code, "display": first.display}
