"""The team page withdraws a grant (never the clinician's own) and the account's own page says which team did and
when; the activation page answers 429 with ``Retry-After`` after too many failed attempts, in the reader's
language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from allpath.storage import users
from tests.web.conftest import FORM_TOKEN, User, WebApp
from tests.web.test_accounts_web import _confirm, _create, _play_the_person


def test_a_clinician_withdraws_a_colleague_on_the_team_page(web: WebApp, admin: User, clinician: User) -> None:
    username, code, user_id = _create(admin, "clinician", "Demo oncology team")
    colleague = _play_the_person(web, username, code)
    _confirm(clinician, user_id)
    assert colleague.get("/patients").status_code == 200
    assert "Retirar el acceso" in colleague.get("/team?lang=es").text  # the colleague's own session only
    page = clinician.get("/team").text
    assert f'action="/team/{user_id}/withdraw"' in page and "Withdraw access" in page
    withdrawn = clinician.post(f"/team/{user_id}/withdraw", follow_redirects=False)
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == f"/team?withdrawn={username}"
    assert colleague.get("/patients", follow_redirects=False).status_code == 403  # its very next request
    after = clinician.get(withdrawn.headers["location"]).text
    assert f"Access of <code>{username}</code> withdrawn" in after
    assert f'action="/team/{user_id}/confirm"' in after  # it waits again
    assert clinician.post(f"/team/{user_id}/withdraw").status_code == 404
    told = colleague.get("/account?lang=en").text  # the same session: it still opens its own page
    assert 'id="withdrawn"' in told and 'id="waiting"' not in told
    assert "The care team \u201cDemo oncology team\u201d withdrew your access to its patient data on " in told
    assert "A clinician of that team can grant it again." in told and "dr.rivera" not in told
    assert "El equipo médico \u201cDemo oncology team\u201d retiró su acceso" in colleague.get("/account?lang=es").text
    _confirm(clinician, user_id)
    assert 'id="withdrawn"' not in colleague.get("/account?lang=en").text  # granted again: nothing to say


def test_the_team_page_offers_no_withdrawal_of_your_own_access(web: WebApp, clinician: User) -> None:
    page = clinician.get("/team").text
    with web.app.state.sessions() as s:
        me = users.get_user(s, "dr.rivera")
        assert me is not None
    assert f'action="/team/{me.id}/withdraw"' not in page
    refused = clinician.post(f"/team/{me.id}/withdraw")
    assert refused.status_code == 409 and "another clinician of your team can" in refused.text
    assert clinician.get("/patients").status_code == 200


def test_the_activation_page_pauses_after_too_many_failures(web: WebApp, admin: User) -> None:
    username, code, _ = _create(admin, "researcher")
    limit = web.app.state.settings.sign_in_limits.per_name_and_client
    client = TestClient(web.app, follow_redirects=False, client=("203.0.113.77", 41000))

    def attempt(with_code: str, lang: str = "") -> tuple[int, str, str | None]:
        token = FORM_TOKEN.search(client.get("/activate" + lang).text)
        assert token is not None
        data = {"username": username, "code": with_code, "password": "a pass phrase of my own choosing"}
        response = client.post("/activate", data=data | {"password_again": data["password"], "csrf_token": token[1]})
        return response.status_code, response.text, response.headers.get("retry-after")

    for _ in range(limit):
        assert attempt("00000000-00000000-00000000")[0] == 400
    status, text, retry_after = attempt(code)
    assert status == 429 and retry_after is not None and int(retry_after) >= 1
    assert "Too many failed attempts with this user name from here" in text
    status, text, _ = attempt(code, "?lang=es")
    assert status == 429 and "Demasiados intentos fallidos" in text


def test_the_sign_in_page_says_when_to_try_again(web: WebApp) -> None:
    limit = web.app.state.settings.sign_in_limits.per_name_and_client
    client = TestClient(web.app, follow_redirects=False, client=("203.0.113.78", 41000))

    def attempt() -> tuple[int, str | None]:
        token = FORM_TOKEN.search(client.get("/signin").text)
        assert token is not None
        data = {"username": "dr.rivera", "password": "not the password", "csrf_token": token[1]}
        response = client.post("/signin", data=data)
        return response.status_code, response.headers.get("retry-after")

    assert [attempt()[0] for _ in range(limit)] == [401] * limit
    status, retry_after = attempt()
    assert status == 429 and retry_after is not None and 1 <= int(retry_after) <= 301
