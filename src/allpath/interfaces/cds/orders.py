"""``order-select`` and ``order-sign``: dose checks of draft orders of the drugs that ``order_checks.yaml`` lists.

Which drugs are checked, by which check, how an order names them and which children get no calculated dose
are knowledge (``order_checks.yaml``); reading an order is ``order_reading``. Every other order gets no card.
The checks use the dose calculator and the knowledge base; weight and height are the latest measurements.

- ``cap_per_dose`` (vincristine): above its cap per dose -> critical (the cap and its citation; a suggestion to
  change the dose to the calculated one when the body surface area is known); above the calculated dose (the
  highest dose per m2 of the regimens) -> warning.
- ``thiopurine_phenotypes`` (mercaptopurine, thioguanine): the normal starting dose (the highest daily dose per
  m2 of the drug in the knowledge base's regimens: this check does not know the phase) adjusted for the TPMT
  and NUDT15 phenotypes (``engine.pharmacogenomics.adjust``); a dose above the adjusted range, or daily where
  three times a week is advised -> warning with the range; phenotypes not known -> warning "test before
  dosing"; results that give no starting dose -> warning with the reason.
- weight or height missing or implausible -> an info card naming what is needed (a warning when the
  phenotypes call for a reduced dose).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from allpath.domain.age import decimal_age_years
from allpath.domain.record_model import PatientRecord
from allpath.engine import pharmacogenomics as pgx
from allpath.engine.doses import DoseError, body_surface_area, check_measurements, round_and_cap
from allpath.engine.explain import evidence_of
from allpath.interfaces.cds.cards import Cards, escape, number
from allpath.interfaces.cds.data import text_of
from allpath.interfaces.cds.order_reading import OrderedDose, drug_of, ordered_doses, suggestion
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.loader import KnowledgeBase

_SKIPPED_STATUSES = {"cancelled", "entered-in-error", "completed", "stopped", "revoked"}

BODY_FIELDS = ("weight_kg", "height_cm")  # the record fields behind the body surface area


@dataclass(frozen=True)
class Body:
    """The body surface area for the dose calculator, or why there is none."""

    m2: float | None
    why_not: str | None
    basis: str  # how it was found (for the card)


def body_of(kb: KnowledgeBase, record: PatientRecord, measured: dict[str, str]) -> Body:
    try:
        m = check_measurements(record.weight_kg, record.height_cm)
    except DoseError as error:
        return Body(None, error.message, "")
    bsa = body_surface_area(kb, m.weight_kg, m.height_cm)
    when = ", ".join(f"{k.replace('body_', '')} of {v}" for k, v in sorted(measured.items()))
    basis = f"body surface area {number(round(bsa, 3))} m² (Mosteller; {number(m.weight_kg)} kg, "
    basis += f"{number(m.height_cm)} cm{'; ' + when if when else ''})"
    return Body(bsa, None, basis)


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


def _span(low: float, high: float) -> str:
    return number(high) if low == high else f"{number(low)}–{number(high)}"


def _evidence(cards: Cards, kb: KnowledgeBase, evidence: list[Any]) -> str:
    return "; ".join(cards.cite(e) for e in evidence_of(kb, evidence))


class OrderCheck:
    """Checks the orders of one call against one patient record."""

    def __init__(
        self,
        kb: KnowledgeBase,
        cards: Cards,
        record: PatientRecord,
        measured: dict[str, str],
        today: date,
        rejected: list[str] | None = None,
        unsatisfied: dict[str, str] | None = None,
    ) -> None:
        """``rejected``: why weights or heights of the EHR were not taken into the record (implausible values:
        the importer's reasons for ``BODY_FIELDS``);
        ``unsatisfied``: the prefetch keys whose data the service did not get (key -> why)."""
        self.rejected = list(rejected or [])
        self.unsatisfied = unsatisfied or {}
        self.kb = kb
        self.cards = cards
        self.record = record
        self.body = body_of(kb, record, measured)
        self.age = _age(record, today)

    def cards_for(self, resource: dict[str, Any]) -> list[dict[str, Any]]:
        drug = drug_of(resource, self.kb)
        if drug is None or text_of(resource.get("status")) in _SKIPPED_STATUSES:
            return []
        spec = self.kb.therapy.drugs[drug]
        name = spec.label[0].upper() + spec.label[1:]
        doses, unreadable = ordered_doses(resource)
        if not doses:
            what = f" (unit: {', '.join(escape(u) for u in unreadable)})" if unreadable else ""
            return [
                self.cards.card(
                    f"{name} order: dose not checked, allpath reads doses in mg or mg/m2 only",
                    "info",
                    f"The order of {spec.label} gives no dose that allpath can read{what}. "
                    "Check the dose against the body surface area by hand.",
                )
            ]
        if self.kb.order_checks.drugs[drug].check == "cap_per_dose":
            return self._vincristine(resource, spec, name, doses)
        return self._thiopurine(resource, spec, name, doses)

    # -- vincristine --

    def _vincristine(
        self, resource: dict[str, Any], spec: ts.DrugDoseSpec, name: str, doses: list[OrderedDose]
    ) -> list[dict[str, Any]]:
        bsa = self.body.m2
        per_m2 = _normal_per_m2(self.kb, spec.id, "dose")
        cap = spec.cap_per_dose
        amounts = [(d, d.mg if d.mg is not None else self._per_m2_in_mg(d, spec)) for d in doses]
        known = [(d, mg) for d, mg in amounts if mg is not None]
        if not known:
            return [self._cannot(name, "the dose is ordered per m2")]
        dose, mg = max(known, key=lambda x: x[1])
        calculated = round_and_cap(per_m2 * bsa, spec)[0] if bsa and per_m2 and not self._infant() else None
        cite = _evidence(self.cards, self.kb, list(spec.evidence))
        if cap is not None and mg > cap + spec.round_to / 2:
            detail = [
                f"Ordered: **{number(mg)} mg** per dose. {spec.cap_explanation or ''}",
                f"Cap: {number(cap)} mg per dose. Source: {cite}",
            ]
            if calculated is not None:
                detail.append(
                    f"Calculated for this child: {number(per_m2 or 0)} mg/m² × {self.body.basis} = "
                    f"**{number(calculated)} mg**."
                )
            else:
                detail.append(self._no_calculation())
            suggestions = (
                suggestion(resource, dose, calculated, f"Change to {number(calculated)} mg")
                if calculated is not None
                else None
            )
            return [
                self.cards.card(
                    f"{name} {number(mg)} mg is above the {number(cap)} mg cap per dose",
                    "critical",
                    "\n\n".join(detail),
                    suggestions=suggestions,
                    override=("protocol-specified-dose", "clinical-judgement"),
                )
            ]
        if calculated is None:
            return [self._cannot(name, self.body.why_not or "")] if self.body.m2 is None else []
        if mg > calculated + spec.round_to / 2:
            detail = [
                f"Ordered: **{number(mg)} mg** per dose.",
                f"Calculated: {number(per_m2 or 0)} mg/m² × {self.body.basis} = **{number(calculated)} mg** "
                f"(cap {number(cap or 0)} mg). Source: {cite}",
            ]
            return [
                self.cards.card(
                    f"{name} {number(mg)} mg is above the calculated dose of {number(calculated)} mg",
                    "warning",
                    "\n\n".join(detail),
                    suggestions=suggestion(resource, dose, calculated, f"Change to {number(calculated)} mg"),
                    override=("protocol-specified-dose", "patient-tolerated-previously", "clinical-judgement"),
                )
            ]
        return []

    # -- thiopurines --

    def _thiopurine(
        self, resource: dict[str, Any], spec: ts.DrugDoseSpec, name: str, doses: list[OrderedDose]
    ) -> list[dict[str, Any]]:
        normal = _normal_per_m2(self.kb, spec.id, "day")
        if normal is None:
            return []
        result = pgx.adjust(self.kb, spec.id, self.record.pharmacogenomics, normal)
        if isinstance(result, pgx.Refusal):
            return [self._pgx_refusal(spec, name, result)]
        if self._infant():
            return []
        bsa = self.body.m2
        three_weekly = result.frequency == "three_times_weekly"
        how = " three times a week" if three_weekly else " a day"
        share = _span(result.share_low * 100, result.share_high * 100) + " %"
        per_m2 = _span(result.per_m2_day_low, result.per_m2_day_high)
        advised = f"{share} of the normal dose: {per_m2} mg/m²{how}"
        low_mg = high_mg = None
        if bsa is not None:
            low_mg = round_and_cap(result.per_m2_day_low * bsa, spec)[0]
            high_mg = round_and_cap(result.per_m2_day_high * bsa, spec)[0]
            advised += f" = **{_span(low_mg, high_mg)} mg{how}** for {self.body.basis}"
        basis = (
            f"**Phenotypes:** TPMT {self._phenotype('tpmt')}, NUDT15 {self._phenotype('nudt15')}. "
            f"{result.explanation} Confidence: {result.confidence}. Source: "
            + "; ".join(self.cards.cite(e) for e in result.evidence)
        )
        normal_text = (
            f"Normal starting dose: {number(normal)} mg/m² a day, the highest for {spec.label} in allpath's "
            "regimens (this check does not know the treatment phase)."
        )
        findings: list[str] = []
        flagged: OrderedDose | None = None
        for dose in doses:
            if dose.mg is not None and high_mg is not None and dose.mg > high_mg + spec.round_to / 2:
                findings.append(f"Ordered **{number(dose.mg)} mg** per dose: above the adjusted starting dose.")
                flagged = flagged or dose
            elif dose.mg_per_m2 is not None and dose.mg_per_m2 > result.per_m2_day_high + spec.round_to / 2:
                findings.append(
                    f"Ordered **{number(dose.mg_per_m2)} mg/m²** per dose: above the adjusted starting dose."
                )
                flagged = flagged or dose
            if three_weekly and dose.per_week is not None and dose.per_week > 3:
                findings.append(f"Ordered {number(dose.per_week)} times a week; advised: three times a week.")
                flagged = flagged or dose
        reduced = result.share_high < 1 or three_weekly
        if not findings:
            if bsa is None and any(d.mg is not None for d in doses):
                summary = f"{name} dose not checked: {self.body.why_not}"
                if reduced:
                    summary = f"{name} dose not checked (weight or height missing); the phenotypes call for {share}"
                detail = f"{self._no_calculation()}\n\nAdvised starting dose: {advised}.\n\n{basis}\n\n{normal_text}"
                return [self.cards.card(summary, "warning" if reduced else "info", detail)]
            return []
        if bsa is None:
            findings.append(self._no_calculation())
        suggestions = None
        if flagged is not None and high_mg is not None and low_mg == high_mg and high_mg > 0:
            suggestions = suggestion(
                resource, flagged, high_mg, f"Change to {number(high_mg)} mg{how}", three_weekly=three_weekly
            )
        summary = f"{name} above the TPMT/NUDT15-adjusted dose: {share} of normal, {per_m2} mg/m²{how}"
        detail = "\n\n".join([*findings, f"Advised starting dose: {advised}.", basis, normal_text])
        return [
            self.cards.card(
                summary,
                "warning",
                detail,
                suggestions=suggestions,
                override=(
                    "titrated-to-blood-counts",
                    "patient-tolerated-previously",
                    "protocol-specified-dose",
                    "clinical-judgement",
                ),
            )
        ]

    def _pgx_refusal(self, spec: ts.DrugDoseSpec, name: str, refusal: pgx.Refusal) -> dict[str, Any]:
        cites = "; ".join(self.cards.cite(e) for e in refusal.evidence)
        if refusal.missing:
            genes = "/".join(m.split(".")[1].upper() for m in refusal.missing)
            summary = f"{genes} not known: test before dosing {spec.label}"
            if len(refusal.missing) == 2:
                summary = f"TPMT/NUDT15 not known: test before dosing {spec.label}"
            detail = (
                f"{refusal.reason} The starting dose of {spec.label} depends on the TPMT and NUDT15 phenotypes "
                "(CPIC): a poor metabolizer needs a fraction of the normal dose. Known: TPMT "
                f"{self._phenotype('tpmt')}, NUDT15 {self._phenotype('nudt15')}."
            ) + self._not_received("pharmacogenomics")
            override: tuple[str, ...] = ("phenotype-known-elsewhere", "clinical-judgement")
        else:
            summary = f"{name}: the TPMT/NUDT15 results give no starting dose; see the advice"
            detail = f"{refusal.reason} Phenotypes: TPMT {self._phenotype('tpmt')}, NUDT15 {self._phenotype('nudt15')}."
            override = ("clinical-judgement",)
        if cites:
            detail += f"\n\nSource: {cites}"
        return self.cards.card(summary, "warning", detail, override=override)

    # -- helpers --

    def _per_m2_in_mg(self, dose: OrderedDose, spec: ts.DrugDoseSpec) -> float | None:
        """A dose ordered per m2 in mg for this child (to the drug's rounding step), when the area is known."""
        if self.body.m2 is None or dose.mg_per_m2 is None:
            return None
        return round(round(dose.mg_per_m2 * self.body.m2 / spec.round_to) * spec.round_to, 6)

    def _phenotype(self, gene: str) -> str:
        value = getattr(self.record.pharmacogenomics, gene, None) if self.record.pharmacogenomics else None
        return str(value).replace("_", " ") if value else "not known"

    def _infant(self) -> bool:
        """A child of a population without calculated doses (``order_checks.yaml``: infants)."""
        return not self.kb.order_checks.calculates_dose(self.age)

    def _no_calculation(self) -> str:
        if self._infant():
            return self.kb.order_checks.spec.no_calculated_dose.explanation
        return f"Not calculated: {self.body.why_not}.{self._rejected()}"

    def _rejected(self) -> str:
        text = "".join(f" The EHR's value was not used: {escape(r)}" for r in self.rejected)
        return text + self._not_received("weight", "height")

    def _not_received(self, *keys: str) -> str:
        """A note when the EHR's data for these prefetch keys did not reach allpath (it may exist there)."""
        missing = [k for k in keys if k in self.unsatisfied]
        if not missing:
            return ""
        return f" allpath did not receive the EHR's data for {' and '.join(missing)} ({self.unsatisfied[missing[0]]})."

    def _cannot(self, name: str, why: str) -> dict[str, Any]:
        return self.cards.card(
            f"{name} dose check not complete: {why}",
            "info",
            f"The dose calculator needs the body surface area: {self.body.why_not or why}. "
            f"allpath reads the latest body weight and height Observations of the patient.{self._rejected()}",
        )
