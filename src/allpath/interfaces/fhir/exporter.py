"""Patient record and assessment -> FHIR R4 resources (JSON dicts).

- ``record_to_bundle``: a collection Bundle (Patient, Conditions, Observations, MedicationAdministrations,
  Procedures) that ``import_bundle`` reads back to the same record.
- ``risk_observation``: the assessment's risk groups as an mCODE ALL risk assessment Observation.
- ``care_plan``: the plan as a CarePlan with one contained CarePlan per phase and one activity per therapy
  and drug, each with its certainty and citation.
- ``roadmap_care_plan``: the treatment roadmap as a CarePlan with the dated phases and response tests.
- ``survivorship_care_plan``: the survivorship plan as a CarePlan with one activity per follow-up item.
- ``second_opinion_bundle``: all of the above in one collection Bundle.

The functions build plain dicts and do no I/O; identifiers are derived from the content (uuid5), so the same
input always gives the same output. Values are copied, never logged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from decimal import Decimal
from typing import Any

from allpath.interfaces.fhir import codes as c

Resource = dict[str, Any]
_NAMESPACE = uuid.UUID("0b5f2c4e-6a1d-5e0f-9a57-1c0ad7a11a7e")

RESPONSE_CONCEPTS = (
    "day8_blood_mrd_pct",
    "end_of_induction_marrow_mrd_pct",
    "end_of_induction_remission",
    "end_of_consolidation_mrd_pct",
)


def scaled(value: float, power_of_ten: int) -> float | int:
    """``value`` times 10**power_of_ten, computed in decimal so that scaling back gives the same float."""
    result = Decimal(repr(float(value))).scaleb(power_of_ten)
    as_float = float(result)
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def _quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": c.UCUM, "code": code or unit}


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": c.SYSTEMS["observation_category"], "code": code}]}]


class _Builder:
    """Collects the entries of one record's Bundle with deterministic urn:uuid full URLs."""

    def __init__(self, record: dict[str, Any]) -> None:
        anchor = record.get("id")
        if not isinstance(anchor, str) or not anchor:
            canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
            anchor = "record-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
        self.anchor = anchor
        self.entries: list[dict[str, Any]] = []
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
        category: str,
        value: dict[str, Any] | None = None,
        components: list[dict[str, Any]] | None = None,
    ) -> None:
        resource: Resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": _category(category),
            "code": c.concept_cc(concept),
            "subject": self.subject,
        }
        if value:
            resource.update(value)
        if components:
            resource["component"] = components
        self.add(role, resource)


