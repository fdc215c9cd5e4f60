"""The request, security and feedback rules of CDS Hooks 2.0 (HL7/cds-hooks, tag v2.0.1), one refusing test per
rule. Each test quotes the rule it enforces with the section it comes from, shows that a request breaking it is
refused with a message naming the field and what is allowed (never the value), and that the request at the
boundary is accepted.

Rules tested elsewhere: the JWT's ``alg`` (never ``none`` or HMAC: test_auth.test_symmetric_and_unsigned_tokens),
its required claims ``iss``, ``aud``, ``exp``, ``iat``, ``jti`` (test_auth.test_required_claims), ``aud`` as the
endpoint's URL (test_auth.test_wrong_audience), ``fhirServer`` as an allowlisted https URL
(test_malformed.test_odd_fhir_server_values_are_400_and_never_contacted), prefetch values as FHIR resources or
``null`` (test_malformed.test_malformed_prefetch_is_400_naming_the_place).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.cds.conftest import (
    BASE,
    FHIR_SERVER,
    FHIR_TOKEN,
    ISSUER,
    Keys,
    bearer,
    draft_orders,
    hook_request,
    make_token,
    medication_request,
    order_prefetch,
)
from tests.conftest import EXAMPLES

SIGN = "/cds-services/allpath-order-sign"
SELECT = "/cds-services/allpath-order-select"
VIEW = "/cds-services/allpath-patient-view"
AUTHORIZATION = {
    "access_token": FHIR_TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "user/Patient.read user/Observation.read",
    "subject": "cds-service4",
}


def _record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
    return record


def _sign() -> dict[str, Any]:
    """A complete order-sign request (a vincristine order, every prefetch key satisfied)."""
    order = medication_request("vincristine", 1.5, rxnorm="11202")
    return hook_request("order-sign", draft_orders(order), order_prefetch(_record()))


def _select() -> dict[str, Any]:
    order = medication_request("vincristine", 1.5, rxnorm="11202", order_id="draft-1")
    context = draft_orders(order) | {"selections": ["MedicationRequest/draft-1"]}
    return hook_request("order-select", context, order_prefetch(_record()))


def _post(client: TestClient, path: str, body: Any, keys: Keys) -> Any:
    return client.post(path, json=body, headers=bearer(keys, path))


def _refused(response: Any, words: str, status: int = 400) -> str:
    assert response.status_code == status, response.text
    text: str = response.json()["issue"][0]["details"]["text"]
    assert words in text, text
    return text


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return out


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    out = copy.deepcopy(body)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return out


# ---- "Calling a CDS Service" > "HTTP Request" ----------------------------------------------------------------


def test_hook_is_required(client: TestClient, keys: Keys) -> None:
    """HTTP Request: "hook | REQUIRED | string | The hook that triggered this CDS Service call"."""
    _refused(_post(client, SIGN, _without(_sign(), "hook"), keys), "hook is required")
    _refused(_post(client, SIGN, _with(_sign(), "", "hook"), keys), "hook is required")
    assert _post(client, SIGN, _sign(), keys).status_code == 200


def test_hook_is_the_hook_the_service_answers(client: TestClient, keys: Keys) -> None:
    """Discovery: a service's "hook | REQUIRED | The hook this service should be invoked on"."""
    _refused(_post(client, SIGN, _with(_sign(), "order-select", "hook"), keys), "hook must be order-sign")


def test_hook_instance_is_a_required_uuid(client: TestClient, keys: Keys) -> None:
    """HTTP Request: "hookInstance | REQUIRED | string | A universally unique identifier (UUID) for this
    particular hook call"."""
    body = _sign()
    _refused(_post(client, SIGN, _without(body, "hookInstance"), keys), "hookInstance is required: a UUID")
    for wrong in ("", "call-42", "d1577c69dfbe44adba6d3e05e953b2ea", "urn:uuid:d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"):
        text = _refused(_post(client, SIGN, _with(body, wrong, "hookInstance"), keys), "hookInstance is required")
        assert wrong == "" or wrong not in text
    for right in ("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", str(uuid.uuid4()).upper()):  # the spec's own example
        assert _post(client, SIGN, _with(body, right, "hookInstance"), keys).status_code == 200


