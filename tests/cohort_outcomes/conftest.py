"""One synthetic cohort shared by the tests of this folder (generating it is the slow part)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from allpath.service.cohort.synthetic import generate

COHORT_ROWS = 40_000
COHORT_SEED = 20260415


@pytest.fixture(scope="package")
def cohort() -> tuple[pa.Table, pa.Table]:
    """(records, outcomes) of a 40,000-record synthetic cohort, a seed fixed so that failures repeat."""
    blocks = list(generate(COHORT_ROWS, COHORT_SEED))
    return pa.concat_tables([b.records for b in blocks]), pa.concat_tables([b.outcomes for b in blocks])
