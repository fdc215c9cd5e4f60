"""No record path, machine key or library message on any page or report (issue 10, item 3 and acceptance).

Every kind of page is rendered as each role that can see it (the example patients, a record with warnings,
forms with problems) and every example's family report in every format (text, Markdown, web page, PDF via
pdftotext); the text a person sees is scanned for snake_case identifiers and for pydantic's messages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from allpath.domain.record import parse_record
from allpath.engine.assess import assess
from allpath.engine.roadmap import build_roadmap
from allpath.interfaces.report import build_blocks, render_markdown, render_text
from allpath.knowledge.loader import KnowledgeBase
from tests.conftest import EXAMPLES
from tests.web.conftest import User, WebApp, require_tool

EXAMPLE_PATHS = sorted(p for p in EXAMPLES.glob("*.json") if p.stem != "all")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
LIBRARY_WORDS = re.compile(r"String should|Input should|Value error|Field required|validation error", re.IGNORECASE)
# Nothing of the software may look like an identifier. Record ids (``_record_ids``) are allowed: a record id is
# the clinician's own label for a record, shown on the clinician's page (never in a family report).
ALLOWED: frozenset[str] = frozenset()


class _VisibleText(HTMLParser):
    """The text of a page as a person sees it: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _VisibleText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


# A URL path (the audit log names the route of a refused request: /api/patients/{patient_id}) is an address,
# not a word of a sentence.
URL_PATH = re.compile(r"\S*/\S*")


def leaks(text: str, allowed: frozenset[str] = ALLOWED) -> list[str]:
    found = [m for m in SNAKE.findall(URL_PATH.sub(" ", text)) if m not in allowed]
    found += LIBRARY_WORDS.findall(text)
    return sorted(set(found))


def test_the_scan_finds_a_record_path_and_a_library_message() -> None:
    page = '<p title="wbc_per_ul">White count</p><script>x_y = 1</script><p>String should have 10 characters</p>'
    assert leaks(visible_text(page)) == ["String should"]
    assert leaks(visible_text("<p>Provisional: <code>response.end_of_induction_marrow_mrd_pct</code></p>")) == [
        "end_of_induction_marrow_mrd_pct"
    ]
    assert leaks("a tag risk_group=standard") == ["risk_group"]
    assert leaks("refused GET /api/patients/{patient_id}/report.pdf") == []


def _record_ids() -> frozenset[str]:
    import json

    return frozenset(str(json.loads(p.read_text(encoding="utf-8")).get("id") or "") for p in EXAMPLE_PATHS)


def _patient_links(user: User) -> list[str]:
    listing = user.get("/patients").text
    return sorted(set(re.findall(r'href="(/patients/[0-9a-f-]{36})"', listing)))


def _assert_plain(what: str, page: str, allowed: frozenset[str] = ALLOWED) -> None:
    text = visible_text(page)
    found = leaks(text, allowed | _record_ids())
    assert found == [], f"{what}: {found} in " + " / ".join(
        text[max(0, text.find(f) - 80) : text.find(f) + 80] for f in found[:6]
    )


