"""A server worker builds the FHIR import's UCUM library at start-up (``allpath.interfaces.app``'s lifespan), so
that the first FHIR import request of a worker does not build it again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from allpath.interfaces.fhir import record_to_bundle, unit_library
from allpath.interfaces.fhir import units as u
from tests.api.conftest import Service
from tests.conftest import complete_b_all


@dataclass
class Builds:
    """How often the library was built, and how many conversions its converters made."""

    built: int = 0
    conversions: int = 0


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Builds]:
    """A process as a new worker starts it (nothing built, nothing converted yet, no factors kept from an
    earlier process), with the builds counted."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "units-cache"))
    counts = Builds()
    build = unit_library.build

    def counted() -> unit_library.Converter:
        counts.built += 1
        converter = build()

        def converting(code: str, record_unit: str) -> float | None:
            counts.conversions += 1
            return converter(code, record_unit)

        return converting

    monkeypatch.setattr(unit_library, "build", counted)
    u._library.cache_clear()
    u._scale.cache_clear()
    yield counts
    u._library.cache_clear()  # the counting converter is not left to later tests
    u._scale.cache_clear()


def _bundle_with_white_count(record_id: str, code: str, value: float) -> dict[str, Any]:
    """A Bundle of a complete record whose white count is sent in ``code`` (a UCUM code the library converts)."""
    bundle: dict[str, Any] = json.loads(json.dumps(record_to_bundle(complete_b_all(id=record_id))))
    changed = 0
    for entry in bundle["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity is not None and quantity.get("code") == "10*3/uL":
            quantity |= {"value": value, "code": code, "unit": code}
            changed += 1
    assert changed == 1
    return bundle


def test_the_library_is_built_at_startup_and_not_again_by_the_first_import(service: Service, builds: Builds) -> None:
    assert not u.library_built()
    with service.client() as client:  # runs the lifespan: the worker's start-up
        assert u.library_built() and builds.built == 1
        before = builds.conversions
        bundle = _bundle_with_white_count("units-at-startup", "10*9/L", 23)
        response = client.post("/api/fhir/import", json=bundle, headers=service.bearer("clinician"))
        assert response.status_code == 200, response.text
        assert response.json()["record"]["wbc_per_ul"] == 23_000
        assert builds.conversions > before  # the request converted through the library ...
    assert builds.built == 1  # ... the one built at start-up


def test_without_startup_the_first_import_builds_it(service: Service, builds: Builds) -> None:
    """The other side of the test above: a client that skips the lifespan leaves the first import to build it
    (so the test above would see a second build if the start-up had not made it)."""
    client = service.client()  # not entered: no lifespan
    assert not u.library_built()
    bundle = _bundle_with_white_count("units-no-startup", "/mm3", 23_000)
    response = client.post("/api/fhir/import", json=bundle, headers=service.bearer("clinician"))
    assert response.status_code == 200, response.text
    assert response.json()["record"]["wbc_per_ul"] == 23_000
    assert builds.built == 1 and u.library_built()
