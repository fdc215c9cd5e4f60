"""The dose calculator: body surface area, the doses of one phase of the child's regimen, caps, rounding,
age-based intrathecal doses and thiopurine adjustments for TPMT and NUDT15.

Fail safe: a missing or implausible weight, height or age refuses the calculation (or the lines that need
it) with the reason; no value is assumed. A calculated dose is rounded to its drug's step and then capped, so
no dose is ever above its cap. Every line carries its evidence and confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Literal

from allpath.domain import limits
from allpath.domain.age import decimal_age_years
from allpath.domain.record_model import PatientRecord
from allpath.domain.results import DoseKind, DoseLine, DoseLineDraft, PhaseDoses
from allpath.engine import pharmacogenomics as pgx
from allpath.engine.explain import CONFIDENCE_WORDS, evidence_of
from allpath.errors import InputError
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.schema import Confidence

DAYS_PER_YEAR = 365.25
PerWords = Literal["per dose", "per day", "per week"]
PER_WORDS: dict[Literal["dose", "day", "week"], PerWords] = {"dose": "per dose", "day": "per day", "week": "per week"}


class DoseError(InputError):
    """The calculation cannot be done: ``field`` names the input, ``message`` what is needed."""


@dataclass(frozen=True)
class Measurements:
    weight_kg: float
    height_cm: float


def body_surface_area(kb: KnowledgeBase, weight_kg: float, height_cm: float) -> float:
    """Body surface area in square meters (Mosteller), unrounded."""
    return math.sqrt(height_cm * weight_kg / kb.therapy.bsa.divisor)


def check_measurements(weight_kg: float | None, height_cm: float | None) -> Measurements:
    """Weight and height, each within the record's plausibility limits and plausible together."""
    if weight_kg is None:
        raise DoseError("weight_kg", "the weight is needed to calculate doses (kilograms)")
    if height_cm is None:
        raise DoseError("height_cm", "the height is needed to calculate doses (centimeters)")
    for name, value, limit in (("weight_kg", weight_kg, limits.WEIGHT_KG), ("height_cm", height_cm, limits.HEIGHT_CM)):
        if not (isinstance(value, int | float) and math.isfinite(value) and limit.contains(value)):
            raise DoseError(name, f"{value!r} is not plausible; expected {limit.describe()}")
    bmi = weight_kg / (height_cm / 100) ** 2
    if not limits.BODY_MASS_INDEX.contains(bmi):
        raise DoseError(
            "weight_kg",
            f"a weight of {limits.number(weight_kg)} kg with a height of {limits.number(height_cm)} cm is not "
            f"plausible together (body mass index {bmi:.1f}; expected {limits.BODY_MASS_INDEX.describe()}); "
            "check both values and their units",
        )
    return Measurements(float(weight_kg), float(height_cm))


def round_and_cap(value: float, drug: ts.DrugDoseSpec) -> tuple[float, bool]:
    """Round to the drug's step (nearest), then cap: returns the dose and whether the cap applied."""
    steps = math.floor(value / drug.round_to + 0.5)
    rounded = round(steps * drug.round_to, 6)
    if drug.cap_per_dose is not None and rounded >= drug.cap_per_dose:
        return drug.cap_per_dose, value > drug.cap_per_dose
    return rounded, False


@dataclass(frozen=True)
class AgeSpan:
    """The child's age over the days an age-dependent dose may fall on: ``low`` to ``high`` years."""

    low: float
    high: float
    basis: str


def age_on(kb: KnowledgeBase, record: PatientRecord, on: date | None, phase: ts.PhaseSpec) -> AgeSpan | None:
    """The child's age for an age-dependent dose, and how it was found; None when it cannot be known.

    * birth date and the day of the dose: exact;
    * age at diagnosis, diagnosis date and the day of the dose: the age on that day;
    * the phase that starts at diagnosis (induction; regimens.yaml's ``phase_at_diagnosis``), with only the
      age at diagnosis: the ages over the whole phase (a child may reach a new age band before its last
      intrathecal dose).
    """
    if record.birth_date is not None and on is not None:
        if on < record.birth_date:
            raise DoseError(
                "on",
                f"the day of the doses ({on.isoformat()}) is before the birth date ({record.birth_date.isoformat()}); "
                "check the date of the doses (or the treatment start date) and the birth date",
            )
        exact = decimal_age_years(record.birth_date, on)
        return AgeSpan(exact, exact, f"age on {on.isoformat()} from the birth date")
    if record.age_years is not None and record.diagnosis_date is not None and on is not None:
        if on < record.diagnosis_date:
            raise DoseError("on", f"the day of the doses ({on.isoformat()}) is before the diagnosis date")
        age = record.age_years + (on - record.diagnosis_date).days / DAYS_PER_YEAR
        return AgeSpan(age, age, f"age on {on.isoformat()} from the age at diagnosis and the diagnosis date")
    if phase.id == kb.therapy.regimens.phase_at_diagnosis and record.age_years is not None:
        weeks = phase.weeks or 0
        return AgeSpan(
            record.age_years,
            record.age_years + weeks * 7 / DAYS_PER_YEAR,
            "age at diagnosis (induction starts at diagnosis)",
        )
    return None