def test_context_is_required(client: TestClient, keys: Keys) -> None:
    """HTTP Request: "context | REQUIRED | object | Hook-specific contextual data"."""
    _refused(_post(client, SIGN, _without(_sign(), "context"), keys), "context is required")
    _refused(_post(client, SIGN, _with(_sign(), {}, "context"), keys), "context is required")


def test_the_user_is_required_as_resource_type_and_id(client: TestClient, keys: Keys) -> None:
    """patient-view, order-select, order-sign: "userId | REQUIRED | The id of the current user ... Must be in the
    format [ResourceType]/[id]"; at order-select and order-sign "the user is expected to be of type Practitioner
    or PractitionerRole"."""
    body = _sign()
    _refused(_post(client, SIGN, _without(body, "context", "userId"), keys), "context.userId is required")
    text = _refused(_post(client, SIGN, _with(body, "dr-smith", "context", "userId"), keys), "[ResourceType]/[id]")
    assert "dr-smith" not in text
    _refused(_post(client, SIGN, _with(body, "Patient/123", "context", "userId"), keys), "Practitioner")
    assert _post(client, SIGN, _with(body, "PractitionerRole/123", "context", "userId"), keys).status_code == 200
    # a patient viewing their own record is a user of patient-view
    view = hook_request("patient-view", {"userId": "Patient/1288992"})
    assert "userId" not in _post(client, VIEW, view, keys).text


def test_the_patient_is_required(client: TestClient, keys: Keys) -> None:
    """patient-view, order-select, order-sign: "patientId | REQUIRED | The FHIR Patient.id of the current
    patient in context" (a FHIR id: 1 to 64 letters, digits, '-' or '.')."""
    body = _sign()
    _refused(_post(client, SIGN, _without(body, "context", "patientId"), keys), "context.patientId is required")
    for wrong in ("", "a" * 65, "Patient/1288992", "1288992 "):
        _refused(_post(client, SIGN, _with(body, wrong, "context", "patientId"), keys), "context.patientId")


def test_the_encounter_is_a_fhir_id_when_given(client: TestClient, keys: Keys) -> None:
    """patient-view, order-select, order-sign: "encounterId | OPTIONAL | The FHIR Encounter.id"."""
    body = _sign()
    _refused(_post(client, SIGN, _with(body, ["89284"], "context", "encounterId"), keys), "context.encounterId")
    assert _post(client, SIGN, _with(body, "89284", "context", "encounterId"), keys).status_code == 200


def test_order_select_requires_its_selections(client: TestClient, keys: Keys) -> None:
    """order-select: "selections | REQUIRED | array | The FHIR id of the newly selected order(s). The selections
    field references FHIR resources in the draftOrders Bundle"."""
    body = _select()
    _refused(_post(client, SELECT, _without(body, "context", "selections"), keys), "context.selections is required")
    _refused(_post(client, SELECT, _with(body, [], "context", "selections"), keys), "context.selections is required")
    absent = ["MedicationRequest/draft-2"]
    _refused(_post(client, SELECT, _with(body, absent, "context", "selections"), keys), "in context.draftOrders")
    _refused(_post(client, SELECT, _with(body, ["draft-1"], "context", "selections"), keys), "[ResourceType]/[id]")
    assert _post(client, SELECT, body, keys).status_code == 200


def test_order_hooks_require_the_draft_orders_bundle(client: TestClient, keys: Keys) -> None:
    """order-select, order-sign: "draftOrders | REQUIRED | object | R4 - FHIR Bundle of DeviceRequest,
    MedicationRequest, NutritionOrder, ServiceRequest, VisionPrescription"."""
    body = _sign()
    _refused(_post(client, SIGN, _without(body, "context", "draftOrders"), keys), "context.draftOrders is required")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    _refused(_post(client, SIGN, _with(body, order, "context", "draftOrders"), keys), "a FHIR Bundle")


