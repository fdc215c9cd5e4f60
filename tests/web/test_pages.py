"""Each page with FastAPI's TestClient: status, key content and the access rules."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from allpath.interfaces.web.pages import STATIC_DIR, slug
from allpath.knowledge.loader import KnowledgeBase
from allpath.storage import tables as t
from tests.web.conftest import User, WebApp, sign_in

NEW_PATIENT = {
    "display_name": "Web test child",
    "sex": "female",
    "age_years": "4",
    "immunophenotype": "B",
    "wbc_per_ul": "12000",
}


def _disclaimer(kb: KnowledgeBase) -> str:
    # Jinja escapes the apostrophe of "child's".
    return kb.text.disclaimer.replace("'", "&#39;")


def _create(user: User, **fields: str) -> str:
    response = user.post("/patients/new", NEW_PATIENT | fields, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    location: str = response.headers["location"]
    assert re.fullmatch(r"/patients/[0-9a-f-]{36}", location)
    return location.rsplit("/", 1)[1]


def _audit_entries(web: WebApp, resource: str, resource_id: str) -> list[t.AuditEntry]:
    with web.app.state.sessions() as s:
        return list(
            s.scalars(
                select(t.AuditEntry).where(t.AuditEntry.resource == resource, t.AuditEntry.resource_id == resource_id)
            )
        )


# ---- every page: disclaimer, language, skip link, security headers -------------------------------------


@pytest.mark.parametrize("path", ["/signin", "/join", "/sources", "/sources/pdq"])
def test_public_pages_show_the_disclaimer(anonymous: TestClient, kb: KnowledgeBase, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert 'href="#main"' in response.text and 'id="main"' in response.text
    assert _disclaimer(kb) in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_signed_in_pages_show_the_disclaimer(
    clinician: User, family: User, researcher: User, admin: User, web: WebApp, kb: KnowledgeBase
) -> None:
    pages = [
        (clinician, "/patients"),
        (clinician, "/patients/new"),
        (clinician, f"/patients/{web.ids['family_child']}"),
        (clinician, f"/patients/{web.ids['family_child']}/edit"),
        (clinician, f"/patients/{web.ids['family_child']}/report"),
        (family, "/patients"),
        (family, f"/patients/{web.ids['family_child']}/report"),
        (researcher, "/export"),
        (admin, "/admin/users"),
        (admin, "/admin/audit"),
    ]
    for user, path in pages:
        response = user.get(path)
        assert response.status_code == 200, path
        assert _disclaimer(kb) in response.text, path
        assert 'class="skip-link"' in response.text, path


# ---- signing in and out ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(anonymous: TestClient, web: WebApp) -> None:
    for path in ["/", "/patients", f"/patients/{web.ids['family_child']}", "/export", "/admin/users"]:
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin"), path
    response = anonymous.get("/patients?q=abc")
    assert response.headers["location"] == "/signin?next=%2Fpatients%3Fq%3Dabc"


def test_anonymous_htmx_request_is_redirected_by_header(anonymous: TestClient) -> None:
    response = anonymous.get("/patients?q=x", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["hx-redirect"].startswith("/signin")


def test_sign_in_goes_to_the_page_asked_for(web: WebApp) -> None:
    client = TestClient(web.app, follow_redirects=False)
    form = client.get("/signin?next=/sources/pdq")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None and 'name="next" value="/sources/pdq"' in form.text
    response = client.post(
        "/signin",
        data={
            "username": "researcher",
            "password": "demo-researcher-1",
            "csrf_token": token.group(1),
            "next": "/sources/pdq",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/sources/pdq"
    assert "allpath_session" in response.cookies


def test_sign_in_rejects_another_sites_form_and_a_wrong_password(web: WebApp) -> None:
    client = TestClient(web.app, follow_redirects=False)
    response = client.post("/signin", data={"username": "admin", "password": "demo-admin-0001", "csrf_token": "forged"})
    assert response.status_code == 400 and "allpath_session" not in response.cookies
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    response = client.post(
        "/signin", data={"username": "admin", "password": "wrong-password", "csrf_token": token.group(1)}
    )
    assert response.status_code == 401
    assert "The user name or password is wrong." in response.text
    assert "allpath_session" not in response.cookies


def test_next_never_leaves_the_site(web: WebApp) -> None:
    client = TestClient(web.app, follow_redirects=False)
    form = client.get("/signin?next=//evil.example/")
    assert 'name="next" value="/"' in form.text


def test_sign_out_needs_the_csrf_token_and_ends_the_session(web: WebApp) -> None:
    user = sign_in(web.app, "researcher")
    assert user.post("/signout", csrf=False, follow_redirects=False).status_code == 403
    response = user.post("/signout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert user.get("/export", follow_redirects=False).status_code == 303


def test_the_session_works_for_the_json_api_too(clinician: User) -> None:
    response = clinician.get("/api/me")
    assert response.status_code == 200 and response.json()["username"] == "dr.rivera"


def test_home_sends_each_role_to_its_start_page(
    clinician: User, family: User, researcher: User, admin: User, web: WebApp
) -> None:
    def target(user: User) -> str:
        location: str = user.get("/", follow_redirects=False).headers["location"]
        return location

    assert target(clinician) == "/patients"
    assert target(family) == f"/patients/{web.ids['family_child']}/report"
    assert target(researcher) == "/export"
    assert target(admin) == "/admin/users"


# ---- CSRF on every change -------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(clinician: User, admin: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    for user, path in [
        (clinician, "/patients/new"),
        (clinician, f"/patients/{child}/edit"),
        (clinician, f"/patients/{child}/invitations"),
        (clinician, "/patients/check"),
        (admin, "/admin/users"),
    ]:
        response = user.post(path, NEW_PATIENT, csrf=False)
        assert response.status_code == 403, path
        assert "security token" in response.text, path
        response = user.post(path, NEW_PATIENT | {"csrf_token": "wrong"}, csrf=False)
        assert response.status_code == 403, path


def test_the_csrf_header_works_like_the_form_field(clinician: User) -> None:
    response = clinician.client.post(
        "/patients/check", data={"wbc_per_ul": "-5"}, headers={"X-CSRF-Token": clinician.csrf, "HX-Request": "true"}
    )
    assert response.status_code == 200


# ---- patient list ------------------------------------------------------------------------------------------


def test_patient_list_shows_the_own_team_only(clinician: User, other_clinician: User) -> None:
    mine = clinician.get("/patients")
    assert mine.status_code == 200
    assert "Example standard risk" in mine.text and "Other team child" not in mine.text
    theirs = other_clinician.get("/patients")
    assert "Other team child" in theirs.text and "Example standard risk" not in theirs.text


def test_patient_search_full_page_and_htmx_rows(clinician: User) -> None:
    full = clinician.get("/patients?q=relapse")
    assert "Example relapse combined" in full.text and "Example standard risk" not in full.text
    assert '<form method="get" action="/patients" role="search"' in full.text
    rows = clinician.get("/patients?q=infant", headers={"HX-Request": "true"})
    assert rows.text.lstrip().startswith('<div id="patient-rows"')
    assert "Example infant" in rows.text and "<html" not in rows.text
    assert '<p id="search-status" hx-swap-oob="innerHTML">1 patient matching' in rows.text
    none = clinician.get("/patients?q=zzz-nobody")
    assert "No patient matches" in none.text


def test_family_list_shows_their_child_only(family: User, web: WebApp) -> None:
    response = family.get("/patients")
    assert response.status_code == 200
    assert f"/patients/{web.ids['family_child']}/report" in response.text
    assert response.text.count('<th scope="row">') == 1


def test_roles_that_may_not_see_patients(researcher: User, admin: User, family: User) -> None:
    for user in (researcher, admin):
        assert user.get("/patients").status_code == 403
        assert user.get("/patients/new").status_code == 403
    assert family.get("/patients/new").status_code == 403


# ---- the record form -------------------------------------------------------------------------------------


def test_new_patient_form_labels_every_input(clinician: User) -> None:
    html = clinician.get("/patients/new").text
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    assert len(ids) > 30
    for input_id in ids:
        assert f'for="{input_id}"' in html, input_id
    for name in [
        "display_name",
        "id",
        "sex",
        "age_years",
        "birth_date",
        "diagnosis_date",
        "weight_kg",
        "height_cm",
        "immunophenotype",
        "wbc_per_ul",
        "genetics",
        "cns_status",
        "testicular_involvement",
        "down_syndrome",
        "predisposition_syndromes",
        "steroid_pretreatment",
        "response.day8_blood_mrd_pct",
        "response.end_of_induction_marrow_mrd_pct",
        "response.end_of_induction_remission",
        "response.end_of_consolidation_mrd_pct",
        "relapses[0].months_from_diagnosis",
        "relapses[0].sites",
        "relapses[0].end_of_block1_mrd_pct",
        "refractory",
    ]:
        assert f'name="{name}"' in html, name


def test_invalid_record_shows_the_api_message_beside_the_field(clinician: User) -> None:
    response = clinician.post("/patients/new", NEW_PATIENT | {"wbc_per_ul": "-5"})
    assert response.status_code == 422
    api = clinician.client.post("/api/assess", json={"wbc_per_ul": -5}, headers={"X-CSRF-Token": clinician.csrf}).json()
    message = api["errors"][0]["message"]
    assert api["errors"][0]["field"] == "wbc_per_ul"
    assert message.startswith("white blood cell count at diagnosis (per microliter): -5")
    assert message in response.text
    box = re.search(r'<p class="field-error" id="e-wbc_per_ul">(.*?)</p>', response.text, re.S)
    assert box is not None and message in box.group(1)
    field = re.search(r'<input id="f-wbc_per_ul"[^>]*>', response.text, re.S)
    assert field is not None
    assert 'aria-describedby="h-wbc_per_ul e-wbc_per_ul"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert 'value="-5"' in field.group(0)
    assert 'href="#f-wbc_per_ul"' in response.text  # the error summary links to the input


def test_text_in_a_number_field_gets_the_validators_message(clinician: User) -> None:
    response = clinician.post("/patients/new", NEW_PATIENT | {"age_years": "four"})
    assert response.status_code == 422
    assert "age at diagnosis (years): &#34;four&#34; is not allowed" in response.text
    response = clinician.post("/patients/new", NEW_PATIENT | {"response.day8_blood_mrd_pct": "150"})
    assert "day 8 blood MRD (%): 150 is not allowed" in response.text
    box = re.search(r'id="e-response-day8_blood_mrd_pct">(.*?)</p>', response.text, re.S)
    assert box is not None and "150 is not allowed" in box.group(1)


def test_cross_field_and_relapse_problems_are_placed(clinician: User) -> None:
    response = clinician.post(
        "/patients/new",
        NEW_PATIENT
        | {
            "testicular_involvement": "true",
            "relapses[0].months_from_diagnosis": "20",
            "relapses[1].months_from_diagnosis": "10",
            "relapses[1].sites": "cns",
        },
    )
    assert response.status_code == 422
    assert re.search(r'id="e-testicular_involvement">.*only possible when sex is', response.text, re.S)
    assert re.search(r'id="e-relapses-0-sites">.*expected a non-empty list of sites', response.text, re.S)
    assert re.search(r'id="e-relapses-1-months_from_diagnosis">.*relapses oldest first', response.text, re.S)


def test_display_name_is_required(clinician: User) -> None:
    response = clinician.post("/patients/new", NEW_PATIENT | {"display_name": ""})
    assert response.status_code == 422
    expected = r'id="e-display_name">.*name shown in the patient list: &#34;&#34; is not allowed'
    assert re.search(expected, response.text, re.S)


def test_live_check_swaps_each_fields_message(clinician: User) -> None:
    response = clinician.post("/patients/check", {"wbc_per_ul": "-5", "age_years": "4"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "1 problem found" in response.text
    assert re.search(
        r'<p class="field-error" id="e-wbc_per_ul" hx-swap-oob="true">.*-5 is not allowed', response.text, re.S
    )
    assert '<p class="field-error" id="e-age_years" hx-swap-oob="true"></p>' in response.text
    assert '<div id="error-summary" hx-swap-oob="true">' in response.text


def test_relapse_row_fragment(clinician: User) -> None:
    response = clinician.get("/patients/relapse-row?index=2")
    assert 'name="relapses[2].months_from_diagnosis"' in response.text
    assert 'hx-get="/patients/relapse-row?index=3"' in response.text and 'hx-swap-oob="true"' in response.text


def test_create_then_update_shows_the_change_and_history(clinician: User, web: WebApp) -> None:
    pid = _create(clinician)
    page = clinician.get(f"/patients/{pid}").text
    assert "Web test child" in page and "standard risk" in page
    assert "Provisional." in page

    form = clinician.get(f"/patients/{pid}/edit").text
    assert 'value="12000"' in form and 'value="Web test child"' in form
    response = clinician.post(
        f"/patients/{pid}/edit",
        NEW_PATIENT | {"response.end_of_induction_marrow_mrd_pct": "1.2"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"/patients/{pid}#changes"
    page = clinician.get(f"/patients/{pid}").text
    assert "What changed in version 2" in page
    assert "risk group: standard -&gt; very high, because end-of-induction bone marrow MRD 1.2 %" in page
    assert "Version 1" in page and "Version 2" in page

    # Saving the unchanged form stores no new version.
    unchanged = clinician.post(
        f"/patients/{pid}/edit",
        NEW_PATIENT | {"response.end_of_induction_marrow_mrd_pct": "1.2"},
        follow_redirects=False,
    )
    assert unchanged.headers["location"].endswith("?unchanged=1")
    assert clinician.get("/api/patients/" + pid).json()["current_version"] == 2
    actions = {(e.action, e.outcome) for e in _audit_entries(web, "patient", pid)}
    assert {("create", "ok"), ("update", "ok"), ("read", "ok")} <= actions


def test_patient_page_shows_the_assessment(clinician: User, web: WebApp, kb: KnowledgeBase) -> None:
    pid = _create(clinician, display_name="Complete child", genetics="ETV6::RUNX1")
    html = clinician.get(f"/patients/{pid}").text
    # both classifications, with their factors and citations to the sources page
    assert "Risk group (PDQ summary)" in html and "COG risk group" in html
    assert "risk.nci.standard" in html
    section = "Risk groups for childhood acute lymphoblastic leukemia"
    assert f'href="/sources/pdq#{slug(section)}"' in html
    # the work-up checklist names the tests still to do
    assert "Work-up: tests still to do" in html and "Lumbar puncture (spinal tap)" in html
    # the three phases in order, with goals
    phases = re.findall(r"<h3>Phase (\d) of 3: ([^<]+)</h3>", html)
    assert [n for n, _ in phases] == ["1", "2", "3"]
    assert phases[0][1] == "Remission induction"
    assert '<ol class="timeline" aria-label="Treatment phases, in order">' in html
    # therapies and drugs with certainty, not covered, history
    assert "Combination chemotherapy" in html and "part of every plan for this group" in html
    assert "vincristine" in html
    assert 'id="not-covered"' in html and "Assessment history" in html


def test_populations_and_relapse_sections(clinician: User) -> None:
    rows = clinician.get("/patients?q=relapse combined").text
    pid = re.search(r'href="/patients/([0-9a-f-]{36})"', rows)
    assert pid is not None
    html = clinician.get(f"/patients/{pid.group(1)}").text
    assert '<h2 id="relapse-title">Relapse</h2>' in html and "relapse high risk" in html
    rows = clinician.get("/patients?q=multi population").text
    pid = re.search(r'href="/patients/([0-9a-f-]{36})"', rows)
    assert pid is not None
    html = clinician.get(f"/patients/{pid.group(1)}").text
    assert "population=" in html


def test_other_teams_patient_does_not_exist(clinician: User, web: WebApp) -> None:
    other = web.ids["other_team"]
    for path in [
        f"/patients/{other}",
        f"/patients/{other}/edit",
        f"/patients/{other}/report",
        f"/patients/{other}/report.pdf",
    ]:
        response = clinician.get(path)
        assert response.status_code == 404, path
        assert "No such patient" in response.text
    assert clinician.post(f"/patients/{other}/edit", NEW_PATIENT).status_code == 404
    assert any(e.outcome == "denied" for e in _audit_entries(web, "patient", other))


# ---- the family ---------------------------------------------------------------------------------------------


def test_family_sees_their_childs_report_only(family: User, web: WebApp) -> None:
    child, other = web.ids["family_child"], web.ids["not_family"]
    page = family.get(f"/patients/{child}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/patients/{child}/report"
    report = family.get(f"/patients/{child}/report")
    assert report.status_code == 200 and "Family report for" in report.text
    for path in [f"/patients/{other}", f"/patients/{other}/report", f"/patients/{other}/report.pdf"]:
        assert family.get(path).status_code == 404, path
    assert family.get(f"/patients/{child}/edit").status_code == 403


def test_family_report_page_has_the_report_blocks(clinician: User, web: WebApp, kb: KnowledgeBase) -> None:
    child = web.ids["family_child"]
    html = clinician.get(f"/patients/{child}/report").text
    headings = ["Fever during treatment: call the care team at once", "Where things stand", "Risk group"]
    for heading in [*headings, "The phases of treatment"]:
        assert f"<h2>{heading}</h2>" in html, heading
    assert "Questions you may want to ask" in html
    assert f'href="/patients/{child}/report.pdf"' in html


def test_family_report_pdf_is_audited(family: User, web: WebApp) -> None:
    child = web.ids["family_child"]
    response = family.get(f"/patients/{child}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert 'attachment; filename="allpath-family-report-v' in response.headers["content-disposition"]
    details = {e.detail for e in _audit_entries(web, "family_report", child)}
    assert {"html", "pdf"} <= details


def test_api_report_routes_follow_the_same_rules(web: WebApp, family: User, clinician: User) -> None:
    child, other = web.ids["family_child"], web.ids["not_family"]
    html = family.get(f"/api/patients/{child}/report.html")
    assert html.status_code == 200 and html.text.startswith("<!doctype html>")
    assert family.get(f"/api/patients/{other}/report.html").status_code == 404
    assert family.get(f"/api/patients/{other}/report.pdf").status_code == 404
    token = clinician.client.post("/api/tokens", json={"name": "report test"}, headers={"X-CSRF-Token": clinician.csrf})
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    anonymous = TestClient(web.app)
    assert anonymous.get(f"/api/patients/{child}/report.pdf").status_code == 401
    pdf = anonymous.get(f"/api/patients/{child}/report.pdf", headers=bearer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert anonymous.get(f"/api/patients/{web.ids['other_team']}/report.pdf", headers=bearer).status_code == 404
    paths = TestClient(web.app).get("/api/openapi.json").json()["paths"]
    assert "/api/patients/{patient_id}/report.pdf" in paths and "/patients" not in paths


def test_invitation_code_lets_a_family_join(clinician: User, web: WebApp) -> None:
    pid = _create(clinician, display_name="Invited child")
    response = clinician.post(f"/patients/{pid}/invitations")
    assert response.status_code == 201
    code = re.search(r'<p class="code-box"><code>([0-9A-F-]+)</code></p>', response.text)
    assert code is not None
    client = TestClient(web.app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/join").text)
    assert token is not None
    short = client.post(
        "/join",
        data={
            "code": code.group(1),
            "username": "new.family",
            "display_name": "A family",
            "password": "short",
            "csrf_token": token.group(1),
        },
    )
    assert short.status_code == 422 and "password" in short.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', short.text)
    assert token is not None
    joined = client.post(
        "/join",
        data={
            "code": code.group(1),
            "username": "new.family",
            "display_name": "A family",
            "password": "a-long-password-1",
            "csrf_token": token.group(1),
        },
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/signin?joined=1"
    family = sign_in(web.app, "new.family", "a-long-password-1")
    assert family.get(f"/patients/{pid}/report").status_code == 200
    assert family.get(f"/patients/{web.ids['family_child']}/report").status_code == 404


# ---- researcher and administrator ------------------------------------------------------------------------------


def test_researcher_export_holds_no_names_ids_or_dates(researcher: User, web: WebApp) -> None:
    page = researcher.get("/export")
    assert page.status_code == 200 and "De-identified research export" in page.text
    rows = json.loads(researcher.get("/export/deidentified.json").text)
    assert len(rows) >= 27
    text = json.dumps(rows)
    with web.app.state.sessions() as s:
        patients = list(s.scalars(select(t.Patient)))
    for patient in patients:
        assert patient.display_name not in text and patient.id not in text
    for row in rows:
        assert not {"id", "birth_date", "diagnosis_date"} & set(row["record"])
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    table = list(csv.reader(io.StringIO(researcher.get("/export/deidentified.csv").text)))
    assert table[0][:3] == ["pseudonym", "disease_state", "risk_group"]
    assert len(table) == len(rows) + 1
    assert not any(c.startswith(("record.id", "record.birth_date", "record.diagnosis_date")) for c in table[0])


def test_only_researchers_export(clinician: User, family: User, admin: User) -> None:
    for user in (clinician, family, admin):
        assert user.get("/export").status_code == 403
        assert user.get("/export/deidentified.json").status_code == 403


def test_admin_users_and_audit_log(admin: User, clinician: User) -> None:
    users = admin.get("/admin/users")
    assert users.status_code == 200 and "dr.rivera" in users.text and "Demo oncology team" in users.text
    bad = admin.post("/admin/users", {"username": "x", "display_name": "", "role": "clinician"})
    assert bad.status_code == 422 and 'id="user-username-error"' in bad.text
    no_team = admin.post(
        "/admin/users",
        {"username": "nurse.kim", "display_name": "Nurse Kim", "role": "clinician"},
    )
    assert no_team.status_code == 422 and "a clinician needs a team" in no_team.text
    created = admin.post(
        "/admin/users",
        {
            "username": "nurse.kim",
            "display_name": "Nurse Kim",
            "role": "clinician",
            "team": "Demo oncology team",
        },
        follow_redirects=False,
    )
    assert created.status_code == 201 and "One-time activation code" not in created.headers.get("location", "")
    assert re.search(r"<code>[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}</code>", created.text)  # shown once, to hand over
    assert "nurse.kim" in admin.get("/admin/users").text
    log = admin.get("/admin/audit?limit=50")
    assert log.status_code == 200 and "sign in" in log.text
    assert "Web test child" not in log.text
    assert clinician.get("/admin/audit").status_code == 403


# ---- sources ----------------------------------------------------------------------------------------------------


def test_sources_page_lists_every_registered_section(anonymous: TestClient, kb: KnowledgeBase) -> None:
    pdq = kb.sources["pdq"]
    html = anonymous.get("/sources/pdq").text
    assert pdq.revised is not None and pdq.url is not None
    assert pdq.revised in html and pdq.url in html
    for section in pdq.sections:
        assert f'id="{slug(section)}"' in html, section
    assert anonymous.get("/sources/nothing").status_code == 404
    assert anonymous.get("/sources/facts").status_code == 200


def test_every_citation_of_the_examples_has_an_anchor(clinician: User, kb: KnowledgeBase) -> None:
    rows = clinician.get("/patients").text
    pids = re.findall(r'href="/patients/([0-9a-f-]{36})"', rows)[:8]
    anchors: dict[str, set[str]] = {}
    for source_id in kb.sources:
        anchors[source_id] = set(
            re.findall(r'<li id="([^"]+)"', TestClient(clinician.client.app).get(f"/sources/{source_id}").text)
        )
    for pid in pids:
        for source_id, anchor in re.findall(
            r'href="/sources/([a-z-]+)#([^"]+)"', clinician.get(f"/patients/{pid}").text
        ):
            assert anchor in anchors[source_id], (source_id, anchor)


def test_static_files(anonymous: TestClient) -> None:
    htmx = anonymous.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    vendored = (STATIC_DIR / "VENDORED.md").read_text(encoding="utf-8")
    assert hashlib.sha256(htmx.content).hexdigest() in vendored, "update static/VENDORED.md with htmx"
    assert anonymous.get("/static/allpath.css").status_code == 200


def test_the_form_page_shows_every_problem_at_once(clinician: User) -> None:
    response = clinician.post(
        "/patients/new",
        NEW_PATIENT | {"age_years": "four", "wbc_per_ul": "-5", "response.day8_blood_mrd_pct": "101"},
    )
    assert response.status_code == 422
    page = html.unescape(response.text)
    assert 'age at diagnosis (years): "four" is not allowed' in page
    assert "white blood cell count at diagnosis (per microliter): -5 is not allowed" in page
    assert "day 8 blood MRD (%): 101 is not allowed" in page
