"""The importer's readers of Observations: measurements (weight, height, white count, MRD), yes/no findings,
coded results (CNS status, TPMT and NUDT15 phenotypes), genetic findings, relapses, and the lists and objects
that allpath's own export states empty."""

from __future__ import annotations

from collections.abc import Callable

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir import units
from allpath.interfaces.fhir.findings import DATED_MRD, LIST_FIELDS, OBJECT_FIELDS, Findings
from allpath.interfaces.fhir.read_pharmacogenomics import read_metabolizer
from allpath.interfaces.fhir.values import (
    JSONObject,
    as_list,
    as_object,
    codings,
    first_coding,
    number,
)

_OBSERVATION_STATUSES = {"final", "amended", "corrected"}
_BOOLEAN_CONCEPTS = {
    "testicular_involvement": "testicular_involvement",
    "steroid_pretreatment": "steroid_pretreatment",
    "end_of_induction_remission": "response.end_of_induction_remission",
    "refractory": "refractory",
}
_MRD_CONCEPTS = {
    "day8_blood_mrd_pct": "response.day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct": "response.end_of_induction_marrow_mrd_pct",
    "end_of_consolidation_mrd_pct": "response.end_of_consolidation_mrd_pct",
    "mrd_flow_pct": DATED_MRD,  # a generic MRD result: ``timing`` places it at a time point by its date
}


def read_observation(found: Findings, label: str, r: JSONObject) -> None:
    status = r.get("status")
    if status not in _OBSERVATION_STATUSES:
        found.ignore(label, f'status "{status}": only final, amended or corrected results are read')
        return
    concept = c.lookup().concept_of(codings(r.get("code")))
    handler = _HANDLERS.get(concept or "")
    if handler is None:
        what = f"not an observation allpath reads ({first_coding(r.get('code'))})"
        if "valueString" in r:
            what += "; free-text results are not interpreted"
        found.ignore(label, what)
        return
    handler(found, label, r, concept or "")


def _quantity(found: Findings, label: str, r: JSONObject, name: str, quantity: str, what: str) -> None:
    """The valueQuantity of ``r`` as field ``name``, in the unit of the record ``quantity`` (``units.yaml``); a
    value with a comparator is a bound, listed and left out of the record."""
    given = r.get("valueQuantity")
    if not isinstance(given, dict) or number(given.get("value")) is None:
        found.ignore(label, f"{what} without a numeric valueQuantity")
        return
    reading = units.read(given, quantity, what)
    if isinstance(reading, units.Unreadable):
        found.ignore(f"{label}.valueQuantity", reading.reason)
    elif reading.comparator is not None:
        words = f"{units.bound_words(quantity, reading)} ({label})"
        found.bound(name, reading.comparator, reading.value, f"{label}.valueQuantity", words)
    else:
        found.scalar(name, reading.value, f"{label}.valueQuantity")


def _wbc(found: Findings, label: str, r: JSONObject, _: str) -> None:
    _quantity(found, label, r, "wbc_per_ul", "wbc_per_ul", "a white count")


def _weight(found: Findings, label: str, r: JSONObject, _: str) -> None:
    _quantity(found, label, r, "weight_kg", "weight_kg", "a weight")


def _height(found: Findings, label: str, r: JSONObject, _: str) -> None:
    _quantity(found, label, r, "height_cm", "height_cm", "a height")


def _mrd(found: Findings, label: str, r: JSONObject, concept: str) -> None:
    _quantity(found, label, r, _MRD_CONCEPTS[concept], "mrd_pct", "an MRD value")


def _boolean(found: Findings, label: str, r: JSONObject, concept: str) -> None:
    if isinstance(r.get("valueBoolean"), bool):
        found.scalar(_BOOLEAN_CONCEPTS[concept], r["valueBoolean"], f"{label}.valueBoolean")
    else:
        found.ignore(label, "expected valueBoolean")


def _coded(found: Findings, label: str, r: JSONObject, name: str, group: str) -> None:
    token = c.lookup().value_of(group, codings(r.get("valueCodeableConcept")))
    if token is None:
        found.ignore(label, f"valueCodeableConcept is not a {group.replace('_', ' ')} allpath knows")
    else:
        found.scalar(name, token, f"{label}.valueCodeableConcept")


def _cns(found: Findings, label: str, r: JSONObject, _: str) -> None:
    _coded(found, label, r, "cns_status", "cns_status")


def _phenotype(found: Findings, label: str, r: JSONObject, concept: str) -> None:
    _coded(found, label, r, "pharmacogenomics." + concept.split("_")[0], "phenotype")


def _none_recorded(found: Findings, label: str, r: JSONObject, _: str) -> None:
    prefix = c.local_code("empty", "")
    for coding in codings(r.get("valueCodeableConcept")):
        if isinstance(coding, dict) and coding.get("system") == c.LOCAL_SYSTEM:
            name = str(coding.get("code", ""))[len(prefix) :]
            if str(coding.get("code", "")).startswith(prefix) and name in LIST_FIELDS + OBJECT_FIELDS:
                found.empty.setdefault(name, []).append(f"{label}.valueCodeableConcept")
                return
    found.ignore(label, "names no list of the record")


