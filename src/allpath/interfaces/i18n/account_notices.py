"""What an account's own page (web and ``GET /api/me``) says of a team's withdrawn grant, in the reader's
language: which team withdrew it, on which day, and who can grant it again -- never which clinician withdrew
it (the audit log keeps that): the grant is the team's, any clinician of the team may grant it again, and a
family or researcher whose access ended is pointed to the team rather than to one person."""

from __future__ import annotations

from datetime import datetime

from allpath.interfaces.i18n import gettext, marked, shown_date

BY_THE_TEAM = marked(
    "The care team \u201c%(team)s\u201d withdrew your access to its patient data on %(date)s. A clinician of that "
    "team can grant it again."
)
BY_THE_OPERATOR = marked(
    "Your access to the patient data of the care team \u201c%(team)s\u201d was withdrawn on %(date)s. A clinician "
    "of that team can grant it again."
)


def withdrawal_notice(team_name: str, withdrawn_at: datetime, how: str) -> str:
    """The notice in the current locale (call it inside ``use_locale``); ``how``: ``colleague`` (a clinician of
    the team) or ``operator`` (the server's operator, on the shell)."""
    words = BY_THE_OPERATOR if how == "operator" else BY_THE_TEAM
    return gettext(words) % {"team": team_name, "date": shown_date(withdrawn_at)}
