"""CDS Hooks use case: the dose checks of draft orders (``order-select`` and ``order-sign``) for one child.

The CDS interface reads the EHR's draft MedicationRequests (which checked drug each orders and its doses)
and the child's record (the FHIR importer); this use case works out, with the engine's dose functions and
the knowledge base, what each order's dose is measured against and whether it is above it. The interface
turns the answer into cards. Which drugs are checked, by which check, and which children get no calculated
dose are knowledge (``order_checks.yaml``). Nothing is stored.

- ``cap_per_dose`` (vincristine, ``CapCheck``): the largest ordered dose against the cap per dose and
  against the calculated dose (the highest dose per m2 of the regimens, times the body surface area).
- ``thiopurine_phenotypes`` (mercaptopurine, thioguanine, ``ThiopurineCheck``): the normal starting dose
  (the highest daily dose per m2 of the drug in the regimens: the check does not know the phase) adjusted for
  the TPMT and NUDT15 phenotypes (``engine.pharmacogenomics.adjust``), or why no starting dose can be given;
  each ordered dose above the adjusted range, or given more often than three times a week where that is
  advised. A gene of ``order_checks.yaml``'s ``poor_metabolizer_hard_stop`` whose result is "poor" sets a limit
  of its own (the advice for that gene poor and the other normal), whatever the other gene's result: an order
  above it is ``critical``, and it is checked even when the other result is missing or no rule covers the pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from allpath.domain.age import decimal_age_years
from allpath.domain.record_model import PatientRecord, Pharmacogenomics
from allpath.domain.results import EvidenceRef
from allpath.engine import pharmacogenomics as pgx
from allpath.engine.doses import DoseError, body_surface_area, check_measurements, round_and_cap
from allpath.engine.explain import evidence_of
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.records import checked

PhenotypeAdjustment = pgx.Adjustment
"""A starting dose adjusted for the TPMT and NUDT15 phenotypes (a share of the normal dose, its frequency)."""
PhenotypeRefusal = pgx.Refusal
"""Why the TPMT and NUDT15 results give no starting dose (missing or indeterminate phenotypes)."""

_TIMES_A_WEEK = {"three_times_weekly": 3}  # what a frequency word of the knowledge base means per week


@dataclass(frozen=True)
class OrderedDose:
    """One dose per administration of a draft order, as the interface read it (in mg or in mg/m2)."""

    index: int  # which dosageInstruction of the order
    mg: float | None
    mg_per_m2: float | None
    per_week: float | None  # administrations per week, when the order's timing says
    unit: str


@dataclass(frozen=True)
class BodySize:
    """The body surface area for the dose calculator (and the weight and height it is from), or why there
    is none."""

    m2: float | None
    why_not: str | None
    weight_kg: float | None = None
    height_cm: float | None = None


@dataclass(frozen=True)
class CapCheck:
    """A ``cap_per_dose`` check: the largest ordered dose against the cap and the calculated dose.

    ``ordered`` is None when no ordered dose could be put in mg (ordered per m2 without a body surface area).
    ``calculated_mg`` is None without a body surface area or for a child without calculated doses.
    """

    drug: ts.DrugDoseSpec
    per_m2: float | None  # the highest dose per m2 of the regimens
    ordered: OrderedDose | None
    ordered_mg: float | None
    calculated_mg: float | None
    over_cap: bool
    above_calculated: bool
    evidence: list[EvidenceRef]


@dataclass(frozen=True)
class Excess:
    """An ordered dose above the adjusted starting dose (in mg or mg/m2), or given too often a week."""

    dose: OrderedDose
    kind: Literal["mg", "mg_per_m2", "per_week"]
    value: float


@dataclass(frozen=True)
class ThiopurineCheck:
    """A ``thiopurine_phenotypes`` check: the adjusted starting dose and the ordered doses above it.

    ``adjusted`` or ``refusal`` is set; both when a poor metabolizer's limit (``poor``: the genes whose poor
    result sets it) is checked though the phenotypes give no complete advice (``refusal`` says why). ``low_mg``/
    ``high_mg``: the adjusted range for this child, when the body surface area is known. ``suggested_mg``: the
    one dose to change the flagged order to (when the range is a single dose). ``unchecked``: doses in mg that
    could not be checked (no body surface area).
    """

    drug: ts.DrugDoseSpec
    normal_per_m2: float
    adjusted: PhenotypeAdjustment | None = None
    refusal: PhenotypeRefusal | None = None
    low_mg: float | None = None
    high_mg: float | None = None
    excess: list[Excess] = field(default_factory=list)
    suggested_mg: float | None = None
    unchecked: bool = False
    poor: tuple[str, ...] = ()
    stop_evidence: list[EvidenceRef] = field(default_factory=list)  # why a poor metabolizer's excess is critical

    @property
    def critical(self) -> bool:
        """A poor metabolizer's order above the poor-metabolizer advice: a hard stop."""
        return bool(self.poor and self.excess)

    @property
    def three_weekly(self) -> bool:
        return self.adjusted is not None and self.adjusted.frequency == "three_times_weekly"

    @property
    def reduced(self) -> bool:
        """Whether the phenotypes call for less than the normal dose (a share below 1, or fewer days)."""
        return self.adjusted is not None and (self.adjusted.share_high < 1 or self.three_weekly)

    @property
    def flagged(self) -> OrderedDose | None:
        """The first ordered dose found above the advice."""
        return self.excess[0].dose if self.excess else None