def _band(kb: KnowledgeBase, age: float) -> ts.AgeBand:
    bands = kb.therapy.intrathecal.bands
    return [b for b in bands if b.from_years <= age][-1]


def phase_doses(
    record: PatientRecord,
    kb: KnowledgeBase,
    regimen_id: str,
    phase_id: str,
    *,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    on: date | None = None,
) -> PhaseDoses:
    """The doses of one phase of a regimen for this child. Weight and height default to the record's
    (measured at diagnosis): pass today's values for later phases.

    Raises ``DoseError`` when weight or height is missing or implausible, the regimen or phase is unknown, or
    the day of the doses is before the birth date.
    """
    regimen = next((r for r in kb.therapy.regimens.regimens if r.id == regimen_id), None)
    if regimen is None:
        known = ", ".join(r.id for r in kb.therapy.regimens.regimens)
        raise DoseError("regimen", f"{regimen_id!r} is not a regimen of the knowledge base ({known})")
    phase = next((p for p in regimen.phases if p.id == phase_id), None)
    if phase is None:
        known = ", ".join(p.id for p in regimen.phases)
        raise DoseError("phase", f"{phase_id!r} is not a phase of {regimen_id} ({known})")
    measured = check_measurements(
        weight_kg if weight_kg is not None else record.weight_kg,
        height_cm if height_cm is not None else record.height_cm,
    )
    bsa = body_surface_area(kb, measured.weight_kg, measured.height_cm)
    span = age_on(kb, record, on, phase)
    computed = (_line(kb, record, line, bsa, span, regimen, phase_id) for line in phase.drugs)
    lines = [line for line in computed if line is not None]
    spec = kb.therapy.bsa
    return {
        "regimen": regimen.id,
        "phase": phase.id,
        "phase_label": phase.label,
        "weight_kg": measured.weight_kg,
        "height_cm": measured.height_cm,
        "body_surface_area": {
            "m2": round(bsa, 3),
            "formula": spec.formula,
            "explanation": spec.explanation,
            "not_covered": spec.not_covered,
            "evidence": evidence_of(kb, spec.evidence),
        },
        "age_years": round(span.low, 2) if span is not None else None,
        "age_basis": span.basis if span is not None else None,
        "lines": lines,
        "refused": [line for line in lines if line["status"] == "refused"],
        "disclaimer": kb.text.disclaimer,
    }


def _line(
    kb: KnowledgeBase,
    record: PatientRecord,
    line: ts.PhaseDrug,
    bsa: float,
    span: AgeSpan | None,
    regimen: ts.RegimenSpec,
    phase_id: str,
) -> DoseLine | None:
    drug = kb.therapy.drugs[line.drug]
    evidence = list(drug.evidence)
    confidence: Confidence = line.confidence or ("M" if any(e.confidence == "M" for e in evidence) else "H")
    out: DoseLineDraft = {
        "drug": drug.id,
        "label": drug.label,
        "route": line.route,
        "per": PER_WORDS[line.per],
        "schedule": line.schedule,
        "unit": drug.unit,
        "status": "ok",
        "refusal": None,
        "missing": [],
        "basis": None,
        "calculated": None,
        "dose": None,
        "dose_range": None,
        "frequency": None,
        "cap": drug.cap_per_dose,
        "capped": False,
        "round_to": drug.round_to,
        "adjustment": None,
        "kind": _kind(line),
        "table": None,
        "text": None,
    }
    if line.when is not None:
        # A regimen chooses these lines by the age at diagnosis (the start of induction).
        age = record.age_years if record.age_years is not None else (span.low if span is not None else None)
        if age is None:
            return _refuse(
                kb, out, "this line depends on age, and the age is not known", ["age_years"], confidence, evidence
            )
        if not kb.therapy.line_fits_age(line, age):
            return None  # the other line of the pair applies
    if line.dose.by_age is not None:
        it = kb.therapy.intrathecal
        evidence += it.evidence
        confidence = "M" if it.confidence == "M" else confidence
        column = line.dose.by_age
        serves = ["intrathecal_triple"] if it.kind == "triple" else []
        single = it.single_agent.get(column)
        if single is not None:
            serves.append("intrathecal_single_agent")
        if out["kind"] not in serves:
            # A single-agent line must never be dosed from the triple table: a drug alone takes another dose.
            return _refuse(kb, out, it.single_agent_not_verified, [], confidence, evidence)
        if out["kind"] == "intrathecal_single_agent" and single is not None:
            evidence += single.evidence
            out["table_note"] = single.explanation
        out["table"] = {"id": it.id, "label": it.label, "column": column, "serves": serves}
        if span is None:
            need = "age_years" if phase_id == kb.therapy.regimens.phase_at_diagnosis else "birth_date"
            return _refuse(
                kb,
                out,
                "the intrathecal dose depends on the age on the day; give the birth date and the date of the dose",
                [need],
                confidence,
                evidence,
            )
        band = _band(kb, span.low)
        if _band(kb, span.high) != band:
            return _refuse(
                kb,
                out,
                f"the child reaches a new age band for this dose during the phase ({span.basis}); give the birth "
                "date and the day of each intrathecal dose",
                ["birth_date"],
                confidence,
                evidence,
            )
        value = float(getattr(band, line.dose.by_age))
        out["basis"] = f"{limits.number(value)} {drug.unit} for age {band.label} ({span.basis})"
        out["calculated"] = value
        out["dose"], out["capped"] = round_and_cap(value, drug)
        return _finish(kb, out, confidence, evidence)
    per_m2 = line.dose.per_m2
    assert per_m2 is not None
    out["table"] = {"id": f"{regimen.id}.{phase_id}", "label": regimen.label, "column": drug.id, "serves": ["per_m2"]}
    unit_text = f"{limits.number(per_m2)} {drug.unit}/m2 {PER_WORDS[line.per]}"
    out["basis"] = unit_text
    if pgx.applies_to(kb, drug.id):
        result = pgx.adjust(kb, drug.id, record.pharmacogenomics, per_m2)
        if isinstance(result, pgx.Refusal):
            out["status"] = "refused"
            out["refusal"] = result.reason
            out["missing"] = list(result.missing)
            out["refusal_evidence"] = list(result.evidence)
            return _finish(kb, out, confidence, evidence)
        out["adjustment"] = result.as_dict()
        confidence = "M" if result.confidence == CONFIDENCE_WORDS["M"] else confidence
        low, _ = round_and_cap(result.per_m2_day_low * bsa, drug)
        high, _ = round_and_cap(result.per_m2_day_high * bsa, drug)
        out["calculated"] = round(result.per_m2_day_high * bsa, 4)
        out["dose_range"] = [low, high]
        out["dose"] = high if low == high else None
        out["frequency"] = result.frequency
        return _finish(kb, out, confidence, evidence)
    calculated = per_m2 * bsa
    out["calculated"] = round(calculated, 4)
    out["dose"], out["capped"] = round_and_cap(calculated, drug)
    return _finish(kb, out, confidence, evidence)


