"""FHIR R4 Bundle -> patient record v1 (a dict that ``parse_record`` accepts), with an account of every step.

``import_bundle`` reads the resources that can carry record fields (Patient, Condition, Observation,
MedicationAdministration, Procedure), each validated with the ``fhir.resources`` R4B models, and says for
every record field where it came from (``mapped``), for every resource or part it did not use why not
(``ignored``), and for every field whose sources disagree what they said (``conflicts``). It never guesses:
two white counts that differ leave the field out. The record it returns has passed ``parse_record``; a value
that the record contract does not allow is left out and reported with the contract's message.

Nothing is logged; the result goes back to the caller only.
"""

from __future__ import annotations

import base64
import marshal
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from allpath.domain.record import FIELD_NAMES, parse_record
from allpath.errors import RecordError
from allpath.interfaces.fhir import codes as c

READ_TYPES = ("Patient", "Condition", "Observation", "MedicationAdministration", "Procedure")
_OBSERVATION_STATUSES = {"final", "amended", "corrected"}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_FULL_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")
_LIST_FIELDS = ("genetics", "predisposition_syndromes", "relapses", "exposures.courses", "exposures.radiation")
_OBJECT_FIELDS = ("response", "pharmacogenomics", "exposures")
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
}
_ALL_CONCEPTS = {"acute_lymphoblastic_leukemia": None, "b_all": "B", "t_all": "T"}

# Units -> factor as a power of ten (cells per microliter, kilograms, centimeters, ...); None = not a power of ten.
_WBC_UNITS = {
    "10*3/ul": 3,
    "10*3/mm3": 3,
    "k/ul": 3,
    "thou/ul": 3,
    "thousand/ul": 3,
    "10*9/l": 3,
    "g/l": 3,  # "giga per liter", as some laboratories write 10^9/L
    "/ul": 0,
    "/mm3": 0,
    "{cells}/ul": 0,
    "cells/ul": 0,
    "10*6/l": 0,
    "/l": -6,
}
_WEIGHT_UNITS: dict[str, tuple[int, float]] = {"kg": (0, 1.0), "g": (-3, 1.0), "[lb_av]": (0, 0.45359237)}
_HEIGHT_UNITS: dict[str, tuple[int, float]] = {"cm": (0, 1.0), "m": (2, 1.0), "mm": (-1, 1.0), "[in_i]": (0, 2.54)}
_AGE_UNITS = {"a": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}
_MONTH_UNITS = {"mo": 1.0, "a": 12.0, "wk": 12 * 7 / 365.25, "d": 12 / 365.25}
_DOSE_UNITS = {"mg": 0, "g": 3, "ug": -3, "mcg": -3}
_GRAY_UNITS = {"gy": 0, "cgy": -2}


@dataclass
class ImportResult:
    """What ``import_bundle`` made of a Bundle."""

    record: dict[str, Any]
    mapped: list[dict[str, str]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "mapped": self.mapped, "ignored": self.ignored, "conflicts": self.conflicts}


# ---- validation with fhir.resources --------------------------------------------------------------------


def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _is_plain_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"reference"} and isinstance(value["reference"], str)


def _shape_key(resource: dict[str, Any]) -> bytes | None:
    """A cache key that leaves out what cannot change validity: the id and plain subject references (checked
    here). Exported Bundles repeat the same resources for many records; each shape is validated once."""
    shape = dict(resource)
    if "id" in shape:
        if not (isinstance(shape["id"], str) and _FHIR_ID.match(shape["id"])):
            return None
        shape["id"] = "x"
    for name in ("subject", "patient"):
        if name in shape:
            if not _is_plain_reference(shape[name]) or not shape[name]["reference"]:
                return None
            shape[name] = None
    try:
        return marshal.dumps(shape)  # plain JSON values only; several times faster than repr or json.dumps
    except ValueError:
        return None


_SHAPES: dict[tuple[str, bytes], str | None] = {}
_SHAPES_MAX = 20_000