def test_every_page_of_a_clinician_is_in_plain_words(clinician: User) -> None:
    for url in ("/patients", "/patients/new", "/patients/import", "/sources", "/account", "/team"):
        response = clinician.get(url)
        assert response.status_code == 200, url
        _assert_plain(url, response.text)
    sources = sorted(set(re.findall(r'href="(/sources/[a-z0-9-]+)"', clinician.get("/sources").text)))
    assert sources
    for url in sources:
        response = clinician.get(url)
        assert response.status_code == 200, url
        _assert_plain(url, response.text)
    missing = clinician.get("/patients/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    _assert_plain("a page that is not there", missing.text)
    links = _patient_links(clinician)
    assert len(links) >= len(EXAMPLE_PATHS)
    for link in links:
        for url in (link, f"{link}/edit", f"{link}/report"):
            response = clinician.get(url)
            assert response.status_code == 200, url
            _assert_plain(url, response.text)


def test_a_record_with_warnings_shows_them_in_plain_words(clinician: User) -> None:
    from tests.web.test_pages import NEW_PATIENT

    response = clinician.post(
        "/patients/new",
        NEW_PATIENT | {"wbc_per_ul": "500", "genetics": ["BCR::ABL1", "ph_like"]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    _assert_plain("patient with warnings", response.text)
    text = visible_text(response.text)
    assert "The white blood cell count at diagnosis is 500 per microliter" in text
    assert "Please check the unit" in text
    assert "the two cannot both be right" in text


def test_forms_with_problems_are_in_plain_words(clinician: User, admin: User, anonymous: object) -> None:
    from tests.web.test_pages import NEW_PATIENT

    response = clinician.post(
        "/patients/new",
        NEW_PATIENT | {"age_years": "four", "wbc_per_ul": "-5", "response.day8_blood_mrd_pct": "101"},
    )
    assert response.status_code == 422
    _assert_plain("patient form with problems", response.text)
    response = clinician.post("/account/password", {"current_password": "x", "new_password": "short"})
    _assert_plain("password change with a short password", response.text)
    response = admin.post("/admin/users", {"username": "a", "display_name": "", "role": "clinician", "password": "s"})
    _assert_plain("new user with problems", response.text)


def test_a_fhir_import_is_in_plain_words(clinician: User) -> None:
    import json

    from allpath.interfaces.fhir import record_to_bundle

    for path in EXAMPLE_PATHS:
        record = json.loads(path.read_text(encoding="utf-8"))
        response = clinician.post("/patients/import", {"bundle_text": json.dumps(record_to_bundle(record))})
        assert response.status_code == 200, path.stem
        _assert_plain(f"import of {path.stem}", response.text)


def test_the_pages_of_the_other_roles_are_in_plain_words(
    family: User, researcher: User, admin: User, web: WebApp
) -> None:
    for user, urls in (
        (family, [f"/patients/{web.ids['family_child']}/report", "/account"]),
        (researcher, ["/export", "/account"]),
        (admin, ["/admin/users", "/admin/audit", "/account"]),
    ):
        for url in urls:
            response = user.get(url)
            assert response.status_code == 200, url
            _assert_plain(url, response.text)


def test_the_signed_out_pages_are_in_plain_words(web: WebApp) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import FORM_TOKEN

    client = TestClient(web.app)
    for url in ("/signin", "/join", "/activate"):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_plain(url, response.text)
        token = FORM_TOKEN.search(response.text)
        assert token is not None
        posted = client.post(
            url,
            data={
                "csrf_token": token.group(1),
                "username": "someone",
                "password": "short",
                "code": "x",
                "display_name": "A",
            },
        )
        _assert_plain(f"{url} with problems", posted.text)


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_every_example_report_is_in_plain_words(path: Path, kb: KnowledgeBase) -> None:
    import json

    record = parse_record(json.loads(path.read_text(encoding="utf-8")))
    assessment = assess(record, kb)
    blocks = build_blocks(assessment, kb, roadmap=build_roadmap(record, assessment, kb, None))
    for rendered in (render_text(blocks), render_markdown(blocks)):
        assert leaks(" ".join(rendered.split())) == [], path.stem


def test_every_web_and_pdf_report_is_in_plain_words(clinician: User, tmp_path: Path) -> None:
    pdftotext = shutil.which("pdftotext")
    require_tool(pdftotext, "pdftotext (poppler-utils)")
    assert pdftotext is not None
    for link in _patient_links(clinician):
        pdf = clinician.get(f"{link}/report.pdf")
        assert pdf.status_code == 200, link
        target = tmp_path / "report.pdf"
        target.write_bytes(pdf.content)
        text = subprocess.run([pdftotext, str(target), "-"], capture_output=True, text=True, check=True).stdout
        assert leaks(" ".join(text.split()), _record_ids()) == [], link


def test_certainty_words_read_as_a_sentence(clinician: User) -> None:
    link = next(
        link for link in _patient_links(clinician) if "Example relapse marrow early" in clinician.get(link).text
    )
    text = visible_text(clinician.get(link).text)
    assert "An option the care team may choose" in text
    assert "may an option" not in text.lower()


def test_factors_show_plain_tags_and_labelled_inputs(clinician: User) -> None:
    link = next(link for link in _patient_links(clinician) if "Example standard risk" in clinician.get(link).text)
    page = clinician.get(link).text
    text = visible_text(page)
    assert "risk group: standard" in text and "risk_group=standard" not in text
    inputs = text[text.index("Inputs seen") :][:200]
    assert "age at diagnosis (years): 4.2" in inputs
    assert "white blood cell count at diagnosis (per microliter): 8500" in inputs
    assert 'data-effect="risk_group=standard"' in page  # software still finds the machine key


def test_the_patient_page_says_what_the_plan_held_back(clinician: User) -> None:
    link = next(link for link in _patient_links(clinician) if "Example infant" in clinician.get(link).text)
    text = visible_text(clinician.get(link).text)
    assert "Held back from the plan" in text
    held = text[text.index("Held back from the plan") :][:300]
    assert "Radiation therapy to the brain (and spinal cord)" in held
    assert "No radiation to the brain or spinal cord before the first birthday" in held


def test_the_pages_that_hand_over_a_code_are_in_plain_words(clinician: User, admin: User, web: WebApp) -> None:
    invitation = clinician.post(f"/patients/{web.ids['family_child']}/invitations")
    assert invitation.status_code in (200, 201)
    _assert_plain("an invitation code", invitation.text)
    created = admin.post(
        "/admin/users",
        {"username": "plain.words", "display_name": "Plain Words", "role": "clinician", "team": "Demo oncology team"},
    )
    assert created.status_code == 201
    _assert_plain("an activation code", created.text, frozenset({"plain.words"}))
