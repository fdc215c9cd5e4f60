"""order-select and order-sign: dose checks of vincristine, mercaptopurine and thioguanine orders."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds.conftest import Keys, cards_of, draft_orders, hook_request, medication_request, order_prefetch

SIGN = "allpath-order-sign"
SELECT = "allpath-order-select"
VINCRISTINE = "11202"
MERCAPTOPURINE = "103"
THIOGUANINE = "10485"


def child(weight: float | None = 45, height: float | None = 150, **pgx: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": "child", "sex": "female", "birth_date": "2015-03-01"}
    if weight is not None:
        record["weight_kg"] = weight
    if height is not None:
        record["height_cm"] = height
    if pgx:
        record["pharmacogenomics"] = pgx
    return record


def sign(client: TestClient, keys: Keys, record: dict[str, Any] | None, *orders: dict[str, Any]) -> list[Any]:
    prefetch = order_prefetch(record) if record is not None else None
    return cards_of(client, keys, SIGN, hook_request("order-sign", draft_orders(*orders), prefetch))


def test_vincristine_above_its_cap_is_critical(client: TestClient, keys: Keys) -> None:
    # 45 kg, 150 cm: body surface area 1.37 m2; 1.5 mg/m2 would be 2.05 mg, capped at 2 mg
    order = medication_request("vincristine sulfate 1 MG/ML Injectable Solution", 2.5, rxnorm=VINCRISTINE)
    (card,) = sign(client, keys, child(), order)
    assert card["indicator"] == "critical"
    assert card["summary"] == "Vincristine 2.5 mg is above the 2 mg cap per dose"
    assert "never given above 2 mg per dose" in card["detail"]
    assert "*8. Dose facts and caps*" in card["detail"]  # the citation of the cap
    assert "1.5 mg/m² × body surface area 1.369 m²" in card["detail"]
    assert "not a prescription" in card["detail"]
    (suggestion,) = card["suggestions"]
    assert card["selectionBehavior"] == "at-most-one"
    assert suggestion["label"] == "Change to 2 mg" and suggestion["uuid"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    updated = action["resource"]
    assert updated["id"] == order["id"] and updated["resourceType"] == "MedicationRequest"
    assert updated["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 2
    assert {r["code"] for r in card["overrideReasons"]} == {"protocol-specified-dose", "clinical-judgement"}
    assert all(r["display"] for r in card["overrideReasons"])


def test_vincristine_cap_needs_no_weight(client: TestClient, keys: Keys) -> None:
    order = medication_request("VinCRIStine 2.5 mg IV push", 2.5)  # by name, no code
    (card,) = sign(client, keys, child(weight=None), order)
    assert card["indicator"] == "critical"
    assert "suggestions" not in card  # the calculated dose needs the weight
    assert "Not calculated: the weight is needed" in card["detail"]
    (card,) = sign(client, keys, None, order)  # nothing prefetched at all
    assert card["indicator"] == "critical"
    assert "allpath did not receive the EHR's data for weight and height (not prefetched)" in card["detail"]


def test_vincristine_above_the_calculated_dose(client: TestClient, keys: Keys) -> None:
    # 17.1 kg, 104 cm: 0.703 m2, 1.05 mg
    order = medication_request("vincristine", 2, rxnorm=VINCRISTINE)
    (card,) = sign(client, keys, child(17.1, 104), order)
    assert card["indicator"] == "warning"
    assert card["summary"] == "Vincristine 2 mg is above the calculated dose of 1.05 mg"
    assert card["suggestions"][0]["label"] == "Change to 1.05 mg"
    assert sign(client, keys, child(17.1, 104), medication_request("vincristine", 1.05, rxnorm=VINCRISTINE)) == []


def test_vincristine_without_weight_or_height_cannot_be_checked(client: TestClient, keys: Keys) -> None:
    (card,) = sign(client, keys, child(height=None), medication_request("vincristine", 1, rxnorm=VINCRISTINE))
    assert card["indicator"] == "info"
    assert (
        card["summary"] == "Vincristine dose check not complete: the height is needed to calculate doses (centimeters)"
    )
    (card,) = sign(client, keys, child(weight=300), medication_request("vincristine", 1, rxnorm=VINCRISTINE))
    assert card["indicator"] == "info" and "The EHR's value was not used" in card["detail"]
    assert "300 is not allowed" in card["detail"]


def test_mercaptopurine_normal_dose_for_a_tpmt_poor_metabolizer(client: TestClient, keys: Keys) -> None:
    # 20 kg, 110 cm: 0.782 m2; the normal 75 mg/m2 a day is 58.6 mg; TPMT poor: 7.5 mg/m2 = 5.9 mg 3x a week
    order = medication_request("mercaptopurine 50 MG Oral Tablet", 60, rxnorm=MERCAPTOPURINE)
    (card,) = sign(client, keys, child(20, 110, tpmt="poor", nudt15="normal"), order)
    assert card["indicator"] == "critical"  # a hard stop: order_checks.yaml, poor_metabolizer_hard_stop
    assert card["summary"] == (
        "Mercaptopurine (6-MP): TPMT poor metabolizer, ordered above the advised 7.5 mg/m² three times a week"
    )
    detail = card["detail"]
    assert "a tenth of the normal daily dose, given three times a week instead of every day" in detail
    assert "Advised starting dose: 10 % of the normal dose: 7.5 mg/m² three times a week = **5.9 mg" in detail
    assert "Ordered 7 times a week; advised: three times a week." in detail
    assert "CPIC 2018 update, TPMT table" in detail
    (suggestion,) = card["suggestions"]
    assert suggestion["label"] == "Change to 5.9 mg three times a week"
    dosage = suggestion["actions"][0]["resource"]["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 5.9
    assert dosage["timing"]["repeat"] == {"frequency": 3, "period": 1, "periodUnit": "wk"}
    assert "titrated-to-blood-counts" in {r["code"] for r in card["overrideReasons"]}


def test_mercaptopurine_within_the_adjusted_dose_gets_no_card(client: TestClient, keys: Keys) -> None:
    normal = child(20, 110, tpmt="normal", nudt15="normal")
    assert sign(client, keys, normal, medication_request("mercaptopurine", 55, rxnorm=MERCAPTOPURINE)) == []
    poor = child(20, 110, tpmt="poor", nudt15="normal")
    weekly = medication_request("mercaptopurine", 5.9, rxnorm=MERCAPTOPURINE, frequency=3, period_unit="wk")
    assert sign(client, keys, poor, weekly) == []
    (card,) = sign(client, keys, normal, medication_request("mercaptopurine", 70, rxnorm=MERCAPTOPURINE))
    assert card["indicator"] == "warning" and "100 % of normal, 75 mg/m² a day" in card["summary"]


def test_intermediate_metabolizer_gets_a_range_without_a_suggestion(client: TestClient, keys: Keys) -> None:
    record = child(20, 110, tpmt="intermediate", nudt15="normal")
    (card,) = sign(client, keys, record, medication_request("mercaptopurine", 58.6, rxnorm=MERCAPTOPURINE))
    assert "30–80 % of normal, 22.5–60 mg/m² a day" in card["summary"]
    assert "**17.6–46.9 mg a day**" in card["detail"]
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_thiopurine_without_phenotypes_test_before_dosing(client: TestClient, keys: Keys) -> None:
    order = medication_request("Tabloid 40 MG Oral Tablet", 40, rxnorm=THIOGUANINE)
    (card,) = sign(client, keys, child(20, 110), order)
    assert card["indicator"] == "warning"
    assert card["summary"] == "TPMT/NUDT15 not known: test before dosing thioguanine (6-TG)"
    assert {r["code"] for r in card["overrideReasons"]} == {"phenotype-known-elsewhere", "clinical-judgement"}
    assert "did not receive" not in card["detail"]
    (card,) = sign(client, keys, child(20, 110, tpmt="normal"), order)
    assert card["summary"] == "NUDT15 not known: test before dosing thioguanine (6-TG)"
    (card,) = sign(client, keys, None, order)
    assert "did not receive the EHR's data for pharmacogenomics (not prefetched)" in card["detail"]


def test_indeterminate_phenotype_gives_the_advice(client: TestClient, keys: Keys) -> None:
    order = medication_request("mercaptopurine", 50, rxnorm=MERCAPTOPURINE)
    (card,) = sign(client, keys, child(20, 110, tpmt="indeterminate", nudt15="normal"), order)
    assert card["indicator"] == "warning"
    assert "consider measuring the TPMT enzyme activity" in card["detail"]


def test_thiopurine_without_weight(client: TestClient, keys: Keys) -> None:
    order = medication_request("mercaptopurine", 50, rxnorm=MERCAPTOPURINE)
    (card,) = sign(client, keys, child(weight=None, tpmt="normal", nudt15="normal"), order)
    assert card["indicator"] == "info"
    assert (
        card["summary"] == "Mercaptopurine (6-MP) dose not checked: the weight is needed to calculate doses (kilograms)"
    )
    (card,) = sign(client, keys, child(weight=None, tpmt="poor", nudt15="normal"), order)
    # every day where three times a week is advised: critical, though the dose in mg cannot be checked
    assert card["indicator"] == "critical" and "7.5 mg/m² three times a week" in card["summary"]
    assert "Ordered 7 times a week; advised: three times a week." in card["detail"]


def test_orders_written_as_the_specification_shows_them(client: TestClient, keys: Keys) -> None:
    # medicationReference with a display (the specification's prefetch example), dose in STU3 doseQuantity
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "ez067",
        "status": "draft",
        "intent": "order",
        "medicationReference": {
            "reference": "Medication/emvpHliA4OaUxXJ4wp6N.Ig3",
            "display": "MERCAPTOPURINE 50 MG PO TABS",
        },
        "dosageInstruction": [{"doseQuantity": {"value": 50, "unit": "mg"}}],
    }
    (card,) = sign(client, keys, child(), order)
    assert card["summary"] == "TPMT/NUDT15 not known: test before dosing mercaptopurine (6-MP)"
    contained = {
        **order,
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": VINCRISTINE}]},
            }
        ],
        "medicationReference": {"reference": "#m"},
        "dosageInstruction": [{"doseQuantity": {"value": 3, "unit": "mg"}}],
    }
    (card,) = sign(client, keys, child(), contained)
    assert card["indicator"] == "critical"
    assert card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseQuantity"]["value"] == 2


def test_doses_per_square_meter(client: TestClient, keys: Keys) -> None:
    (card,) = sign(client, keys, child(), medication_request("vincristine", 1.8, "mg/m2", rxnorm=VINCRISTINE))
    assert card["summary"] == "Vincristine 2.46 mg is above the 2 mg cap per dose"
    record = child(weight=None, tpmt="poor", nudt15="normal")
    (card,) = sign(client, keys, record, medication_request("mercaptopurine", 75, "mg/m2", rxnorm=MERCAPTOPURINE))
    assert "Ordered **75 mg/m²** per dose" in card["detail"]


@pytest.mark.parametrize(
    "order",
    [
        medication_request("vincristine sulfate LIPOSOME injection", 4),
        medication_request("amoxicillin 500 mg", 500, rxnorm="723"),
        medication_request("azathioprine", 50),
        medication_request("vincristine", 1, rxnorm=VINCRISTINE) | {"status": "cancelled"},
    ],
)
def test_orders_allpath_does_not_check_get_no_card(client: TestClient, keys: Keys, order: dict[str, Any]) -> None:
    assert sign(client, keys, child(), order) == []


def test_a_dose_allpath_cannot_read(client: TestClient, keys: Keys) -> None:
    (card,) = sign(
        client, keys, child(), medication_request("vincristine [evil](http://x)", 2, "mL", rxnorm=VINCRISTINE)
    )
    assert card["indicator"] == "info"
    assert "(unit: mL)" in card["detail"]


def test_order_select_checks_the_selected_orders(client: TestClient, keys: Keys) -> None:
    first = medication_request("vincristine", 2.5, rxnorm=VINCRISTINE, order_id="a")
    second = medication_request("vincristine", 3, rxnorm=VINCRISTINE, order_id="b")
    context = draft_orders(first, second) | {"selections": ["MedicationRequest/b"]}
    cards = cards_of(client, keys, SELECT, hook_request("order-select", context, order_prefetch(child())))
    assert [card["summary"] for card in cards] == ["Vincristine 3 mg is above the 2 mg cap per dose"]
    context["selections"] = ["MedicationRequest/a", "MedicationRequest/b"]
    cards = cards_of(client, keys, SELECT, hook_request("order-select", context, order_prefetch(child())))
    assert len(cards) == 2
    context.pop("selections")
    cards = cards_of(client, keys, SIGN, hook_request("order-sign", context, order_prefetch(child())))
    assert len(cards) == 2
