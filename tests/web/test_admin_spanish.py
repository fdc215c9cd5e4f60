"""The care team's page, the invitation and the administrator's pages in Spanish (issue 14), and in English as
before; the account rules' reasons shown on them are the rules' own words, translated where shown."""

from __future__ import annotations

import inspect
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from allpath.accounts import passwords
from allpath.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from allpath.interfaces.web import account_words
from allpath.interfaces.web.account_words import AUDIT_ACTIONS, REASONS, refusal
from allpath.storage import accounts as account_rules
from allpath.storage import invitations
from tests.web.conftest import FORM_TOKEN, PASSWORDS, User, WebApp, sign_in

CHOSEN = "a pass phrase of my own choosing"


def _own_id(admin: User) -> str:
    found = re.search(r'<tr id="account-(\d+)">\s*<th scope="row"><code>admin</code>', admin.get("/admin/users").text)
    assert found is not None
    return found.group(1)


def test_the_accounts_page_in_spanish(web: WebApp) -> None:
    admin = sign_in(web.app, "admin")
    page = admin.get("/admin/users?lang=es").text
    assert '<html lang="es">' in page
    assert "<h1>Usuarios</h1>" in page and "Añadir una cuenta" in page and "Restablecer la contraseña" in page
    assert '<option value="clinician">médico</option>' in page  # the role's code stays the form's value
    assert "Add an account" not in page and "Reset password" not in page and ">clinician<" not in page
    notice = admin.get("/admin/users?done=deactivate&user=somebody").text  # the language is kept for the session
    assert "Cuenta somebody desactivada: sus sesiones terminaron y sus tokens de la API se anularon." in notice
    again = admin.get("/admin/users?done=reactivate&user=somebody").text
    assert (
        "<p>Cuenta somebody reactivada: puede iniciar sesión otra vez. Su equipo debe confirmarla otra vez antes "
        "de que vea datos de pacientes.</p>" in again
    )
    assert again.count("Usted crea las cuentas y las cuida") == 1


def test_a_refusal_and_a_new_accounts_code_in_spanish(web: WebApp) -> None:
    admin = sign_in(web.app, "admin")
    admin.get("/admin/users?lang=es")
    refused = admin.post(f"/admin/users/{_own_id(admin)}/deactivate")
    assert refused.status_code == 409
    assert "no puede desactivar su propia cuenta; pídaselo a otro administrador" in refused.text
    assert "you cannot" not in refused.text
    username = f"es.{uuid.uuid4().hex[:8]}"
    new = {"username": username, "display_name": "Ana Pérez"}
    no_team = admin.post("/admin/users", {**new, "role": "clinician"})
    assert no_team.status_code == 422 and "un médico necesita un equipo" in no_team.text
    made = admin.post("/admin/users", {**new, "role": "researcher"})
    assert made.status_code == 201
    assert f"Cuenta {username} creada" in made.text and "Entregue este código de activación" in made.text
    assert "Volver a las cuentas" in made.text


def test_the_audit_log_in_spanish_keeps_its_codes(web: WebApp) -> None:
    admin = sign_in(web.app, "admin")
    admin.get("/admin/users?lang=es")
    page = admin.get("/admin/audit").text
    assert "<h1>Registro de actividad</h1>" in page and "Entradas que mostrar" in page
    # The list of accounts just read is an entry: its codes kept as data, its words in Spanish.
    assert '<span data-code="list">listar</span>' in page and '<span data-code="user">usuario</span>' in page
    assert 'data-code="ok">correcto</span>' in page


def test_the_team_page_and_an_invitation_in_spanish(web: WebApp) -> None:
    clinician = sign_in(web.app, "dr.rivera")
    page = clinician.get("/team?lang=es&confirmed=somebody").text
    assert "Esperan confirmación" in page and "Quién ve los datos de este equipo" in page
    assert "Cuenta <code>somebody</code> confirmada." in page
    assert "Who reads this team" not in page
    invitation = clinician.post(f"/patients/{web.ids['not_family']}/invitations")
    assert invitation.status_code == 201 and "Código de invitación para la familia de" in invitation.text
    refused = clinician.post("/team/2147483647/confirm")
    assert refused.status_code == 404
    assert "No se confirmó" in refused.text and "ninguna cuenta así espera la confirmación de su equipo" in refused.text


def test_english_is_as_before(web: WebApp) -> None:
    admin, clinician = sign_in(web.app, "admin"), sign_in(web.app, "dr.rivera")
    notice = admin.get("/admin/users?done=deactivate&user=somebody").text
    assert '<html lang="en">' in notice
    assert "Account somebody deactivated: its sessions ended and its API tokens were revoked." in notice
    assert (
        '<option value="clinician">clinician</option>' in notice and '<h2 id="new-user">Add an account</h2>' in notice
    )
    refused = admin.post(f"/admin/users/{_own_id(admin)}/deactivate").text
    assert "you cannot deactivate your own account; ask another administrator" in refused
    audit = admin.get("/admin/audit").text
    assert '<span data-code="list">list</span>' in audit and 'data-code="ok">ok</span>' in audit
    team = clinician.get("/team").text
    assert "Who reads this team's data" in team and "Waiting for confirmation" in team


