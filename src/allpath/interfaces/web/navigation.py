"""The main navigation of each role and the roles' names, in English: the templates translate them where they
are shown (``label|translated``); ``marked`` puts them in the catalog."""

from __future__ import annotations

from allpath.interfaces.i18n import marked

NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "clinician": (
        ("/patients", marked("Patients")),
        ("/patients/new", marked("New patient")),
        ("/team", marked("Team")),
        ("/sources", marked("Sources")),
        ("/account", marked("Your account")),
    ),
    "family": (
        ("/patients", marked("My child")),
        ("/sources", marked("Sources")),
        ("/account", marked("Your account")),
    ),
    "researcher": (
        ("/export", marked("Research export")),
        ("/research/outcomes", marked("Outcomes by group")),
        ("/sources", marked("Sources")),
        ("/account", marked("Your account")),
    ),
    "admin": (
        ("/admin/users", marked("Users")),
        ("/admin/audit", marked("Audit log")),
        ("/sources", marked("Sources")),
        ("/account", marked("Your account")),
    ),
}
ROLE_LABELS = {
    "clinician": marked("care team"),
    "family": marked("family"),
    "researcher": marked("researcher"),
    "admin": marked("administrator"),
}
