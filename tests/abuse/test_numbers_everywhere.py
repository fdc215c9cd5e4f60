"""NaN, Infinity, -Infinity and numbers beyond a float (1e309) sent to every JSON endpoint: never a 500.

The bodies are valid examples of each operation of the OpenAPI document (built from its schemas, with the
sentinel record wherever a record goes), with one number replaced, or one value where no number is; the
callers are anonymous and every role (API tokens). Three ways in:

- a sweep: every operation, every refused token, every caller;
- hypothesis: which value of the body becomes which token (also the largest finite numbers, which JSON carries
  and the endpoints must answer without a server error);
- schemathesis: its own valid requests of each operation, with one number of the body replaced the same way.

CDS Hooks (not in the OpenAPI document) and the number query parameters are called too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, GenerationMode, checks
from schemathesis.core.result import Err

from allpath.interfaces.cds.services import SERVICES
from allpath.interfaces.fhir import record_to_bundle
from tests.api.conftest import Service
from tests.conftest import SENTINEL_NAME, sentinel_record

CALLERS = (None, "clinician", "other_clinician", "family", "researcher", "admin")
REFUSED = ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1E+400", "9" * 400)
# JSON numbers that are finite: read as they are, and the endpoints must still answer without a server error.
FINITE_EXTREMES = ("1.7976931348623157e308", "-1.7976931348623157e308", "1e308", "5e-324", "-0.0", "1e-400", "0")
MARKER = "__the_number_goes_here__"
JSON = {"content-type": "application/json"}


# ---- valid bodies of every operation, from the OpenAPI document ----------------------------------------


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def example(document: dict[str, Any], schema: dict[str, Any], name: str = "") -> Any:
    """A valid value of ``schema``: every property given, the sentinel record wherever a record goes."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(document, s).get("type") != "null"]
        return example(document, options[0], name) if options else None
    if schema.get("title") == "Record" or name == "record":
        return sentinel_record()
    if name == "entry":
        return record_to_bundle(sentinel_record())["entry"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {key: example(document, sub, key) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(document, schema.get("items", {}), name)]
    if kind == "number":
        return 20.5
    if kind == "integer":
        return 2
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2021-03-01"
    if schema.get("pattern", "").startswith("^(clinician"):
        return "clinician"
    return {"display_name": SENTINEL_NAME, "name": "t", "phase": "induction"}.get(name, "valid-text-1")


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every scalar of a JSON value with its path."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in leaves(item, (*path, index))]
    return [(path, value)]


def with_token(body: Any, path: tuple[str | int, ...], token: str) -> bytes:
    """``body`` as JSON text with the value at ``path`` replaced by the literal ``token``."""
    copy = json.loads(json.dumps(body))
    if not path:
        return token.encode()
    holder = copy
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = MARKER
    return json.dumps(copy).replace(f'"{MARKER}"', token).encode()


def number_paths(body: Any) -> list[tuple[str | int, ...]]:
    """The paths of the body's numbers; of every value when it has none (a number where text goes)."""
    found = [path for path, value in leaves(body) if isinstance(value, int | float) and not isinstance(value, bool)]
    return found or [path for path, _ in leaves(body)]


class Operations:
    """The JSON operations of the service's OpenAPI document, each with a valid body and a concrete path."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.document = service.client().get("/api/openapi.json").json()
        self.items: list[tuple[str, str, Any]] = []
        for template, methods in self.document["paths"].items():
            for method, operation in methods.items():
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" in content:
                    body = example(self.document, content["application/json"]["schema"])
                    self.items.append((method.upper(), self._concrete(template), body))
        for service_id in SERVICES:
            body = {"hook": SERVICES[service_id].hook, "hookInstance": "h-1", "context": {"patientId": "p-1"}}
            body["prefetch"] = {"patient": {"resourceType": "Patient", "id": "p-1", "extension": [{"valueDecimal": 2}]}}
            self.items.append(("POST", f"/cds-services/{service_id}", body))

    def _concrete(self, template: str) -> str:
        return (
            template.replace("{patient_id}", self.service.patient_id)
            .replace("{user_id}", str(self.service.users["clinician"]))
            .replace("{token_id}", "1")
        )

    def call(self, method: str, path: str, content: bytes, caller: str | None) -> Any:
        headers = {**JSON, **(self.service.bearer(caller) if caller else {})}
        return self.service.client().request(method, path, content=content, headers=headers)


@pytest.fixture(scope="module")
def operations(abuse_service: Service) -> Operations:
    return Operations(abuse_service)


def test_every_json_operation_of_the_document_is_covered(operations: Operations) -> None:
    paths = {(method, path) for method, path, _ in operations.items}
    assert len(paths) >= 15  # sessions, tokens, invitations, patients, assessment, treatment, FHIR and CDS bodies
    assert ("POST", "/api/session") in paths and ("POST", "/api/fhir/import") in paths
    for method, path, body in operations.items:
        assert number_paths(body), (method, path)
        # the examples are valid: with a finite number (or none replaced) no request is a server error
        assert operations.call(method, path, json.dumps(body).encode(), "clinician").status_code < 500, (method, path)


def _assert_refused(response: Any, method: str, path: str, token: str) -> None:
    assert response.status_code < 500, (method, path, token, response.status_code)
    if path.startswith("/cds-services"):
        assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"
    else:
        assert response.status_code == 422, (method, path, token, response.text)
        assert response.json()["detail"][0]["type"] == "number_not_finite"


def test_sweep_every_operation_every_token_every_caller(operations: Operations) -> None:
    calls = 0
    for method, path, body in operations.items:
        first = number_paths(body)[0]
        for token in REFUSED:
            for caller in CALLERS:
                _assert_refused(
                    operations.call(method, path, with_token(body, first, token), caller), method, path, token
                )
                calls += 1
    assert calls == len(operations.items) * len(REFUSED) * len(CALLERS)


@given(data=st.data())
@settings(max_examples=250, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_number_of_any_body_replaced_by_any_token(operations: Operations, data: st.DataObject) -> None:
    method, path, body = data.draw(st.sampled_from(operations.items), label="operation")
    where = data.draw(st.sampled_from(number_paths(body)), label="place")
    token = data.draw(st.sampled_from(REFUSED + FINITE_EXTREMES), label="number")
    caller = data.draw(st.sampled_from(CALLERS), label="caller")
    response = operations.call(method, path, with_token(body, where, token), caller)
    if token in REFUSED:
        _assert_refused(response, method, path, token)
    else:
        assert response.status_code < 500, (method, path, where, token, caller)


@pytest.mark.parametrize("token", ["nan", "inf", "-inf", "1e309", "NaN", "Infinity"])
def test_number_query_parameters_are_refused_too(abuse_service: Service, token: str) -> None:
    client, auth = abuse_service.client(), abuse_service.bearer("clinician")
    base = f"/api/patients/{abuse_service.patient_id}/doses?phase=induction"
    for query in (f"weight_kg={token}&height_cm=120", f"weight_kg=20&height_cm={token}"):
        response = client.get(f"{base}&{query}", headers=auth)
        assert response.status_code == 422, (query, response.text)
    admin = abuse_service.bearer("admin")
    assert client.get(f"/api/audit?limit={token}", headers=admin).status_code == 422


# ---- schemathesis: its valid requests, one number replaced ----------------------------------------------

Case = schemathesis.Case[APIOperation[Any, Any, Any, Any]]


def test_schemathesis_bodies_with_unfinite_numbers_are_never_a_server_error(
    abuse_service: Service, subtests: Any
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", abuse_service.app)
    auth = abuse_service.bearer("clinician")
    exercised = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"an operation of the description is invalid: {result.err()}")
        operation = result.ok()
        if operation.body is None or not any(b.media_type == "application/json" for b in operation.body):
            continue
        exercised += 1
        with subtests.test(msg=operation.label):

            @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE), data=st.data())
            @settings(
                max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
            )
            def run(case: Case, data: st.DataObject) -> None:
                body = case.body if isinstance(case.body, dict | list) else {}
                where = data.draw(st.sampled_from(number_paths(body) or [("extra",)]), label="place")
                token = data.draw(st.sampled_from(REFUSED), label="number")
                case.body = with_token(body if body else {"extra": 1}, where, token)
                case.media_type = "application/json"
                response = case.call_and_validate(headers=auth, checks=[checks.not_a_server_error])
                assert response.status_code == 422, (case.operation.label, where, token, response.status_code)
                assert response.json()["detail"][0]["type"] == "number_not_finite"

            run()
    assert exercised >= 12  # every JSON body of the document (CDS Hooks is not in it)