def test_fields_are_never_null_or_empty(client: TestClient, keys: Keys) -> None:
    """Use of JSON: "JSON elements SHALL NOT be null, unless otherwise specified. JSON elements SHALL NOT be
    empty ... If a JSON attribute is defined as OPTIONAL, and does not have a value, implementers MUST omit it";
    a prefetch key may be null ("the prefetch template key MUST have a value of null")."""
    body = _sign()
    for name, empty in (("prefetch", {}), ("prefetch", None), ("fhirServer", None), ("fhirAuthorization", None)):
        _refused(_post(client, SIGN, _with(body, empty, name), keys), f"{name} must not be null or empty")
    assert _post(client, SIGN, _with(body, None, "prefetch", "pharmacogenomics"), keys).status_code == 200
    assert _post(client, SIGN, _without(body, "prefetch"), keys).status_code == 200


def test_a_prefetch_value_answers_its_template(client: TestClient, keys: Keys) -> None:
    """Prefetch Template: "the prefetched data given to the CDS Service MUST be equivalent to the data the CDS
    Service would receive if it were making its own call ... using the parameterized prefetch template"; "CDS
    Services SHOULD check any prefetched data for the existence of OperationOutcomes"."""
    body = _sign()
    weight = body["prefetch"]["weight"]
    _refused(
        _post(client, SIGN, _with(body, weight, "prefetch", "patient"), keys), "prefetch.patient must be a Patient"
    )
    patient = body["prefetch"]["patient"]
    _refused(_post(client, SIGN, _with(body, patient, "prefetch", "weight"), keys), "prefetch.weight must be a Bundle")
    error = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    assert _post(client, SIGN, _with(body, error, "prefetch", "weight"), keys).status_code == 200


@pytest.mark.parametrize("field", ["access_token", "token_type", "expires_in", "scope", "subject"])
def test_fhir_authorization_has_every_required_field(client: TestClient, keys: Keys, field: str) -> None:
    """Passing the Access Token to the CDS Service: "access_token | REQUIRED", "token_type | REQUIRED | Fixed
    value: Bearer", "expires_in | REQUIRED | integer", "scope | REQUIRED | string", "subject | REQUIRED |
    string"."""
    body = _sign() | {"fhirServer": FHIR_SERVER, "fhirAuthorization": AUTHORIZATION}
    assert _post(client, SIGN, body, keys).status_code == 200
    text = _refused(_post(client, SIGN, _without(body, "fhirAuthorization", field), keys), f"fhirAuthorization.{field}")
    assert FHIR_TOKEN not in text
    wrong = {"token_type": "MAC", "expires_in": 300.5, "scope": 7, "subject": "", "access_token": "a b"}[field]
    _refused(_post(client, SIGN, _with(body, wrong, "fhirAuthorization", field), keys), f"fhirAuthorization.{field}")


def test_fhir_authorization_names_a_patient_by_fhir_id(client: TestClient, keys: Keys) -> None:
    """Passing the Access Token: "patient | CONDITIONAL | string | ... the FHIR id of that patient"."""
    body = _sign() | {"fhirServer": FHIR_SERVER, "fhirAuthorization": AUTHORIZATION | {"patient": "Patient/1"}}
    _refused(_post(client, SIGN, body, keys), "fhirAuthorization.patient must be the FHIR id")
    body["fhirAuthorization"]["patient"] = "1288992"
    assert _post(client, SIGN, body, keys).status_code == 200


