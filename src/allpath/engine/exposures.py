"""Treatment exposures for the survivorship plan: recorded (courses and radiation actually given) or
planned (from the child's regimen), summed into the measures the survivorship rules read.

Cumulative anthracycline is expressed as doxorubicin equivalent with the knowledge base's factors; other
published factors are applied too, so that the plan can say when they would change the surveillance.
An anthracycline without a factor, or a course without its dose, leaves the total unknown (not zero).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from allpath.domain.age import decimal_age_years
from allpath.domain.record_model import Course, PatientRecord, Radiation
from allpath.domain.results import AnthracyclinePart, ExposureBasis, Roadmap
from allpath.engine.explain import evidence_of
from allpath.knowledge.loader import KnowledgeBase
from allpath.knowledge.therapy_schema import ExposureClasses

ExposureMeasures = dict[str, float | bool | str | None]
"""The facts the survivorship rules read (``None``: unknown, never zero)."""


@dataclass
class Exposures:
    basis: ExposureBasis
    anthracycline_mg_per_m2: dict[str, float | None] = field(default_factory=dict)
    received: set[str] = field(default_factory=set)
    chest_radiation_gy: float | None = 0.0
    cranial_radiation_gy: float | None = 0.0
    total_body_radiation: bool = False
    cranial_radiation: bool = False
    last_cardiotoxic: date | None = None
    age_at_first_dexamethasone_years: float | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def recorded(record: PatientRecord, kb: KnowledgeBase) -> Exposures:
    """The exposures the record lists as given."""
    found = Exposures("recorded")
    given = record.exposures
    assert given is not None
    classes = kb.therapy.survivorship.exposure_classes
    _add_courses(found, record, given.courses or (), classes)
    _add_radiation(found, given.radiation or (), classes)
    return found


def _add_courses(found: Exposures, record: PatientRecord, courses: Sequence[Course], classes: ExposureClasses) -> None:
    """Drugs received, anthracycline totals by drug, the last anthracycline and the age at first dexamethasone."""
    totals: dict[str, float | None] = defaultdict(float)
    first_dex: date | None = None
    first_dex_index = 0
    for i, course in enumerate(courses):
        found.received.add(course.drug)
        if course.drug in classes.anthracyclines:
            found.last_cardiotoxic = max(filter(None, [found.last_cardiotoxic, course.date]))
            current = totals[course.drug]
            if course.dose_mg_per_m2 is None:
                totals[course.drug] = None
                found.missing.append(f"exposures.courses[{i}].dose_mg_per_m2")
            elif current is not None:
                totals[course.drug] = current + course.dose_mg_per_m2
        if course.drug == classes.first_dose_age_drug and (first_dex is None or course.date < first_dex):
            first_dex, first_dex_index = course.date, i
    found.anthracycline_mg_per_m2 = dict(totals)
    if first_dex is None:
        return
    if record.birth_date is not None and first_dex < record.birth_date:
        # a typing mistake in one of the two dates: the age is unknown, and the course's date is named
        found.missing.append(f"exposures.courses[{first_dex_index}].date")
        return
    found.age_at_first_dexamethasone_years = _age_at(record, first_dex)
    if found.age_at_first_dexamethasone_years is None:
        found.missing.append("birth_date")


def _add_radiation(found: Exposures, beams: Sequence[Radiation], classes: ExposureClasses) -> None:
    """Chest and cranial radiation totals (unknown when a field's dose is missing) and total body radiation."""
    for i, beam in enumerate(beams):
        if beam.site in classes.total_body_radiation_sites:
            found.total_body_radiation = True
            continue
        if beam.site in classes.chest_radiation_sites:
            if beam.date is not None:
                found.last_cardiotoxic = max(filter(None, [found.last_cardiotoxic, beam.date]))
            found.chest_radiation_gy = _sum_dose(found, found.chest_radiation_gy, beam.dose_gy, i)
        elif beam.site in classes.cranial_radiation_sites:
            found.cranial_radiation = True
            found.cranial_radiation_gy = _sum_dose(found, found.cranial_radiation_gy, beam.dose_gy, i)
        # other sites (testicular radiation): no survivorship rule reads them


def _sum_dose(found: Exposures, total: float | None, dose_gy: float | None, index: int) -> float | None:
    if dose_gy is None:
        found.missing.append(f"exposures.radiation[{index}].dose_gy")
        return None
    return total + dose_gy if total is not None else None


def _age_at(record: PatientRecord, day: date) -> float | None:
    if record.birth_date is not None:
        return decimal_age_years(record.birth_date, day)
    if record.age_years is not None and record.diagnosis_date is not None:
        return record.age_years + (day - record.diagnosis_date).days / 365.25
    return None


def planned(record: PatientRecord, roadmap: Roadmap, regimen_id: str, kb: KnowledgeBase) -> Exposures:
    """The exposures of the child's regimen (``regimen_id``, the roadmap's), from the drug lines whose number of
    doses the sources give."""
    found = Exposures("planned")
    anthracyclines = kb.therapy.survivorship.exposure_classes.anthracyclines
    first_dose_drug = kb.therapy.survivorship.exposure_classes.first_dose_age_drug
    at_diagnosis = kb.therapy.regimens.phase_at_diagnosis
    regimen = next(r for r in kb.therapy.regimens.regimens if r.id == regimen_id)
    dated = {p["id"]: p for p in roadmap["phases"]}
    age = record.age_years
    totals: dict[str, float | None] = defaultdict(float)
    undated_anthracycline = False
    for phase in regimen.phases:
        for line in phase.drugs:
            if line.when is not None:
                if age is None:
                    found.missing.append("age_years")
                    continue
                if not kb.therapy.line_fits_age(line, age):
                    continue
            found.received.add(line.drug)
            if line.drug in anthracyclines:
                end = dated[phase.id]["end"]
                if end:
                    found.last_cardiotoxic = max(filter(None, [found.last_cardiotoxic, date.fromisoformat(end)]))
                else:
                    undated_anthracycline = True
                current = totals[line.drug]
                if line.count is None or line.dose.per_m2 is None:
                    totals[line.drug] = None
                elif current is not None:
                    totals[line.drug] = current + line.count * line.dose.per_m2
            if line.drug == first_dose_drug and found.age_at_first_dexamethasone_years is None:
                # The first dexamethasone of a regimen is in its first phases, at diagnosis when in induction.
                found.age_at_first_dexamethasone_years = age if phase.id == at_diagnosis else None
    found.anthracycline_mg_per_m2 = dict(totals)
    if undated_anthracycline:
        found.last_cardiotoxic = None  # a later anthracycline phase has no date: the last exposure is unknown
    found.notes.append(
        "Planned exposures of the regimen, for the drugs whose number of doses the sources give; the plan "
        "changes as treatment is given: record the courses given for an exact plan."
    )
    return found


def doxorubicin_equivalent(
    kb: KnowledgeBase, exposures: Exposures, factors: dict[str, float] | None = None
) -> tuple[float | None, list[AnthracyclinePart], list[str]]:
    """The cumulative doxorubicin equivalent (mg/m2), the per-drug breakdown, and what is not covered."""
    anthracyclines = kb.therapy.survivorship.anthracyclines
    table = {e.drug: e for e in anthracyclines.equivalence}
    total: float | None = 0.0
    parts: list[AnthracyclinePart] = []
    not_covered: list[str] = []
    for drug, amount in sorted(exposures.anthracycline_mg_per_m2.items()):
        if drug not in table:
            not_covered.append(anthracyclines.not_covered.get(drug, f"No doxorubicin equivalent for {drug}."))
            total = None
            continue
        factor = (factors or {}).get(drug, table[drug].factor)
        equivalent = amount * factor if amount is not None else None
        parts.append(
            {
                "drug": drug,
                "mg_per_m2": amount,
                "factor": factor,
                "doxorubicin_equivalent_mg_per_m2": round(equivalent, 2) if equivalent is not None else None,
                "evidence": evidence_of(kb, table[drug].evidence),
            }
        )
        total = total + equivalent if total is not None and equivalent is not None else None
    return total, parts, not_covered  # unrounded: thresholds compare the exact sum; displays round it


def measures(kb: KnowledgeBase, record: PatientRecord, exposures: Exposures, total: float | None) -> ExposureMeasures:
    """The facts the survivorship rules read, ``total`` being the doxorubicin equivalent (from
    ``doxorubicin_equivalent``). ``None`` is unknown, never zero."""
    received = kb.therapy.survivorship.exposure_classes.received
    return {
        "doxorubicin_equivalent_mg_per_m2": total,
        "chest_radiation_gy": exposures.chest_radiation_gy,
        "cranial_radiation_gy": exposures.cranial_radiation_gy,
        **{measure: not exposures.received.isdisjoint(drugs) for measure, drugs in received.items()},
        "cranial_radiation": exposures.cranial_radiation,
        "total_body_radiation": exposures.total_body_radiation,
        "age_at_first_dexamethasone_years": exposures.age_at_first_dexamethasone_years,
        "sex": record.sex,
    }