OrderFinding = CapCheck | ThiopurineCheck


@dataclass(frozen=True)
class DoseChecks:
    """The dose checks for one child: its record, body surface area and age, under one knowledge base."""

    kb: KnowledgeBase
    record: PatientRecord
    body: BodySize
    age_years: float | None

    @property
    def calculates_dose(self) -> bool:
        """False for a child of a population without calculated doses (``order_checks.yaml``: infants)."""
        return self.kb.order_checks.calculates_dose(self.age_years)

    def check(self, drug: str, doses: Sequence[OrderedDose]) -> OrderFinding | None:
        """The check of an order of ``drug`` (a drug of ``order_checks.yaml``) with these readable doses; None
        when there is nothing to check it against (no dose of the drug in the regimens)."""
        spec = self.kb.therapy.drugs[drug]
        if self.kb.order_checks.drugs[drug].check == "cap_per_dose":
            return self._cap(spec, doses)
        return self._thiopurine(spec, doses)

    def _cap(self, spec: ts.DrugDoseSpec, doses: Sequence[OrderedDose]) -> CapCheck:
        bsa = self.body.m2
        per_m2 = _normal_per_m2(self.kb, spec.id, "dose")
        evidence = evidence_of(self.kb, list(spec.evidence))
        known = [(d, mg) for d in doses if (mg := d.mg if d.mg is not None else self._in_mg(d, spec)) is not None]
        if not known:
            return CapCheck(spec, per_m2, None, None, None, False, False, evidence)
        dose, mg = max(known, key=lambda x: x[1])
        calculated = round_and_cap(per_m2 * bsa, spec)[0] if bsa and per_m2 and self.calculates_dose else None
        tolerance = spec.round_to / 2
        over_cap = spec.cap_per_dose is not None and mg > spec.cap_per_dose + tolerance
        above = calculated is not None and mg > calculated + tolerance
        return CapCheck(spec, per_m2, dose, mg, calculated, over_cap, above, evidence)

    def _thiopurine(self, spec: ts.DrugDoseSpec, doses: Sequence[OrderedDose]) -> ThiopurineCheck | None:
        normal = _normal_per_m2(self.kb, spec.id, "day")
        if normal is None:
            return None
        result = pgx.adjust(self.kb, spec.id, self.record.pharmacogenomics, normal)
        poor, limit = self._poor_limit(spec.id, normal)
        if isinstance(result, pgx.Refusal):
            if limit is None or not self.calculates_dose:
                return ThiopurineCheck(spec, normal, refusal=result)
            return self._measured(spec, normal, limit, doses, poor, result)
        if not self.calculates_dose:
            return None
        return self._measured(spec, normal, result, doses, poor if limit is not None else (), None)

    def _poor_limit(self, drug: str, normal: float) -> tuple[tuple[str, ...], PhenotypeAdjustment | None]:
        """The genes of ``poor_metabolizer_hard_stop`` whose result is poor, and the lowest of their advice (that
        gene poor, the other normal: ``pharmacogenomics.yaml``), three times a week first at the same dose."""
        genes = self.kb.order_checks.spec.poor_metabolizer_hard_stop.genes
        found = self.record.pharmacogenomics
        poor = tuple(g for g in genes if found is not None and getattr(found, g) == "poor")
        limits = []
        for gene in poor:
            alone = Pharmacogenomics.model_validate({g: "poor" if g == gene else "normal" for g in pgx.GENES})
            advice = pgx.adjust(self.kb, drug, alone, normal)
            if isinstance(advice, pgx.Adjustment):
                limits.append(advice)
        if not limits:
            return poor, None
        return poor, min(limits, key=lambda a: (a.per_m2_day_high, a.frequency != "three_times_weekly"))

    def _measured(
        self,
        spec: ts.DrugDoseSpec,
        normal: float,
        result: PhenotypeAdjustment,
        doses: Sequence[OrderedDose],
        poor: tuple[str, ...],
        refusal: PhenotypeRefusal | None,
    ) -> ThiopurineCheck:
        """The ordered doses measured against ``result`` (the adjusted dose, or a poor metabolizer's limit)."""
        bsa = self.body.m2
        low_mg = high_mg = None
        if bsa is not None:
            low_mg = round_and_cap(result.per_m2_day_low * bsa, spec)[0]
            high_mg = round_and_cap(result.per_m2_day_high * bsa, spec)[0]
        tolerance = spec.round_to / 2
        weekly_limit = _TIMES_A_WEEK.get(result.frequency)
        excess: list[Excess] = []
        for dose in doses:
            if dose.mg is not None and high_mg is not None and dose.mg > high_mg + tolerance:
                excess.append(Excess(dose, "mg", dose.mg))
            elif dose.mg_per_m2 is not None and dose.mg_per_m2 > result.per_m2_day_high + tolerance:
                excess.append(Excess(dose, "mg_per_m2", dose.mg_per_m2))
            if weekly_limit is not None and dose.per_week is not None and dose.per_week > weekly_limit:
                excess.append(Excess(dose, "per_week", dose.per_week))
        single = high_mg is not None and low_mg == high_mg and high_mg > 0
        return ThiopurineCheck(
            spec,
            normal,
            adjusted=result,
            refusal=refusal,
            low_mg=low_mg,
            high_mg=high_mg,
            excess=excess,
            suggested_mg=high_mg if excess and single else None,
            unchecked=bsa is None and any(d.mg is not None for d in doses),
            poor=poor,
            stop_evidence=evidence_of(self.kb, self.kb.order_checks.spec.poor_metabolizer_hard_stop.evidence)
            if poor
            else [],
        )

    def _in_mg(self, dose: OrderedDose, spec: ts.DrugDoseSpec) -> float | None:
        """A dose ordered per m2 in mg for this child (to the drug's rounding step), when the area is known."""
        if self.body.m2 is None or dose.mg_per_m2 is None:
            return None
        return round(round(dose.mg_per_m2 * self.body.m2 / spec.round_to) * spec.round_to, 6)


