"""The words of the account pages (the team's page, the administrator's accounts and audit log) that are kept in
code: the account rules' reasons for a refusal, the roles, and the audit log's actions, resources and outcomes.

The account rules (``allpath.storage.accounts`` and ``invitations``, ``allpath.accounts.passwords``) sit below
the interfaces and say why they refuse an act in English, for the API and the command line; they cannot use the
catalog. The pages (these, and joining, activation and your account) mark each known reason here, in the rules'
own words, and translate it where it is shown (``|translated``); a reason not listed is shown as the rules wrote
it.

The audit log's codes are data (they stay as stored, and the API and exports show them); the page shows each
known code in words, in the reader's language, and an unknown one as the code in words (``reset_password``:
"reset password").
"""

from __future__ import annotations

from typing import Final

from allpath.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from allpath.interfaces.i18n import marked

# The account rules' reasons, in their own words (storage.accounts and invitations, accounts.passwords), marked
# for the catalog: the page shows the reason and translates it. A test holds them to the rules' sources.
REASONS: Final = (
    marked("this user name is taken"),
    marked("a clinician needs a team"),
    marked("only clinicians belong to a team"),
    marked("family accounts are made only with an invitation code from the child's care team"),
    marked("you cannot deactivate your own account; ask another administrator"),
    marked("you cannot reset the password of your own account; ask another administrator"),
    marked("you cannot change the role of your own account; ask another administrator"),
    marked("a family account keeps its role (it was made with an invitation code)"),
    marked("no such account waits for your team"),
    marked("no such account reads your team's data"),
    marked("you cannot withdraw your own access; another clinician of your team can"),
    marked("the current password is wrong"),
    marked("the user name or activation code is not valid (unknown, used or expired)"),
    marked("this invitation code is not valid (unknown, used or expired)"),
    marked("the password must not be the user name, the name of the person or the name of this service"),
    marked("this password is on the list of common or breached passwords; choose another"),
    marked("the password must not be a run of repeated or consecutive characters"),
)
# The reasons with a number in them, said without it (the field's hint above gives the length).
_SAID_OTHERWISE: Final = {
    f"the password must have at least {MIN_LENGTH} characters (a few words make a good one)": marked(
        "the password is too short (a few words make a good one)"
    ),
    f"the password must have at most {MAX_LENGTH} characters": marked("the password is too long"),
}


def refusal(error: Exception) -> str:
    """Why an account act was refused, as the page says it (translated where shown)."""
    reason = str(error)
    return _SAID_OTHERWISE.get(reason, reason)


# The roles as the account pages name them (the codes stay in the forms' values).
ROLE_NAMES: Final[dict[str, str]] = {
    "clinician": marked("clinician"),
    "researcher": marked("researcher"),
    "admin": marked("admin"),
    "family": marked("family"),
}

# The audit log's codes in words (English: the code with spaces, as the page always showed it).
AUDIT_ACTIONS: Final[dict[str, str]] = {
    "accept": marked("accept"),
    "access": marked("access"),
    "activate": marked("activate"),
    "assess": marked("assess"),
    "change_password": marked("change password"),
    "change_role": marked("change role"),
    "confirm": marked("confirm"),
    "create": marked("create"),
    "deactivate": marked("deactivate"),
    "doses": marked("doses"),
    "export": marked("export"),
    "import": marked("import"),
    "list": marked("list"),
    "reactivate": marked("reactivate"),
    "read": marked("read"),
    "reset_password": marked("reset password"),
    "revoke": marked("revoke"),
    "revoke_tokens": marked("revoke tokens"),
    "roadmap": marked("roadmap"),
    "search": marked("search"),
    "set_language": marked("set language"),
    "sign_in": marked("sign in"),
    "sign_out": marked("sign out"),
    "survivorship": marked("survivorship"),
    "sync": marked("sync"),
    "update": marked("update"),
    "withdraw": marked("withdraw"),
}
AUDIT_RESOURCES: Final[dict[str, str]] = {
    "api_token": marked("api token"),
    "assessments": marked("assessments"),
    "audit_log": marked("audit log"),
    "deidentified": marked("deidentified"),
    "family_report": marked("family report"),
    "fhir_bundle": marked("fhir bundle"),
    "invitation": marked("invitation"),
    "patient": marked("patient"),
    "patient_versions": marked("patient versions"),
    "record": marked("record"),
    "research_outcomes": marked("research outcomes"),
    "route": marked("route"),
    "session": marked("session"),
    "team_member": marked("team member"),
    "trial_registry": marked("trial registry"),
    "trials": marked("trials"),
    "user": marked("user"),
}
AUDIT_OUTCOMES: Final[dict[str, str]] = {
    "ok": marked("ok"),
    "denied": marked("denied"),
    "invalid": marked("invalid"),
    "failed": marked("failed"),
    "forbidden": marked("forbidden"),
    "unauthenticated": marked("unauthenticated"),
    "unconfirmed": marked("unconfirmed"),
    "rate_limited": marked("rate limited"),
}


def audit_word(words: dict[str, str], code: str) -> str:
    """A code of the audit log in words (marked: the page translates it); an unknown code with spaces."""
    return words.get(code, code.replace("_", " "))
