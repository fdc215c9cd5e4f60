"""The cohort table's columns follow the record contract (issue 15): a field added to the record and not to the
table, or a nested field renamed, fails here before a reader or the stratifier loses it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from allpath.domain.cohort_table import RECORD_SCHEMA, ROW, TABLE_SCHEMA, records_table
from allpath.domain.record import parse_record
from allpath.domain.record_model import FIELD_NAMES, NESTED_FIELDS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "all.json"


def _struct_names(data_type: pa.DataType) -> tuple[str, ...]:
    struct = data_type.value_type if pa.types.is_list(data_type) else data_type
    assert pa.types.is_struct(struct)
    return tuple(struct.field(index).name for index in range(struct.num_fields))


def test_the_columns_are_the_record_fields_in_order() -> None:
    assert tuple(RECORD_SCHEMA.names) == FIELD_NAMES
    assert tuple(TABLE_SCHEMA.names) == (ROW, *FIELD_NAMES)


def test_the_nested_columns_have_the_nested_fields() -> None:
    exposures = RECORD_SCHEMA.field("exposures").type
    assert _struct_names(RECORD_SCHEMA.field("response").type) == NESTED_FIELDS["response"]
    assert _struct_names(RECORD_SCHEMA.field("relapses").type) == NESTED_FIELDS["relapses[]"]
    assert _struct_names(RECORD_SCHEMA.field("pharmacogenomics").type) == NESTED_FIELDS["pharmacogenomics"]
    assert _struct_names(exposures) == NESTED_FIELDS["exposures"]
    assert _struct_names(exposures.field("courses").type) == NESTED_FIELDS["exposures.courses[]"]
    assert _struct_names(exposures.field("radiation").type) == NESTED_FIELDS["exposures.radiation[]"]


def test_a_table_of_the_examples_gives_back_each_record() -> None:
    records = [parse_record(data) for data in json.loads(EXAMPLES.read_text(encoding="utf-8"))]
    table = records_table(records, first_row=5)
    assert table.schema == TABLE_SCHEMA
    rows = table.to_pylist()
    assert [row[ROW] for row in rows] == list(range(5, 5 + len(records)))
    for record, row in zip(records, rows, strict=True):
        del row[ROW]
        assert type(record).model_validate(row, strict=False) == record
