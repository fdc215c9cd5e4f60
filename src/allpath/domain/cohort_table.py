"""A cohort as a table (issue 15): one row per patient record, in Apache Arrow's columnar form.

The table has the record's own shape (contract v1, ``record_model``): one column per top-level field, a struct
for ``response`` and ``pharmacogenomics``, a list of strings for ``genetics`` and ``predisposition_syndromes``, a
list of structs for ``relapses``, and ``exposures`` as a struct of two lists. A null is a missing value, as in a
JSON record. ``ROW`` numbers each row from 1 in the order of the input, so that a problem names the row a person
can find in their file.

This is the contract between the cohort readers (CSV, Parquet, JSON, FHIR Bulk Data) and the columnar
stratifier: a reader produces tables of ``RECORD_SCHEMA`` plus ``ROW``, holding only records that
``parse_record`` accepts, with ``age_years`` filled from the dates as ``parse_record`` fills it. pyarrow is
imported here, so only the cohort code imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

from allpath.domain.record_model import PatientRecord

ROW = "row"
"""The row's number in its input (1 = the first record), kept beside the record's own columns."""

_TOKENS = pa.list_(pa.string())

RESPONSE = pa.struct(
    [
        ("day8_blood_mrd_pct", pa.float64()),
        ("end_of_induction_marrow_mrd_pct", pa.float64()),
        ("end_of_induction_remission", pa.bool_()),
        ("end_of_consolidation_mrd_pct", pa.float64()),
    ]
)
RELAPSE = pa.struct(
    [
        ("months_from_diagnosis", pa.float64()),
        ("sites", _TOKENS),
        ("end_of_block1_mrd_pct", pa.float64()),
    ]
)
PHARMACOGENOMICS = pa.struct([("tpmt", pa.string()), ("nudt15", pa.string())])
COURSE = pa.struct(
    [
        ("drug", pa.string()),
        ("date", pa.date32()),
        ("dose_mg_per_m2", pa.float64()),
        ("dose_mg", pa.float64()),
        ("route", pa.string()),
    ]
)
RADIATION = pa.struct([("site", pa.string()), ("dose_gy", pa.float64()), ("date", pa.date32())])
EXPOSURES = pa.struct([("courses", pa.list_(COURSE)), ("radiation", pa.list_(RADIATION))])

_RECORD_FIELDS: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("sex", pa.string()),
    ("age_years", pa.float64()),
    ("birth_date", pa.date32()),
    ("diagnosis_date", pa.date32()),
    ("weight_kg", pa.float64()),
    ("height_cm", pa.float64()),
    ("immunophenotype", pa.string()),
    ("wbc_per_ul", pa.float64()),
    ("genetics", _TOKENS),
    ("cns_status", pa.string()),
    ("testicular_involvement", pa.bool_()),
    ("down_syndrome", pa.bool_()),
    ("predisposition_syndromes", _TOKENS),
    ("steroid_pretreatment", pa.bool_()),
    ("response", RESPONSE),
    ("relapses", pa.list_(RELAPSE)),
    ("refractory", pa.bool_()),
    ("treatment_start_date", pa.date32()),
    ("end_of_therapy_date", pa.date32()),
    ("pharmacogenomics", PHARMACOGENOMICS),
    ("exposures", EXPOSURES),
]
RECORD_SCHEMA = pa.schema(_RECORD_FIELDS)
"""The record's columns, in the order of ``PatientRecord``'s fields."""

TABLE_SCHEMA = RECORD_SCHEMA.insert(0, pa.field(ROW, pa.int64(), nullable=False))
"""What a reader hands on: the row number, then the record's columns."""


def record_row(record: PatientRecord) -> Mapping[str, object]:
    """One validated record as a row of ``RECORD_SCHEMA`` (dates stay dates, tuples become lists)."""
    return record.model_dump(mode="python")


def records_table(records: Iterable[PatientRecord], first_row: int = 1) -> pa.Table:
    """Validated records as a table of ``TABLE_SCHEMA``, numbered from ``first_row``."""
    rows = [dict(record_row(record), **{ROW: first_row + index}) for index, record in enumerate(records)]
    return pa.Table.from_pylist(rows, schema=TABLE_SCHEMA)
