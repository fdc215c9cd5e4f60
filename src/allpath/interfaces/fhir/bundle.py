"""A patient record v1 as a FHIR R4 collection Bundle: Patient, Conditions, Observations,
MedicationAdministrations and Procedures, which ``import_bundle`` reads back to the same record.

The record is JSON as the caller gave it and ``parse_record`` accepted (values are written as given: an age of
``5`` stays ``5``). Identifiers are derived from the content (uuid5), so the same record always gives the same
Bundle.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import (
    Resource,
    absent_extension,
    category,
    component,
    effective,
    quantity,
    record_identifier,
    scaled,
    standard_cc,
)
from allpath.interfaces.fhir.exposures import as_number, as_text, course_administration, radiation_procedure
from allpath.interfaces.fhir.narrative import with_narrative

_NAMESPACE = uuid.UUID("0b5f2c4e-6a1d-5e0f-9a57-1c0ad7a11a7e")

AT_DIAGNOSIS = ("wbc", "genetic_finding", "cns_status", "testicular_involvement", "steroid_pretreatment")
"""Observations of the child at diagnosis, dated with the diagnosis date; the record dates no other value (weight,
height, response, pharmacogenomics, relapse: ``effective`` says the date is unknown)."""

RESPONSE_CONCEPTS = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)

Record = Mapping[str, object]
"""A patient record as JSON (validated by ``parse_record``)."""


# ---- reading the validated record -----------------------------------------------------------------------


def _object(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _items(value: object) -> list[object]:
    return value if isinstance(value, list) else []


# ---- the Bundle's entries -------------------------------------------------------------------------------


class _Builder:
    """Collects the entries of one record's Bundle with deterministic urn:uuid full URLs."""

    def __init__(self, record: Record) -> None:
        anchor = record.get("id")
        if not isinstance(anchor, str) or not anchor:
            canonical = json.dumps(dict(record), sort_keys=True, separators=(",", ":"), default=str)
            anchor = "record-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
        self.anchor = anchor
        self.diagnosis_date = record.get("diagnosis_date")
        self.entries: list[Resource] = []
        self.patient_url = self.url("patient")
        self.condition_url = self.url("condition")

    def url(self, role: str) -> str:
        """A name-based (version 5, SHA-1) UUID of the record's anchor and the resource's role."""
        digest = bytearray(hashlib.sha1(_NAMESPACE.bytes + f"{self.anchor}/{role}".encode()).digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        h = digest.hex()
        return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def add(self, role: str, resource: Resource) -> None:
        url = self.patient_url if role == "patient" else self.url(role)
        self.entries.append({"fullUrl": url, "resource": with_narrative(resource)})

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    def observation(
        self,
        role: str,
        concept: str,
        category_code: str,
        value: Mapping[str, object] | None = None,
        components: list[Resource] | None = None,
    ) -> None:
        resource: Resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": category(category_code),
            "code": c.concept_cc(concept),
            "subject": self.subject,
        }
        if value:
            resource.update(value)
        if "effectiveDateTime" not in resource:
            resource.update(effective(self.diagnosis_date if concept in AT_DIAGNOSIS else None))
        if components:
            resource["component"] = components
        self.add(role, resource)

    def none_recorded(self, field: str) -> None:
        """A list or object given empty, so that it reads back empty (not absent)."""
        code = c.local_code("empty", field)
        value = {"valueCodeableConcept": {"coding": [{"system": c.LOCAL_SYSTEM, "code": code}]}}
        self.observation(f"none/{field}", "none_recorded", "exam", value)


def patient_references(record: Record) -> tuple[str, str]:
    """The full URLs of the record's Patient and ALL Condition in ``record_to_bundle(record)``."""
    b = _Builder(record)
    return b.patient_url, b.condition_url


def _patient(record: Record) -> Resource:
    # allpath keeps no names (records are pseudonymous): the name mCODE's cancer patient requires says so.
    patient: Resource = {"resourceType": "Patient", "name": [{"extension": [absent_extension("masked")]}]}
    if record.get("id") is not None:
        patient["identifier"] = [record_identifier(as_text(record["id"]))]
    if record.get("sex") is not None:
        patient["gender"] = record["sex"]
    if record.get("birth_date") is not None:
        patient["birthDate"] = record["birth_date"]
    return patient


