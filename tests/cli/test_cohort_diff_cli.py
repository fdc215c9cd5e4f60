"""``allpath cohort diff COHORT --knowledge OLD --against NEW``: the reviewer's report, JSON and CSV, and the
refusals of bad options (issue 15, item 3).

The new knowledge base is a copy of the bundled one with the NCI white-count cut point at 40,000 instead of
50,000 per microliter (tests/service/test_cohort_diff.py has the same change and the use case's own tests).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allpath.interfaces.cli import app
from allpath.knowledge.loader import default_data_dir
from tests.service.test_cohort_diff import AYA_CHANGE, AYA_COHORT, MOVED_BY_WBC, WBC_CHANGE, WBC_COHORT


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(cohort file, unchanged copy of the knowledge base, changed copy)."""
    root = tmp_path_factory.mktemp("diff")
    cohort = root / "cohort.json"
    rows = [*WBC_COHORT, {"id": "refused", "age_years": -3}]  # a bad row is counted, not compared
    cohort.write_text(json.dumps(rows), encoding="utf-8")
    same, changed = root / "same", root / "changed"
    shutil.copytree(default_data_dir(), same)
    shutil.copytree(default_data_dir(), changed)
    for name, pairs in WBC_CHANGE.items():
        path = changed / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return cohort, same, changed


