"""The treatment views in the web app: the roadmap on the patient page's timeline, the doses (care team only),
the survivorship plan, the new record fields in the form, the roadmap calendar, and the road ahead and the
check-ups after treatment in the family report (HTML and PDF, never with doses)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from allpath.storage import tables as t
from tests.web.conftest import User, WebApp, sign_in
from tests.web.test_browser import pdf_text

STANDARD = {
    "display_name": "Roadmap child",
    "sex": "male",
    "age_years": "4.2",
    "immunophenotype": "B",
    "wbc_per_ul": "8500",
    "weight_kg": "17.1",
    "height_cm": "104",
}
STARTED = STANDARD | {"treatment_start_date": "2026-01-05"}
# Any dose with its unit: "1.05 mg", "24 mg", "1757 IU", "75 mg/m2", "0.703 m²".
DOSE = re.compile(r"\d\s*(mg|IU|m²)\b")


def _create(user: User, fields: dict[str, str]) -> str:
    response = user.post("/patients/new", fields, follow_redirects=False)
    assert response.status_code == 303, response.text[:3000]
    location: str = response.headers["location"]
    return location.rsplit("/", 1)[1]


def _section(html: str, section_id: str) -> str:
    """The HTML of one top-level section of the patient page."""
    start = html.index(f'<section id="{section_id}"')
    end = html.find('\n<section id="', start + 1)
    return html[start : end if end != -1 else len(html)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _family_of(web: WebApp, clinician: User, pid: str, username: str) -> User:
    """A family account joined to the patient with an invitation code."""
    response = clinician.post(f"/patients/{pid}/invitations")
    code = re.search(r'<p class="code-box"><code>([0-9A-F-]+)</code></p>', response.text)
    assert code is not None
    client = TestClient(web.app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/join").text)
    assert token is not None
    joined = client.post(
        "/join",
        data={
            "code": code.group(1),
            "username": username,
            "display_name": "A family",
            "password": "a-long-password-1",
            "csrf_token": token.group(1),
        },
    )
    assert joined.status_code == 303, joined.text[:2000]
    return sign_in(web.app, username, "a-long-password-1")


# ---- the form -------------------------------------------------------------------------------------------


def test_the_form_has_the_treatment_fields(clinician: User) -> None:
    html = clinician.get("/patients/new").text
    for name in [
        "treatment_start_date",
        "end_of_therapy_date",
        "pharmacogenomics.tpmt",
        "pharmacogenomics.nudt15",
        "exposures.courses[0].drug",
        "exposures.courses[0].date",
        "exposures.courses[0].dose_mg_per_m2",
        "exposures.courses[0].dose_mg",
        "exposures.courses[0].route",
        "exposures.radiation[0].site",
        "exposures.radiation[0].dose_gy",
        "exposures.radiation[0].date",
    ]:
        assert f'name="{name}"' in html, name
    assert re.search(r'<input id="f-treatment_start_date" name="treatment_start_date" value=""\s+type="date"', html)
    tpmt = re.search(r'<select id="f-pharmacogenomics-tpmt".*?</select>', html, re.S)
    assert tpmt is not None
    assert '<option value="poor">poor metabolizer</option>' in tpmt.group(0)
    assert '<option value="indeterminate">indeterminate</option>' in tpmt.group(0)
    assert 'for="f-pharmacogenomics-tpmt"' in html and 'for="f-exposures-courses-0-drug"' in html
    assert 'hx-get="/patients/exposure-row?kind=course&amp;index=1"' in html
    assert 'hx-get="/patients/exposure-row?kind=radiation&amp;index=1"' in html


def test_exposure_row_fragments(clinician: User) -> None:
    response = clinician.get("/patients/exposure-row?kind=course&index=2")
    assert response.status_code == 200
    assert '<fieldset class="list-row" id="course-2">' in response.text and "<legend>Course 3</legend>" in response.text
    assert 'name="exposures.courses[2].dose_mg_per_m2"' in response.text
    assert 'id="add-course"' in response.text and 'hx-swap-oob="true"' in response.text
    assert "kind=course&amp;index=3" in response.text
    radiation = clinician.get("/patients/exposure-row?kind=radiation&index=0")
    assert 'name="exposures.radiation[0].site"' in radiation.text and "<legend>Radiation 1</legend>" in radiation.text
    assert clinician.get("/patients/exposure-row?kind=relapse").status_code == 404
    assert clinician.get("/patients/exposure-row?kind=nothing").status_code == 404


def test_treatment_fields_get_the_api_messages(clinician: User) -> None:
    # A value of the wrong kind (only a crafted form can send one: the input is a select) ...
    response = clinician.post("/patients/new", STANDARD | {"pharmacogenomics.tpmt": "bad"})
    assert response.status_code == 422
    assert re.search(r'id="e-pharmacogenomics-tpmt">.*TPMT result: &#34;bad&#34; is not allowed', response.text)
    # ... and values out of their limits or inconsistent with each other.
    response = clinician.post(
        "/patients/new",
        STANDARD
        | {
            "exposures.courses[0].drug": "doxorubicin",
            "exposures.courses[0].date": "2026-05-01",
            "exposures.courses[0].dose_mg_per_m2": "-1",
            "treatment_start_date": "2026-02-01",
            "end_of_therapy_date": "2026-01-01",
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="e-exposures-courses-0-dose_mg_per_m2">.*-1 is not allowed', response.text)
    assert re.search(r'id="e-end_of_therapy_date">.*a date on or after the first day of treatment', response.text)
    assert 'href="#f-exposures-courses-0-dose_mg_per_m2"' in response.text  # the error summary links to the input
    # The submitted values stay in the form.
    assert re.search(r'<input id="f-exposures-courses-0-dose_mg_per_m2"[^>]*value="-1"', response.text, re.S)


def test_live_check_places_course_messages_in_the_row_on_the_screen(clinician: User) -> None:
    response = clinician.post(
        "/patients/check",
        {
            "exposures.courses[0].drug": "",
            "exposures.courses[1].drug": "daunorubicin",
            "exposures.courses[1].dose_mg_per_m2": "abc",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert re.search(
        r'<p class="field-error" id="e-exposures-courses-1-date" hx-swap-oob="true">.*this field is required',
        response.text,
    )
    assert re.search(r'id="e-exposures-courses-1-dose_mg_per_m2" hx-swap-oob="true">.*&#34;abc&#34;', response.text)
    assert '<p class="field-error" id="e-exposures-courses-0-date" hx-swap-oob="true"></p>' in response.text


def test_the_stored_treatment_fields_come_back_in_the_form(clinician: User) -> None:
    pid = _create(
        clinician,
        STARTED
        | {
            "display_name": "Stored treatment child",
            "pharmacogenomics.tpmt": "intermediate",
            "pharmacogenomics.nudt15": "normal",
            "exposures.courses[0].drug": "daunorubicin",
            "exposures.courses[0].date": "2026-01-05",
            "exposures.courses[0].dose_mg_per_m2": "25",
            "exposures.radiation[0].site": "cranial",
            "exposures.radiation[0].dose_gy": "12",
        },
    )
    record = clinician.get(f"/api/patients/{pid}").json()["record"]
    assert record["pharmacogenomics"] == {"tpmt": "intermediate", "nudt15": "normal"}
    assert record["exposures"] == {
        "courses": [{"drug": "daunorubicin", "date": "2026-01-05", "dose_mg_per_m2": 25}],
        "radiation": [{"site": "cranial", "dose_gy": 12}],
    }
    form = clinician.get(f"/patients/{pid}/edit").text
    assert re.search(r'id="f-treatment_start_date"[^>]*value="2026-01-05"', form)
    assert '<option value="intermediate" selected>' in form
    assert '<option value="daunorubicin" selected>' in form and '<option value="cranial" selected>' in form
    assert 'name="exposures.courses[1].drug"' in form  # one empty row after the stored one
    page = clinician.get(f"/patients/{pid}").text
    # The record's fields by their labels, never by record path.
    assert "<dt>dose given 1: medicine</dt>" in page and "<dt>TPMT result</dt>" in page
    assert "exposures.courses[0].drug" not in _text(page)


# ---- the roadmap on the timeline --------------------------------------------------------------------------


def test_dated_roadmap_with_checkpoints_and_end_of_therapy(clinician: User) -> None:
    pid = _create(clinician, STARTED | {"response.day8_blood_mrd_pct": "0.004"})
    phases = _section(clinician.get(f"/patients/{pid}").text, "phases")
    text = _text(phases)
    assert "Roadmap: Standard-risk B-ALL" in text
    steps = re.findall(r'<h4 class="step__title">([^<]+)</h4>\s*<p class="step__dates">\s*(.*?)\s*</p>', phases, re.S)
    assert [title for title, _ in steps] == [
        "Induction (three drugs)",
        "Consolidation",
        "Interim maintenance (Capizzi methotrexate)",
        "Delayed intensification",
        "Maintenance (12-week cycles)",
    ]
    assert _text(steps[0][1]).strip() == "2026-01-05 to 2026-02-01"
    assert _text(steps[4][1]).strip() == "2026-06-22 to 2028-03-01"
    assert "in cycles of 12 weeks (about 8 cycles)" in text
    # Checkpoints as markers with their dates and whether the result is in.
    assert re.search(r'class="checkpoint checkpoint--done">.*?Day 8 blood MRD.*?2026-01-12.*?result in', phases, re.S)
    assert re.search(
        r'class="checkpoint">.*?End-of-induction \(day 29\) bone marrow MRD.*?2026-02-02.*?result not in yet',
        phases,
        re.S,
    )
    assert "End of therapy" in text and '<time datetime="2028-03-01">' in phases
    # The three phases of the summary stay, with the regimen's phases inside them.
    assert re.findall(r"<h3>Phase (\d) of 3:", phases) == ["1", "2", "3"]
    assert f'href="/patients/{pid}/roadmap.ics"' in phases
    assert 'href="/sources/facts#' in phases  # the roadmap's evidence links to its section


def test_undated_roadmaps_say_why(clinician: User) -> None:
    # No start date yet: the phases wait for it.
    pid = _create(clinician, STANDARD)
    phases = _text(_section(clinician.get(f"/patients/{pid}").text, "phases"))
    assert "No dates yet." in phases and "Not dated yet (no treatment start date)" in phases
    assert "roadmap.ics" not in phases
    # High risk (age 12): the sources give no length for delayed intensification, so it and maintenance have no
    # start; the phase with a length from the dosing interval is of moderate confidence.
    pid = _create(clinician, STARTED | {"display_name": "High-risk roadmap", "age_years": "12"})
    html = _section(clinician.get(f"/patients/{pid}").text, "phases")
    assert "High-risk B-ALL" in html
    assert re.search(r"Delayed intensification</h4>\s*<p class=\"step__dates\">\s*From <time", html)
    assert "end not given in the sources" in html
    assert re.search(r"Maintenance</h4>\s*<p class=\"step__dates\">\s*<span class=\"tag tag--undated\">start not", html)
    assert "Length not given in the sources" in html
    assert '<span class="tag tag--moderate">moderate confidence</span>' in html


def test_no_roadmap_where_the_sources_give_no_schedule(clinician: User) -> None:
    pid = _create(clinician, STARTED | {"display_name": "T-cell roadmap", "immunophenotype": "T"})
    html = clinician.get(f"/patients/{pid}").text
    phases = _section(html, "phases")
    assert "No roadmap." in phases and "The sources give no phase-by-phase schedule for T-cell ALL." in phases
    assert "Phase 1 of 3" in phases  # the summary's phases are still shown
    assert "No doses: there is no roadmap for this child" in _text(_section(html, "doses"))
    calendar = clinician.get(f"/patients/{pid}/roadmap.ics")
    assert calendar.status_code == 409 and "T-cell ALL" in calendar.text


# ---- doses ------------------------------------------------------------------------------------------------


def test_a_tpmt_phenotype_shows_the_adjustment(clinician: User) -> None:
    pid = _create(
        clinician,
        STARTED | {"display_name": "TPMT child", "pharmacogenomics.tpmt": "poor", "pharmacogenomics.nudt15": "normal"},
    )
    doses = _section(clinician.get(f"/patients/{pid}").text, "doses")
    text = _text(doses)
    assert "Body surface area: 0.703 m² (Mosteller formula)" in text
    consolidation = doses[doses.index('id="doses-consolidation"') : doses.index('id="doses-interim_maintenance"')]
    row = re.search(r"<th scope=\"row\">mercaptopurine \(6-MP\)</th>(.*?)</tr>", consolidation, re.S)
    assert row is not None
    cells = _text(row.group(1))
    assert "5.3 mg" in cells and "per day, given three times weekly" in cells
    assert "TPMT/NUDT15 adjustment" in cells and "TPMT poor metabolizer: a tenth of the normal daily dose" in cells
    assert "10 % of the normal dose: 7.5 mg/m2 per day" in cells
    assert 'data-rule="pgx.mercaptopurine.tpmt_poor"' in row.group(1) and "pgx." not in cells
    assert 'href="/sources/facts#9-cpic-thiopurines-tpmt-and-nudt15"' in row.group(1)
    # Vincristine: its cap is named; the intrathecal dose needs the birth date after induction.
    assert "Cap 2 mg per dose, not reached." in text
    assert "Not calculated: the intrathecal dose depends on the age on the day" in text


def test_an_intermediate_phenotype_gives_a_range_and_indeterminate_is_refused(clinician: User) -> None:
    pid = _create(
        clinician,
        STARTED
        | {
            "display_name": "TPMT range child",
            "pharmacogenomics.tpmt": "intermediate",
            "pharmacogenomics.nudt15": "normal",
        },
    )
    text = _text(_section(clinician.get(f"/patients/{pid}").text, "doses"))
    assert "15.8 to 42.2 mg" in text and "30 to 80 % of the normal dose" in text
    pid = _create(
        clinician,
        STARTED
        | {
            "display_name": "TPMT unknown child",
            "pharmacogenomics.tpmt": "indeterminate",
            "pharmacogenomics.nudt15": "normal",
        },
    )
    doses = _section(clinician.get(f"/patients/{pid}").text, "doses")
    assert "Not calculated: The TPMT result is indeterminate" in _text(doses)
    assert 'aria-label="Sources of the refusal"' in doses


def test_without_the_phenotypes_mercaptopurine_is_not_calculated(clinician: User) -> None:
    pid = _create(clinician, STARTED | {"display_name": "No TPMT child"})
    doses = _text(_section(clinician.get(f"/patients/{pid}").text, "doses"))
    assert "Not calculated: mercaptopurine needs the TPMT and NUDT15 results" in doses
    assert "TPMT/NUDT15 adjustment" not in doses


def test_a_missing_weight_shows_not_calculated(clinician: User) -> None:
    fields = {k: v for k, v in STARTED.items() if k != "weight_kg"} | {"display_name": "No weight child"}
    pid = _create(clinician, fields)
    doses = _section(clinician.get(f"/patients/{pid}").text, "doses")
    box = re.search(r'<div class="refusal-box" role="note">(.*?)</div>', doses, re.S)
    assert box is not None
    message = _text(box.group(1))
    assert "Not calculated: the weight is needed to calculate doses (kilograms)" in message
    assert "(weight (kg))" in message and "weight_kg" not in message
    assert f'href="/patients/{pid}/edit#f-weight_kg"' in box.group(1)
    assert '<table class="table table--stack table--doses"' not in doses


def test_a_capped_dose_says_so(clinician: User) -> None:
    # A large child: vincristine 1.5 mg/m2 would be more than 2 mg.
    pid = _create(
        clinician, STARTED | {"display_name": "Large child", "age_years": "9", "weight_kg": "45", "height_cm": "150"}
    )
    text = _text(_section(clinician.get(f"/patients/{pid}").text, "doses"))
    assert "capped at 2 mg" in text and "Vincristine is never given above 2 mg per dose" in text


# ---- survivorship ---------------------------------------------------------------------------------------------


def test_survivorship_plan_from_the_courses_given(clinician: User) -> None:
    pid = _create(
        clinician,
        STARTED
        | {
            "display_name": "Survivorship child",
            "exposures.courses[0].drug": "doxorubicin",
            "exposures.courses[0].date": "2026-05-01",
            "exposures.courses[0].dose_mg_per_m2": "25",
            "exposures.courses[1].drug": "daunorubicin",
            "exposures.courses[1].date": "2026-05-08",
            "exposures.courses[1].dose_mg_per_m2": "100",
        },
    )
    html = _section(clinician.get(f"/patients/{pid}").text, "survivorship")
    text = _text(html)
    assert "From the treatment recorded as given" in text
    assert "Cumulative anthracycline (doxorubicin equivalent) 85 mg/m2" in text
    assert re.search(r"daunorubicin</th>\s*<td[^>]*>100 mg/m2</td>\s*<td[^>]*>× 0.6</td>\s*<td[^>]*>60 mg/m2", html)
    # Another published factor (daunorubicin 1:1) would make heart surveillance reasonable: flagged.
    flagged = re.search(r'<div class="notice notice--warning alternative alternative--changes"(.*?)</div>', html, re.S)
    assert flagged is not None
    assert "the total is 125 mg/m2: heart surveillance reasonable" in _text(flagged.group(1))
    assert "the surveillance would not change" in text  # the Feijen factor
    # The follow-up item with its test, first date and citations; and the explicit not-covered items.
    assert "echocardiogram" in text and "no later than 2028-05-08" in text
    assert 'href="/sources/facts#10-late-effects-and-survivorship-cog-ltfu-and-passport-for-care"' in html
    assert "Not covered" in text and "COG long-term follow-up tables (version 6) were not verified" in text


def test_survivorship_plan_from_the_roadmap(clinician: User) -> None:
    pid = _create(clinician, STARTED | {"display_name": "Planned survivorship child"})
    text = _text(_section(clinician.get(f"/patients/{pid}").text, "survivorship"))
    assert "From the planned treatment of the roadmap" in text
    assert "75 mg/m2" in text and "2028-03-01 (planned, from the roadmap)" in text
    assert "pubertal development check" in text and "every year" in text


# ---- the calendar -----------------------------------------------------------------------------------------------


def test_the_roadmap_calendar(clinician: User, web: WebApp) -> None:
    pid = _create(clinician, STARTED | {"display_name": "Calendar child"})
    response = clinician.get(f"/patients/{pid}/roadmap.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert 'filename="allpath-roadmap-v1.ics"' in response.headers["content-disposition"]
    body = response.text
    assert body.startswith("BEGIN:VCALENDAR") and "SUMMARY;LANGUAGE=en:Induction (three drugs)" in body
    assert "DTSTART;VALUE=DATE:20260105" in body and "Calendar child" not in body
    undated = _create(clinician, STANDARD | {"display_name": "Undated calendar child"})
    refused = clinician.get(f"/patients/{undated}/roadmap.ics")
    assert refused.status_code == 409 and "give the first day of treatment" in refused.text
    assert clinician.get(f"/patients/{web.ids['other_team']}/roadmap.ics").status_code == 404
    with web.app.state.sessions() as s:
        outcomes = {
            (e.resource_id, e.outcome)
            for e in s.scalars(select(t.AuditEntry).where(t.AuditEntry.resource == "roadmap_calendar"))
        }
    assert {(pid, "ok"), (undated, "invalid")} <= outcomes


# ---- the family -------------------------------------------------------------------------------------------------


def test_family_sees_the_road_ahead_and_check_ups_but_no_doses(clinician: User, web: WebApp, tmp_path: Path) -> None:
    pid = _create(
        clinician,
        STARTED
        | {
            "display_name": "Family roadmap child",
            "pharmacogenomics.tpmt": "poor",
            "pharmacogenomics.nudt15": "normal",
        },
    )
    family = _family_of(web, clinician, pid, "roadmap.family")
    # The family's page about the child is the report: never the clinician page with the doses.
    redirect = family.get(f"/patients/{pid}", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == f"/patients/{pid}/report"
    html = family.get(f"/patients/{pid}/report").text
    report = html[html.index('<article class="report"') : html.index("</article>")]
    text = _text(report)
    assert "<h2>The road ahead</h2>" in report and "<h2>Check-ups after treatment</h2>" in report
    assert "Treatment started on Monday 5 January 2026." in text
    assert "Induction (three drugs): from Monday 5 January 2026 to Sunday 1 February 2026 (4 weeks)." in text
    assert "Tests to see how the treatment is working:" in text
    assert "Day 8 blood MRD (planned for Monday 12 January 2026)" in text
    assert "The planned end of treatment is around Wednesday 1 March 2028." in text
    assert "Dates can move; the care team will confirm." in text
    assert "What to watch for: cardiomyopathy (weakening of the heart muscle). Check: echocardiogram" in text
    assert "Your survivorship clinic will plan these:" in text
    for word in ["Body surface area", "Not calculated", "TPMT", "Doses", "doxorubicin equivalent", "mg/m2"]:
        assert word not in html, word
    assert not DOSE.search(text), DOSE.search(text)
    # The calendar is the family's too (it holds no doses).
    assert f'href="/patients/{pid}/roadmap.ics"' in html
    calendar = family.get(f"/patients/{pid}/roadmap.ics")
    assert calendar.status_code == 200 and "BEGIN:VCALENDAR" in calendar.text
    assert not DOSE.search(calendar.text)

    # The PDF says the same.
    response = family.get(f"/patients/{pid}/report.pdf")
    assert response.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    words = re.sub(r"\s+", " ", pdf_text(pdf))
    for phrase in [
        "The road ahead",
        "Treatment started on Monday 5 January 2026",
        "Tests to see how the treatment is working",
        "The planned end of treatment is around Wednesday 1 March 2028",
        "Dates can move; the care team will confirm",
        "Check-ups after treatment",
        "What to watch for",
        "Your survivorship clinic will plan these",
    ]:
        assert phrase in words, phrase
    assert "Body surface area" not in words and not DOSE.search(words)


def test_family_report_without_a_roadmap_says_so(clinician: User) -> None:
    pid = _create(clinician, STARTED | {"display_name": "T-cell family child", "immunophenotype": "T"})
    text = _text(clinician.get(f"/patients/{pid}/report").text)
    assert "allpath cannot show a timetable for your child's treatment." in text
    assert "The sources give no phase-by-phase schedule for T-cell ALL." in text
    assert "roadmap.ics" not in clinician.get(f"/patients/{pid}/report").text
