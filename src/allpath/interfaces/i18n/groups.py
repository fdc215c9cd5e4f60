"""The groups' codes in words, in the reader's language: a disease state (``newly_diagnosed``), a risk group
(``very_high``), a relapse's timing (``early``), as the assessment and the cohort tools write them.

English is the code with spaces ("newly diagnosed", "very high"), as the pages and reports always showed it. The
words are marked in the context ``group``: the same English word is said otherwise as a group ("high" risk group
is "alto" in Spanish, "high" confidence "alta"). A code not listed here is shown with spaces, untranslated.
"""

from __future__ import annotations

from typing import Final

from allpath.interfaces.i18n import gettext, marked_in, pgettext

GROUP: Final = "group"  # the catalog's context of these words (each marked_in below repeats it for the extractor)
WORDS: Final = frozenset(
    {
        marked_in("group", "newly diagnosed"),
        marked_in("group", "relapsed"),
        marked_in("group", "refractory"),
        marked_in("group", "standard"),
        marked_in("group", "low"),
        marked_in("group", "average"),
        marked_in("group", "intermediate"),
        marked_in("group", "high"),
        marked_in("group", "very high"),
        marked_in("group", "early"),
        marked_in("group", "late"),
    }
)


def group_words(code: object) -> str:
    """A group's code in the current language's words ("very_high" -> "muy alto" in Spanish); no group, "none"."""
    if code is None:
        return gettext("none")
    word = str(code).replace("_", " ")
    return pgettext(GROUP, word) if word in WORDS else word
