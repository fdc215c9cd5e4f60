"""The context of each hook allpath answers, as the hook's definition in the CDS Hooks library gives it
(``patient-view``, ``order-select`` and ``order-sign``, hook version 1.0 as of CDS Hooks 2.0).

``context_problem`` says which field of a request's ``context`` breaks its hook's definition, in words that name
the field and what is allowed but never quote the value (an id or a user may identify a person):

- every hook: ``userId`` (REQUIRED, "the id of the current user ... in the format ``[ResourceType]/[id]``", of
  the resource types the hook names) and ``patientId`` (REQUIRED, "the FHIR Patient.id"); ``encounterId``
  (OPTIONAL, "the FHIR Encounter.id");
- ``order-select``: ``selections`` (REQUIRED, "the FHIR id of the newly selected order(s)", each
  ``[ResourceType]/[id]`` of a resource in ``draftOrders``) and ``draftOrders`` (REQUIRED, a FHIR Bundle);
- ``order-sign``: ``draftOrders`` (REQUIRED, a FHIR Bundle).

Fields a hook does not define are let through: a later version of a hook may add some.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# FHIR R4 "id" datatype: [A-Za-z0-9\-\.]{1,64}
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REFERENCE = re.compile(r"^([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\-.]{1,64})$")


@dataclass(frozen=True)
class HookContext:
    """The context fields of one hook: the user types it allows and what else it requires."""

    user_types: tuple[str, ...]
    selections: bool = False  # order-select: the newly selected orders
    draft_orders: bool = False  # order-select, order-sign: the draft orders, a Bundle


_PRESCRIBERS = ("Practitioner", "PractitionerRole")
HOOK_CONTEXTS: dict[str, HookContext] = {
    # patient-view: "Practitioner, PractitionerRole, Patient, or RelatedPerson ... when a patient or their proxy
    # are viewing the record"
    "patient-view": HookContext(user_types=(*_PRESCRIBERS, "Patient", "RelatedPerson")),
    # order-select and order-sign: "the user is expected to be of type Practitioner or PractitionerRole"
    "order-select": HookContext(user_types=_PRESCRIBERS, selections=True, draft_orders=True),
    "order-sign": HookContext(user_types=_PRESCRIBERS, draft_orders=True),
}


def reference_parts(value: object) -> tuple[str, str] | None:
    """``(type, id)`` of a ``[ResourceType]/[id]`` string, else None."""
    found = _REFERENCE.match(value) if isinstance(value, str) else None
    return (found.group(1), found.group(2)) if found else None


def _user_problem(value: object, allowed: tuple[str, ...]) -> str | None:
    parts = reference_parts(value)
    if parts is None:
        return f"context.userId is required: the current user as [ResourceType]/[id] ({', '.join(allowed)})"
    if parts[0] not in allowed:
        return f"context.userId must name a {', '.join(allowed[:-1])} or {allowed[-1]} for this hook"
    return None


def _drafted(draft_orders: Mapping[str, object]) -> set[str]:
    """``[ResourceType]/[id]`` of every resource in a draftOrders Bundle."""
    entries = draft_orders.get("entry")
    out: set[str] = set()
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            out.add(f"{resource.get('resourceType')}/{resource['id']}")
    return out


def _selections_problem(selections: object, draft_orders: object) -> str | None:
    if not isinstance(selections, list) or not selections:
        return "context.selections is required: a non-empty list of the selected orders ([ResourceType]/[id])"
    drafted = _drafted(draft_orders) if isinstance(draft_orders, dict) else set()
    for index, selection in enumerate(selections):
        if reference_parts(selection) is None:
            return f"context.selections[{index}] must be [ResourceType]/[id] of a draft order"
        if selection not in drafted:
            return f"context.selections[{index}] must name a resource in context.draftOrders"
    return None


def context_problem(hook: str, context: Mapping[str, object]) -> str | None:
    """Why ``context`` breaks the definition of ``hook`` (a hook of ``HOOK_CONTEXTS``), or None."""
    rules = HOOK_CONTEXTS[hook]
    problem = _user_problem(context.get("userId"), rules.user_types)
    if problem:
        return problem
    if not isinstance(context.get("patientId"), str) or not FHIR_ID.match(str(context["patientId"])):
        return "context.patientId is required: the FHIR id of the patient (1 to 64 letters, digits, '-' or '.')"
    if "encounterId" in context and not (
        isinstance(context["encounterId"], str) and FHIR_ID.match(context["encounterId"])
    ):
        return "context.encounterId must be the FHIR id of the encounter (1 to 64 letters, digits, '-' or '.')"
    draft_orders = context.get("draftOrders")
    if rules.draft_orders and not (isinstance(draft_orders, dict) and draft_orders.get("resourceType") == "Bundle"):
        return "context.draftOrders is required: a FHIR Bundle of the draft orders"
    if rules.selections:
        return _selections_problem(context.get("selections"), draft_orders)
    return None
