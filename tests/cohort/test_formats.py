"""Every format reads the bundled examples (examples/all.json) back as ``parse_record`` reads them, bad rows are
reported with their row and field and never stop the run, and batches hold at most ``batch_rows`` input rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allpath.domain.cohort_table import ROW, TABLE_SCHEMA
from allpath.interfaces.cohort import CohortFileError, cohort_format, read_cohort
from tests.cohort.helpers import expected_table, read_all, write_csv, write_json_lines, write_parquet
from tests.conftest import EXAMPLES

EXAMPLE_RECORDS: list[dict[str, Any]] = json.loads((EXAMPLES / "all.json").read_text(encoding="utf-8"))


def _write(kind: str, records: list[dict[str, Any]], folder: Path) -> Path:
    if kind == "json":
        path = folder / "cohort.json"
        path.write_text(json.dumps(records, indent=1), encoding="utf-8")
        return path
    if kind == "jsonl":
        return write_json_lines(records, folder / "cohort.jsonl")
    if kind == "csv":
        return write_csv(records, folder / "cohort.csv")
    return write_parquet(records, folder / "cohort.parquet")


@pytest.mark.parametrize("kind", ["json", "jsonl", "csv", "parquet"])
@pytest.mark.parametrize("batch_rows", [1, 5, 26, 27, 28, 65_536])
def test_each_format_round_trips_the_bundled_examples(tmp_path: Path, kind: str, batch_rows: int) -> None:
    assert len(EXAMPLE_RECORDS) == 27
    path = _write(kind, EXAMPLE_RECORDS, tmp_path)
    batches = list(read_cohort(path, batch_rows=batch_rows))
    table, problems = read_all(batches)
    assert problems == []
    assert table.schema.equals(TABLE_SCHEMA)
    assert table.equals(expected_table(EXAMPLE_RECORDS))
    # Batches at the limit and one past it: 27 rows are ceil(27 / batch_rows) batches, each within the limit.
    assert len(batches) == -(-27 // batch_rows)
    assert all(batch.table.num_rows <= batch_rows for batch in batches)


BAD_ROWS: list[tuple[dict[str, Any], str]] = [
    # (record, the field parse_record names)
    ({"id": "girl", "sex": "female", "testicular_involvement": True}, "testicular_involvement"),
    ({"id": "tiny-wbc", "wbc_per_ul": 45.0}, "wbc_per_ul"),
    ({"id": "lineage", "immunophenotype": "X"}, "immunophenotype"),
    ({"id": "mrd", "response": {"end_of_induction_marrow_mrd_pct": 101.0}}, "response.end_of_induction_marrow_mrd_pct"),
    ({"id": "tokens", "genetics": ["iAMP21", "iAMP21"]}, "genetics"),
    ({"id": "born-late", "birth_date": "2020-05-01", "diagnosis_date": "2019-01-01"}, "diagnosis_date"),
    (
        {"id": "relapse", "relapses": [{"months_from_diagnosis": 0.0, "sites": ["cns"]}]},
        "relapses[0].months_from_diagnosis",
    ),
]


@pytest.mark.parametrize("kind", ["json", "jsonl", "csv", "parquet"])
def test_bad_rows_are_reported_with_row_and_field_and_the_good_rows_all_come_through(tmp_path: Path, kind: str) -> None:
    records: list[dict[str, Any]] = []
    bad_rows: dict[int, str] = {}
    for index, record in enumerate(EXAMPLE_RECORDS):
        records.append(record)
        if index < len(BAD_ROWS):
            bad, field = BAD_ROWS[index]
            records.append(bad)
            bad_rows[len(records)] = field
    table, problems = read_all(read_cohort(_write(kind, records, tmp_path), batch_rows=4))
    assert table.equals(
        expected_table(EXAMPLE_RECORDS).drop_columns([ROW]).add_column(0, TABLE_SCHEMA.field(ROW), table.column(ROW))
    )
    assert set(table.column(ROW).to_pylist()).isdisjoint(bad_rows)
    assert table.num_rows + len(bad_rows) == len(records)
    reported = {(problem.row, problem.field) for problem in problems}
    assert set(bad_rows.items()) <= reported
    assert {problem.row for problem in problems} == set(bad_rows)
    for problem in problems:
        assert problem.message().startswith(f"Row {problem.row}: ")
        assert "is not allowed" in problem.message()


def test_a_json_lines_line_that_is_not_json_is_a_reported_row(tmp_path: Path) -> None:
    path = tmp_path / "cohort.jsonl"
    path.write_text('{"id": "a"}\n{"id": \n\n[1, 2]\n{"id": "b", "sex": "female"}\n', encoding="utf-8")
    table, problems = read_all(read_cohort(path))
    # Rows are line numbers: the blank line 3 counts but is no record.
    assert table.column(ROW).to_pylist() == [1, 5]
    assert [(p.row, p.field) for p in problems] == [(2, "record"), (4, "record")]
    assert "not valid JSON" in problems[0].allowed
    assert "expected a JSON object" in problems[1].allowed


def test_a_json_lines_number_json_cannot_carry_is_refused_with_the_strict_readers_words(tmp_path: Path) -> None:
    """The lines are read by ``interfaces.strict_json`` (as the API and the record commands read JSON): NaN,
    Infinity and a number beyond a float are refused naming the field, with the same words."""
    path = tmp_path / "cohort.jsonl"
    path.write_text(
        '{"id": "a", "wbc_per_ul": NaN}\n{"id": "b", "wbc_per_ul": 1e309}\n{"id": "c", "age_years": -Infinity}\n'
        '{"id": "d"}\n',
        encoding="utf-8",
    )
    table, problems = read_all(read_cohort(path))
    assert table.column("id").to_pylist() == ["d"]
    assert [(p.row, p.field) for p in problems] == [(1, "record"), (2, "record"), (3, "record")]
    assert "NaN is not a number JSON can carry (at wbc_per_ul)" in problems[0].allowed
    assert "1e309 is not a number JSON can carry (at wbc_per_ul)" in problems[1].allowed
    assert "-Infinity is not a number JSON can carry (at age_years)" in problems[2].allowed


def test_a_csv_json_cell_that_is_not_json_is_reported_with_the_other_problems_of_its_row(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text('id,sex,relapses,genetics\na,female,"[{oops",iAMP21;nope\nb,male,,\n', encoding="utf-8")
    table, problems = read_all(read_cohort(path))
    assert table.column("id").to_pylist() == ["b"]
    assert [(p.row, p.field) for p in problems] == [(1, "relapses"), (1, "genetics[1]")]


def test_a_csv_row_with_too_few_or_too_many_cells_is_a_reported_row_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text('id,sex\na,male\nb\nc,female,extra\n"d\nwith a line break",male\ne,female\n', encoding="utf-8")
    table, problems = read_all(read_cohort(path, batch_rows=2))
    assert table.column(ROW).to_pylist() == [1, 4, 5]
    assert table.column("id").to_pylist() == ["a", "d\nwith a line break", "e"]
    assert [(p.row, p.field) for p in problems] == [(2, "record"), (3, "record")]
    assert "expected 2 cells" in problems[0].allowed and "has 1" in problems[0].allowed
    assert "has 3" in problems[1].allowed


def test_csv_cells_that_do_not_read_as_their_kind_are_refused_by_parse_record(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text("id,wbc_per_ul,down_syndrome,response.day8_blood_mrd_pct\na,NaN,yes,0.1\nb,1e3,TRUE,\n")
    table, problems = read_all(read_cohort(path))
    assert table.column(ROW).to_pylist() == [2]
    assert table.column("wbc_per_ul").to_pylist() == [1000.0]
    assert table.column("down_syndrome").to_pylist() == [True]
    assert [(p.row, p.field, p.value) for p in problems] == [(1, "wbc_per_ul", "NaN"), (1, "down_syndrome", "yes")]


def test_unknown_columns_refuse_the_file_by_name(tmp_path: Path) -> None:
    csv_path = tmp_path / "cohort.csv"
    csv_path.write_text("id,shoe_size\na,41\n")
    with pytest.raises(CohortFileError, match="shoe_size"):
        list(read_cohort(csv_path))
    table = expected_table(EXAMPLE_RECORDS[:2]).drop_columns([ROW]).append_column("shoe_size", pa.array([41, 42]))
    pq.write_table(table, tmp_path / "cohort.parquet")
    with pytest.raises(CohortFileError, match="shoe_size"):
        list(read_cohort(tmp_path / "cohort.parquet"))


def test_a_parquet_column_left_out_is_missing_in_every_row(tmp_path: Path) -> None:
    full = expected_table(EXAMPLE_RECORDS).drop_columns([ROW])
    pq.write_table(full.select(["id", "sex", "wbc_per_ul"]), tmp_path / "few.parquet")
    table, problems = read_all(read_cohort(tmp_path / "few.parquet"))
    assert problems == []
    assert table.column("id").to_pylist() == full.column("id").to_pylist()
    assert table.column("genetics").null_count == table.num_rows == 27


def test_a_broken_json_array_is_a_file_problem_after_the_records_before_it(tmp_path: Path) -> None:
    path = tmp_path / "cohort.json"
    path.write_text('[{"id": "a"}, {"id": "b"}, {"id": ', encoding="utf-8")
    with pytest.raises(CohortFileError, match="after record 2"):
        list(read_cohort(path))
    (tmp_path / "object.json").write_text('{"id": "a"}', encoding="utf-8")
    with pytest.raises(CohortFileError, match="not a JSON array"):
        list(read_cohort(tmp_path / "object.json"))


def test_the_format_comes_from_the_name(tmp_path: Path) -> None:
    records = write_json_lines([{"id": "a"}], tmp_path / "records.ndjson")
    fhir = write_json_lines([{"resourceType": "Patient", "id": "p"}], tmp_path / "Patient.ndjson")
    assert cohort_format(records) == "jsonl"
    assert cohort_format(fhir) == "fhir-ndjson"
    # One Patient file alone is an export too: a Patient with nothing the record holds is a reported row.
    assert [(p.row, p.patient) for batch in read_cohort(fhir) for p in batch.problems] == [(1, "p")]
    assert cohort_format(tmp_path) == "fhir-ndjson"
    assert cohort_format(tmp_path / "c.PARQUET") == "parquet"
    with pytest.raises(CohortFileError, match="does not say its format"):
        cohort_format(tmp_path / "cohort.xlsx")
    with pytest.raises(ValueError, match="at least 1"):
        list(read_cohort(records, batch_rows=0))


def test_a_long_exposures_cell_is_read_and_a_cell_past_the_csv_limit_is_a_reported_row(tmp_path: Path) -> None:
    course = {"drug": "vincristine", "date": "2020-01-01", "dose_mg_per_m2": 1.5}
    exposures = json.dumps({"courses": [course] * 3_000})  # about 200,000 characters, over csv's default limit
    path = tmp_path / "cohort.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write(f'id,exposures\na,"{exposures.replace(chr(34), chr(34) * 2)}"\nb,"{"x" * (5 << 20)}"\nc,\n')
    table, problems = read_all(read_cohort(path))
    assert table.column("id").to_pylist() == ["a", "c"]
    assert len(table.column("exposures")[0].as_py()["courses"]) == 3_000
    assert [(p.row, p.field) for p in problems] == [(2, "record")]


def test_a_file_that_is_not_parquet_is_a_file_problem(tmp_path: Path) -> None:
    path = tmp_path / "cohort.parquet"
    path.write_text("id,sex\na,male\n", encoding="utf-8")
    with pytest.raises(CohortFileError, match="not a Parquet file"):
        list(read_cohort(path))
