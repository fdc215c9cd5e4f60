"""A patient record v1 as a FHIR R4 collection Bundle: Patient, Conditions, Observations,
MedicationAdministrations and Procedures, which ``import_bundle`` reads back to the same record.

The record is JSON as the caller gave it and ``parse_record`` accepted (values are written as given: an age of
``5`` stays ``5``). Identifiers are derived from the content (uuid5), so the same record always gives the same
Bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Mapping

from allpath.interfaces.fhir import codes as c
from allpath.interfaces.fhir.elements import Resource, category, component, quantity, scaled

_NAMESPACE = uuid.UUID("0b5f2c4e-6a1d-5e0f-9a57-1c0ad7a11a7e")

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


def _number(value: object) -> float:
    """A number of the validated record, as given (an int stays an int in the JSON written)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number in a validated record, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string in a validated record, got {type(value).__name__}")
    return value


# ---- the Bundle's entries -------------------------------------------------------------------------------


class _Builder:
    """Collects the entries of one record's Bundle with deterministic urn:uuid full URLs."""

    def __init__(self, record: Record) -> None:
        anchor = record.get("id")
        if not isinstance(anchor, str) or not anchor:
            canonical = json.dumps(dict(record), sort_keys=True, separators=(",", ":"), default=str)
            anchor = "record-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
        self.anchor = anchor
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
        self.entries.append({"fullUrl": url, "resource": resource})

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


_FHIR_STRING_CHAR = re.compile(r"[ \r\n\t\S]")


def _record_identifier(ident: str) -> Resource:
    """The record id as an Identifier. A FHIR string needs a character other than most kinds of white space:
    an id without one travels base64-encoded in an extension, an empty id as a flag."""
    if _FHIR_STRING_CHAR.search(ident):
        return {"system": c.RECORD_ID_SYSTEM, "value": ident}
    extension: Resource
    if ident:
        encoded = base64.b64encode(ident.encode("utf-8")).decode("ascii")
        extension = {"url": c.extension_url("encoded-value"), "valueBase64Binary": encoded}
    else:
        extension = {"url": c.extension_url("empty-value"), "valueBoolean": True}
    return {"system": c.RECORD_ID_SYSTEM, "extension": [extension]}


def _patient(record: Record) -> Resource:
    patient: Resource = {"resourceType": "Patient"}
    if record.get("id") is not None:
        patient["identifier"] = [_record_identifier(_text(record["id"]))]
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
        "code": c.concept_cc(concept),
        "subject": b.subject,
    }
    age = record.get("age_years")
    if record.get("diagnosis_date") is not None:
        condition["onsetDateTime"] = record["diagnosis_date"]
        if age is not None:
            at_diagnosis = {
                "url": c.extension_url("age-at-diagnosis"),
                "valueAge": quantity(_number(age), "years", "a"),
            }
            condition["extension"] = [at_diagnosis]
    elif age is not None:
        condition["onsetAge"] = quantity(_number(age), "years", "a")
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
    if present:
        condition["clinicalStatus"] = {"coding": [{"system": c.SYSTEMS["condition_clinical"], "code": "active"}]}
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


def _course(b: _Builder, course: Mapping[str, object]) -> Resource:
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": c.value_cc("drug", _text(course["drug"])),
        "subject": b.subject,
        "effectiveDateTime": course["date"],
    }
    extensions: list[Resource] = []
    per_m2 = course.get("dose_mg_per_m2")
    mg = course.get("dose_mg")
    route = course.get("route")
    dose = None
    if mg is not None:
        dose = quantity(_number(mg), "mg")
        if per_m2 is not None:
            per_area = quantity(_number(per_m2), "mg/m2")
            extensions.append({"url": c.extension_url("dose-per-body-surface-area"), "valueQuantity": per_area})
    elif per_m2 is not None:
        dose = quantity(_number(per_m2), "mg/m2")
    if dose is not None:
        dosage: Resource = {"dose": dose}
        if route is not None:
            dosage["route"] = c.value_cc("route", _text(route))
        resource["dosage"] = dosage
    elif route is not None:  # a dosage needs a dose or a rate (mad-1): the route alone goes in an extension
        extensions.append({"url": c.extension_url("route"), "valueCodeableConcept": c.value_cc("route", _text(route))})
    if extensions:
        resource["extension"] = extensions
    return resource


