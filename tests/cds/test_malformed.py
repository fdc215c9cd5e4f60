"""Malformed hook requests are refused with 4xx and an OperationOutcome, never a 500: a prefetch that is not an
object, resources that are not objects, Bundles with garbage entries, values of the wrong type, numbers JSON
cannot carry, odd ``fhirServer`` values; and, by hypothesis, any mutation of the hook requests published with
the specification (shared/cds-hooks) and of allpath's own patient-view and order-sign requests."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cds.conftest import (
    FHIR_SERVER,
    FHIR_TOKEN,
    Keys,
    bearer,
    draft_orders,
    hook_request,
    medication_request,
    order_prefetch,
    patient_view_prefetch,
)
from tests.cds.spec import assert_valid
from tests.conftest import EXAMPLES, require_shared

PATIENT_VIEW = "/cds-services/allpath-patient-view"
ORDER_SIGN = "/cds-services/allpath-order-sign"
ORDER_SELECT = "/cds-services/allpath-order-select"
AUTHORIZATION = {"access_token": FHIR_TOKEN, "token_type": "Bearer", "expires_in": 300, "scope": "x", "subject": "y"}


def _record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads((EXAMPLES / "standard_risk.json").read_text(encoding="utf-8"))
    return record


def _post(client: TestClient, keys: Keys, path: str, body: Any = None, content: bytes | None = None) -> Any:
    headers = bearer(keys, path) | {"Content-Type": "application/json"}
    if content is None:
        content = json.dumps(body).encode()  # allow_nan: NaN and Infinity go out as JSON text
    return client.post(path, content=content, headers=headers)


def _refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert words in body["issue"][0]["details"]["text"], body


class Recorder:
    """A FHIR server that answers nothing useful and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})


@pytest.fixture
def recorder(app: FastAPI, client: TestClient) -> Iterator[Recorder]:
    server = Recorder()
    app.state.cds_fhir_transport = httpx.MockTransport(server.handle)
    app.state.cds_jwks_transport = httpx.MockTransport(server.handle)
    yield server


# ---- the shape of the request ----------------------------------------------------------------------------


def test_malformed_prefetch_is_400_naming_the_place(client: TestClient, keys: Keys) -> None:
    good = patient_view_prefetch(_record())
    cases: list[tuple[Any, str]] = [
        ([good["patient"]], "prefetch must be an object"),
        ("Patient/1288992", "prefetch must be an object"),
        ({"patient": "Patient/1288992"}, "prefetch.patient must be a FHIR resource"),
        ({"patient": [good["patient"]]}, "prefetch.patient must be a FHIR resource"),
        ({"patient": {"id": "1288992"}}, "prefetch.patient has no resourceType"),
        ({"patient": {"resourceType": 7}}, "prefetch.patient has no resourceType"),
        ({"conditions": {"resourceType": "Bundle", "entry": {"resource": {}}}}, "prefetch.conditions.entry must"),
        ({"conditions": {"resourceType": "Bundle", "entry": [1, 2]}}, "prefetch.conditions.entry[0] must be an"),
        ({"conditions": {"resourceType": "Bundle", "entry": [{"resource": "x"}]}}, "entry[0].resource must be"),
        ({"conditions": {"resourceType": "Bundle", "entry": [{"resource": {}}]}}, "entry[0].resource has no"),
        ({"conditions": {"resourceType": "Bundle", "entry": [{"fullUrl": 5}]}}, "entry[0].fullUrl must be a string"),
        ({"conditions": {"resourceType": "Bundle", "link": "next"}}, "prefetch.conditions.link must be a list"),
        ({"conditions": {"resourceType": "Bundle", "link": [{"url": 5}]}}, "link[0].url must be a string"),
    ]
    for prefetch, words in cases:
        body = hook_request("patient-view", {}) | {"prefetch": prefetch}
        _refused(_post(client, keys, PATIENT_VIEW, body), 400, words)
    # null is "no data" for a key, as the specification says; the 412 then names what is missing
    body = hook_request("patient-view", {}, good | {"conditions": None, "observations": None})
    assert _post(client, keys, PATIENT_VIEW, body).status_code == 200