def test_fhir_server_is_required_with_fhir_authorization(client: TestClient, keys: Keys) -> None:
    """HTTP Request: "fhirServer | CONDITIONAL | The base URL of the CDS Client's FHIR server. If
    fhirAuthorization is provided, this field is REQUIRED"."""
    body = _sign() | {"fhirAuthorization": AUTHORIZATION}
    _refused(_post(client, SIGN, body, keys), "fhirServer is required with fhirAuthorization")


# ---- "Security and Safety" > "Trusting CDS Clients" ----------------------------------------------------------


def _token(keys: Keys, header: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": BASE + SIGN, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())} | claims
    return jwt.encode(payload, keys.ec, algorithm="ES384", headers=header)


def _with_token(client: TestClient, token: str) -> Any:
    return client.post(SIGN, json=_sign(), headers={"Authorization": f"Bearer {token}"})


def test_the_jwt_header_carries_typ_jwt(client: TestClient, keys: Keys) -> None:
    """Trusting CDS Clients, the JWT header: "typ | REQUIRED | string | Fixed value: JWT"."""
    _refused(_with_token(client, _token(keys, {"kid": "ehr-ec", "typ": None})), "typ JWT", 401)
    _refused(_with_token(client, _token(keys, {"kid": "ehr-ec", "typ": "JOSE"})), "typ JWT", 401)
    assert _with_token(client, _token(keys, {"kid": "ehr-ec", "typ": "JWT"})).status_code == 200


def test_the_jwt_header_names_its_key(client: TestClient, keys: Keys) -> None:
    """Trusting CDS Clients, the JWT header: "kid | REQUIRED | string | The identifier of the key-pair used to
    sign this JWT"."""
    _refused(_with_token(client, _token(keys, {"typ": "JWT"})), "key id (kid)", 401)


def test_the_jwt_tenant_is_a_string(client: TestClient, keys: Keys) -> None:
    """Trusting CDS Clients, the JWT payload: "tenant | OPTIONAL | string | An opaque string identifying the
    healthcare organization"."""
    _refused(_with_token(client, make_token(keys, BASE + SIGN, tenant=["a"])), "tenant", 401)
    assert _with_token(client, make_token(keys, BASE + SIGN, tenant="tenant-2")).status_code == 200


# ---- "Feedback" ------------------------------------------------------------------------------------------------

FEEDBACK = SIGN + "/feedback"
ITEM = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "outcomeTimestamp": "2020-12-11T00:00:00Z",
}


def _feedback(client: TestClient, keys: Keys, *items: Any) -> Any:
    return client.post(FEEDBACK, json={"feedback": list(items)}, headers=bearer(keys, FEEDBACK))


def test_feedback_is_an_object_holding_an_array(client: TestClient, keys: Keys) -> None:
    """Feedback: "The request to the feedback endpoint SHALL be an object containing an array"."""
    bodies: list[dict[str, Any]] = [{}, {"feedback": ITEM}, {"feedback": []}]
    for body in bodies:
        response = client.post(FEEDBACK, json=body, headers=bearer(keys, FEEDBACK))
        _refused(response, "feedback must be a list of 1 to 100 items")
    assert _feedback(client, keys, ITEM).status_code == 200


def test_feedback_names_its_card(client: TestClient, keys: Keys) -> None:
    """Feedback: "card | REQUIRED | string | The card.uuid from the CDS Hooks response"."""
    _refused(_feedback(client, keys, _without(ITEM, "card")), "feedback[0]: card is required")


def test_feedback_outcome_is_accepted_or_overridden(client: TestClient, keys: Keys) -> None:
    """Feedback: "outcome | REQUIRED | string | A value of accepted or overridden"."""
    _refused(_feedback(client, keys, _without(ITEM, "outcome")), "outcome is required: accepted or overridden")
    _refused(_feedback(client, keys, ITEM | {"outcome": "ignored"}), "outcome is required: accepted or overridden")