def _changed_copy(target: Path, replacements: dict[str, list[tuple[str, str]]]) -> Path:
    shutil.copytree(default_data_dir(), target)
    for name, pairs in replacements.items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def aya_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cohort file, the knowledge base with adolescents and young adults from 13 years instead of 15)."""
    root = tmp_path_factory.mktemp("aya")
    cohort = root / "cohort.json"
    cohort.write_text(json.dumps(AYA_COHORT), encoding="utf-8")
    return cohort, _changed_copy(root / "aya", AYA_CHANGE)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["cohort", "diff", *args])
    return result.exit_code, result.stdout, result.stderr


def test_text_report_gives_the_cross_tables_then_the_moved_records_and_their_cause(
    folders: tuple[Path, Path, Path],
) -> None:
    cohort, same, changed = folders
    code, out, err = invoke(str(cohort), "--knowledge", str(same), "--against", str(changed))
    assert code == 0, err
    assert f"Knowledge change impact on {len(WBC_COHORT)} records (1 row refused by the reader" in out
    assert "NCI risk group (3 moved)" in out
    assert "Moved records: 3, in 1 change(s)" in out
    assert "rule risk.nci.high_wbc" in out and "does not hold before, holds now" in out
    assert "at least 50,000 per microliter before, at least 40,000 per microliter now" in out
    assert '"Risk groups for childhood acute lymphoblastic leukemia"' in out
    rows = [line.strip() for line in out.splitlines() if line.strip().startswith("Row ")]
    assert rows == [f"Row {row} ({record_id})" for record_id, row in MOVED_BY_WBC.items()]
    assert out.index("NCI risk group (3 moved)") < out.index("Change 1")
    assert "white blood cell count at diagnosis 40,000 per microliter" in out  # the record at the new cut point


def test_json_names_both_knowledge_versions_and_exactly_the_moved_records(folders: tuple[Path, Path, Path]) -> None:
    cohort, same, changed = folders
    code, out, err = invoke(str(cohort), "--knowledge", str(same), "--against", str(changed), "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["old"]["knowledge_version"] != document["new"]["knowledge_version"]
    assert (document["records"], document["refused_rows"]) == (len(WBC_COHORT), 1)
    assert [(m["row"], m["id"]) for m in document["moved"]] == [(r, i) for i, r in MOVED_BY_WBC.items()]
    nci = document["moved"][0]["moves"][0]
    assert (nci["column"], nci["before"], nci["after"]) == ("risk_group", "standard", "high")
    assert [t["after_threshold"] for rule in nci["rules"] for t in rule["thresholds"]] == [40000.0, 40000.0]
    table = next(t for t in document["cross_tables"] if t["column"] == "risk_group")
    assert {"before": "standard", "after": "high", "count": 3} in table["cells"]


def test_csv_has_one_line_per_moved_record_and_column_written_to_out(
    folders: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    cohort, same, changed = folders
    target = tmp_path / "moved.csv"
    code, out, err = invoke(
        str(cohort), "--knowledge", str(same), "--against", str(changed), "--format", "csv", "--out", str(target)
    )
    assert (code, out) == (0, ""), err
    lines = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(line["row"], line["column"]) for line in lines] == [
        (str(row), column) for row in MOVED_BY_WBC.values() for column in ("risk_group", "cog_risk_group")
    ]
    assert {line["changed_rules"] for line in lines if line["column"] == "risk_group"} == {
        "risk.nci.standard risk.nci.high_wbc"
    }


def test_identical_knowledge_moves_nothing_and_either_side_defaults_to_the_bundled_base(
    folders: tuple[Path, Path, Path],
) -> None:
    cohort, same, _ = folders
    for options in ((), ("--knowledge", str(same)), ("--against", str(same), "--quiet")):
        code, out, err = invoke(str(cohort), *options)
        assert code == 0, err
        assert "Moved records: 0, in 0 change(s)" in out
        assert "(0 moved)" in out and "(1 moved)" not in out


def test_bad_options_are_refused_naming_the_option(folders: tuple[Path, Path, Path], tmp_path: Path) -> None:
    cohort, same, _ = folders
    broken = tmp_path / "broken"
    shutil.copytree(same, broken)
    (broken / "risk_groups.yaml").write_text("scheme: [", encoding="utf-8")
    cases = [
        ((str(tmp_path / "nowhere.json"),), "COHORT:"),
        ((str(cohort), "--against", str(tmp_path / "nowhere")), "--against:"),
        ((str(cohort), "--against", str(broken)), "--against:"),
        ((str(cohort), "--knowledge", str(tmp_path / "nowhere")), "--knowledge:"),
    ]
    for args, option in cases:
        code, out, err = invoke(*args)
        assert (code, out) == (2, ""), args
        assert option in err and "Traceback" not in err


def test_the_populations_entered_or_left_are_counted_and_each_record_named_in_every_format(
    aya_folders: tuple[Path, Path], tmp_path: Path
) -> None:
    cohort, changed = aya_folders
    code, out, err = invoke(str(cohort), "--against", str(changed), "--quiet")
    assert code == 0, err
    assert "Populations (2 entered or left)" in out
    aya_line = next(line for line in out.splitlines() if line.strip().startswith("adolescent or young adult"))
    assert aya_line.split()[-4:] == ["1", "3", "2", "0"]  # old, new, entered, left
    assert "Moved records: 2, in 1 change(s)" in out
    assert "  enters the population adolescent or young adult (15 to 39 years)\n    rule adolescent_young_adult" in out
    assert "threshold on the age at diagnosis: at least 15 years before, at least 13 years now" in out
    code, out, err = invoke(str(cohort), "--knowledge", str(changed), "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    aya = next(p for p in document["populations"] if p["population"] == "adolescent_young_adult")
    assert (aya["before"], aya["after"], aya["entered"], aya["left"]) == (3, 1, 0, 2)
    moves = [
        (m["id"], move["column"], move["population"], move["before"], move["after"])
        for m in document["moved"]
        for move in m["moves"]
    ]
    assert moves == [
        ("aged-13", "populations", "adolescent_young_adult", True, False),
        ("aged-14", "populations", "adolescent_young_adult", True, False),
    ]
    target = tmp_path / "moved.csv"
    code, _, err = invoke(str(cohort), "--against", str(changed), "--format", "csv", "--out", str(target))
    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(line["id"], line["column"], line["before"], line["after"]) for line in lines] == [
        ("aged-13", "populations", "", "adolescent_young_adult"),
        ("aged-14", "populations", "", "adolescent_young_adult"),
    ]


def test_lang_writes_the_reviewers_report_in_that_language_and_leaves_json_as_it_is(
    aya_folders: tuple[Path, Path],
) -> None:
    cohort, changed = aya_folders
    code, out, err = invoke(str(cohort), "--against", str(changed), "--quiet", "--lang", "es")
    assert code == 0, err
    assert out.startswith("Efecto del cambio de conocimiento en 5 expedientes (0 filas rechazadas por el lector")
    assert "Grupo de riesgo del NCI (0 cambian)" in out
    assert "Poblaciones (2 entradas o salidas)" in out
    assert "Expedientes que cambian: 2, en 1 cambio(s)" in out
    assert "  entra en la población " in out
    assert "antes no se cumple, ahora se cumple" in out
    assert "antes al menos 15 " in out and "ahora al menos 13 " in out
    assert "    Fila 2 (aged-13)" in out
    assert "Populations" not in out and "Moved records" not in out
    # The populations by their Spanish names (the knowledge base's translations), in the table and the moves.
    assert "  adolescente o adulto joven (de 15 a 39 años)  " in out
    assert "entra en la población adolescente o adulto joven (de 15 a 39 años)" in out
    assert "adolescent or young adult" not in out and "Philadelphia" not in out
    # The groups in words, said as groups ("alto": a risk group, where "high" confidence is "alta").
    assert "  en uso \\ nuevo  alto  muy alto" in out and "\n  recién diagnosticada   " in out
    assert "very high" not in out and "newly diagnosed" not in out and "alta" not in out
    english = invoke(str(cohort), "--against", str(changed), "--format", "json")
    spanish = invoke(str(cohort), "--against", str(changed), "--format", "json", "--lang", "es")
    assert spanish == english and english[0] == 0
    code, _, err = invoke(str(cohort), "--lang", "xx")
    assert code == 2 and "'xx' is not a language of allpath" in err
