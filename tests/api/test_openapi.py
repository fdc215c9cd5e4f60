"""Every answer the API gives on success is described in its OpenAPI document, so that a client (and
schemathesis, in test_schema.py) can check every body against it.

The walk below fails on an operation whose 2xx answer has no content description (except 204 No Content),
no schema, or a schema that says nothing: no type, no properties, no reference to one that has some. JSON
answers must describe an object (with its properties) or a list of them; calendars, pages and PDFs their
media type with a string schema; FHIR answers a Bundle with at least ``resourceType`` and ``type``.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from allpath.interfaces.app import create_app
from allpath.knowledge.loader import KnowledgeBase
from tests.api.conftest import settings_for

Document = dict[str, Any]
# Keys that only describe a schema: a schema with nothing else accepts any value.
_WORDS_ONLY = {"title", "description", "examples", "example", "default", "deprecated"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Document:
    folder = tmp_path_factory.mktemp("openapi")
    app = create_app(settings_for(f"sqlite:///{folder / 'allpath.db'}", folder), kb=kb)
    response = TestClient(app).get("/api/openapi.json")
    assert response.status_code == 200
    body: Document = response.json()
    return body


def _resolved(document: Document, schema: Document) -> Document:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def json_schema_problem(document: Document, schema: Document, where: str = "") -> str | None:
    """Why ``schema`` does not describe a JSON answer, or None when it does: an object with properties, a
    list of such, or a choice among such."""
    schema = _resolved(document, schema)
    for choice in ("anyOf", "oneOf", "allOf"):
        if choice in schema:
            for part in schema[choice]:
                problem = json_schema_problem(document, part, where)
                if problem:
                    return problem
            return None
    if schema.get("type") == "array":
        return json_schema_problem(document, schema.get("items", {}), f"{where}[]")
    if schema.get("type") == "object" and schema.get("properties"):
        return None
    shown = {k: v for k, v in schema.items() if k not in _WORDS_ONLY}
    return f"the schema{' of ' + where if where else ''} describes no object: {shown or 'empty'}"


def answer_problems(document: Document) -> list[str]:
    """Every 2xx answer of the document that is not described, as 'METHOD path status: why'."""
    problems = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                label = f"{method.upper()} {path} {status}"
                content = answer.get("content")
                if not content:
                    problems.append(f"{label}: no content type is described")
                    continue
                for media_type, described in content.items():
                    schema = described.get("schema") or {}
                    if media_type == "application/json":
                        problem = json_schema_problem(document, schema)
                    elif media_type == "application/fhir+json":
                        bundle = _resolved(document, schema)
                        wanted = {"resourceType", "type"}
                        missing = wanted - set(bundle.get("properties", {}))
                        problem = f"a FHIR Bundle schema lacks {sorted(missing)}" if missing else None
                    else:
                        problem = None if schema.get("type") == "string" else f"{media_type} has no string schema"
                    if problem:
                        problems.append(f"{label} ({media_type}): {problem}")
    return problems


def test_every_success_answer_of_the_api_has_a_schema(document: Document) -> None:
    assert answer_problems(document) == []


def test_the_walk_finds_an_answer_without_a_schema() -> None:
    """The walk is not vacuous: each kind of undescribed answer is named."""
    empty_json = {"content": {"application/json": {"schema": {"title": "Response"}}}}
    loose_object = {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}}}
    no_content = {"description": "ok"}
    calendar: Document = {"content": {"text/calendar": {}}}
    bundle = {"content": {"application/fhir+json": {"schema": {"type": "object", "properties": {"entry": {}}}}}}
    listed = {
        "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/A"}}}}
    }
    fine = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
    document: Document = {
        "paths": {
            "/a": {"get": {"responses": {"200": empty_json}}, "post": {"responses": {"201": loose_object}}},
            "/b": {"get": {"responses": {"200": no_content}}, "delete": {"responses": {"204": no_content}}},
            "/c": {"get": {"responses": {"200": calendar, "422": empty_json}}},
            "/d": {"get": {"responses": {"200": bundle}}},
            "/e": {"get": {"responses": {"200": listed}}, "put": {"responses": {"200": fine}}},
        },
        "components": {"schemas": {"A": {"type": "object", "properties": {}}}},
    }
    assert answer_problems(document) == [
        "GET /a 200 (application/json): the schema describes no object: empty",
        "POST /a 201 (application/json): the schema describes no object: {'type': 'object', "
        "'additionalProperties': True}",
        "GET /b 200: no content type is described",
        "GET /c 200 (text/calendar): text/calendar has no string schema",
        "GET /d 200 (application/fhir+json): a FHIR Bundle schema lacks ['resourceType', 'type']",
        "GET /e 200 (application/json): the schema of [] describes no object: {'type': 'object', 'properties': {}}",
        "PUT /e 200 (application/json): the schema describes no object: {'type': 'object', 'properties': {}}",
    ]
