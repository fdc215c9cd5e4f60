"""The views of one stored patient agree after the knowledge base changes (issue 11, acceptance).

The rule (``allpath.service``): every view of a stored patient is made from a fresh assessment of the latest
record version under the running knowledge base. Here a child is stored under the shipped knowledge base; the
service then runs a changed one (a copy of the shipped data in which a white count of 5,000/µL already makes a
child high risk, so the regimen and its dates change, and the knowledge version with them). The web and API
calendars, the care overview of the web page and of the API, and the FHIR second-opinion package (API and web)
must all show the same regimen, phases, dates and knowledge version; the web page says that the stored
assessment was made under the earlier knowledge version. The shipped YAML is not touched.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from allpath.knowledge.loader import KnowledgeBase, load_knowledge
from tests.api.conftest import Service
from tests.conftest import complete_b_all

SHIPPED_DATA = Path(__file__).resolve().parents[2] / "src" / "allpath" / "knowledge" / "data"
START = "2026-01-05"
# The same child as complete_b_all (white count 10,000/µL), dated, with a weight and height for its doses.
RECORD = complete_b_all(id="AGREE-1", treatment_start_date=START, weight_kg=18.0, height_cm=105.0)


def _changed_knowledge(folder: Path) -> KnowledgeBase:
    """A copy of the shipped knowledge base whose NCI high-risk white count is 5,000/µL instead of 50,000."""
    data = folder / "data"
    shutil.copytree(SHIPPED_DATA, data)
    for name in ("risk_groups.yaml", "definitions.yaml"):
        path = data / name
        text = path.read_text(encoding="utf-8")
        changed = text.replace("wbc_per_ul, ge: 50000", "wbc_per_ul, ge: 5000").replace(
            "wbc_per_ul, lt: 50000", "wbc_per_ul, lt: 5000"
        )
        assert changed != text, f"{name} no longer holds the rule this test changes"
        path.write_text(changed, encoding="utf-8")
    return load_knowledge(data)


def _event_days(ics: bytes) -> set[date]:
    return {e.decoded("DTSTART") for e in Calendar.from_ical(ics).walk("VEVENT")}


def _phase_days(roadmap: dict[str, Any]) -> set[date]:
    """The first days of the dated phases of a roadmap (each one an event of its calendar)."""
    return {date.fromisoformat(p["start"]) for p in roadmap["phases"] if p["start"]}


def test_every_view_of_a_stored_patient_agrees_after_the_knowledge_changes(service: Service, tmp_path: Path) -> None:
    clinician = service.bearer("clinician")
    api = service.client()
    created = api.post("/api/patients", json={"display_name": "Agreeing child", "record": RECORD}, headers=clinician)
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    stored_under = created.json()["assessment"]["knowledge_version"]
    assert stored_under == service.kb.version

    changed = _changed_knowledge(tmp_path)
    assert changed.version != service.kb.version
    service.app.state.kb = changed  # the service now runs the changed knowledge base

    overview = api.get(f"/api/patients/{patient_id}/care-overview", headers=clinician)
    assert overview.status_code == 200, overview.text
    care = overview.json()
    roadmap = care["roadmap"]
    assert care["knowledge_version"] == changed.version
    assert care["stored_knowledge_version"] == stored_under  # the answer says it was made under new knowledge
    assert roadmap["regimen"]["id"] == "b_all_high_risk"  # the changed rule: high risk from 5,000/µL
    assert all(d["regimen"] == "b_all_high_risk" for d in care["doses"])

    api_roadmap = api.get(f"/api/patients/{patient_id}/roadmap", headers=clinician).json()
    assert api_roadmap["knowledge_version"] == changed.version
    assert (api_roadmap["regimen"], api_roadmap["phases"]) == (roadmap["regimen"], roadmap["phases"])

    api_calendar = api.get(f"/api/patients/{patient_id}/roadmap.ics", headers=clinician)
    web, _ = service.sign_in("clinician")
    web_calendar = web.get(f"/patients/{patient_id}/roadmap.ics")
    assert api_calendar.status_code == web_calendar.status_code == 200
    assert api_calendar.content == web_calendar.content  # the same file, byte for byte
    phase_days = _phase_days(roadmap)
    assert len(phase_days) >= 3 and phase_days <= _event_days(web_calendar.content)

    web_page = web.get(f"/patients/{patient_id}")
    assert web_page.status_code == 200
    assert roadmap["regimen"]["label"] in web_page.text
    assert f"knowledge version {changed.version}" in web_page.text
    assert f"made with knowledge version {stored_under}" in web_page.text

    packages = [
        api.get(f"/api/patients/{patient_id}/fhir/second-opinion", headers=clinician),
        web.get(f"/patients/{patient_id}/second-opinion.json"),
    ]
    assert [p.status_code for p in packages] == [200, 200]
    api_bundle, web_bundle = (json.loads(p.content) for p in packages)
    assert api_bundle == web_bundle
    text = json.dumps(api_bundle)
    assert changed.version in text and stored_under not in text
    assert roadmap["regimen"]["label"] in text
    for first_day in phase_days:
        assert first_day.isoformat() in text


@pytest.mark.parametrize("view", ["roadmap", "care-overview"])
def test_a_view_made_under_the_knowledge_it_was_stored_with_carries_no_note(service: Service, view: str) -> None:
    answer = service.client().get(f"/api/patients/{service.patient_id}/{view}", headers=service.bearer("clinician"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["knowledge_version"] == service.kb.version
    assert "stored_knowledge_version" not in answer.json()