def _condition(record: Record, b: _Builder) -> Resource:
    lineage = record.get("immunophenotype")
    concept = {"B": "b_all", "T": "t_all"}.get(
        lineage if isinstance(lineage, str) else "", "acute_lymphoblastic_leukemia"
    )
    condition: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": c.SYSTEMS["condition_clinical"], "code": "active"}]},
        "verificationStatus": {"coding": [{"system": c.SYSTEMS["condition_verification"], "code": "confirmed"}]},
        "category": [standard_cc("condition_category", "problem_list_item")],
        "code": c.concept_cc(concept),
        "subject": b.subject,
    }
    age = record.get("age_years")
    if record.get("diagnosis_date") is not None:
        condition["onsetDateTime"] = record["diagnosis_date"]
    if age is not None and (record.get("diagnosis_date") is not None or not as_number(age) > 0):
        # An Age must be positive (age-1): an age of 0 travels as a plain Quantity in allpath's extension.
        kind = "valueAge" if as_number(age) > 0 else "valueQuantity"
        condition["extension"] = [
            {"url": c.extension_url("age-at-diagnosis"), kind: quantity(as_number(age), "years", "a")}
        ]
    elif age is not None:
        condition["onsetAge"] = quantity(as_number(age), "years", "a")
    return condition


def _flag_condition(b: _Builder, group: str, token: str, present: bool) -> Resource:
    condition: Resource = {
        "resourceType": "Condition",
        "verificationStatus": {
            "coding": [{"system": c.SYSTEMS["condition_verification"], "code": "confirmed" if present else "refuted"}]
        },
        "code": c.value_cc(group, token),
        "subject": b.subject,
    }
    if present:  # a ruled-out condition is no problem-list item (and has no clinical status: con-3)
        condition["clinicalStatus"] = {"coding": [{"system": c.SYSTEMS["condition_clinical"], "code": "active"}]}
        condition["category"] = [standard_cc("condition_category", "problem_list_item")]
    return condition


def _genetic_finding(token: str) -> tuple[Resource, list[Resource]]:
    presence = "absent" if token == "none_detected" else "present"
    value: Resource = {"valueCodeableConcept": c.value_cc("presence", presence)}
    components = [component("genetic_token", {"valueCodeableConcept": c.value_cc("genetics", token)})]
    genes = c.fusion_genes(token)
    for gene in genes:
        components.append(component("gene_studied", {"valueCodeableConcept": {"coding": [gene]}}))
    if genes:
        components.append(
            component("dna_change_type", {"valueCodeableConcept": {"coding": [c.rearrangement_coding()]}})
        )
    return value, components


# ---- the record, part by part, in the order of the Bundle -----------------------------------------------


def _add_conditions(b: _Builder, record: Record) -> None:
    b.add("patient", _patient(record))
    b.add("condition", _condition(record, b))
    if record.get("down_syndrome") is not None:
        b.add("down-syndrome", _flag_condition(b, "down_syndrome", "down_syndrome", bool(record["down_syndrome"])))
    syndromes = record.get("predisposition_syndromes")
    if syndromes is not None:
        for token in _items(syndromes):
            b.add(f"predisposition/{token}", _flag_condition(b, "predisposition", as_text(token), True))
        if not syndromes:
            b.none_recorded("predisposition_syndromes")


def _add_measurements(b: _Builder, record: Record) -> None:
    if record.get("weight_kg") is not None:
        b.observation(
            "weight",
            "body_weight",
            "vital-signs",
            {"valueQuantity": quantity(as_number(record["weight_kg"]), "kg")},
        )
    if record.get("height_cm") is not None:
        b.observation(
            "height",
            "body_height",
            "vital-signs",
            {"valueQuantity": quantity(as_number(record["height_cm"]), "cm")},
        )
    if record.get("wbc_per_ul") is not None:
        wbc: Resource = {"valueQuantity": quantity(scaled(as_number(record["wbc_per_ul"]), -3), "10*3/uL")}
        if record.get("diagnosis_date") is not None:
            wbc["effectiveDateTime"] = record["diagnosis_date"]
        b.observation("wbc", "wbc", "laboratory", wbc)


def _add_findings(b: _Builder, record: Record) -> None:
    for i, token in enumerate(_items(record.get("genetics"))):
        value, components = _genetic_finding(as_text(token))
        b.observation(f"genetics/{i}", "genetic_finding", "laboratory", value, components)
    if record.get("cns_status") is not None:
        cns = {"valueCodeableConcept": c.value_cc("cns_status", as_text(record["cns_status"]))}
        b.observation("cns", "cns_status", "laboratory", cns)
    for name, category_code in (("testicular_involvement", "exam"), ("steroid_pretreatment", "therapy")):
        if record.get(name) is not None:
            b.observation(name, name, category_code, {"valueBoolean": bool(record[name])})
    for name in ("response", "pharmacogenomics", "exposures"):
        if record.get(name) == {}:
            b.none_recorded(name)