def _genetic_components(r: JSONObject) -> tuple[str | None, set[str], set[str]]:
    """The genetics token, the genes studied and the DNA change types a genetic finding's components name."""
    lookup = c.lookup()
    token = None
    genes: set[str] = set()
    changes: set[str] = set()
    symbols = c.hgnc_symbols()
    for part in as_list(r.get("component")):
        component = as_object(part)
        kind = lookup.concept_of(codings(component.get("code")))
        coded = codings(component.get("valueCodeableConcept"))
        if kind == "genetic_token":
            token = lookup.value_of("genetics", coded) or token
        elif kind == "gene_studied":
            for coding in coded:
                if isinstance(coding, dict):
                    genes.add(symbols.get(str(coding.get("code"))) or str(coding.get("display", "")).upper())
        elif kind == "dna_change_type":
            changes |= {str(x.get("code")) for x in coded if isinstance(x, dict)}
    return token, genes, changes


def _genetics(found: Findings, label: str, r: JSONObject, _: str) -> None:
    lookup = c.lookup()
    presence = lookup.value_of("presence", codings(r.get("valueCodeableConcept")))
    token, genes, changes = _genetic_components(r)
    source = f"{label}.component"
    if token is None and genes:
        fusion = lookup.fusion_genes.get(frozenset(genes))
        if fusion and changes & lookup.rearrangements:
            token, source = fusion, f"{label}.component (genes studied and change type)"
        elif fusion:
            found.ignore(label, "the genes of a known fusion, but no translocation or fusion change type")
            return
    if token is None:
        found.ignore(label, "a genetic finding that is not one of the record's genetics tokens")
        return
    expected = "absent" if token == "none_detected" else "present"
    if presence != expected:
        found.ignore(label, f"{token} is read only when the finding is stated as {expected}")
        return
    found.item("genetics", token, source)


def _relapse(found: Findings, label: str, r: JSONObject, _: str) -> None:
    lookup = c.lookup()
    relapse: dict[str, object] = {}
    sites: list[str] = []
    for part in as_list(r.get("component")):
        component = as_object(part)
        kind = lookup.concept_of(codings(component.get("code")))
        quantity = as_object(component.get("valueQuantity"))
        if kind in _RELAPSE_QUANTITIES:
            _relapse_quantity(found, label, quantity, _RELAPSE_QUANTITIES[kind], relapse)
        elif kind == "relapse_site":
            site = lookup.value_of("relapse_site", codings(component.get("valueCodeableConcept")))
            if site is not None:
                sites.append(site)
    # A relapse without its time or sites is still a relapse: they stay unknown and are listed as missing.
    if sites:
        relapse["sites"] = sites
    found.item("relapses", relapse, f"{label}.component")


_RELAPSE_QUANTITIES = {
    "relapse_months_from_diagnosis": ("months_from_diagnosis", "months_from_diagnosis", "a relapse's time"),
    "end_of_block1_mrd_pct": ("end_of_block1_mrd_pct", "mrd_pct", "a relapse's MRD"),
}


def _relapse_quantity(
    found: Findings, label: str, quantity: JSONObject, names: tuple[str, str, str], relapse: dict[str, object]
) -> None:
    """A number of a relapse (its time from diagnosis, its MRD) into ``relapse``: a bound is listed, not kept."""
    name, record_quantity, what = names
    reading = units.read(quantity, record_quantity, what)
    if isinstance(reading, units.Unreadable):
        if number(quantity.get("value")) is not None:
            found.ignore(f"{label}.component", reading.reason)
    elif reading.comparator is not None:
        words = f"{units.bound_words(record_quantity, reading)} ({label})"
        found.bound(f"relapses.{name}", reading.comparator, reading.value, f"{label}.component", words)
    else:
        relapse[name] = reading.value


def _body_surface_area(found: Findings, label: str, _r: JSONObject, _concept: str) -> None:
    found.ignore(label, "a body surface area is recognised but not read: allpath computes it from height and weight")


PHARMACOGENOMICS_CONCEPTS = ("tpmt_phenotype", "nudt15_phenotype", "drug_metabolism_effect", "therapeutic_implication")
"""The concepts whose Observations carry a TPMT or NUDT15 phenotype (the CDS order services prefetch them)."""

_HANDLERS: dict[str, Callable[[Findings, str, JSONObject, str], None]] = {
    "body_weight": _weight,
    "body_surface_area": _body_surface_area,
    "body_height": _height,
    "wbc": _wbc,
    "genetic_finding": _genetics,
    "cns_status": _cns,
    "relapse": _relapse,
    "tpmt_phenotype": _phenotype,
    "nudt15_phenotype": _phenotype,
    # TPMT and NUDT15 phenotypes with standard codes only (HL7 Genomics Reporting IG): read_pharmacogenomics
    "drug_metabolism_effect": read_metabolizer,
    "therapeutic_implication": read_metabolizer,
    "none_recorded": _none_recorded,
    **dict.fromkeys(_BOOLEAN_CONCEPTS, _boolean),
    **dict.fromkeys(_MRD_CONCEPTS, _mrd),
}