def test_wrong_types_in_the_request_are_400(client: TestClient, keys: Keys) -> None:
    base = hook_request("order-sign", draft_orders(medication_request("vincristine", 2.5)), order_prefetch(_record()))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"hook": 5}, "hook is required"),
        ({"hookInstance": ["x"]}, "hookInstance is required"),
        ({"context": "patient 1"}, "context is required"),
        ({"context": base["context"] | {"patientId": 1288992}}, "context.patientId is required"),
        ({"context": base["context"] | {"draftOrders": []}}, "context.draftOrders must be a FHIR resource"),
        ({"context": base["context"] | {"draftOrders": {"resourceType": "Bundle", "entry": 5}}}, "draftOrders.entry"),
        ({"fhirAuthorization": "Bearer abc"}, "fhirAuthorization must be an object"),
        ({"fhirAuthorization": {"token_type": "Bearer"}}, "access_token must be a non-empty string"),
        ({"fhirAuthorization": AUTHORIZATION | {"access_token": "a b\r\nX-Evil: 1"}}, "is not a bearer token"),
        ({"fhirAuthorization": AUTHORIZATION | {"access_token": "a" * 8193}}, "is not a bearer token"),
        ({"fhirAuthorization": AUTHORIZATION | {"token_type": "MAC"}}, "token_type must be Bearer"),
        ({"fhirAuthorization": AUTHORIZATION | {"expires_in": "soon"}}, "expires_in must be a number"),
    ]
    for change, words in cases:
        _refused(_post(client, keys, ORDER_SIGN, base | change), 400, words)
    # the limit of a bearer token: 8192 characters pass
    longest = base | {"fhirServer": FHIR_SERVER, "fhirAuthorization": AUTHORIZATION | {"access_token": "a" * 8192}}
    assert _post(client, keys, ORDER_SIGN, longest).status_code == 200
    assert _post(client, keys, ORDER_SIGN, base).status_code == 200


def test_bodies_that_are_not_json_objects_are_400(client: TestClient, keys: Keys) -> None:
    good = json.dumps(hook_request("order-sign", draft_orders(medication_request("vincristine", 2.5))))
    cases: list[tuple[bytes, str]] = [
        (b"", "needs a JSON object body"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"\xff\xfe", "not JSON"),
        (good.replace('"value": 2.5', '"value": NaN').encode(), "NaN, Infinity"),
        (good.replace('"value": 2.5', '"value": Infinity').encode(), "NaN, Infinity"),
        (good.replace('"value": 2.5', '"value": -Infinity').encode(), "NaN, Infinity"),
        (good.replace('"value": 2.5', '"value": 1e309').encode(), "NaN, Infinity"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (good.replace('"vincristine', '"vincristine\\ud800').encode(), "unpaired surrogate"),
    ]
    assert '"value": 2.5' in good
    for content, words in cases:
        _refused(_post(client, keys, ORDER_SIGN, content=content), 400, words)
    assert _post(client, keys, ORDER_SIGN, content=good.encode()).status_code == 200
    # the largest finite double is a number JSON can carry
    content = good.replace('"value": 2.5', '"value": 1.7976931348623157e308').encode()
    assert _post(client, keys, ORDER_SIGN, content=content).status_code == 200


def test_the_body_is_not_read_before_the_token_is_accepted(client: TestClient, keys: Keys) -> None:
    # an unauthenticated caller learns nothing about its body: the answer is the same 401 whatever it sends
    for content in (b"{not json", b"[1]", json.dumps(hook_request("order-sign", {})).encode()):
        response = client.post(ORDER_SIGN, content=content, headers={"Content-Type": "application/json"})
        _refused(response, 401, "Authorization: Bearer <JWT>")


@pytest.mark.parametrize(
    "server",
    [
        "not a url",
        "ehr.example.org/fhir",
        "file:///etc/passwd",
        "ftp://ehr.example.org/fhir",
        "https://user:secret@ehr.example.org/fhir",
        "https://ehr.example.org@evil.example/fhir",
        "https://ehr.example.org/fh ir",
        " https://ehr.example.org/fhir",
        "https://ehr.example.org/fhir\r\nX: y",
        "https://ehr.example.org:99999/fhir",
        "https://ehr.example.org:0/fhir",
        "https://ehr.example.org/fhir?_format=json",
        "https://ehr.example.org/fhir#x",
        "https:///fhir",
        "https://ehr.exämple.org/fhir",
        "https://ehr.example.org\\@evil.example/fhir",
        "https://ehr.example.org/" + "a" * 2100,
        "",
        5,
        ["https://ehr.example.org/fhir"],
        {"url": "https://ehr.example.org/fhir"},
        True,
    ],
)
def test_odd_fhir_server_values_are_400_and_never_contacted(
    client: TestClient, keys: Keys, recorder: Recorder, server: Any
) -> None:
    body = hook_request("patient-view", {}) | {"fhirServer": server, "fhirAuthorization": AUTHORIZATION}
    response = _post(client, keys, PATIENT_VIEW, body)
    _refused(response, 400, "fhirServer")
    assert server == "" or str(server)[:40] not in response.text  # the value is not echoed
    assert recorder.requests == []


# ---- hypothesis: mutations of real requests ----------------------------------------------------------------

_SPECIAL_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "Bundle",
        "Patient",
        "Observation",
        "MedicationRequest",
        "Patient/1288992",
        "final",
        "mg",
        "mg/m2",
        "wk",
        "d",
        "next",
        FHIR_SERVER,
        FHIR_SERVER + "/Observation?page=2",
        "https://evil.example/fhir",
        "file:///etc/passwd",
        "http://ehr.example.org/fhir",
        "https://u:p@ehr.example.org/fhir",
        "x" * 3000,
        "\x00",
        "\ud800",
        "2024-13-45",
        "9999-12-31T23:59:59Z",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "11202",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | _SPECIAL_STRINGS
)
JUNK = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | _SPECIAL_STRINGS, inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        out.append((*prefix, key))
        out += _paths(item, (*prefix, key))
    return out


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with one to three places replaced by junk, deleted, or given a junk sibling."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = _paths(doc)
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent = doc
        for key in place[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[place[-1]] = draw(JUNK)
        elif action == "delete":
            del parent[place[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6) | _SPECIAL_STRINGS)] = draw(JUNK)
        else:
            parent.append(draw(JUNK))
    return doc


