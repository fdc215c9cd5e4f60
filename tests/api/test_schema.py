"""Property-based tests of the whole API against its own OpenAPI description (schemathesis, in process).

Every operation of /api/openapi.json is called with generated requests, valid and invalid ones, as a
signed-in clinician (API token) and anonymously; operations on one patient also with the id of a real
patient of the clinician's team (as the clinician and as the child's family). No response may be a server
error, and every response must match the description: a documented status code, the documented content
type, headers and body schema.

Hypothesis drives each operation's strategy directly, one subtest per operation (schemathesis'
``from_fixture`` pytest integration does not run on pytest 9). Bounded: a few examples per operation and
mode, so that both backends take well under a minute.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode, checks
from schemathesis.core.result import Err

from tests.api.conftest import Service

# per operation and generation mode; ALLPATH_FUZZ_EXAMPLES=200 for a deeper (randomized) run by hand
MAX_EXAMPLES = int(os.environ.get("ALLPATH_FUZZ_EXAMPLES", "12"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

Case = schemathesis.Case[APIOperation[Any, Any, Any, Any]]


def _exercise(case: Case, service: Service) -> None:
    clinician = service.bearer("clinician")
    case.call_and_validate(headers=clinician, checks=CHECKS)
    case.call_and_validate(checks=CHECKS)  # anonymous
    if case.path_parameters and "patient_id" in case.path_parameters:
        case.path_parameters = {**case.path_parameters, "patient_id": service.patient_id}
        case.call_and_validate(headers=clinician, checks=CHECKS)
        case.call_and_validate(headers=service.bearer("family"), checks=CHECKS)


def test_api_matches_its_description(module_service: Service, subtests: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", module_service.app)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"an operation of the description is invalid: {result.err()}")
        operations.append(result.ok())
    assert len(operations) >= 19  # every documented operation (see test_roles.EXPECTED)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(msg=f"{operation.label} ({mode.value})"):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    derandomize="ALLPATH_FUZZ_EXAMPLES" not in os.environ,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Case) -> None:
                    _exercise(case, module_service)

                try:
                    run()
                except Unsatisfiable:
                    # nothing to make invalid: the operation takes no parameters and no body
                    assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.mark.parametrize("path", ["/api/openapi.json"])
def test_the_description_is_valid_openapi(module_service: Service, path: str) -> None:
    document = module_service.client().get(path).json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "allpath"


def test_every_guarded_operation_documents_its_refusals_as_json(module_service: Service) -> None:
    """An operation that needs a signed-in caller documents 401 with the JSON error body, and so does each
    that checks a role for 403 (also the HTML and PDF report downloads, whose success is not JSON)."""
    document = module_service.client().get("/api/openapi.json").json()
    open_operations = {
        ("get", "/api/health"),
        ("post", "/api/session"),
        ("post", "/api/invitations/accept"),
        ("post", "/api/activate"),
    }
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, path) in open_operations:
                continue
            responses = operation["responses"]
            statuses = ["401", "403"] if ("403" in responses or "report" in path) else ["401"]
            for status in statuses:
                content = responses.get(status, {}).get("content", {})
                assert list(content) == ["application/json"], (method, path, status)
            checked += 1
    assert checked >= 15