def check_orders(kb: KnowledgeBase, record: PatientRecord | Mapping[str, object], today: date) -> DoseChecks:
    """The dose checks for the child of ``record`` (made from the EHR's data; ``RecordError`` if invalid),
    with its body surface area and its age ``today``."""
    parsed = checked(record)
    return DoseChecks(kb, parsed, body_size(kb, parsed), _age(parsed, today))


def body_size(kb: KnowledgeBase, record: PatientRecord) -> BodySize:
    """The body surface area of the record's weight and height (Mosteller), or why there is none."""
    try:
        m = check_measurements(record.weight_kg, record.height_cm)
    except DoseError as error:
        return BodySize(None, error.message)
    return BodySize(body_surface_area(kb, m.weight_kg, m.height_cm), None, m.weight_kg, m.height_cm)


def _normal_per_m2(kb: KnowledgeBase, drug: str, per: str) -> float | None:
    """The highest dose per m2 of ``drug`` (given ``per`` dose/day) among the regimens of the knowledge base."""
    values = [
        line.dose.per_m2
        for regimen in kb.therapy.regimens.regimens
        for phase in regimen.phases
        for line in phase.drugs
        if line.drug == drug and line.per == per and line.dose.per_m2 is not None
    ]
    return max(values) if values else None


def _age(record: PatientRecord, today: date) -> float | None:
    if record.birth_date is not None:
        return decimal_age_years(record.birth_date, today)
    return None
