"""Exposure sets for the golden survivorship plans (``tests/golden/survivorship/<case>.json``).

Each case is a patient record (contract v1 with the ``exposures`` extension) chosen to sit on one side of a
threshold of ``survivorship.yaml`` (clinical-facts.md §10):

* IGHG cardiomyopathy surveillance strength (Armenian, Lancet Oncol 2015, Table 4): doxorubicin equivalent
  < 100 "may be reasonable", 100 to < 250 "reasonable", >= 250 or chest RT >= 35 Gy or >= 100 + >= 15 Gy
  "recommended";
* PanCare echocardiogram frequency: >= 250 mg/m2 or heart RT >= 30 Gy every 2 years; 100 to < 250 or RT 15
  to < 30 Gy every 5 years;
* daunorubicin x 0.6 (IGHG panel) against the published alternatives 0.45 (Feijen 2015) and 1 (older COG);
* cyclophosphamide for boys (IGHG male gonadotoxicity: pubertal checks from 10, no later than 12), girls
  not covered; dexamethasone from age 10 (osteonecrosis); idarubicin without a factor; a course without its
  dose per m2;
* the planned exposures of the standard- and high-risk example patients.

``render(name)`` is the case's record with what ``allpath survivorship`` prints for it (JSON, without the two versions);
``tests/golden/regenerate.py`` writes it and ``tests/unit/test_survivorship_content.py`` compares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from allpath.domain.results import SurvivorshipPlan

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_SURVIVORSHIP = ROOT / "tests" / "golden" / "survivorship"
EXAMPLES = ROOT / "examples"
PLANNED_START = "2026-01-05"

# Every recorded case: a boy born 2012-03-15, diagnosed 2016-05-02, treatment ended 2018-09-01.
_CHILD: dict[str, Any] = {
    "sex": "male",
    "birth_date": "2012-03-15",
    "diagnosis_date": "2016-05-02",
    "end_of_therapy_date": "2018-09-01",
}
_DATES = ("2016-10-03", "2016-10-10", "2016-10-17", "2017-02-06", "2017-02-13", "2017-02-20")


def _courses(drug: str, doses: list[float | None], route: str = "intravenous") -> list[dict[str, Any]]:
    out = []
    for day, dose in zip(_DATES, doses, strict=False):
        course: dict[str, Any] = {"drug": drug, "date": day, "route": route}
        if dose is not None:
            course["dose_mg_per_m2"] = dose
        out.append(course)
    return out


def _chest(gy: float) -> list[dict[str, Any]]:
    return [{"site": "chest", "dose_gy": gy, "date": "2017-03-31"}]


def _recorded(
    case: str, courses: list[dict[str, Any]] | None = None, radiation: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    exposures: dict[str, Any] = {}
    if courses:
        exposures["courses"] = courses
    if radiation:
        exposures["radiation"] = radiation
    return {"id": case, **_CHILD, **fields, "exposures": exposures}


def _planned(example: str) -> dict[str, Any]:
    raw = json.loads((EXAMPLES / f"{example}.json").read_text(encoding="utf-8"))
    return {**raw, "id": f"planned_{example}", "treatment_start_date": PLANNED_START}


def cases() -> dict[str, dict[str, Any]]:
    """Case name -> record. Names say the exposure; the tests say what each must give."""
    found: dict[str, dict[str, Any]] = {
        # doxorubicin alone, both sides of 100 and of 250 mg/m2
        "doxorubicin_99_9": _recorded("doxorubicin_99_9", _courses("doxorubicin", [25, 25, 25, 24.9])),
        "doxorubicin_100": _recorded("doxorubicin_100", _courses("doxorubicin", [25, 25, 25, 25])),
        "doxorubicin_249_9": _recorded("doxorubicin_249_9", _courses("doxorubicin", [100, 100, 49.9])),
        "doxorubicin_250": _recorded("doxorubicin_250", _courses("doxorubicin", [100, 100, 50])),
        # daunorubicin alone: a threshold crossed under one published factor only
        "daunorubicin_150": _recorded("daunorubicin_150", _courses("daunorubicin", [50, 50, 50])),  # 1:1 -> 150
        "daunorubicin_200": _recorded("daunorubicin_200", _courses("daunorubicin", [50, 50, 50, 50])),  # 0.45 -> 90
        "daunorubicin_300": _recorded("daunorubicin_300", _courses("daunorubicin", [100, 100, 100])),  # 1:1 -> 300
        "daunorubicin_500": _recorded("daunorubicin_500", _courses("daunorubicin", [100, 100, 100, 100, 100])),
        # chest radiation alone, both sides of 15, 30 and 35 Gy
        **{
            f"chest_rt_{str(gy).replace('.', '_')}": _recorded(
                f"chest_rt_{str(gy).replace('.', '_')}", radiation=_chest(gy)
            )
            for gy in (14.9, 15, 29.9, 30, 34.9, 35)
        },
        # the IGHG combination: >= 100 mg/m2 with >= 15 Gy
        "doxorubicin_100_chest_rt_15": _recorded(
            "doxorubicin_100_chest_rt_15", _courses("doxorubicin", [25, 25, 25, 25]), _chest(15)
        ),
        "doxorubicin_99_9_chest_rt_15": _recorded(
            "doxorubicin_99_9_chest_rt_15", _courses("doxorubicin", [25, 25, 25, 24.9]), _chest(15)
        ),
        # cyclophosphamide: boys (pubertal checks) and girls (not covered)
        "cyclophosphamide_boy": _recorded("cyclophosphamide_boy", _courses("cyclophosphamide", [1000, 1000])),
        "cyclophosphamide_girl": _recorded(
            "cyclophosphamide_girl", _courses("cyclophosphamide", [1000, 1000]), sex="female"
        ),
        # dexamethasone first given at 9.9 and at 10.0 years (born 2012-03-15)
        "dexamethasone_from_9_9": _recorded(
            "dexamethasone_from_9_9",
            [{"drug": "dexamethasone", "date": "2022-02-06", "dose_mg_per_m2": 6, "route": "oral"}],
            diagnosis_date="2022-02-01",
            end_of_therapy_date="2024-06-01",
        ),
        "dexamethasone_from_10": _recorded(
            "dexamethasone_from_10",
            [{"drug": "dexamethasone", "date": "2022-03-15", "dose_mg_per_m2": 6, "route": "oral"}],
            diagnosis_date="2022-03-10",
            end_of_therapy_date="2024-06-01",
        ),
        # an anthracycline without a doxorubicin equivalent
        "idarubicin": _recorded("idarubicin", _courses("idarubicin", [10, 10, 10])),
        # a course without its dose per m2 (only milligrams)
        "doxorubicin_course_without_dose": _recorded(
            "doxorubicin_course_without_dose",
            [
                {"drug": "doxorubicin", "date": "2016-10-03", "dose_mg_per_m2": 25, "route": "intravenous"},
                {"drug": "doxorubicin", "date": "2016-10-10", "dose_mg": 20, "route": "intravenous"},
            ],
        ),
        # planned exposures of the example patients (no courses recorded), dated from PLANNED_START
        "planned_standard_risk": _planned("standard_risk"),
        "planned_high_risk_wbc": _planned("high_risk_wbc"),
        "planned_high_risk_age": _planned("high_risk_age"),
    }
    return found


def plan(record: dict[str, Any]) -> SurvivorshipPlan:
    """The survivorship plan of a record, as ``allpath survivorship`` computes it (roadmap from the assessment)."""
    from allpath.domain.record import parse_record
    from allpath.engine.assess import assess
    from allpath.engine.roadmap import build_roadmap
    from allpath.engine.survivorship import survivorship_plan
    from allpath.knowledge.loader import load_knowledge

    kb = load_knowledge()
    parsed = parse_record(record)
    return survivorship_plan(parsed, kb, build_roadmap(parsed, assess(parsed, kb), kb))


def render(name: str) -> str:
    """The golden text of one case: the record and what ``allpath survivorship`` prints for it (no versions)."""
    record = cases()[name]
    payload = {"record": record, "survivorship": {"record_id": record.get("id"), **plan(record)}}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def golden_path(name: str) -> Path:
    return GOLDEN_SURVIVORSHIP / f"{name}.json"