def _radiation(b: _Builder, beam: Mapping[str, object]) -> Resource:
    resource: Resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": c.concept_cc("radiation_course"),
        "subject": b.subject,
        "bodySite": [c.value_cc("radiation_site", _text(beam["site"]))],
    }
    if beam.get("date") is not None:
        resource["performedPeriod"] = {"end": beam["date"]}
    if beam.get("dose_gy") is not None:
        total = quantity(scaled(_number(beam["dose_gy"]), 2), "cGy")
        resource["extension"] = [
            {
                "url": c.MCODE["dose_delivered_extension"],
                "extension": [{"url": "totalDoseDelivered", "valueQuantity": total}],
            }
        ]
    return resource


# ---- the record, part by part, in the order of the Bundle -----------------------------------------------


def _add_conditions(b: _Builder, record: Record) -> None:
    b.add("patient", _patient(record))
    b.add("condition", _condition(record, b))
    if record.get("down_syndrome") is not None:
        b.add("down-syndrome", _flag_condition(b, "down_syndrome", "down_syndrome", bool(record["down_syndrome"])))
    syndromes = record.get("predisposition_syndromes")
    if syndromes is not None:
        for token in _items(syndromes):
            b.add(f"predisposition/{token}", _flag_condition(b, "predisposition", _text(token), True))
        if not syndromes:
            b.none_recorded("predisposition_syndromes")


def _add_measurements(b: _Builder, record: Record) -> None:
    if record.get("weight_kg") is not None:
        b.observation(
            "weight", "body_weight", "vital-signs", {"valueQuantity": quantity(_number(record["weight_kg"]), "kg")}
        )
    if record.get("height_cm") is not None:
        b.observation(
            "height", "body_height", "vital-signs", {"valueQuantity": quantity(_number(record["height_cm"]), "cm")}
        )
    if record.get("wbc_per_ul") is not None:
        wbc: Resource = {"valueQuantity": quantity(scaled(_number(record["wbc_per_ul"]), -3), "10*3/uL")}
        if record.get("diagnosis_date") is not None:
            wbc["effectiveDateTime"] = record["diagnosis_date"]
        b.observation("wbc", "wbc", "laboratory", wbc)


def _add_findings(b: _Builder, record: Record) -> None:
    for i, token in enumerate(_items(record.get("genetics"))):
        value, components = _genetic_finding(_text(token))
        b.observation(f"genetics/{i}", "genetic_finding", "laboratory", value, components)
    if record.get("cns_status") is not None:
        cns = {"valueCodeableConcept": c.value_cc("cns_status", _text(record["cns_status"]))}
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
            b.observation(name, name, "laboratory", {"valueQuantity": quantity(_number(response[name]), "%")})


def _relapse_components(relapse: Mapping[str, object]) -> list[Resource]:
    months = quantity(_number(relapse["months_from_diagnosis"]), "months", "mo")
    components = [component("relapse_months_from_diagnosis", {"valueQuantity": months})]
    for site in _items(relapse["sites"]):
        components.append(component("relapse_site", {"valueCodeableConcept": c.value_cc("relapse_site", _text(site))}))
    if relapse.get("end_of_block1_mrd_pct") is not None:
        mrd = quantity(_number(relapse["end_of_block1_mrd_pct"]), "%")
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
            value = {"valueCodeableConcept": c.value_cc("phenotype", _text(genotype[gene]))}
            b.observation(f"pgx/{gene}", f"{gene}_phenotype", "laboratory", value)
    exposures = _object(record.get("exposures"))
    courses = exposures.get("courses")
    if courses is not None:
        for i, item in enumerate(_items(courses)):
            b.add(f"course/{i}", _course(b, _object(item)))
        if not courses:
            b.none_recorded("exposures.courses")
    beams = exposures.get("radiation")
    if beams is not None:
        for i, beam in enumerate(_items(beams)):
            b.add(f"radiation/{i}", _radiation(b, _object(beam)))
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
