"""Discovery, and the hook contexts published with the specification (shared/cds-hooks), which no one in this
project wrote: each is accepted, carried in a request with the fields the specification requires, and answered
with valid (here: empty) cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cds.conftest import Keys, call, cards_of
from tests.cds.spec import response_problems
from tests.conftest import require_shared

SERVICES = {"allpath-patient-view": "patient-view", "allpath-order-select": "order-select"}
SERVICES["allpath-order-sign"] = "order-sign"


def test_discovery_lists_the_three_services_without_authentication(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert {s["id"]: s["hook"] for s in services} == SERVICES
    for service in services:
        for field in ("hook", "description", "id"):
            assert isinstance(service[field], str) and service[field]
        assert service["title"]
        assert all(isinstance(v, str) and "{{context.patientId}}" in v for v in service["prefetch"].values())
    view = next(s for s in services if s["hook"] == "patient-view")["prefetch"]
    assert view["patient"] == "Patient/{{context.patientId}}"
    assert view["conditions"] == "Condition?patient={{context.patientId}}"
    assert view["observations"].startswith("Observation?patient={{context.patientId}}&code=http://loinc.org|")
    assert view["medications"] == "MedicationRequest?patient={{context.patientId}}"
    sign = next(s for s in services if s["hook"] == "order-sign")["prefetch"]
    assert sign["patient"] == "Patient/{{context.patientId}}"
    assert "code=http://loinc.org|29463-7" in sign["weight"] and "_count=1" in sign["weight"]
    assert "code=http://loinc.org|8302-2" in sign["height"]
    assert "http://loinc.org|79713-4" in sign["pharmacogenomics"]  # TPMT
    assert "nudt15-phenotype" in sign["pharmacogenomics"]


def _examples() -> list[Path]:
    folder = require_shared() / "cds-hooks"
    found = sorted(folder.glob("*.json"))
    assert found, f"no hook contexts in {folder}"
    return found


@pytest.mark.parametrize(
    "name", ["order-select-example-1", "order-select-example-2", "order-sign-example-1", "order-sign-example-2"]
)
def test_every_published_hook_context_is_accepted(client: TestClient, keys: Keys, name: str) -> None:
    paths = {p.stem: p for p in _examples()}
    assert name in paths
    body = json.loads(paths[name].read_text(encoding="utf-8"))
    hook = "order-select" if name.startswith("order-select") else "order-sign"
    # the published examples are hook contexts: a request carries them with the fields the specification requires
    body |= {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}
    cards = cards_of(client, keys, f"allpath-{hook}", body)
    assert cards == []  # a pureed diet and amoxicillin: nothing allpath checks


def test_the_published_contexts_are_all_covered() -> None:
    """A new file in shared/cds-hooks must be added to the test above."""
    assert {p.stem for p in _examples()} == {
        "order-select-example-1",
        "order-select-example-2",
        "order-sign-example-1",
        "order-sign-example-2",
    }


def test_published_contexts_without_the_request_fields_are_refused(client: TestClient, keys: Keys) -> None:
    """A context alone is not a request: "hook" and "hookInstance" are REQUIRED (CDS Hooks 2.0, "HTTP Request")."""
    for path in _examples():
        body = json.loads(path.read_text(encoding="utf-8"))
        hook = "order-select" if path.stem.startswith("order-select") else "order-sign"
        response = call(client, keys, f"allpath-{hook}", body)
        assert response.status_code == 400, response.text
        assert response.json()["issue"][0]["details"]["text"].startswith("hook is required")


def test_the_validator_catches_broken_cards() -> None:
    good = {"uuid": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "summary": "s", "indicator": "info"}
    good["source"] = {"label": "x"}  # type: ignore[assignment]
    assert response_problems({"cards": [good]}) == []
    broken = [
        {**good, "summary": "x" * 140},
        {**good, "indicator": "urgent"},
        {**good, "source": {}},
        {**good, "suggestions": [{"label": "a", "uuid": good["uuid"], "actions": [{"type": "update"}]}]},
        {**good, "overrideReasons": [{"system": "s", "code": "c"}]},
        {**good, "links": [{"label": "l", "url": "/relative", "type": "absolute"}]},
        {**good, "detail": None},
        {**good, "links": []},
    ]
    for card in broken:
        assert response_problems({"cards": [card]}), card
    assert response_problems({"cards": [{k: v for k, v in good.items() if k != "uuid"}]})
    assert response_problems({}) == ["cards: required (an array, empty when there is no guidance)"]
