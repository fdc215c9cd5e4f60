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
  dosing"; results that give no starting dose -> warning with the reason. A TPMT or NUDT15 poor metabolizer
  (``order_checks.yaml``: ``poor_metabolizer_hard_stop``) ordered above that result's advice, or more often
  -> critical (a hard stop), whether or not the other gene's result is known.
- weight or height missing or implausible -> an info card naming what is needed (a warning when the
  phenotypes call for a reduced dose).
"""

from __future__ import annotations

from collections.abc import Mapping

from allpath.domain.results import EvidenceRef
from allpath.interfaces.cds.cards import Card, Cards, escape, number
from allpath.interfaces.cds.data import text_of
from allpath.interfaces.cds.order_reading import Order, drug_of, ordered_doses, suggestion
from allpath.knowledge import therapy_schema as ts
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.order_checks import (
    BodySize,
    CapCheck,
    DoseChecks,
    PhenotypeRefusal,
    ThiopurineCheck,
)

_SKIPPED_STATUSES = {"cancelled", "entered-in-error", "completed", "stopped", "revoked"}

BODY_FIELDS = ("weight_kg", "height_cm")  # the record fields behind the body surface area


def basis_of(body: BodySize, measured: Mapping[str, str]) -> str:
    """How the body surface area was found, for a card (empty without one)."""
    if body.m2 is None or body.weight_kg is None or body.height_cm is None:
        return ""
    when = ", ".join(f"{k.replace('body_', '')} of {v}" for k, v in sorted(measured.items()))
    basis = f"body surface area {number(round(body.m2, 3))} m² (Mosteller; {number(body.weight_kg)} kg, "
    return basis + f"{number(body.height_cm)} cm{'; ' + when if when else ''})"


def _span(low: float, high: float) -> str:
    return number(high) if low == high else f"{number(low)}–{number(high)}"


class OrderCheck:
    """The cards of the orders of one call, from the application layer's checks for one child."""

    def __init__(
        self,
        cards: Cards,
        checks: DoseChecks,
        measured: Mapping[str, str],
        rejected: list[str] | None = None,
        unsatisfied: Mapping[str, str] | None = None,
    ) -> None:
        """``measured``: the date of the weight and height used (``body_weight``/``body_height`` -> date);
        ``rejected``: why weights or heights of the EHR were not taken into the record (implausible values:
        the importer's reasons for ``BODY_FIELDS``);
        ``unsatisfied``: the prefetch keys whose data the service did not get (key -> why)."""
        self.rejected = list(rejected or [])
        self.unsatisfied = dict(unsatisfied or {})
        self.kb: KnowledgeBase = checks.kb
        self.cards = cards
        self.checks = checks
        self.record = checks.record
        self.body = checks.body
        self.basis = basis_of(checks.body, measured)

    def cards_for(self, resource: Order) -> list[Card]:
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
        found = self.checks.check(drug, doses)
        if isinstance(found, CapCheck):
            return self._capped(resource, name, found)
        if isinstance(found, ThiopurineCheck):
            return self._thiopurine(resource, name, found)
        return []

    # -- a cap per dose (vincristine) --

    def _capped(self, resource: Order, name: str, check: CapCheck) -> list[Card]:
        spec = check.drug
        mg, dose, calculated = check.ordered_mg, check.ordered, check.calculated_mg
        if mg is None or dose is None:
            return [self._cannot(name, "the dose is ordered per m2")]
        cite = self._evidence(check.evidence)
        cap = spec.cap_per_dose
        if check.over_cap and cap is not None:
            detail = [
                f"Ordered: **{number(mg)} mg** per dose. {spec.cap_explanation or ''}",
                f"Cap: {number(cap)} mg per dose. Source: {cite}",
            ]
            if calculated is not None:
                detail.append(
                    f"Calculated for this child: {number(check.per_m2 or 0)} mg/m² × {self.basis} = "
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
        if check.above_calculated:
            detail = [
                f"Ordered: **{number(mg)} mg** per dose.",
                f"Calculated: {number(check.per_m2 or 0)} mg/m² × {self.basis} = **{number(calculated)} mg** "
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

    def _thiopurine(self, resource: Order, name: str, check: ThiopurineCheck) -> list[Card]:
        spec = check.drug
        if check.refusal is not None and not check.critical:
            return [self._pgx_refusal(spec, name, check.refusal)]
        result = check.adjusted
        if result is None:
            return []
        how = " three times a week" if check.three_weekly else " a day"
        share = _span(result.share_low * 100, result.share_high * 100) + " %"
        per_m2 = _span(result.per_m2_day_low, result.per_m2_day_high)
        advised = f"{share} of the normal dose: {per_m2} mg/m²{how}"
        if check.low_mg is not None and check.high_mg is not None:
            advised += f" = **{_span(check.low_mg, check.high_mg)} mg{how}** for {self.basis}"
        basis = (
            f"**Phenotypes:** TPMT {self._phenotype('tpmt')}, NUDT15 {self._phenotype('nudt15')}. "
            f"{result.explanation} Confidence: {result.confidence}. Source: "
            + "; ".join(self.cards.cite(e) for e in result.evidence)
        )
        normal_text = (
            f"Normal starting dose: {number(check.normal_per_m2)} mg/m² a day, the highest for {spec.label} in "
            "allpath's regimens (this check does not know the treatment phase)."
        )
        if not check.excess:
            if check.unchecked:
                summary = f"{name} dose not checked: {self.body.why_not}"
                if check.reduced:
                    summary = f"{name} dose not checked (weight or height missing); the phenotypes call for {share}"
                detail = f"{self._no_calculation()}\n\nAdvised starting dose: {advised}.\n\n{basis}\n\n{normal_text}"
                return [self.cards.card(summary, "warning" if check.reduced else "info", detail)]
            return []
        findings = [_excess_text(x.kind, x.value) for x in check.excess]
        if self.body.m2 is None:
            findings.append(self._no_calculation())
        flagged, mg = check.flagged, check.suggested_mg
        suggestions = None
        if flagged is not None and mg is not None:
            suggestions = suggestion(
                resource, flagged, mg, f"Change to {number(mg)} mg{how}", three_weekly=check.three_weekly
            )
        summary = f"{name} above the TPMT/NUDT15-adjusted dose: {share} of normal, {per_m2} mg/m²{how}"
        parts = [*findings, f"Advised starting dose: {advised}.", basis, normal_text]
        if check.critical:
            genes = " and ".join(g.upper() for g in check.poor)
            summary = f"{name}: {genes} poor metabolizer, ordered above the advised {per_m2} mg/m²{how}"
            parts.insert(len(findings), self._hard_stop(check))
        return [
            self.cards.card(
                summary,
                "critical" if check.critical else "warning",
                "\n\n".join(parts),
                suggestions=suggestions,
                override=(
                    "titrated-to-blood-counts",
                    "patient-tolerated-previously",
                    "protocol-specified-dose",
                    "clinical-judgement",
                ),
            )
        ]

    def _hard_stop(self, check: ThiopurineCheck) -> str:
        """Why a poor metabolizer's order is critical, and what the advice does not yet take into account."""
        rule = self.kb.order_checks.spec.poor_metabolizer_hard_stop
        text = f"**Hard stop.** {rule.explanation} Source: {self._evidence(check.stop_evidence)}"
        refusal = check.refusal
        if refusal is not None:
            missing = " and ".join(m.split(".")[-1].upper() for m in refusal.missing)
            why = f"{missing} not known: test before dosing." if missing else refusal.reason
            text += (
                f"\n\nThe advice above is for the poor result alone. {why} Known: TPMT {self._phenotype('tpmt')}, "
                f"NUDT15 {self._phenotype('nudt15')}."
            )
        return text

    def _pgx_refusal(self, spec: ts.DrugDoseSpec, name: str, refusal: PhenotypeRefusal) -> Card:
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

    def _evidence(self, evidence: list[EvidenceRef]) -> str:
        return "; ".join(self.cards.cite(e) for e in evidence)

    def _phenotype(self, gene: str) -> str:
        value = getattr(self.record.pharmacogenomics, gene, None) if self.record.pharmacogenomics else None
        return str(value).replace("_", " ") if value else "not known"

    def _no_calculation(self) -> str:
        if not self.checks.calculates_dose:
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

    def _cannot(self, name: str, why: str) -> Card:
        return self.cards.card(
            f"{name} dose check not complete: {why}",
            "info",
            f"The dose calculator needs the body surface area: {self.body.why_not or why}. "
            f"allpath reads the latest body weight and height Observations of the patient.{self._rejected()}",
        )


def _excess_text(kind: str, value: float) -> str:
    """A sentence on an ordered dose above the adjusted starting dose (or given too often)."""
    if kind == "mg":
        return f"Ordered **{number(value)} mg** per dose: above the adjusted starting dose."
    if kind == "mg_per_m2":
        return f"Ordered **{number(value)} mg/m²** per dose: above the adjusted starting dose."
    return f"Ordered {number(value)} times a week; advised: three times a week."