def _component(concept: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": c.concept_cc(concept), **value}


_FHIR_STRING_CHAR = re.compile(r"[ \r\n\t\S]")


def _record_identifier(ident: str) -> dict[str, Any]:
    """The record id as an Identifier. A FHIR string needs a character other than most kinds of white space:
    an id without one travels base64-encoded in an extension, an empty id as a flag."""
    if _FHIR_STRING_CHAR.search(ident):
        return {"system": c.RECORD_ID_SYSTEM, "value": ident}
    extension: dict[str, Any]
    if ident:
        encoded = base64.b64encode(ident.encode("utf-8")).decode("ascii")
        extension = {"url": c.extension_url("encoded-value"), "valueBase64Binary": encoded}
    else:
        extension = {"url": c.extension_url("empty-value"), "valueBoolean": True}
    return {"system": c.RECORD_ID_SYSTEM, "extension": [extension]}


def _patient(record: dict[str, Any]) -> Resource:
    patient: Resource = {"resourceType": "Patient"}
    if record.get("id") is not None:
        patient["identifier"] = [_record_identifier(record["id"])]
    if record.get("sex") is not None:
        patient["gender"] = record["sex"]
    if record.get("birth_date") is not None:
        patient["birthDate"] = record["birth_date"]
    return patient


def _condition(record: dict[str, Any], b: _Builder) -> Resource:
    concept = {"B": "b_all", "T": "t_all"}.get(record.get("immunophenotype") or "", "acute_lymphoblastic_leukemia")
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
            condition["extension"] = [
                {"url": c.extension_url("age-at-diagnosis"), "valueAge": _quantity(age, "years", "a")}
            ]
    elif age is not None:
        condition["onsetAge"] = _quantity(age, "years", "a")
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


def _genetic_finding(token: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    presence = "absent" if token == "none_detected" else "present"
    value = {"valueCodeableConcept": c.value_cc("presence", presence)}
    components = [_component("genetic_token", {"valueCodeableConcept": c.value_cc("genetics", token)})]
    genes = c.fusion_genes(token)
    for gene in genes:
        components.append(_component("gene_studied", {"valueCodeableConcept": {"coding": [gene]}}))
    if genes:
        components.append(
            _component("dna_change_type", {"valueCodeableConcept": {"coding": [c.rearrangement_coding()]}})
        )
    return value, components


def _none_recorded(b: _Builder, field: str) -> None:
    b.observation(
        f"none/{field}",
        "none_recorded",
        "exam",
        {"valueCodeableConcept": {"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("empty", field)}]}},
    )


def _course(b: _Builder, course: dict[str, Any]) -> Resource:
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": c.value_cc("drug", course["drug"]),
        "subject": b.subject,
        "effectiveDateTime": course["date"],
    }
    extensions: list[dict[str, Any]] = []
    per_m2 = course.get("dose_mg_per_m2")
    mg = course.get("dose_mg")
    route = course.get("route")
    dose = None
    if mg is not None:
        dose = _quantity(mg, "mg")
        if per_m2 is not None:
            extensions.append(
                {"url": c.extension_url("dose-per-body-surface-area"), "valueQuantity": _quantity(per_m2, "mg/m2")}
            )
    elif per_m2 is not None:
        dose = _quantity(per_m2, "mg/m2")
    if dose is not None:
        dosage: dict[str, Any] = {"dose": dose}
        if route is not None:
            dosage["route"] = c.value_cc("route", route)
        resource["dosage"] = dosage
    elif route is not None:  # a dosage needs a dose or a rate (mad-1): the route alone goes in an extension
        extensions.append({"url": c.extension_url("route"), "valueCodeableConcept": c.value_cc("route", route)})
    if extensions:
        resource["extension"] = extensions
    return resource


def _radiation(b: _Builder, beam: dict[str, Any]) -> Resource:
    resource: Resource = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": c.concept_cc("radiation_course"),
        "subject": b.subject,
        "bodySite": [c.value_cc("radiation_site", beam["site"])],
    }
    if beam.get("date") is not None:
        resource["performedPeriod"] = {"end": beam["date"]}
    if beam.get("dose_gy") is not None:
        resource["extension"] = [
            {
                "url": c.MCODE["dose_delivered_extension"],
                "extension": [
                    {"url": "totalDoseDelivered", "valueQuantity": _quantity(scaled(beam["dose_gy"], 2), "cGy")}
                ],
            }
        ]
    return resource


def record_to_bundle(record: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - complexity 33, a ceiling in tests/test_module_size.py (issue 11)
    """A FHIR R4 collection Bundle for a patient record v1 (a JSON-ready dict, as ``parse_record`` accepts).

    Lists and objects given empty (``relapses: []``, ``response: {}``) are written as a ``none-recorded``
    Observation, so that they read back as they were given.
    """
    b = _Builder(record)
    b.add("patient", _patient(record))
    b.add("condition", _condition(record, b))
    if record.get("down_syndrome") is not None:
        b.add("down-syndrome", _flag_condition(b, "down_syndrome", "down_syndrome", bool(record["down_syndrome"])))
    syndromes = record.get("predisposition_syndromes")
    if syndromes is not None:
        for token in syndromes:
            b.add(f"predisposition/{token}", _flag_condition(b, "predisposition", token, True))
        if not syndromes:
            _none_recorded(b, "predisposition_syndromes")
    if record.get("weight_kg") is not None:
        b.observation("weight", "body_weight", "vital-signs", {"valueQuantity": _quantity(record["weight_kg"], "kg")})
    if record.get("height_cm") is not None:
        b.observation("height", "body_height", "vital-signs", {"valueQuantity": _quantity(record["height_cm"], "cm")})
    if record.get("wbc_per_ul") is not None:
        wbc = {"valueQuantity": _quantity(scaled(record["wbc_per_ul"], -3), "10*3/uL")}
        if record.get("diagnosis_date") is not None:
            wbc["effectiveDateTime"] = record["diagnosis_date"]
        b.observation("wbc", "wbc", "laboratory", wbc)
    for i, token in enumerate(record.get("genetics") or []):
        value, components = _genetic_finding(token)
        b.observation(f"genetics/{i}", "genetic_finding", "laboratory", value, components)
    if record.get("cns_status") is not None:
        cns = {"valueCodeableConcept": c.value_cc("cns_status", record["cns_status"])}
        b.observation("cns", "cns_status", "laboratory", cns)
    for name, category in (("testicular_involvement", "exam"), ("steroid_pretreatment", "therapy")):
        if record.get(name) is not None:
            b.observation(name, name, category, {"valueBoolean": bool(record[name])})
    for name in ("response", "pharmacogenomics", "exposures"):
        if record.get(name) == {}:
            _none_recorded(b, name)
    response = record.get("response") or {}
    for name in RESPONSE_CONCEPTS:
        if response.get(name) is None:
            continue
        if name == "end_of_induction_remission":
            b.observation(name, name, "exam", {"valueBoolean": bool(response[name])})
        else:
            b.observation(name, name, "laboratory", {"valueQuantity": _quantity(response[name], "%")})
    relapses = record.get("relapses")
    if relapses is not None:
        for i, relapse in enumerate(relapses):
            components = [
                _component(
                    "relapse_months_from_diagnosis",
                    {"valueQuantity": _quantity(relapse["months_from_diagnosis"], "months", "mo")},
                )
            ]
            for site in relapse["sites"]:
                components.append(
                    _component("relapse_site", {"valueCodeableConcept": c.value_cc("relapse_site", site)})
                )
            if relapse.get("end_of_block1_mrd_pct") is not None:
                components.append(
                    _component(
                        "end_of_block1_mrd_pct", {"valueQuantity": _quantity(relapse["end_of_block1_mrd_pct"], "%")}
                    )
                )
            b.observation(f"relapse/{i}", "relapse", "exam", None, components)
        if not relapses:
            _none_recorded(b, "relapses")
    if record.get("refractory") is not None:
        b.observation("refractory", "refractory", "exam", {"valueBoolean": bool(record["refractory"])})
    start, end = record.get("treatment_start_date"), record.get("end_of_therapy_date")
    if start is not None or end is not None:
        period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
        course: Resource = {
            "resourceType": "Procedure",
            "status": "completed" if end is not None else "in-progress",
            "code": c.concept_cc("treatment_course"),
            "subject": b.subject,
            "performedPeriod": period,
        }
        b.add("treatment-course", course)
    genotype = record.get("pharmacogenomics") or {}
    for gene in ("tpmt", "nudt15"):
        if genotype.get(gene) is not None:
            value = {"valueCodeableConcept": c.value_cc("phenotype", genotype[gene])}
            b.observation(f"pgx/{gene}", f"{gene}_phenotype", "laboratory", value)
    exposures = record.get("exposures") or {}
    courses = exposures.get("courses")
    if courses is not None:
        for i, item in enumerate(courses):
            b.add(f"course/{i}", _course(b, item))
        if not courses:
            _none_recorded(b, "exposures.courses")
    beams = exposures.get("radiation")
    if beams is not None:
        for i, beam in enumerate(beams):
            b.add(f"radiation/{i}", _radiation(b, beam))
        if not beams:
            _none_recorded(b, "exposures.radiation")
    return {"resourceType": "Bundle", "type": "collection", "entry": b.entries}


# ---- the assessment ------------------------------------------------------------------------------------


def _reference(ref: str | dict[str, Any]) -> dict[str, Any]:
    return {"reference": ref} if isinstance(ref, str) else dict(ref)


def _versions(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    extensions = []
    for key in ("knowledge_version", "engine_version"):
        if assessment.get(key):
            extensions.append({"url": c.extension_url(key.replace("_", "-")), "valueString": str(assessment[key])})
    return extensions


def _citation(source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    return f'{source.get("document", "")}, section "{source.get("section", "")}"'


def _citation_extension(source: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A citation ``{document, section}`` (and the deeper ``reference`` of an evidence item) as an extension."""
    if not source:
        return []
    parts = [{"url": k, "valueString": str(source[k])} for k in ("document", "section", "reference") if source.get(k)]
    return [{"url": c.extension_url("citation"), "extension": parts}] if parts else []


def _absent(code: str) -> dict[str, Any]:
    return {"dataAbsentReason": {"coding": [{"system": c.SYSTEMS["data_absent_reason"], "code": code}]}}


def risk_observation(
    assessment: dict[str, Any],
    patient_ref: str | dict[str, Any],
    condition_ref: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The assessment's risk groups as an Observation of the mCODE ALL risk assessment profile.

    ``value``: the source's group (standard/high from the mCODE value set, very high local), or a
    dataAbsentReason; ``component``: disease state, COG group, relapse risk group (local codes). Status
    ``final`` only when the assessment is not provisional. Factor citations are notes.
    """
    state = assessment.get("disease_state") or "newly_diagnosed"
    provisional = bool(assessment.get("provisional"))
    waiting = provisional and state == "newly_diagnosed"
    resource: Resource = {
        "resourceType": "Observation",
        "meta": {"profile": [c.MCODE["all_risk_assessment"]]},
        "extension": [
            *_versions(assessment),
            {"url": c.extension_url("provisional"), "valueBoolean": provisional},
        ],
        "status": "preliminary" if provisional else "final",
        "category": _category("exam"),
        "code": c.concept_cc("all_risk_assessment"),
        "subject": _reference(patient_ref),
    }
    if condition_ref is not None:
        resource["focus"] = [_reference(condition_ref)]
    group = assessment.get("risk_group")
    if group:
        resource["valueCodeableConcept"] = c.value_cc("risk_group", group)
    else:
        resource.update(_absent("temp-unknown" if waiting else "not-applicable"))
    components = [_component("disease_state", {"valueCodeableConcept": c.value_cc("disease_state", state)})]
    cog = assessment.get("cog_risk_group")
    cog_value = (
        {"valueCodeableConcept": c.value_cc("cog_risk_group", cog)}
        if cog
        else _absent("temp-unknown" if waiting else "not-applicable")
    )
    components.append(_component("cog_risk_group", cog_value))
    relapse = assessment.get("relapse") or {}
    if relapse:
        group = relapse.get("risk_group")
        value = {"valueCodeableConcept": c.value_cc("relapse_risk_group", group)} if group else _absent("temp-unknown")
        components.append(_component("relapse_risk_group", value))
    resource["component"] = components
    notes = []
    for factor in assessment.get("factors") or []:
        text = f"{factor.get('id')}: {factor.get('explanation', '')}"
        if factor.get("confidence"):
            text += f" (confidence: {factor['confidence']})"
        if factor.get("source"):
            text += f" Source: {_citation(factor['source'])}."
        notes.append({"text": text})
    if assessment.get("missing"):
        notes.append({"text": "Missing inputs that could change this assessment: " + ", ".join(assessment["missing"])})
    if assessment.get("disclaimer"):
        notes.append({"text": str(assessment["disclaimer"])})
    if notes:
        resource["note"] = notes
    return resource


def _drug_cc(name: str) -> dict[str, Any]:
    if name in c.value_tokens("drug"):
        return c.value_cc("drug", name)
    return {"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("drug", name), "display": name}], "text": name}


def _activity(kind: str, concept: dict[str, Any], item: dict[str, Any], label: str) -> dict[str, Any]:
    certainty = item.get("certainty")
    description = label
    if item.get("plain"):
        description += f": {item['plain']}"
    if certainty:
        description += f" Certainty: {certainty}"
        if item.get("certainty_meaning"):
            description += f" ({item['certainty_meaning']})"
        description += "."
    if item.get("source"):
        description += f" Source: {_citation(item['source'])}."
    extensions = []
    if certainty:
        extensions.append({"url": c.extension_url("certainty"), "valueCode": str(certainty)})
    if item.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(item["confidence"])})
    extensions += _citation_extension(item.get("source"))
    reasons = [r.get("element") for r in item.get("reasons") or [] if r.get("element")]
    if reasons:
        extensions.append({"url": c.extension_url("plan-elements"), "valueString": ", ".join(reasons)})
    detail: dict[str, Any] = {"kind": kind, "status": "not-started", "description": description}
    if kind == "MedicationRequest":
        detail["productCodeableConcept"] = concept
    else:
        detail["code"] = concept
    if extensions:
        detail["extension"] = extensions
    return {"detail": detail}


def care_plan(
    assessment: dict[str, Any],
    patient_ref: str | dict[str, Any],
    condition_ref: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The assessment's plan as a proposed CarePlan (decision support, not an order).

    Phases are contained CarePlans (``partOf`` the plan) in their order with their goal; therapies
    (``ServiceRequest``) and drugs (``MedicationRequest``) are activities, each with its certainty, confidence
    and citation as extensions and in plain words in the description.
    """
    plan = assessment.get("plan") or {}
    subject = _reference(patient_ref)
    contained = []
    for phase in plan.get("phases") or []:
        phase_plan: Resource = {
            "resourceType": "CarePlan",
            "id": "phase-" + str(phase["id"]).replace("_", "-"),
            "status": "draft",
            "intent": "proposal",
            "partOf": [{"reference": "#"}],
            "subject": subject,
            "title": str(phase.get("name") or phase["id"]),
            "description": str(phase.get("goal") or phase.get("name") or phase["id"]),
            "category": [{"coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("phase", str(phase["id"]))}]}],
        }
        extensions = _citation_extension(phase.get("source"))
        if phase.get("order") is not None:
            extensions.insert(0, {"url": c.extension_url("phase-order"), "valueInteger": int(phase["order"])})
        if extensions:
            phase_plan["extension"] = extensions
        contained.append(phase_plan)
    activities = []
    for therapy in plan.get("therapies") or []:
        code = str(therapy["code"])
        concept = {
            "coding": [
                {"system": c.LOCAL_SYSTEM, "code": c.local_code("therapy", code), "display": therapy.get("label", code)}
            ],
            "text": therapy.get("label", code),
        }
        activities.append(_activity("ServiceRequest", concept, therapy, str(therapy.get("label") or code)))
    for drug in plan.get("drugs") or []:
        name = str(drug["name"])
        activities.append(_activity("MedicationRequest", _drug_cc(name), drug, str(drug.get("label") or name)))
    for pending in plan.get("pending") or []:
        description = (
            f"Pending: {pending.get('explanation', '')} Would add: {', '.join(pending.get('would_add') or [])}; "
            f"waiting for: {', '.join(pending.get('waiting_for') or [])}."
        )
        activities.append(
            {
                "detail": {
                    "kind": "ServiceRequest",
                    "code": {
                        "coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code("pending", str(pending["id"]))}]
                    },
                    "status": "on-hold",
                    "description": description,
                }
            }
        )
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "title": "allpath treatment plan (decision support)",
        "description": str(assessment.get("disclaimer") or "Decision support for clinicians, not a prescription."),
        "subject": subject,
    }
    extensions = _versions(assessment)
    if extensions:
        resource["extension"] = extensions
    if contained:
        resource["contained"] = contained
    if condition_ref is not None:
        resource["addresses"] = [_reference(condition_ref)]
    if activities:
        resource["activity"] = activities
    notes = [{"text": f"Not covered: {item.get('explanation', '')}"} for item in plan.get("not_covered") or []]
    if notes:
        resource["note"] = notes
    return resource


# ---- the roadmap and the survivorship plan --------------------------------------------------------------


def _decimal(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def _words(value: Any) -> str:
    return str(value).replace("_", " ")


def _sources_text(evidence: list[dict[str, Any]] | None) -> str:
    cited = []
    for item in evidence or []:
        text = _citation(item)
        if item.get("reference"):
            text += f" ({item['reference']})"
        if text and text not in cited:
            cited.append(text)
    return "; ".join(cited)


def _evidence_extensions(evidence: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    extensions: list[dict[str, Any]] = []
    for item in evidence or []:
        for extension in _citation_extension(item):
            if extension not in extensions:
                extensions.append(extension)
    return extensions


def _local_cc(group: str, token: str, display: str) -> dict[str, Any]:
    return {
        "coding": [{"system": c.LOCAL_SYSTEM, "code": c.local_code(group, token), "display": display}],
        "text": display,
    }


def _period(start: Any, end: Any) -> dict[str, str]:
    return {k: str(v) for k, v in (("start", start), ("end", end)) if v}


NOT_COVERED_NOTE = "not covered by allpath's sources"


def _survivorship_activity(item: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - complexity 22, a ceiling in tests/test_module_size.py (issue 11)
    """One follow-up item: the test (or the late effect to watch), its interval as a Timing, the first date,
    the late effect as the reason, and confidence, strength and citations as extensions and in words."""
    late_effect = str(item.get("late_effect") or _words(item.get("topic") or item["id"]))
    test = item.get("test")
    label = str(test) if test else f"follow-up of {late_effect}"
    interval = item.get("interval_years")
    start = item.get("start") or {}
    not_before, no_later_than = start.get("not_before"), start.get("no_later_than")
    not_covered = bool(item.get("not_covered"))
    schedule_not_covered = bool(item.get("schedule_not_covered"))

    if not_covered:
        text = f"Not covered by allpath's sources: {item.get('explanation', '')}".strip()
    else:
        text = label[:1].upper() + label[1:]
        if interval:
            text += f" every {_decimal(interval):g} years" if interval != 1 else " every year"
        if item.get("strength"):
            text += f" ({_words(item['strength'])})"
        text += "."
        if start.get("rule"):
            dates = [f"not before {not_before}"] if not_before else []
            if no_later_than:
                dates.append(f"no later than {no_later_than}")
            text += f" First: {start['rule']}" + (f" ({', '.join(dates)})" if dates else "") + "."
        if schedule_not_covered:
            text += " The screening schedule is not covered by allpath's sources."
        if item.get("explanation"):
            text += f" {item['explanation']}"
    text += f" Late effect: {late_effect}."
    if item.get("confidence"):
        text += f" Confidence: {item['confidence']}."
    sources = _sources_text(item.get("evidence"))
    if sources:
        text += f" Sources: {sources}."

    detail: dict[str, Any] = {
        "kind": "ServiceRequest",
        "code": _local_cc("survivorship", str(item["id"]), label),
        "reasonCode": [{"text": late_effect}],
        "status": "not-started",
        "description": text,
    }
    if not not_covered:
        if interval:
            repeat: dict[str, Any] = {"frequency": 1, "period": _decimal(interval), "periodUnit": "a"}
            if not_before:
                repeat["boundsPeriod"] = {"start": str(not_before)}
            detail["scheduledTiming"] = {"repeat": repeat}
        elif not_before:
            detail["scheduledPeriod"] = _period(not_before, no_later_than)
        elif no_later_than:
            detail["scheduledString"] = f"no later than {no_later_than}"
        elif start.get("rule"):
            detail["scheduledString"] = str(start["rule"])
    extensions: list[dict[str, Any]] = []
    if not not_covered and (not_before or no_later_than):
        extensions.append({"url": c.extension_url("first-due"), "valuePeriod": _period(not_before, no_later_than)})
    if item.get("strength"):
        extensions.append({"url": c.extension_url("strength"), "valueCode": str(item["strength"])})
    if item.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(item["confidence"])})
    extensions += _evidence_extensions(item.get("evidence"))
    if extensions:
        detail["extension"] = extensions
    activity: dict[str, Any] = {"detail": detail}
    if not_covered:
        activity["progress"] = [{"text": NOT_COVERED_NOTE}]
    elif schedule_not_covered:
        activity["progress"] = [{"text": f"the screening schedule is {NOT_COVERED_NOTE}"}]
    return activity


SURVIVORSHIP_BASIS_WORDS = {
    "recorded": "the treatment recorded as given",
    "planned": "the treatment planned by the roadmap",
    "none": "no treatment known (no exposures recorded and no roadmap)",
}


def survivorship_care_plan(
    survivorship: dict[str, Any],
    patient_ref: str | dict[str, Any],
    condition_ref: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The survivorship plan (``allpath.engine.survivorship.survivorship_plan``) as a proposed CarePlan.

    One activity per follow-up item: the test as its code, the interval as ``scheduledTiming`` ("every N
    years": period N, periodUnit ``a``), the first date as ``scheduledPeriod`` (or ``scheduledString`` when
    only "no later than" is known, and always in the ``first-due`` extension), the late effect as
    ``reasonCode``, and confidence, strength and citations as extensions and in the description. Items that
    allpath's sources do not cover are activities with a progress note saying so; the plan's own gaps, the
    exposures it rests on and what is still missing are notes.
    """
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "category": [c.concept_cc("survivorship_care_plan")],
        "title": "allpath survivorship plan: follow-up after treatment (decision support)",
        "description": str(survivorship.get("disclaimer") or "Decision support for clinicians, not a prescription."),
        "subject": _reference(patient_ref),
    }
    extensions = _versions(survivorship)
    extensions.append({"url": c.extension_url("provisional"), "valueBoolean": bool(survivorship.get("provisional"))})
    if survivorship.get("basis"):
        extensions.append({"url": c.extension_url("exposure-basis"), "valueCode": str(survivorship["basis"])})
    extensions += _citation_extension(survivorship.get("source"))
    resource["extension"] = extensions
    if survivorship.get("end_of_therapy_date"):
        resource["period"] = {"start": str(survivorship["end_of_therapy_date"])}
    if condition_ref is not None:
        resource["addresses"] = [_reference(condition_ref)]
    activities = [_survivorship_activity(item) for item in survivorship.get("items") or []]
    if activities:
        resource["activity"] = activities
    notes = [{"text": _survivorship_basis(survivorship)}]
    for entry in survivorship.get("not_covered") or []:
        text = f"Not covered by allpath's sources: {entry.get('text', '')}"
        sources = _sources_text(entry.get("evidence"))
        notes.append({"text": text + (f" Sources: {sources}." if sources else "")})
    if survivorship.get("missing"):
        notes.append({"text": "Provisional, waiting for: " + ", ".join(str(m) for m in survivorship["missing"])})
    notes += [{"text": str(note)} for note in survivorship.get("notes") or []]
    if survivorship.get("source"):
        notes.append({"text": f"Source: {_citation(survivorship['source'])}."})
    resource["note"] = notes
    return resource


def _survivorship_basis(survivorship: dict[str, Any]) -> str:
    basis = str(survivorship.get("basis") or "none")
    text = f"Based on: {SURVIVORSHIP_BASIS_WORDS.get(basis, basis)}."
    exposures = survivorship.get("exposures") or {}
    total = exposures.get("doxorubicin_equivalent_mg_per_m2")
    if total is not None:
        text += f" Anthracyclines: {_decimal(total):g} mg/m2 doxorubicin equivalent."
    radiation = [
        f"{site} {_decimal(exposures[key]):g} Gy"
        for site, key in (("chest", "chest_radiation_gy"), ("cranial", "cranial_radiation_gy"))
        if exposures.get(key) is not None
    ]
    if radiation:
        text += " Radiation: " + ", ".join(radiation) + "."
    if exposures.get("drugs"):
        text += " Medicines: " + ", ".join(str(d) for d in exposures["drugs"]) + "."
    if survivorship.get("end_of_therapy_date"):
        text += f" End of therapy: {survivorship['end_of_therapy_date']}."
    return text


def _phase_length(phase: dict[str, Any]) -> str:
    if not phase.get("length_known", True):
        return "length not given in the sources"
    length = f"{_decimal(phase['weeks']):g} weeks" if phase.get("weeks") else ""
    if phase.get("cycle_weeks"):
        length = f"{_decimal(phase['cycle_weeks']):g}-week cycles" + (
            f" (about {phase['cycles']})" if phase.get("cycles") else ""
        )
    if phase.get("until") == "total_duration":
        length += (", " if length else "") + "until the end of therapy"
    return length


def _phase_activity(order: int, phase: dict[str, Any]) -> dict[str, Any]:
    label = str(phase.get("label") or phase["id"])
    length = _phase_length(phase)
    text = label + (f": {length}." if length else ".")
    drugs = [
        f"{d.get('drug')} ({_words(d.get('route') or 'route not given')}): {d.get('schedule') or 'schedule not given'}"
        for d in phase.get("drugs") or []
    ]
    if drugs:
        text += " Drugs: " + "; ".join(drugs) + "."
    if phase.get("length_basis"):
        text += f" {phase['length_basis']}."
    if phase.get("confidence"):
        text += f" Confidence: {phase['confidence']}."
    sources = _sources_text(phase.get("evidence"))
    if sources:
        text += f" Sources: {sources}."
    detail: dict[str, Any] = {
        "code": _local_cc("roadmap_phase", str(phase["id"]), label),
        "status": "not-started",
        "description": text,
    }
    period = _period(phase.get("start"), phase.get("end"))
    if period:
        detail["scheduledPeriod"] = period
    elif length:
        detail["scheduledString"] = length
    extensions: list[dict[str, Any]] = [{"url": c.extension_url("phase-order"), "valueInteger": order}]
    if phase.get("confidence"):
        extensions.append({"url": c.extension_url("confidence"), "valueCode": str(phase["confidence"])})
    extensions += _evidence_extensions(phase.get("evidence"))
    detail["extension"] = extensions
    return {"detail": detail}


def _checkpoint_activity(checkpoint: dict[str, Any]) -> dict[str, Any]:
    label = str(checkpoint.get("label") or checkpoint["id"])
    text = f"{label}."
    if checkpoint.get("purpose"):
        text += f" {checkpoint['purpose']}"
    if checkpoint.get("input"):
        text += f" Record field: {checkpoint['input']}" + (" (recorded)." if checkpoint.get("result_known") else ".")
    sources = _sources_text(checkpoint.get("evidence"))
    if sources:
        text += f" Sources: {sources}."
    detail: dict[str, Any] = {
        "kind": "ServiceRequest",
        "code": _local_cc("checkpoint", str(checkpoint["id"]), label),
        "status": "completed" if checkpoint.get("result_known") else "not-started",
        "description": text,
    }
    if checkpoint.get("date"):
        detail["scheduledPeriod"] = {"start": str(checkpoint["date"]), "end": str(checkpoint["date"])}
    elif checkpoint.get("day") is not None and checkpoint.get("phase"):
        detail["scheduledString"] = f"day {checkpoint['day']} of {_words(checkpoint['phase'])}"
    extensions = _evidence_extensions(checkpoint.get("evidence"))
    if extensions:
        detail["extension"] = extensions
    return {"detail": detail}


def roadmap_care_plan(
    roadmap: dict[str, Any],
    patient_ref: str | dict[str, Any],
    condition_ref: str | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The treatment roadmap (``allpath.engine.roadmap.build_roadmap``) as a proposed CarePlan.

    The plan's period runs from the first day of treatment to the end of therapy; each phase is an activity
    in its order with its dates as ``scheduledPeriod`` (or its length in words when undated) and its drugs,
    routes and schedules in the description; each response test (checkpoint) is an activity on its day.
    Dates assume no delays. A child without a regimen gets a plan without activities that says why.
    """
    regimen = roadmap.get("regimen") or {}
    title = "allpath treatment roadmap"
    if regimen.get("label"):
        title += f": {regimen['label']}"
    resource: Resource = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "category": [c.concept_cc("treatment_roadmap")],
        "title": title + " (decision support)",
        "description": str(roadmap.get("disclaimer") or "Decision support for clinicians, not a prescription."),
        "subject": _reference(patient_ref),
    }
    extensions = _versions(roadmap)
    extensions.append({"url": c.extension_url("provisional"), "valueBoolean": bool(roadmap.get("provisional"))})
    extensions += _citation_extension(regimen.get("source"))
    resource["extension"] = extensions
    end = (roadmap.get("end_of_therapy") or {}).get("date")
    period = _period(roadmap.get("start_date"), end)
    if period:
        resource["period"] = period
    if condition_ref is not None:
        resource["addresses"] = [_reference(condition_ref)]
    activities = [_phase_activity(i, phase) for i, phase in enumerate(roadmap.get("phases") or [], start=1)]
    activities += [_checkpoint_activity(checkpoint) for checkpoint in roadmap.get("checkpoints") or []]
    if activities:
        resource["activity"] = activities
    notes: list[dict[str, str]] = []
    if regimen:
        text = f"Regimen: {regimen.get('label', regimen.get('id'))}."
        if regimen.get("source"):
            text += f" Source: {_citation(regimen['source'])}."
        sources = _sources_text(regimen.get("evidence"))
        if sources:
            text += f" Evidence: {sources}."
        notes.append({"text": text})
        if roadmap.get("start_date"):
            notes.append({"text": f"First day of treatment: {roadmap['start_date']}; dates assume no delays."})
        else:
            notes.append({"text": "Not dated: the first day of treatment is not known."})
    else:
        notes.append({"text": "No roadmap for this child."})
    notes += [{"text": f"Not covered: {reason}"} for reason in roadmap.get("not_covered") or [] if reason]
    if roadmap.get("missing"):
        notes.append({"text": "Waiting for: " + ", ".join(str(m) for m in roadmap["missing"])})
    end_of_therapy = roadmap.get("end_of_therapy") or {}
    if end_of_therapy.get("rule"):
        notes.append({"text": f"End of therapy: {end_of_therapy.get('date') or 'not dated'}. {end_of_therapy['rule']}"})
    for note in roadmap.get("notes") or []:
        if isinstance(note, dict):
            confidence = f" ({note['confidence']} confidence)" if note.get("confidence") else ""
            notes.append({"text": f"Note{confidence}: {note.get('text', '')}"})
        else:
            notes.append({"text": str(note)})
    resource["note"] = notes
    return resource


# ---- the package -----------------------------------------------------------------------------------------


def patient_references(record: dict[str, Any]) -> tuple[str, str]:
    """The full URLs of the record's Patient and ALL Condition in ``record_to_bundle(record)``."""
    b = _Builder(record)
    return b.patient_url, b.condition_url


def second_opinion_bundle(
    record: dict[str, Any],
    assessment: dict[str, Any],
    survivorship: dict[str, Any] | None = None,
    roadmap: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record's resources, the risk assessment Observation and the CarePlan in one collection Bundle;
    with the roadmap CarePlan when a ``roadmap`` with a regimen is given, and the survivorship CarePlan when a
    ``survivorship`` plan is given that rests on treatment (recorded exposures or the roadmap's regimen)."""
    bundle = record_to_bundle(record)
    b = _Builder(record)
    bundle["entry"].append(
        {"fullUrl": b.url("risk-assessment"), "resource": risk_observation(assessment, b.patient_url, b.condition_url)}
    )
    bundle["entry"].append(
        {"fullUrl": b.url("care-plan"), "resource": care_plan(assessment, b.patient_url, b.condition_url)}
    )
    if roadmap is not None and roadmap.get("regimen"):
        bundle["entry"].append(
            {"fullUrl": b.url("roadmap"), "resource": roadmap_care_plan(roadmap, b.patient_url, b.condition_url)}
        )
    if survivorship is not None and survivorship.get("basis") in ("recorded", "planned"):
        bundle["entry"].append(
            {
                "fullUrl": b.url("survivorship"),
                "resource": survivorship_care_plan(survivorship, b.patient_url, b.condition_url),
            }
        )
    return bundle