def _problem(resource_type: str, resource: dict[str, Any]) -> str | None:
    """None when the resource is valid FHIR (R4B models), else a short description of the first problem."""
    try:
        _model(resource_type).model_validate(resource)
    except Exception as error:  # pydantic ValidationError, or anything a malformed payload provokes
        errors = getattr(error, "errors", None)
        if callable(errors):
            try:
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return (
                    f"not valid FHIR R4 ({len(errors())} problem(s); first at {where or 'the top'}: {first.get('msg')})"
                )
            except Exception:  # noqa: BLE001 - describing the error must not fail
                pass
        return f"not valid FHIR R4 ({type(error).__name__})"
    return None


def validation_problem(resource: dict[str, Any]) -> str | None:
    """Validate one resource with the R4B model of its type (cached by shape for repeated resources)."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return "no resourceType"
    key = _shape_key(resource)
    if key is None:
        return _problem(resource_type, resource)
    cache_key = (resource_type, key)
    if cache_key in _SHAPES:
        return _SHAPES[cache_key]
    problem = _problem(resource_type, resource)
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[cache_key] = problem
    return problem


# ---- small readers of validated resources --------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def _scaled(value: float, power_of_ten: int) -> float:
    if power_of_ten == 0:
        return value
    try:
        return float(Decimal(repr(value)).scaleb(power_of_ten))
    except InvalidOperation:
        return value * 10.0**power_of_ten


def _unit(quantity: dict[str, Any]) -> str:
    """The unit of a Quantity, normalised for look-up: the UCUM code when given, else the unit text."""
    text = quantity.get("code") if quantity.get("system") == c.UCUM and quantity.get("code") else None
    text = text or quantity.get("unit") or quantity.get("code") or ""
    text = str(text).strip().lower().replace(" ", "").replace("^", "*").replace("µ", "u").replace("μ", "u")
    text = text.replace("x10e3", "10*3").replace("x10*3", "10*3").replace("x10e9", "10*9").replace("x10*9", "10*9")
    return text


def _date(value: Any) -> str | None:
    if isinstance(value, str):
        match = _FULL_DATE.match(value)
        if match:
            return match.group(1)
    return None


def _codings(concept: Any) -> list[Any]:
    return concept.get("coding") or [] if isinstance(concept, dict) else []


def _names(concept: Any) -> set[str]:
    names = {str(x.get("display", "")).strip().lower() for x in _codings(concept) if isinstance(x, dict)}
    if isinstance(concept, dict) and concept.get("text"):
        names.add(str(concept["text"]).strip().lower())
    return names - {""}


def _has_local(concept: Any, code: str) -> bool:
    return any(
        isinstance(x, dict) and x.get("system") == c.LOCAL_SYSTEM and x.get("code") == code for x in _codings(concept)
    )


def _first_coding(concept: Any) -> str:
    for x in _codings(concept):
        if isinstance(x, dict):
            return f"{x.get('system', '?')}|{x.get('code', '?')}"
    return "no coding"


# ---- the import ----------------------------------------------------------------------------------------


@dataclass
class _Found:
    value: Any
    source: str


@dataclass
class _Reader:
    scalars: dict[str, list[_Found]] = field(default_factory=dict)
    items: dict[str, list[_Found]] = field(default_factory=dict)
    empty: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[dict[str, str]] = field(default_factory=list)

    def scalar(self, name: str, value: Any, source: str) -> None:
        self.scalars.setdefault(name, []).append(_Found(value, source))

    def item(self, name: str, value: Any, source: str) -> None:
        self.items.setdefault(name, []).append(_Found(value, source))

    def ignore(self, resource: str, reason: str) -> None:
        self.ignored.append({"resource": resource, "reason": reason})

    # -- Patient --

    def patient(self, label: str, r: dict[str, Any]) -> None:
        before = sum(len(found) for found in self.scalars.values())
        self._patient_fields(label, r)
        if sum(len(found) for found in self.scalars.values()) == before:
            self.ignore(label, "gives no field of the record (no gender, full birth date or allpath record id)")

    def _patient_fields(self, label: str, r: dict[str, Any]) -> None:
        gender = r.get("gender")
        if gender in ("male", "female"):
            self.scalar("sex", gender, f"{label}.gender")
        elif gender is not None:
            self.ignore(f"{label}.gender", f'gender "{gender}" has no counterpart in the record (female or male)')
        if "birthDate" in r:
            day = _date(r["birthDate"])
            if day:
                self.scalar("birth_date", day, f"{label}.birthDate")
            else:
                self.ignore(f"{label}.birthDate", "a partial birth date (year or month only) cannot give an age")
        for i, identifier in enumerate(r.get("identifier") or []):
            if isinstance(identifier, dict) and identifier.get("system") == c.RECORD_ID_SYSTEM:
                if "value" in identifier:
                    self.scalar("id", identifier["value"], f"{label}.identifier[{i}]")
                for extension in identifier.get("extension") or []:
                    if not isinstance(extension, dict):
                        continue
                    if extension.get("url") == c.extension_url("empty-value"):
                        self.scalar("id", "", f"{label}.identifier[{i}]")
                    elif extension.get("url") == c.extension_url("encoded-value"):
                        try:
                            decoded = base64.b64decode(str(extension.get("valueBase64Binary")), validate=True)
                            self.scalar("id", decoded.decode("utf-8"), f"{label}.identifier[{i}]")
                        except (ValueError, UnicodeDecodeError):
                            self.ignore(f"{label}.identifier[{i}]", "an encoded record id that is not base64 UTF-8")

    # -- Condition --

    def condition(self, label: str, r: dict[str, Any]) -> None:
        lookup = c.lookup()
        verification = {str(x.get("code")) for x in _codings(r.get("verificationStatus")) if isinstance(x, dict)}
        if "entered-in-error" in verification:
            self.ignore(label, "entered in error")
            return
        codings = _codings(r.get("code"))
        kinds = lookup.concepts_of(codings) & set(_ALL_CONCEPTS)
        refuted = "refuted" in verification
        unconfirmed = bool(verification & {"unconfirmed", "provisional", "differential"})
        if kinds:
            if refuted or unconfirmed:
                self.ignore(label, "the leukemia diagnosis is not confirmed (verificationStatus)")
                return
            self._leukemia(label, r, kinds)
            return
        down = lookup.value_of("down_syndrome", codings)
        syndrome = lookup.value_of("predisposition", codings)
        if down is None and syndrome is None:
            self.ignore(label, f"not a condition allpath reads ({_first_coding(r.get('code'))})")
            return
        if unconfirmed:
            self.ignore(label, "not confirmed (verificationStatus): the record holds known conditions only")
            return
        if down is not None:
            self.scalar("down_syndrome", not refuted, f"{label}.verificationStatus")
        elif refuted:
            self.ignore(label, "a refuted predisposition syndrome: the record lists the syndromes a child has")
        else:
            self.item("predisposition_syndromes", syndrome, f"{label}.code")

    def _leukemia(self, label: str, r: dict[str, Any], kinds: set[str]) -> None:
        lineages = {_ALL_CONCEPTS[k] for k in kinds} - {None}
        if len(lineages) == 1:
            self.scalar("immunophenotype", lineages.pop(), f"{label}.code")
        elif len(lineages) > 1:
            self.ignore(f"{label}.code", "codes for both B-cell and T-cell ALL: the lineage is not read")
        if "onsetDateTime" in r:
            day = _date(r["onsetDateTime"])
            if day:
                self.scalar("diagnosis_date", day, f"{label}.onsetDateTime")
            else:
                self.ignore(f"{label}.onsetDateTime", "a partial date cannot give the age at diagnosis")
        elif "recordedDate" in r and "onsetAge" not in r:
            day = _date(r["recordedDate"])
            if day:
                self.scalar("diagnosis_date", day, f"{label}.recordedDate")
        if isinstance(r.get("onsetAge"), dict):
            self._age(f"{label}.onsetAge", r["onsetAge"])
        for i, extension in enumerate(r.get("extension") or []):
            if isinstance(extension, dict) and extension.get("url") == c.extension_url("age-at-diagnosis"):
                self._age(f"{label}.extension[{i}]", extension.get("valueAge") or {})

    def _age(self, source: str, quantity: dict[str, Any]) -> None:
        years = _number(quantity.get("value"))
        factor = _AGE_UNITS.get(_unit(quantity))
        if years is None or factor is None:
            self.ignore(source, "an age without a number in years, months, weeks or days")
            return
        self.scalar("age_years", years if factor == 1.0 else round(years * factor, 4), source)

    # -- Observation --

    def observation(self, label: str, r: dict[str, Any]) -> None:
        status = r.get("status")
        if status not in _OBSERVATION_STATUSES:
            self.ignore(label, f'status "{status}": only final, amended or corrected results are read')
            return
        concept = c.lookup().concept_of(_codings(r.get("code")))
        handler = _OBSERVATION_HANDLERS.get(concept or "")
        if handler is None:
            what = f"not an observation allpath reads ({_first_coding(r.get('code'))})"
            if "valueString" in r:
                what += "; free-text results are not interpreted"
            self.ignore(label, what)
            return
        handler(self, label, r, concept or "")

    def _quantity(
        self, label: str, r: dict[str, Any], name: str, units: dict[str, tuple[int, float]], what: str
    ) -> None:
        quantity = r.get("valueQuantity")
        number = _number(quantity.get("value")) if isinstance(quantity, dict) else None
        if number is None or not isinstance(quantity, dict):
            self.ignore(label, f"{what} without a numeric valueQuantity")
            return
        unit = _unit(quantity)
        if unit not in units:
            self.ignore(f"{label}.valueQuantity", f'{what} in unit "{unit}", which allpath does not convert')
            return
        power, factor = units[unit]
        value = _scaled(number, power)
        self.scalar(name, value if factor == 1.0 else round(value * factor, 3), f"{label}.valueQuantity")

    def _wbc(self, label: str, r: dict[str, Any], _: str) -> None:
        self._quantity(label, r, "wbc_per_ul", {u: (p, 1.0) for u, p in _WBC_UNITS.items()}, "a white count")

    def _weight(self, label: str, r: dict[str, Any], _: str) -> None:
        self._quantity(label, r, "weight_kg", _WEIGHT_UNITS, "a weight")

    def _height(self, label: str, r: dict[str, Any], _: str) -> None:
        self._quantity(label, r, "height_cm", _HEIGHT_UNITS, "a height")

    def _mrd(self, label: str, r: dict[str, Any], concept: str) -> None:
        self._quantity(label, r, _MRD_CONCEPTS[concept], {"%": (0, 1.0)}, "an MRD value")

    def _boolean(self, label: str, r: dict[str, Any], concept: str) -> None:
        if isinstance(r.get("valueBoolean"), bool):
            self.scalar(_BOOLEAN_CONCEPTS[concept], r["valueBoolean"], f"{label}.valueBoolean")
        else:
            self.ignore(label, "expected valueBoolean")

    def _coded(self, label: str, r: dict[str, Any], name: str, group: str) -> None:
        token = c.lookup().value_of(group, _codings(r.get("valueCodeableConcept")))
        if token is None:
            self.ignore(label, f"valueCodeableConcept is not a {group.replace('_', ' ')} allpath knows")
        else:
            self.scalar(name, token, f"{label}.valueCodeableConcept")

    def _cns(self, label: str, r: dict[str, Any], _: str) -> None:
        self._coded(label, r, "cns_status", "cns_status")

    def _phenotype(self, label: str, r: dict[str, Any], concept: str) -> None:
        self._coded(label, r, "pharmacogenomics." + concept.split("_")[0], "phenotype")

    def _none_recorded(self, label: str, r: dict[str, Any], _: str) -> None:
        prefix = c.local_code("empty", "")
        for coding in _codings(r.get("valueCodeableConcept")):
            if isinstance(coding, dict) and coding.get("system") == c.LOCAL_SYSTEM:
                name = str(coding.get("code", ""))[len(prefix) :]
                if str(coding.get("code", "")).startswith(prefix) and name in _LIST_FIELDS + _OBJECT_FIELDS:
                    self.empty.setdefault(name, []).append(f"{label}.valueCodeableConcept")
                    return
        self.ignore(label, "names no list of the record")

    def _genetics(self, label: str, r: dict[str, Any], _: str) -> None:
        lookup = c.lookup()
        presence = lookup.value_of("presence", _codings(r.get("valueCodeableConcept")))
        token = None
        genes: set[str] = set()
        changes: set[str] = set()
        symbols = c.hgnc_symbols()
        for component in r.get("component") or []:
            kind = lookup.concept_of(_codings(component.get("code")))
            codings = _codings(component.get("valueCodeableConcept"))
            if kind == "genetic_token":
                token = lookup.value_of("genetics", codings) or token
            elif kind == "gene_studied":
                for coding in codings:
                    if isinstance(coding, dict):
                        symbol = symbols.get(str(coding.get("code"))) or str(coding.get("display", "")).upper()
                        genes.add(symbol)
            elif kind == "dna_change_type":
                changes |= {str(x.get("code")) for x in codings if isinstance(x, dict)}
        source = f"{label}.component"
        if token is None and genes:
            fusion = lookup.fusion_genes.get(frozenset(genes))
            if fusion and changes & lookup.rearrangements:
                token, source = fusion, f"{label}.component (genes studied and change type)"
            elif fusion:
                self.ignore(label, "the genes of a known fusion, but no translocation or fusion change type")
                return
        if token is None:
            self.ignore(label, "a genetic finding that is not one of the record's genetics tokens")
            return
        expected = "absent" if token == "none_detected" else "present"
        if presence != expected:
            self.ignore(label, f"{token} is read only when the finding is stated as {expected}")
            return
        self.item("genetics", token, source)

    def _relapse(self, label: str, r: dict[str, Any], _: str) -> None:
        lookup = c.lookup()
        relapse: dict[str, Any] = {"sites": []}
        for component in r.get("component") or []:
            kind = lookup.concept_of(_codings(component.get("code")))
            quantity = component.get("valueQuantity") or {}
            if kind == "relapse_months_from_diagnosis":
                months, factor = _number(quantity.get("value")), _MONTH_UNITS.get(_unit(quantity))
                if months is not None and factor is not None:
                    relapse["months_from_diagnosis"] = months if factor == 1.0 else round(months * factor, 3)
            elif kind == "relapse_site":
                site = lookup.value_of("relapse_site", _codings(component.get("valueCodeableConcept")))
                if site is not None:
                    relapse["sites"].append(site)
            elif kind == "end_of_block1_mrd_pct":
                mrd = _number(quantity.get("value"))
                if mrd is not None and _unit(quantity) == "%":
                    relapse["end_of_block1_mrd_pct"] = mrd
        if "months_from_diagnosis" not in relapse or not relapse["sites"]:
            self.ignore(label, "a relapse needs its months from diagnosis and at least one site")
            return
        self.item("relapses", relapse, f"{label}.component")

    # -- MedicationAdministration and Procedure --

    def medication(self, label: str, r: dict[str, Any]) -> None:  # noqa: C901 - complexity 16, a ceiling in tests/test_module_size.py (issue 11)
        if r.get("status") != "completed":
            self.ignore(label, f'status "{r.get("status")}": only completed administrations are exposures')
            return
        concept = r.get("medicationCodeableConcept")
        if concept is None:
            self.ignore(label, "medicationReference is not followed: give medicationCodeableConcept")
            return
        drug = c.lookup().value_of("drug", _codings(concept))
        how = "medicationCodeableConcept"
        if drug is None:
            named = _names(concept) & set(c.value_tokens("drug"))
            drug = named.pop() if len(named) == 1 else None
            how = "medicationCodeableConcept (by generic name)"
        if drug is None:
            self.ignore(label, f"not a drug whose courses the record holds ({_first_coding(concept)})")
            return
        day = _date(r.get("effectiveDateTime")) or _date((r.get("effectivePeriod") or {}).get("start"))
        if day is None:
            self.ignore(label, "an administration without a full date")
            return
        course: dict[str, Any] = {"drug": drug, "date": day}
        dosage = r.get("dosage") or {}
        dose = dosage.get("dose") if isinstance(dosage.get("dose"), dict) else None
        if dose is not None:
            amount, unit = _number(dose.get("value")), _unit(dose)
            if amount is not None and unit in _DOSE_UNITS:
                course["dose_mg"] = _scaled(amount, _DOSE_UNITS[unit])
            elif amount is not None and unit in ("mg/m2", "mg/m*2"):
                course["dose_mg_per_m2"] = amount
            else:
                self.ignore(f"{label}.dosage.dose", "a dose in a unit allpath does not convert")
        route_concept = dosage.get("route")
        for extension in r.get("extension") or []:
            if not isinstance(extension, dict):
                continue
            if extension.get("url") == c.extension_url("dose-per-body-surface-area"):
                amount = _number((extension.get("valueQuantity") or {}).get("value"))
                if amount is not None:
                    course["dose_mg_per_m2"] = amount
            elif extension.get("url") == c.extension_url("route"):
                route_concept = extension.get("valueCodeableConcept")
        if route_concept is not None:
            route = c.lookup().value_of("route", _codings(route_concept))
            if route is not None:
                course["route"] = route
            else:
                self.ignore(f"{label}.dosage.route", "a route the record does not list")
        self.item("exposures.courses", course, f"{label} ({how})")

    def procedure(self, label: str, r: dict[str, Any]) -> None:
        concept = c.lookup().concept_of(_codings(r.get("code")))
        if r.get("status") in ("entered-in-error", "not-done", "preparation", "stopped", "unknown"):
            self.ignore(label, f'status "{r.get("status")}"')
            return
        if concept == "radiation_course":
            self._radiation(label, r)
        elif concept == "treatment_course" and _has_local(r.get("code"), c.concept_local_code("treatment_course")):
            period = r.get("performedPeriod") or {}
            if _date(period.get("start")):
                self.scalar("treatment_start_date", _date(period["start"]), f"{label}.performedPeriod.start")
            if _date(period.get("end")):
                self.scalar("end_of_therapy_date", _date(period["end"]), f"{label}.performedPeriod.end")
        elif concept == "treatment_course":
            self.ignore(
                label,
                "a chemotherapy procedure without allpath's treatment-course code: its dates may be of one session",
            )
        else:
            self.ignore(label, f"not a procedure allpath reads ({_first_coding(r.get('code'))})")

    def _radiation(self, label: str, r: dict[str, Any]) -> None:
        if r.get("status") != "completed":
            self.ignore(label, "a radiation course is read once it is completed")
            return
        sites = {c.lookup().value_of("radiation_site", _codings(site)) for site in r.get("bodySite") or []} - {None}
        if len(sites) != 1:
            self.ignore(label, "a radiation course needs exactly one body site the record lists")
            return
        beam: dict[str, Any] = {"site": sites.pop()}
        for extension in r.get("extension") or []:
            if isinstance(extension, dict) and extension.get("url") == c.MCODE["dose_delivered_extension"]:
                for part in extension.get("extension") or []:
                    if isinstance(part, dict) and part.get("url") == "totalDoseDelivered":
                        quantity = part.get("valueQuantity") or {}
                        amount, unit = _number(quantity.get("value")), _unit(quantity)
                        if amount is not None and unit in _GRAY_UNITS:
                            beam["dose_gy"] = _scaled(amount, _GRAY_UNITS[unit])
        day = _date((r.get("performedPeriod") or {}).get("end")) or _date(r.get("performedDateTime"))
        if day:
            beam["date"] = day
        self.item("exposures.radiation", beam, label)


_OBSERVATION_HANDLERS: dict[str, Callable[[_Reader, str, dict[str, Any], str], None]] = {
    "body_weight": _Reader._weight,
    "body_height": _Reader._height,
    "wbc": _Reader._wbc,
    "genetic_finding": _Reader._genetics,
    "cns_status": _Reader._cns,
    "relapse": _Reader._relapse,
    "tpmt_phenotype": _Reader._phenotype,
    "nudt15_phenotype": _Reader._phenotype,
    "none_recorded": _Reader._none_recorded,
    **dict.fromkeys(_BOOLEAN_CONCEPTS, _Reader._boolean),
    **dict.fromkeys(_MRD_CONCEPTS, _Reader._mrd),
}


def _label(resource: dict[str, Any], entry: dict[str, Any], index: int) -> str:
    kind = str(resource.get("resourceType"))
    if isinstance(resource.get("id"), str):
        return f"{kind}/{resource['id']}"
    if isinstance(entry.get("fullUrl"), str):
        return f"{kind} {entry['fullUrl']}"
    return f"{kind} (entry {index})"


def _references(entry: dict[str, Any], resource: dict[str, Any]) -> set[str]:
    """The reference strings that point at this Patient."""
    refs = set()
    if isinstance(entry.get("fullUrl"), str):
        refs.add(entry["fullUrl"])
    if isinstance(resource.get("id"), str):
        refs.add(f"Patient/{resource['id']}")
    return refs


def _subject(resource: dict[str, Any]) -> str | None:
    subject = resource.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        return str(subject["reference"])
    return None


def _about(reference: str | None, patient_refs: set[str]) -> bool:
    if reference is None:
        return True
    return reference in patient_refs or any(
        ref.startswith("Patient/") and reference.endswith("/" + ref) for ref in patient_refs
    )


def import_bundle(bundle: Any) -> ImportResult:  # noqa: C901 - complexity 21, a ceiling in tests/test_module_size.py (issue 11)
    """Map a FHIR R4 Bundle onto a patient record v1. Never raises on bad input; see ``ImportResult``."""
    result = ImportResult(record={})
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        result.ignored.append({"resource": "input", "reason": "not a FHIR Bundle (resourceType must be Bundle)"})
        return result
    entries = bundle.get("entry")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        result.ignored.append({"resource": "Bundle.entry", "reason": "entry is not a list"})
        return result
    reader = _Reader()
    readable: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            reader.ignore(f"entry {index}", "an entry without a resource")
            continue
        label = _label(resource, entry, index)
        kind = resource.get("resourceType")
        if kind not in READ_TYPES:
            reason = (
                "a nested Bundle is not read; import it on its own"
                if kind == "Bundle"
                else (f"allpath reads no {kind} resources" if isinstance(kind, str) else "no resourceType")
            )
            reader.ignore(label, reason)
            continue
        problem = validation_problem(resource)
        if problem:
            reader.ignore(label, problem)
            continue
        readable.append((label, entry, resource))

    patients = [(label, entry, r) for label, entry, r in readable if r["resourceType"] == "Patient"]
    others = [(label, r) for label, _, r in readable if r["resourceType"] != "Patient"]
    if len(patients) > 1:
        for label, _, _ in patients:
            reader.ignore(label, "the Bundle holds several Patient resources; a record describes one child")
        for label, _ in others:
            reader.ignore(label, "the Bundle holds several patients")
        others = []
    elif len(patients) == 1:
        label, entry, patient = patients[0]
        refs = _references(entry, patient)
        reader.patient(label, patient)
        kept = []
        for other_label, r in others:
            if _about(_subject(r), refs):
                kept.append((other_label, r))
            else:
                reader.ignore(other_label, "about another subject than the Bundle's Patient")
        others = kept
    else:
        subjects = {s for s in (_subject(r) for _, r in others) if s is not None}
        if len(subjects) > 1:
            for label, _ in others:
                reader.ignore(label, "resources about several subjects and no Patient to choose between them")
            others = []
    for label, r in others:
        try:
            kind = r["resourceType"]
            if kind == "Condition":
                reader.condition(label, r)
            elif kind == "Observation":
                reader.observation(label, r)
            elif kind == "MedicationAdministration":
                reader.medication(label, r)
            else:
                reader.procedure(label, r)
        except Exception as error:  # noqa: BLE001 - a resource the readers did not foresee is reported, not fatal
            reader.ignore(label, f"could not be read ({type(error).__name__})")
    _assemble(reader, result)
    _validate(result, reader)
    return result


def _assemble(reader: _Reader, result: ImportResult) -> None:  # noqa: C901 - complexity 17, a ceiling in tests/test_module_size.py (issue 11)
    flat: dict[str, Any] = {}
    for name, found in reader.scalars.items():
        values: list[Any] = []
        for f in found:
            if not any(type(v) is type(f.value) and v == f.value for v in values):
                values.append(f.value)
        if len(values) == 1:
            flat[name] = values[0]
            result.mapped.extend({"field": name, "from": f.source} for f in found)
        else:
            result.conflicts.append(
                {
                    "field": name,
                    "values": [{"value": f.value, "from": f.source} for f in found],
                    "resolution": "left out: the sources disagree, so allpath does not choose; enter it by hand",
                }
            )
    for name in _LIST_FIELDS:
        found = reader.items.get(name, [])
        empty = reader.empty.get(name, [])
        if found and empty:
            result.conflicts.append(
                {
                    "field": name,
                    "values": [{"value": f.value, "from": f.source} for f in found]
                    + [{"value": [], "from": source} for source in empty],
                    "resolution": "left out: one source says the list is empty, others give items",
                }
            )
            continue
        if not found and not empty:
            continue
        items = [f.value for f in found]
        if name in ("genetics", "predisposition_syndromes"):
            items = list(dict.fromkeys(items))
        elif name == "relapses":
            unique: dict[float, dict[str, Any]] = {}
            clash = False
            for relapse in items:
                month = relapse["months_from_diagnosis"]
                if month in unique and unique[month] != relapse:
                    clash = True
                unique.setdefault(month, relapse)
            if clash:
                result.conflicts.append(
                    {
                        "field": name,
                        "values": [{"value": f.value, "from": f.source} for f in found],
                        "resolution": "left out: two different relapses at the same time from diagnosis",
                    }
                )
                continue
            items = sorted(unique.values(), key=lambda rel: rel["months_from_diagnosis"])
        flat[name] = items
        result.mapped.extend({"field": name, "from": f.source} for f in found)
        result.mapped.extend({"field": name, "from": source} for source in empty)
    result.ignored.extend(reader.ignored)
    grouped: dict[str, Any] = {}
    for key, value in flat.items():
        if "." in key:
            parent, child = key.split(".", 1)
            grouped.setdefault(parent, {})[child] = value
        else:
            grouped[key] = value
    for name in _OBJECT_FIELDS:
        for source in reader.empty.get(name, []):
            grouped.setdefault(name, {})
            result.mapped.append({"field": name, "from": source})
    result.record = {name: grouped[name] for name in FIELD_NAMES if name in grouped}


def _sources(result: ImportResult, path: str) -> str:
    top = path.split("[", 1)[0]
    found = [m["from"] for m in result.mapped if m["field"] == top or m["field"].startswith(top + ".")]
    found = found or [m["from"] for m in result.mapped if m["field"].split(".")[0] == top.split(".")[0]]
    return "; ".join(found) or path


def _drop(record: dict[str, Any], path: str) -> bool:
    """Remove the value a problem names (the whole field, or one item of a list of exposures)."""
    match = re.match(r"^exposures\.(courses|radiation)\[(\d+)\]", path)
    if match:
        items = (record.get("exposures") or {}).get(match.group(1))
        index = int(match.group(2))
        if isinstance(items, list) and index < len(items):
            del items[index]
            if not items:
                del record["exposures"][match.group(1)]
            if not record["exposures"]:
                del record["exposures"]
            return True
    parts = re.split(r"[.\[]", path, maxsplit=1)
    top = parts[0]
    if top in record:
        if top in ("response", "pharmacogenomics", "exposures") and "." in path and "[" not in path.split(".")[1]:
            record[top].pop(path.split(".")[1], None)
            if not record[top]:
                del record[top]
        else:
            del record[top]
        return True
    return False


def _validate(result: ImportResult, reader: _Reader) -> None:
    for _ in range(len(FIELD_NAMES) + 50):
        try:
            parse_record(result.record)
            return
        except RecordError as error:
            dropped = False
            for problem in sorted(
                error.problems, key=lambda p: re.sub(r"\d+", lambda m: m.group().zfill(9), p.field), reverse=True
            ):
                source = _sources(result, problem.field)
                if _drop(result.record, problem.field):
                    dropped = True
                    result.ignored.append(
                        {
                            "resource": source,
                            "reason": f"not allowed in the record: {problem.message()}",
                            "field": problem.field,
                        }
                    )
            if not dropped:
                result.ignored.append(
                    {"resource": "record", "reason": "the record could not be made valid: " + str(error)}
                )
                result.record = {}
                return