def _add_response(b: _Builder, record: Record) -> None:
    response = _object(record.get("response"))
    for name in RESPONSE_CONCEPTS:
        if response.get(name) is None:
            continue
        if name == "end_of_induction_remission":
            b.observation(name, name, "exam", {"valueBoolean": bool(response[name])})
        else:
            b.observation(name, name, "laboratory", {"valueQuantity": quantity(as_number(response[name]), "%")})


def _relapse_components(relapse: Mapping[str, object]) -> list[Resource]:
    components = []
    if relapse.get("months_from_diagnosis") is not None:  # a relapse's time or sites may be unknown
        months = quantity(as_number(relapse["months_from_diagnosis"]), "months", "mo")
        components.append(component("relapse_months_from_diagnosis", {"valueQuantity": months}))
    for site in _items(relapse.get("sites")):
        components.append(
            component("relapse_site", {"valueCodeableConcept": c.value_cc("relapse_site", as_text(site))})
        )
    if relapse.get("end_of_block1_mrd_pct") is not None:
        mrd = quantity(as_number(relapse["end_of_block1_mrd_pct"]), "%")
        components.append(component("end_of_block1_mrd_pct", {"valueQuantity": mrd}))
    return components


def _add_disease_course(b: _Builder, record: Record) -> None:
    relapses = record.get("relapses")
    if relapses is not None:
        for i, relapse in enumerate(_items(relapses)):
            b.observation(f"relapse/{i}", "relapse", "exam", None, _relapse_components(_object(relapse)))
        if not relapses:
            b.none_recorded("relapses")
    if record.get("refractory") is not None:
        b.observation("refractory", "refractory", "exam", {"valueBoolean": bool(record["refractory"])})


def _add_treatment(b: _Builder, record: Record) -> None:
    start, end = record.get("treatment_start_date"), record.get("end_of_therapy_date")
    if start is not None or end is not None:
        course: Resource = {
            "resourceType": "Procedure",
            "status": "completed" if end is not None else "in-progress",
            "code": c.concept_cc("treatment_course"),
            "subject": b.subject,
            "performedPeriod": {k: v for k, v in (("start", start), ("end", end)) if v is not None},
        }
        b.add("treatment-course", course)
    genotype = _object(record.get("pharmacogenomics"))
    for gene in ("tpmt", "nudt15"):
        if genotype.get(gene) is not None:
            value = {"valueCodeableConcept": c.value_cc("phenotype", as_text(genotype[gene]))}
            b.observation(f"pgx/{gene}", f"{gene}_phenotype", "laboratory", value)
    exposures = _object(record.get("exposures"))
    courses = exposures.get("courses")
    if courses is not None:
        for i, item in enumerate(_items(courses)):
            b.add(f"course/{i}", course_administration(b.subject, _object(item)))
        if not courses:
            b.none_recorded("exposures.courses")
    beams = exposures.get("radiation")
    if beams is not None:
        for i, beam in enumerate(_items(beams)):
            b.add(f"radiation/{i}", radiation_procedure(b.subject, _object(beam)))
        if not beams:
            b.none_recorded("exposures.radiation")


def record_bundle_entries(record: Record) -> list[Resource]:
    """The entries of ``record_to_bundle(record)``."""
    b = _Builder(record)
    for add in (
        _add_conditions,
        _add_measurements,
        _add_findings,
        _add_response,
        _add_disease_course,
        _add_treatment,
    ):
        add(b, record)
    return b.entries


def record_to_bundle(record: Record) -> Resource:
    """A FHIR R4 collection Bundle for a patient record v1 (a JSON-ready dict, as ``parse_record`` accepts).

    Lists and objects given empty (``relapses: []``, ``response: {}``) are written as a ``none-recorded``
    Observation, so that they read back as they were given.
    """
    return {"resourceType": "Bundle", "type": "collection", "entry": record_bundle_entries(record)}


def entry_url(record: Record, role: str) -> str:
    """The full URL of the entry with this role in the record's Bundle (e.g. ``risk-assessment``)."""
    return _Builder(record).url(role)