def test_the_reasons_are_the_account_rules_own_words() -> None:
    """Each reason marked for the pages is one the rules write (a reworded rule would otherwise show in English)."""
    sources = inspect.getsource(account_rules) + inspect.getsource(invitations) + inspect.getsource(passwords)
    for reason in REASONS:
        acted = re.fullmatch(r"you cannot (.+) your own account; ask another administrator", reason)
        if acted:
            assert f'_not_yourself(actor, user, "{acted.group(1)}")' in sources, reason
            assert 'f"you cannot {what} your own account; ask another administrator"' in sources
        else:
            assert f'"{reason}"' in sources, reason
    short = passwords.problem("a few words")
    assert short == f"the password must have at least {MIN_LENGTH} characters (a few words make a good one)"
    assert refusal(ValueError(short)) == "the password is too short (a few words make a good one)"
    long = passwords.problem("correct horse battery staple " * (MAX_LENGTH // 20))
    assert long is not None and refusal(ValueError(long)) == "the password is too long"
    assert refusal(ValueError("a reason nobody listed")) == "a reason nobody listed"


def test_every_audit_action_written_has_words() -> None:
    """The actions the account rules audit have words on the page (an unknown code would show as the code)."""
    written = set(re.findall(r'_audit\(s, \w+, "([a-z_]+)"', inspect.getsource(account_rules)))
    assert written and written <= set(AUDIT_ACTIONS), written - set(AUDIT_ACTIONS)
    assert account_words.audit_word(AUDIT_ACTIONS, "something_new") == "something new"


def test_the_account_pages_problems_in_spanish(web: WebApp) -> None:
    """The problems the account page's routes write (a wrong current password, a weak one, a token's lifetime)."""
    person = sign_in(web.app, "researcher")
    person.get("/account?lang=es")
    wrong = person.post(
        "/account/password", {"current_password": "not it", "new_password": "x", "new_password_again": "x"}
    )
    assert wrong.status_code == 400 and "la contraseña actual no es correcta" in wrong.text
    weak = {"current_password": PASSWORDS["researcher"], "new_password": "too short", "new_password_again": "too short"}
    refused = person.post("/account/password", weak)
    assert refused.status_code == 422
    assert "la contraseña es demasiado corta (unas cuantas palabras forman una buena contraseña)" in refused.text
    chosen = {"current_password": "whatever", "new_password": "short", "new_password_again": "differs"}
    differ = person.post("/account/password", chosen)
    assert differ.status_code == 422 and "Las dos contraseñas nuevas no son iguales." in differ.text
    lifetime = person.post("/account/tokens", {"name": "import", "days": "0"})
    assert lifetime.status_code == 422
    assert "La duración es un número de días mayor que 0 y no mayor que la duración máxima permitida." in lifetime.text
    unnamed = person.post("/account/tokens", {"name": " ", "days": ""})
    assert unnamed.status_code == 422 and "Dé un nombre al token (hasta 100 caracteres)." in unnamed.text


def test_activating_an_account_refuses_in_spanish(web: WebApp) -> None:
    """The owner of a new account, choosing a password with the administrator's code in Spanish."""
    admin = sign_in(web.app, "admin")
    username = f"es.{uuid.uuid4().hex[:8]}"
    made = admin.post("/admin/users", {"username": username, "display_name": "Luz Díaz", "role": "researcher"})
    code = re.search(r"<code>([0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8})</code>", made.text)
    assert code is not None
    owner = TestClient(web.app)
    page = owner.get("/activate?lang=es").text

    def send(**fields: str) -> Any:
        """The form as the page last shown gives it (each page carries its own form token)."""
        token = FORM_TOKEN.search(page)
        assert token is not None
        data = {"username": username, "code": code.group(1), "csrf_token": token.group(1), "password": CHOSEN}
        return owner.post("/activate", data=data | {"password_again": fields.get("password", CHOSEN)} | fields)

    short = send(password="too short")
    assert short.status_code == 422
    assert "la contraseña es demasiado corta (unas cuantas palabras forman una buena contraseña)" in short.text
    page = short.text
    differ = send(password_again=CHOSEN + "x")
    assert differ.status_code == 422 and "Las dos contraseñas no son iguales." in differ.text
    page = differ.text
    refused = send(code="00000000-00000000-00000000")
    assert refused.status_code == 400
    assert "el nombre de usuario o el código de activación no es válido (no existe, ya se usó o caducó)" in refused.text
    expired = send(csrf_token="an old one")
    assert expired.status_code == 400 and "El formulario había caducado. Inténtelo otra vez." in expired.text