def test_an_accepted_outcome_names_its_suggestions(client: TestClient, keys: Keys) -> None:
    """Feedback: "acceptedSuggestions | CONDITIONAL | array | ... Required for accepted outcomes"; an
    AcceptedSuggestion: "id | REQUIRED | string"."""
    accepted = ITEM | {"outcome": "accepted"}
    _refused(_feedback(client, keys, accepted), "an accepted outcome needs acceptedSuggestions")
    _refused(_feedback(client, keys, accepted | {"acceptedSuggestions": []}), "non-empty list")
    _refused(_feedback(client, keys, accepted | {"acceptedSuggestions": [{}]}), "list of {id}")
    good = accepted | {"acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}]}
    assert _feedback(client, keys, good).status_code == 200


def test_an_override_reason_is_never_empty(client: TestClient, keys: Keys) -> None:
    """Use of JSON: "{} ... prohibited"; OverrideReason: "reason | CONDITIONAL | Coding", "userComment |
    OPTIONAL | string"."""
    _refused(_feedback(client, keys, ITEM | {"overrideReason": {}}), "overrideReason must not be empty")
    _refused(_feedback(client, keys, ITEM | {"overrideReason": None}), "overrideReason must be an object")
    comment_only = ITEM | {"overrideReason": {"userComment": "A comment entered by the clinician."}}
    assert _feedback(client, keys, comment_only).status_code == 200


def test_an_override_reason_is_a_coding_with_code_and_system(client: TestClient, keys: Keys) -> None:
    """Coding: "code | REQUIRED | string", "system | REQUIRED | string"; the specification's example
    overrideReason {"reason": {"code": "d7ecf885", "system": "https://example.com/..."}}."""
    reason = {"code": "d7ecf885", "system": "https://example.com/cds-hooks/override-reason-system"}
    for broken, name in (({"code": "d7ecf885"}, "system"), ({"system": reason["system"]}, "code")):
        response = _feedback(client, keys, ITEM | {"overrideReason": {"reason": broken}})
        _refused(response, f"overrideReason.reason.{name} is required")
    _refused(_feedback(client, keys, ITEM | {"overrideReason": {"reason": {}}}), "overrideReason.reason.system")
    assert _feedback(client, keys, ITEM | {"overrideReason": {"reason": reason}}).status_code == 200


@pytest.mark.parametrize(
    "stamp",
    [
        "",
        "2020-12-11",
        "2020-12-11T00:00:00",
        "2020-12-11T00:00Z",
        "2020-12-11 00:00:00Z",
        "2020-02-30T10:00:00Z",
        "2020-12-11T24:00:00Z",
        "yesterday",
        "1607644800",
        "2020-12-11T00:00:00+0100",
    ],
)
def test_outcome_timestamp_is_an_rfc3339_date_time(client: TestClient, keys: Keys, stamp: str) -> None:
    """Feedback: "outcomeTimestamp | REQUIRED | string | ISO8601 representation of the date and time in
    Coordinated Universal Time (UTC) when action was taken on the card, as profiled in section 5.6 of
    RFC3339. e.g. 1985-04-12T23:20:50.52Z"."""
    text = _refused(_feedback(client, keys, ITEM | {"outcomeTimestamp": stamp}), "outcomeTimestamp")
    assert "RFC 3339 date and time with its time zone" in text


def test_outcome_timestamp_is_required_and_the_specifications_forms_pass(client: TestClient, keys: Keys) -> None:
    """Feedback: "outcomeTimestamp | REQUIRED"; the forms of the specification's examples and of RFC 3339
    section 5.6 (fractions of a second, an offset) are accepted."""
    _refused(_feedback(client, keys, _without(ITEM, "outcomeTimestamp")), "outcomeTimestamp is required")
    for stamp in (
        "1985-04-12T23:20:50.52Z",
        "2021-12-11T10:05:31Z",
        "2020-12-11T01:00:00+01:00",
        "2020-12-11t00:00:00z",
    ):
        assert _feedback(client, keys, ITEM | {"outcomeTimestamp": stamp}).status_code == 200, stamp