def _with_request_fields(body: dict[str, Any], hook: str, prefetch: dict[str, Any]) -> dict[str, Any]:
    return body | {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": FHIR_SERVER,
        "fhirAuthorization": AUTHORIZATION,
        "prefetch": prefetch,
    }


@functools.cache
def _requests() -> list[tuple[str, dict[str, Any]]]:
    """The published hook contexts with a vincristine order added, and allpath's own requests (not to be
    changed in place: ``mutated`` copies them)."""
    record = _record()
    out = []
    for path in sorted((require_shared() / "cds-hooks").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        hook = "order-select" if path.stem.startswith("order-select") else "order-sign"
        body["context"]["draftOrders"]["entry"].append({"resource": medication_request("vincristine", 2.5)})
        out.append((f"/cds-services/allpath-{hook}", _with_request_fields(body, hook, order_prefetch(record))))
    view = hook_request("patient-view", {}, patient_view_prefetch(record | {"treatment_start_date": "2026-01-05"}))
    out.append((PATIENT_VIEW, _with_request_fields(view, "patient-view", view["prefetch"])))
    thiopurine = draft_orders(medication_request("mercaptopurine", 50, period_unit="wk", frequency=7))
    order = hook_request("order-sign", thiopurine)
    out.append((ORDER_SIGN, _with_request_fields(order, "order-sign", order_prefetch(record))))
    return out


def test_the_unmutated_requests_are_answered(client: TestClient, keys: Keys, recorder: Recorder) -> None:
    for path, body in _requests():
        response = _post(client, keys, path, body)
        assert response.status_code == 200, response.text
        assert_valid(response.json())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_hook_requests_never_give_a_5xx(
    client: TestClient, keys: Keys, recorder: Recorder, data: st.DataObject
) -> None:
    path, body = data.draw(st.sampled_from(_requests()))
    changed = data.draw(mutated(body))
    response = _post(client, keys, path, changed)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code == 200:
        assert_valid(response.json())
    else:
        assert response.json()["resourceType"] == "OperationOutcome"
    # the FHIR token goes to the allowlisted FHIR server only, under its base path
    assert all(str(r.url).startswith(FHIR_SERVER + "/") for r in recorder.requests)


@functools.cache
def _fhir_answer() -> dict[str, Any]:
    """A page of the patient's Observations and Conditions as a FHIR server answers a search."""
    prefetch = patient_view_prefetch(_record())
    page: dict[str, Any] = copy.deepcopy(prefetch["observations"])
    page["entry"] += prefetch["conditions"]["entry"] + [{"resource": prefetch["patient"]}]
    page["link"] = [{"relation": "self", "url": FHIR_SERVER + "/Observation"}]
    return page


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_from_the_fhir_server_never_gives_a_5xx(
    client: TestClient, keys: Keys, app: FastAPI, data: st.DataObject
) -> None:
    answer = data.draw(mutated(_fhir_answer()) | JUNK)
    status = data.draw(st.sampled_from([200, 200, 200, 404, 500]))
    content = json.dumps(answer).encode()
    app.state.cds_fhir_transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    body = hook_request("patient-view", {}) | {"fhirServer": FHIR_SERVER, "fhirAuthorization": AUTHORIZATION}
    response = _post(client, keys, PATIENT_VIEW, body)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code == 200:
        assert_valid(response.json())
