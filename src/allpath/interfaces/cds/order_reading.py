"""Reading draft MedicationRequests for the dose checks: which drug an order names, its doses, and an updated
order to suggest.

A dose per administration is read from the first readable dosage of each ``dosageInstruction`` (R4
``doseAndRate.doseQuantity``, or ``doseQuantity`` as older clients write it) in mg, g, microgram or mg/m2.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Mapping

from allpath.interfaces.cds.cards import Suggestion, number
from allpath.interfaces.cds.data import as_dict, as_list, text_of
from allpath.interfaces.fhir import codes as c
from allpath.knowledge.loader import KnowledgeBase
from allpath.service.order_checks import OrderedDose

Order = Mapping[str, object]
"""A draft MedicationRequest as the CDS client sent it (JSON, read with isinstance checks)."""

# Units of measure (UCUM codes and the words clients write), not clinical numbers.
_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001, "microgram": 0.001, "milligram": 1.0}
_MG_PER_M2 = {"mg/m2", "mg/m*2", "mg/m^2", "mg/m²"}
_WEEK = {"h": 24 * 7, "d": 7, "wk": 1, "mo": 7 / 30.4375, "a": 7 / 365.25}
_UNIT_LIMIT = 20  # characters of an unreadable unit shown on a card


def _concepts(resource: Order) -> tuple[list[dict[str, object]], list[str]]:
    """Codings and texts naming the medication of a MedicationRequest (R4 and R5 shapes, contained Medication)."""
    codings: list[dict[str, object]] = []
    texts: list[str] = []

    def concept(value: object) -> None:
        if isinstance(value, dict):
            found = [x for x in as_list(value.get("coding")) if isinstance(x, dict)]
            codings.extend(found)
            texts.extend(x["display"] for x in found if isinstance(x.get("display"), str))
            if isinstance(value.get("text"), str):
                texts.append(value["text"])

    def reference(value: object) -> None:
        if not isinstance(value, dict):
            return
        display = value.get("display")
        if isinstance(display, str):
            texts.append(display)
        ref = value.get("reference")
        if isinstance(ref, str) and ref.startswith("#"):
            for contained in as_list(resource.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    concept(contained.get("code"))

    concept(resource.get("medicationCodeableConcept"))
    reference(resource.get("medicationReference"))
    medication = resource.get("medication")  # R5: CodeableReference
    if isinstance(medication, dict):
        concept(medication.get("concept"))
        reference(medication.get("reference"))
    return codings, texts


def drug_of(resource: Order, kb: KnowledgeBase) -> str | None:
    """The checked drug (``order_checks.yaml``) a MedicationRequest orders, or None: by its coded ingredient,
    else by the drug's name in its texts; never an order of a product that is not checked."""
    if resource.get("resourceType") != "MedicationRequest":
        return None
    rules = kb.order_checks
    codings, texts = _concepts(resource)
    text = " ".join(texts).lower()
    if rules.excluded(text):
        return None
    coded = c.lookup().value_of("drug", codings)
    if coded in rules.drugs:
        return coded
    return rules.named_drug(text)


def _quantity(dosage: Mapping[str, object]) -> dict[str, object] | None:
    for item in as_list(dosage.get("doseAndRate")):
        if isinstance(item, dict):
            quantity = item.get("doseQuantity")
            if isinstance(quantity, dict):
                return dict(quantity)
            high = as_dict(item.get("doseRange")).get("high")
            if isinstance(high, dict):
                return dict(high)
    quantity = dosage.get("doseQuantity")
    if isinstance(quantity, dict):
        return dict(quantity)
    return None


def _per_week(dosage: Mapping[str, object]) -> float | None:
    repeat = as_dict(as_dict(dosage.get("timing")).get("repeat"))
    unit = text_of(repeat.get("periodUnit"))
    if unit not in _WEEK:
        return None
    frequency, period = repeat.get("frequency", 1), repeat.get("period", 1)
    if not isinstance(frequency, int | float) or not isinstance(period, int | float) or period <= 0:
        return None
    return float(frequency) / float(period) * _WEEK[unit]


def ordered_doses(resource: Order) -> tuple[list[OrderedDose], list[str]]:
    """The readable doses of an order, and the units that could not be read."""
    found: list[OrderedDose] = []
    unreadable: list[str] = []
    for index, dosage in enumerate(as_list(resource.get("dosageInstruction"))):
        if not isinstance(dosage, dict):
            continue
        quantity = _quantity(dosage)
        if quantity is None:
            continue
        value = quantity.get("value")
        unit = (text_of(quantity.get("code")) or text_of(quantity.get("unit")) or "").strip()[:_UNIT_LIMIT]
        key = unit.lower()
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            unreadable.append(unit or "no number")
        elif key in _MG:
            found.append(OrderedDose(index, float(value) * _MG[key], None, _per_week(dosage), unit))
        elif key in _MG_PER_M2:
            found.append(OrderedDose(index, None, float(value), _per_week(dosage), unit))
        else:
            unreadable.append(unit or "no unit")
    return found, unreadable


def suggestion(
    resource: Order, dose: OrderedDose, mg: float, label: str, three_weekly: bool = False
) -> list[Suggestion] | None:
    """An update of the order to ``mg`` per dose (and three times a week), when the order has an id.

    ``dose`` was read from this order (``ordered_doses``), so its dosage instruction is a JSON object."""
    if not isinstance(resource.get("id"), str):
        return None
    updated = copy.deepcopy(dict(resource))
    dosage = as_list(updated.get("dosageInstruction"))[dose.index]
    assert isinstance(dosage, dict)  # ordered_doses read a dose from it
    quantity = {"value": mg, "unit": "mg", "system": c.UCUM, "code": "mg"}
    placed = False
    for item in as_list(dosage.get("doseAndRate")):
        if isinstance(item, dict) and ("doseQuantity" in item or "doseRange" in item):
            item.pop("doseRange", None)
            item["doseQuantity"] = quantity
            placed = True
            break
    if not placed:
        if "doseQuantity" in dosage:
            dosage["doseQuantity"] = quantity
        else:
            dosage["doseAndRate"] = [{"doseQuantity": quantity}]
    words = f"{number(mg)} mg"
    if three_weekly:
        if not isinstance(dosage.get("timing"), dict):
            dosage["timing"] = {}
        timing = dosage["timing"]
        if not isinstance(timing.get("repeat"), dict):
            timing["repeat"] = {}
        repeat = timing["repeat"]
        repeat.update({"frequency": 3, "period": 1, "periodUnit": "wk"})
        words += " three times a week"
    dosage["text"] = f"{words} (changed after an allpath dose check)"
    return [
        {
            "label": label,
            "uuid": _uuid(),
            "actions": [
                {
                    "type": "update",
                    "description": f"Change the dose of this order to {words}",
                    "resource": updated,
                }
            ],
        }
    ]


def _uuid() -> str:
    return str(uuid.uuid4())


def checked_orders(context: Mapping[str, object], only_selected: bool) -> list[Order]:
    """The MedicationRequests of ``context.draftOrders`` (at order-select: the selected ones, when named)."""
    bundle = context.get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    resources = [e.get("resource") for e in entries or [] if isinstance(e, dict)]
    orders: list[Order] = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "MedicationRequest"]
    selections = context.get("selections")
    if only_selected and isinstance(selections, list) and selections:
        chosen = {s for s in selections if isinstance(s, str)}
        orders = [r for r in orders if f"MedicationRequest/{r.get('id')}" in chosen]
    return orders
