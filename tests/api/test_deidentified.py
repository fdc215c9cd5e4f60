"""The researcher's de-identified export holds no identifiers and no calendar dates, including the dates of
treatment and of recorded exposures (the record fields added for roadmaps and survivorship)."""

from __future__ import annotations

import json
import re

from tests.api.conftest import Service
from tests.conftest import complete_b_all

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_export_drops_every_date_and_identifier(service: Service) -> None:
    record = {
        **complete_b_all(),
        "id": "MRN-0042",
        "birth_date": "2019-04-02",
        "diagnosis_date": "2025-03-01",
        "treatment_start_date": "2025-03-03",
        "end_of_therapy_date": "2027-07-01",
        "pharmacogenomics": {"tpmt": "normal", "nudt15": "intermediate"},
        "exposures": {
            "courses": [{"drug": "doxorubicin", "date": "2025-06-02", "dose_mg_per_m2": 25, "route": "intravenous"}],
            "radiation": [{"site": "cranial", "dose_gy": 12, "date": "2025-09-01"}],
        },
    }
    record.pop("age_years", None)
    clinician = service.bearer("clinician")
    created = service.client().post(
        "/api/patients", json={"display_name": "Dated Child", "record": record}, headers=clinician
    )
    assert created.status_code == 201, created.text
    rows = service.client().get("/api/export/deidentified", headers=service.bearer("researcher")).json()
    exported = next(r for r in rows if r["record"].get("exposures"))
    text = json.dumps(exported)
    assert not DATE.search(text), text
    assert "MRN-0042" not in text and "Dated Child" not in text
    # what was given is kept, so the export stays useful for research
    assert exported["record"]["exposures"]["courses"] == [
        {"drug": "doxorubicin", "dose_mg_per_m2": 25, "route": "intravenous"}
    ]
    assert exported["record"]["exposures"]["radiation"] == [{"site": "cranial", "dose_gy": 12}]
    assert exported["record"]["pharmacogenomics"] == {"tpmt": "normal", "nudt15": "intermediate"}
    assert exported["record"]["age_years"] == 5.9  # the age at diagnosis replaces the two dates
