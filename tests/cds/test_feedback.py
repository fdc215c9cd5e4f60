"""The feedback endpoint: the specification's feedback body, stored in the audit log without patient data."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cds.conftest import Keys, audit, bearer, cards_of, draft_orders, hook_request, medication_request
from tests.cds.conftest import order_prefetch as prefetch_for

SERVICE = "allpath-order-sign"
PATH = f"/cds-services/{SERVICE}/feedback"


def post(client: TestClient, keys: Keys, body: Any, path: str = PATH) -> Any:
    return client.post(path, json=body, headers=bearer(keys, path))


def test_overridden_card_is_audited_without_the_comment(client: TestClient, keys: Keys, app: FastAPI) -> None:
    record = {"id": "c", "weight_kg": 45, "height_cm": 150}
    order = medication_request("vincristine", 2.5, rxnorm="11202")
    (card,) = cards_of(client, keys, SERVICE, hook_request("order-sign", draft_orders(order), prefetch_for(record)))
    reason = card["overrideReasons"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"system": reason["system"], "code": reason["code"]},
                    "userComment": "Jane Doe, MRN 1234567, tolerated this before",
                },
                "outcomeTimestamp": "2026-11-27T10:05:31Z",
            },
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-11-27T10:06:00Z",
            },
        ]
    }
    response = post(client, keys, body)
    assert response.status_code == 200, response.text
    entries = [e for e in audit(app) if e.action == "cds_feedback"][-2:]
    assert [e.resource_id for e in entries] == [card["uuid"], card["uuid"]]
    assert [e.outcome for e in entries] == ["overridden", "accepted"]
    assert entries[0].resource == f"cds:{SERVICE}"
    assert entries[0].detail == (
        f"outcome=overridden; at=2026-11-27T10:05:31Z; reason={reason['system']}|protocol-specified-dose; "
        "client=https://ehr.example.org/"
    )
    assert f"suggestions={card['suggestions'][0]['uuid']}" in entries[1].detail
    everything = " ".join(f"{e.resource} {e.resource_id} {e.detail}" for e in audit(app))
    assert "Jane" not in everything and "1234567" not in everything and "2.5" not in everything
    # the audience may also be the service's own URL
    service_path = f"/cds-services/{SERVICE}"
    again = client.post(PATH, json=body, headers=bearer(keys, service_path))
    assert again.status_code == 200


def test_feedback_that_breaks_the_specification_is_refused(client: TestClient, keys: Keys) -> None:
    item = {
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
        "outcome": "overridden",
        "outcomeTimestamp": "2020-12-11T00:00:00Z",
    }
    assert post(client, keys, {"feedback": [item]}).status_code == 200
    broken: list[Any] = [
        {},
        {"feedback": []},
        {"feedback": [item | {"outcome": "ignored"}]},
        {"feedback": [item | {"card": None}]},
        {"feedback": [item | {"card": "not a uuid; DROP TABLE"}]},
        {"feedback": [{k: v for k, v in item.items() if k != "outcomeTimestamp"}]},
        {"feedback": [item | {"outcome": "accepted"}]},  # without acceptedSuggestions
        {"feedback": [item | {"overrideReason": {"reason": {"code": "x"}}}]},
        {"feedback": [item | {"overrideReason": "no"}]},
        {"feedback": [item] * 101},
    ]
    for body in broken:
        response = post(client, keys, body)
        assert response.status_code == 400, body
        assert response.json()["resourceType"] == "OperationOutcome"
    nul = {"feedback": [item | {"overrideReason": {"userComment": "a\x00b"}}]}
    response = post(client, keys, nul)
    assert response.status_code == 400
    text = response.json()["issue"][0]["details"]["text"]
    assert text == "feedback[0].overrideReason.userComment holds a NUL character or an unpaired surrogate"


def test_unknown_service_is_404(client: TestClient, keys: Keys) -> None:
    item = {
        "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
        "outcome": "overridden",
        "outcomeTimestamp": "2020-12-11T00:00:00Z",
    }
    assert post(client, keys, {"feedback": [item]}, "/cds-services/no-such-service/feedback").status_code == 404
    response = client.post("/cds-services/no-such-service", json=hook_request("order-sign", {}))
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_service_refuses_a_request_of_another_hook(client: TestClient, keys: Keys) -> None:
    path = "/cds-services/allpath-order-sign"
    response = client.post(path, json=hook_request("patient-view", {}), headers=bearer(keys, path))
    assert response.status_code == 400
    response = client.post(path, json={"hook": "order-sign", "context": "x"}, headers=bearer(keys, path))
    assert response.status_code == 400
