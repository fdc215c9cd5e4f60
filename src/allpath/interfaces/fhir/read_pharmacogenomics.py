"""The importer's reader of metabolizer results coded the HL7 Genomics Reporting IG's way, gene-neutrally.

A TPMT or NUDT15 phenotype sent with standard codes only is an Observation whose code is LOINC 53040-2
("Genetic variation's effect on drug metabolism", the answer in its value) or the IG's therapeutic implication
(the answer in a component coded 53040-2 or with the IG's therapeutic-implication codes). The answer is a
LOINC metabolizer answer; the gene is a "gene studied" component (LOINC 48018-6) holding an HGNC id. Every
code is data (``fhir_codes.yaml``: the concepts ``drug_metabolism_effect``, ``therapeutic_implication`` and
``gene_studied``, the value group ``phenotype`` and ``pharmacogenes``).

The phenotype is read only when the result names exactly one gene and that gene is one of the record's
(TPMT, NUDT15): a metabolizer answer says nothing about which enzyme it belongs to, so a result of another
gene, of several genes or of none is ignored with the reason. A gene named only by the genotype Observation
the result was derived from (``derivedFrom``) is not followed.
"""

from __future__ import annotations

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.findings import Findings
from allpath.interfaces.fhir.values import JSONObject, as_list, as_object, codings

_ANSWER_COMPONENTS = frozenset({"drug_metabolism_effect", "therapeutic_implication"})
_HGNC_PREFIX = "HGNC:"


def _gene(coding: dict[object, object]) -> tuple[str, str] | None:
    """The HGNC id of a gene-studied coding and the name to show for it; None for a coding of another system.
    An id written without its ``HGNC:`` prefix (as the IG's first pharmacogenomics examples do) is read too."""
    system, code = c.normalised(coding.get("system"), coding.get("code"))
    if system != c.HGNC or not code:
        return None
    gene_id = code if code.upper().startswith(_HGNC_PREFIX) else _HGNC_PREFIX + code
    return gene_id.upper(), str(coding.get("display") or gene_id)


def _parts(r: JSONObject, concept: str) -> tuple[list[object], dict[str, str]]:
    """The answer codings of a metabolizer result and the genes it names (HGNC id -> name to show)."""
    lookup = c.lookup()
    answers = list(codings(r.get("valueCodeableConcept"))) if concept == "drug_metabolism_effect" else []
    genes: dict[str, str] = {}
    for part in as_list(r.get("component")):
        component = as_object(part)
        kind = lookup.concept_of(codings(component.get("code")))
        if kind in _ANSWER_COMPONENTS:
            answers += codings(component.get("valueCodeableConcept"))
        elif kind == "gene_studied":
            for coding in codings(component.get("valueCodeableConcept")):
                gene = _gene(coding) if isinstance(coding, dict) else None
                if gene is not None:
                    genes.setdefault(*gene)
    return answers, genes


def _field_of(found: Findings, label: str, genes: dict[str, str]) -> str | None:
    """The record's field of the one gene a result names; None (and the result ignored, with why) otherwise."""
    genes_read = c.pharmacogenes()
    known = " and ".join(symbol for _, symbol in genes_read.values())
    if not genes:
        found.ignore(
            label,
            "a metabolizer result that names no gene: its gene studied must be given as an HGNC id in the result "
            "itself (a gene named only by the genotype it was derived from is not followed)",
        )
        return None
    if len(genes) > 1:
        names = ", ".join(sorted(genes.values()))
        found.ignore(label, f"a metabolizer result that names several genes ({names}): it is not clear whose it is")
        return None
    ((gene_id, name),) = genes.items()
    if gene_id not in genes_read:
        found.ignore(label, f"a metabolizer result of {name}: allpath reads the phenotypes of {known} only")
        return None
    return genes_read[gene_id][0]


def read_metabolizer(found: Findings, label: str, r: JSONObject, concept: str) -> None:
    """A TPMT or NUDT15 phenotype from a Genomics Reporting metabolizer result (see the module's docstring)."""
    answers, genes = _parts(r, concept)
    field = _field_of(found, label, genes)
    if field is None:
        return
    token = c.lookup().value_of("phenotype", answers)
    if token is None:
        what = "no metabolizer phenotype" if not answers else "no single metabolizer phenotype allpath knows"
        found.ignore(label, f"a {genes[next(iter(genes))]} result with {what}")
        return
    own_value = concept == "drug_metabolism_effect" and codings(r.get("valueCodeableConcept"))
    where = "valueCodeableConcept" if own_value else "component"
    found.scalar(f"pharmacogenomics.{field}", token, f"{label}.{where}")