def _kind(line: ts.PhaseDrug) -> DoseKind:
    """What kind of dose a regimen line is: per square meter, or an intrathecal dose given alone or as triple."""
    if line.dose.intrathecal == "triple":
        return "intrathecal_triple"
    if line.dose.intrathecal == "single_agent":
        return "intrathecal_single_agent"
    return "per_m2"


FREQUENCY_WORDS = {"three_times_weekly": "three times a week instead of every day"}


def dose_sentence(line: DoseLine) -> str | None:
    """The line as one sentence a person reads: amount, how often, schedule; None for a refused line."""
    if line["status"] != "ok":
        return None
    unit = line["unit"]
    if line["dose"] is not None:
        amount = f"{limits.number(line['dose'])} {unit}"
    elif line["dose_range"] is not None:
        low, high = line["dose_range"]
        amount = f"{limits.number(low)} to {limits.number(high)} {unit}"
    else:  # pragma: no cover - a line that is not refused has a dose or a range (see _finish)
        return None
    frequency = line["frequency"]
    if frequency in FREQUENCY_WORDS:
        # The share of the daily dose is given on each of the days it is taken, not every day.
        schedule = line["schedule"].split(";", 1)
        rest = f"; {schedule[1].strip()}" if len(schedule) > 1 else ""
        sentence = f"{amount} per dose, {FREQUENCY_WORDS[frequency]}{rest}"
    else:
        sentence = f"{amount} {line['per']}, {line['schedule']}"
    return sentence[0].upper() + sentence[1:] + "."


def _refuse(
    kb: KnowledgeBase,
    out: DoseLineDraft,
    reason: str,
    missing: list[str],
    confidence: Confidence,
    evidence: ts.Evidences,
) -> DoseLine:
    out["status"] = "refused"
    out["refusal"] = reason
    out["missing"] = missing
    return _finish(kb, out, confidence, evidence)


def _finish(kb: KnowledgeBase, draft: DoseLineDraft, confidence: Confidence, evidence: ts.Evidences) -> DoseLine:
    smallest = [d for d in [draft["dose"], *(draft["dose_range"] or [])] if d is not None]
    if draft["status"] == "ok" and smallest and min(smallest) <= 0:
        draft["status"] = "refused"
        draft["refusal"] = "the calculated dose is below the smallest measurable step; the pharmacist prepares it"
        draft["dose"] = draft["dose_range"] = None
    out: DoseLine = {**draft, "confidence": CONFIDENCE_WORDS[confidence], "evidence": evidence_of(kb, evidence)}
    out["text"] = dose_sentence(out)
    if out["cap"] is not None:
        out["cap_explanation"] = kb.therapy.drugs[out["drug"]].cap_explanation
    return out
