"""A rule that "follows from the risk group, which changed", in the reader's language (``allpath cohort diff``).

The derived facts (another group: the disease state, the risk group, the populations) are said in the form the
sentence takes them, from the catalog in the context ``follows from``: Spanish "se deriva del grupo de riesgo, que
cambió", "de la etapa de la enfermedad, que cambió", "de las poblaciones, que cambiaron" -- the article and the
verb agree with each fact, which a sentence with a blank for the fact's bare name cannot do. One fact is said
whole with its clause; several are listed in their forms ("del grupo de riesgo y de las poblaciones") before the
plural clause. A fact the catalog does not know yet (a new knowledge base) is named as the use case names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from babel.lists import format_list

from allpath.interfaces.i18n import current_locale, gettext, marked, marked_in, pgettext

FOLLOWS_FROM: Final = "follows from"  # the catalog's context of the facts' forms (marked_in repeats it)

# Each derived fact (as the use case names it: its id with spaces) alone with its clause, and as one of several.
FORMS: Final = {
    "age at latest event years": (
        marked_in("follows from", "the age at latest event years, which changed"),
        marked_in("follows from", "the age at latest event years"),
    ),
    "disease state": (
        marked_in("follows from", "the disease state, which changed"),
        marked_in("follows from", "the disease state"),
    ),
    "plan therapies": (
        marked_in("follows from", "the plan therapies, which changed"),
        marked_in("follows from", "the plan therapies"),
    ),
    "populations": (
        marked_in("follows from", "the populations, which changed"),
        marked_in("follows from", "the populations"),
    ),
    "relapse number": (
        marked_in("follows from", "the relapse number, which changed"),
        marked_in("follows from", "the relapse number"),
    ),
    "risk group": (
        marked_in("follows from", "the risk group, which changed"),
        marked_in("follows from", "the risk group"),
    ),
    "risk group at diagnosis": (
        marked_in("follows from", "the risk group at diagnosis, which changed"),
        marked_in("follows from", "the risk group at diagnosis"),
    ),
    "weight kg": (
        marked_in("follows from", "the weight kg, which changed"),
        marked_in("follows from", "the weight kg"),
    ),
}
_ONE = marked("follows from {fact}")  # {fact}: the fact's form with its clause ("the risk group, which changed")
_SEVERAL = marked("follows from {facts}, which changed")  # {facts}: the forms, listed ("the risk group and ...")
_UNKNOWN_ONE = marked_in("follows from", "the {fact}, which changed")
_UNKNOWN_LISTED = marked_in("follows from", "the {fact}")


def _alone(fact: str) -> str:
    if fact in FORMS:
        return pgettext(FOLLOWS_FROM, FORMS[fact][0])
    return pgettext(FOLLOWS_FROM, _UNKNOWN_ONE).format(fact=fact)


def _listed(fact: str) -> str:
    if fact in FORMS:
        return pgettext(FOLLOWS_FROM, FORMS[fact][1])
    return pgettext(FOLLOWS_FROM, _UNKNOWN_LISTED).format(fact=fact)


def follows_from(facts: Sequence[str]) -> str:
    """Why a rule's verdict changed when its own condition did not: the derived facts it reads changed
    ("follows from the risk group, which changed"; Spanish "se deriva del grupo de riesgo, que cambió")."""
    if len(facts) == 1:
        return gettext(_ONE).format(fact=_alone(facts[0]))
    listed = format_list([_listed(fact) for fact in facts], locale=current_locale())
    return gettext(_SEVERAL).format(facts=listed)
