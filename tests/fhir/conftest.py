"""Fixtures for the FHIR tests: the official FHIR R4 examples and the mCODE package, unpacked by
``scripts/test`` into ``.cache/fhir-packages/`` (or ``ALLPATH_FHIR_PACKAGES``). Nothing is downloaded here.

When a package is missing its tests are skipped, except in CI (``CI=true``), where that is a failure: CI runs
``scripts/test``, which fetches them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

R4_EXAMPLES = "hl7.fhir.r4.examples-4.0.1"
MCODE = "hl7.fhir.us.mcode-4.0.0"


def packages_dir() -> Path:
    return Path(os.environ.get("ALLPATH_FHIR_PACKAGES") or ROOT / ".cache" / "fhir-packages")


def fhir_package(name: str) -> Path:
    """The ``package/`` folder of an unpacked FHIR npm package, or skip (fail in CI) when it is missing."""
    folder = packages_dir() / name / "package"
    if not (folder / "package.json").is_file():
        reason = f"FHIR package {name} is not in {packages_dir()} (scripts/test fetches it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must provide it")
        pytest.skip(reason)
    return folder


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def r4_examples() -> Path:
    return fhir_package(R4_EXAMPLES)


@pytest.fixture(scope="session")
def mcode() -> Path:
    return fhir_package(MCODE)


def as_bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    """A collection Bundle of the given resources, each with a full URL built from its type and id."""
    entries = []
    for i, resource in enumerate(resources):
        ident = resource.get("id") or f"entry-{i}"
        entries.append({"fullUrl": f"http://example.org/fhir/{resource['resourceType']}/{ident}", "resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def as_json(resource: object) -> Any:
    """An exported resource as a FHIR client reads it: written as JSON and parsed back. The exporter builds
    ``dict[str, object]``; a test reads into it freely, like any consumer of the JSON (and the round trip
    checks that it is plain JSON: no NaN, nothing ``json`` cannot write)."""
    return json.loads(json.dumps(resource, allow_nan=False))
