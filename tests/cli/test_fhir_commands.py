"""``allpath fhir import`` and ``allpath fhir export``: the round trip through the command line, every export
kind (valid FHIR R4 with the fhir.resources R4B models), the mCODE example patient, and exit status 2 with the
problem named on standard error (and nothing on standard output) for input that is not JSON, not a Bundle or
not a valid record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.interfaces.fhir import import_bundle, patient_references, record_to_bundle
from tests.conftest import EXAMPLES
from tests.fhir.conftest import MCODE, as_bundle, as_json, fhir_package, read_json
from tests.fhir.test_export import validate_every_entry

runner = CliRunner()
STANDARD = str(EXAMPLES / "standard_risk.json")
SINGLE_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.json") if p.name != "all.json")


def _ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _refused(*args: str, stdin: str | None = None) -> str:
    """Invalid input: exit 2, nothing on standard output, the message on standard error."""
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("allpath: invalid input: ")
    return result.stderr


def _file(tmp_path: Path, value: Any, name: str = "input.json") -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


def _record(path: Path | str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def _valid(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


# ---- the round trip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SINGLE_EXAMPLES, ids=lambda p: p.stem)
def test_every_example_goes_through_export_and_import_unchanged(path: Path) -> None:
    bundle = _ok("fhir", "export", str(path))
    assert json.loads(bundle) == record_to_bundle(_record(path))
    assert json.loads(_ok("fhir", "import", "-", "--format", "record", stdin=bundle)) == _record(path)


def test_import_as_json_says_where_each_field_came_from(tmp_path: Path) -> None:
    bundle = as_json(record_to_bundle(_record(STANDARD)))
    result = json.loads(_ok("fhir", "import", _file(tmp_path, bundle)))
    assert set(result) >= {"record", "mapped", "ignored", "conflicts", "bounds"}
    assert result == import_bundle(bundle).as_dict()
    assert result["record"] == _record(STANDARD)
    assert {m["field"] for m in result["mapped"]} >= {"sex", "age_years", "wbc_per_ul", "immunophenotype"}
    assert result["conflicts"] == []


def test_import_report_says_in_plain_words_what_was_chosen_and_assumed(tmp_path: Path) -> None:
    """--format report: the assumption about time first, each field with its source, date and why, then what
    was not used with the reason (here a white count taken by its date, another one years earlier not)."""
    bundle = as_json(record_to_bundle({"sex": "male", "wbc_per_ul": 45_000}))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    wbc["resource"]["effectiveDateTime"] = "2024-03-01"
    older = json.loads(json.dumps(wbc))
    older["fullUrl"] = "urn:uuid:00000000-0000-5000-8000-000000000009"
    older["resource"] |= {"effectiveDateTime": "2021-05-02", "id": "older"}
    bundle["entry"].append(older)
    report = _ok("fhir", "import", _file(tmp_path, bundle), "--format", "report")
    assert report.startswith("What the import assumed (check before using the record):\n  - No diagnosis date")
    assert "white blood cell count at diagnosis (per microliter), from " in report
    assert ", dated 2024-03-01: nearest the assumed diagnosis date, 2024-03-01 (on the same day)" in report
    assert "Not used (1):\n  - Observation/older.valueQuantity: dated 2021-05-02: outside the window" in report
    assert "{" not in report  # words, not JSON


def test_import_reports_conflicts_and_leaves_the_field_out(tmp_path: Path) -> None:
    bundle = as_json(record_to_bundle({"age_years": 4, "wbc_per_ul": 10_000}))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    other = json.loads(json.dumps(wbc))
    other["fullUrl"] = "urn:uuid:00000000-0000-5000-8000-000000000001"
    other["resource"]["valueQuantity"]["value"] = 60
    bundle["entry"].append(other)
    result = json.loads(_ok("fhir", "import", _file(tmp_path, bundle)))
    assert "wbc_per_ul" not in result["record"]
    assert [c["field"] for c in result["conflicts"]] == ["wbc_per_ul"]
    # --format record prints the record alone, which leaves the field out too
    assert json.loads(_ok("fhir", "import", _file(tmp_path, bundle), "-f", "record")) == result["record"]


def test_import_lists_a_value_given_as_a_bound_and_leaves_the_field_out(tmp_path: Path) -> None:
    bundle = as_json(record_to_bundle({"age_years": 4, "wbc_per_ul": 10_000}))
    wbc = next(e for e in bundle["entry"] if "6690-2" in json.dumps(e["resource"].get("code", {})))
    wbc["resource"]["valueQuantity"] |= {"value": 500, "comparator": ">"}
    result = json.loads(_ok("fhir", "import", _file(tmp_path, bundle)))
    assert "wbc_per_ul" not in result["record"]
    [bound] = result["bounds"]
    assert bound["field"] == "wbc_per_ul" and bound["comparator"] == ">" and bound["value"] == 500_000
    assert bound["text"].startswith("white count: more than 500,000 per microliter (Observation")


def test_the_mcode_example_patient_imports_through_the_cli(tmp_path: Path) -> None:
    folder = fhir_package(MCODE)
    examples = [read_json(p) for p in sorted((folder / "example").glob("*.json"))]
    condition = next(
        r
        for r in examples
        if r["resourceType"] == "Condition" and "lymphoblastic" in json.dumps(r.get("code", {})).lower()
    )
    patient_ref = condition["subject"]["reference"]
    resources = [r for r in examples if f"{r['resourceType']}/{r.get('id')}" == patient_ref] + [
        r for r in examples if (r.get("subject") or r.get("patient") or {}).get("reference") == patient_ref
    ]
    bundle = as_bundle(*resources)
    result = json.loads(_ok("fhir", "import", _file(tmp_path, bundle)))
    assert result == json.loads(json.dumps(import_bundle(bundle).as_dict()))
    record = result["record"]
    assert record["immunophenotype"] == "B" and record["genetics"] == ["ETV6::RUNX1"]
    assert record["wbc_per_ul"] == 88_500
    assert any("free-text" in i["reason"] for i in result["ignored"])
    # and the imported record exports again, as a second-opinion package
    package = json.loads(_ok("fhir", "export", "-", "--kind", "second-opinion", stdin=json.dumps(record)))
    validate_every_entry(package)


# ---- export kinds ----------------------------------------------------------------------------------------


def test_every_export_kind_is_valid_r4_and_points_at_the_records_patient() -> None:
    record = _record(STANDARD) | {"treatment_start_date": "2026-01-05"}
    stdin = json.dumps(record)
    patient, condition = patient_references(record)
    risk = json.loads(_ok("fhir", "export", "-", "--kind", "risk", stdin=stdin))
    _valid(risk)
    assert risk["resourceType"] == "Observation" and risk["subject"] == {"reference": patient}
    assert risk["focus"] == [{"reference": condition}]
    assert risk["valueCodeableConcept"]["coding"][-1]["code"] == "risk_group.standard"
    for kind, category in (
        ("careplan", None),
        ("roadmap", "treatment-roadmap"),
        ("survivorship", "survivorship-care-plan"),
    ):
        plan = json.loads(_ok("fhir", "export", "-", "-k", kind, stdin=stdin))
        _valid(plan)
        assert plan["resourceType"] == "CarePlan" and plan["subject"] == {"reference": patient}
        assert (plan.get("category") or [{"coding": [{"code": None}]}])[0]["coding"][0]["code"] == category
    package = json.loads(_ok("fhir", "export", "-", "--kind", "second-opinion", stdin=stdin))
    validate_every_entry(package)
    types = [e["resource"]["resourceType"] for e in package["entry"]]
    assert types.count("CarePlan") == 3 and types[0] == "Patient"
    assert package["entry"][0]["fullUrl"] == patient


def test_export_writes_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "package.json"
    assert _ok("fhir", "export", STANDARD, "--kind", "second-opinion", "-o", str(out)) == ""
    validate_every_entry(json.loads(out.read_text(encoding="utf-8")))
    imported = tmp_path / "record.json"
    assert _ok("fhir", "import", str(out), "--format", "record", "-o", str(imported)) == ""
    assert json.loads(imported.read_text(encoding="utf-8")) == _record(STANDARD)


# ---- refusals --------------------------------------------------------------------------------------------


def test_import_refuses_what_is_not_json_naming_the_file(tmp_path: Path) -> None:
    path = _file(tmp_path, "{not json", "broken.json")
    message = _refused("fhir", "import", path)
    assert message.startswith(f"allpath: invalid input: bundle: {path!r} is not valid JSON (line 1")
    assert "standard input is not valid JSON" in _refused("fhir", "import", "-", stdin="")
    assert "does not exist" in _refused("fhir", "import", str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"resourceType": "Patient", "gender": "male"}, "is not a FHIR Bundle (resourceType 'Patient')"),
        ([{"resourceType": "Bundle"}], "is not a FHIR Bundle (got an array)"),
        ("42", "is not a FHIR Bundle (got int)"),
        ({"age_years": 4}, "this looks like a patient record: `allpath fhir export` turns one into a Bundle"),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "bundle.entry: in"),
    ],
)
def test_import_refuses_what_is_not_a_bundle(tmp_path: Path, value: Any, words: str) -> None:
    path = _file(tmp_path, value)
    message = _refused("fhir", "import", path)
    assert message.startswith("allpath: invalid input: bundle")
    assert words in message
    assert repr(path) in message


def test_export_refuses_an_invalid_record_naming_the_field(tmp_path: Path) -> None:
    message = _refused("fhir", "export", "-", stdin=json.dumps({"age_years": 5, "wbc_per_ul": 12.5}))
    label = "white blood cell count at diagnosis (per microliter)"
    assert message.startswith(f"allpath: invalid input: {label} (key wbc_per_ul in the record): 12.5 is not allowed")
    assert "expected one patient record" in _refused("fhir", "export", "-", "--kind", "risk", stdin="[]")
    assert "record: not valid JSON" in _refused("fhir", "export", "-", stdin="nope")
    result = runner.invoke(app, ["fhir", "export", STANDARD, "--kind", "everything"])
    assert result.exit_code == 2 and result.stdout == ""


def test_an_empty_bundle_imports_to_an_empty_record() -> None:
    bundle = {"resourceType": "Bundle", "type": "collection"}
    result = json.loads(_ok("fhir", "import", "-", stdin=json.dumps(bundle)))
    assert result["record"] == {} and result == import_bundle(bundle).as_dict()
    assert all(value == [] for key, value in result.items() if key != "record")
