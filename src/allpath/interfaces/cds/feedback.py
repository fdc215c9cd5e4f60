"""The feedback a CDS client sends about allpath's cards (CDS Hooks 2.0, "Feedback"), checked against the
specification before anything of it is audited.

"The request to the feedback endpoint SHALL be an object containing an array" (``feedback``, of 1 to
``MAX_FEEDBACK`` items here), and each item has

- ``card`` (REQUIRED): "the card.uuid from the CDS Hooks response";
- ``outcome`` (REQUIRED): "a value of accepted or overridden";
- ``acceptedSuggestions`` (CONDITIONAL, "required for accepted outcomes"): a non-empty list of objects, each
  with the ``id`` (REQUIRED) of an accepted suggestion;
- ``overrideReason`` (OPTIONAL): an OverrideReason, whose ``reason`` is a Coding ("code" and "system" REQUIRED)
  and ``userComment`` a string; as every JSON element, it is never null or empty ("Use of JSON"), so ``{}``
  is refused;
- ``outcomeTimestamp`` (REQUIRED): "ISO8601 representation of the date and time ... as profiled in section
  5.6 of RFC3339", so a full date and time with seconds and a time zone (``Z`` or an offset).

Refusals name the item and the field and say what is allowed; they never quote the value (a user comment
may say anything about the patient).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from allpath.interfaces.cds.auth import CdsClient
from allpath.interfaces.cds.data import as_dict, as_list
from allpath.interfaces.cds.envelope import RequestRefused

MAX_FEEDBACK = 100
CARD_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_SAFE = re.compile(r"^[A-Za-z0-9._:/#|@+\-]{1,200}$")
# RFC 3339 section 5.6 date-time: full-date "T" full-time, where full-time carries its time offset.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def safe(value: object) -> str:
    """``value`` for an audit entry when it is a plain code or id, else a placeholder."""
    return value if isinstance(value, str) and _SAFE.match(value) else "(not stored)"


@dataclass(frozen=True)
class Feedback:
    """What the audit keeps of a feedback item (``feedback_problem`` has checked its shape): codes and ids
    only, never the user's comment."""

    card: str
    outcome: str
    at: str  # outcomeTimestamp (kept only when it is a plain one: ``safe``)
    reason: Mapping[str, object] | None  # the override reason's Coding
    accepted: list[object]  # the ids of the accepted suggestions

    def detail(self, client: CdsClient) -> str:
        parts = [f"outcome={self.outcome}", f"at={safe(self.at)}"]
        if self.reason is not None:
            parts.append(f"reason={safe(self.reason.get('system'))}|{safe(self.reason.get('code'))}")
        if self.accepted:
            parts.append(f"suggestions={','.join(safe(x) for x in self.accepted)}")
        parts.append(f"client={safe(client.issuer)}")
        return "; ".join(parts)


def feedback_items(body: Mapping[str, object]) -> list[Feedback]:
    """The feedback items of a body, each following the specification (else 400 naming the first wrong one)."""
    items = body.get("feedback")
    if not isinstance(items, list) or not items or len(items) > MAX_FEEDBACK:
        raise RequestRefused(400, "invalid", f"feedback must be a list of 1 to {MAX_FEEDBACK} items")
    for index, item in enumerate(items):
        problem = feedback_problem(item)
        if problem:
            raise RequestRefused(400, "invalid", f"feedback[{index}]: {problem}")
    return [_feedback_of(item) for item in items]


def _feedback_of(item: Mapping[str, object]) -> Feedback:
    """A feedback item whose shape has been checked (``feedback_problem``)."""
    card, outcome, at = item["card"], item["outcome"], item["outcomeTimestamp"]
    assert isinstance(card, str) and isinstance(outcome, str) and isinstance(at, str)  # checked
    reason = as_dict(item.get("overrideReason")).get("reason")
    accepted = [as_dict(x).get("id") for x in as_list(item.get("acceptedSuggestions"))]
    return Feedback(card, outcome, at, reason if isinstance(reason, dict) else None, accepted)


def timestamp_problem(value: object) -> str | None:
    """Why ``value`` is not an RFC 3339 date-time with a time zone (None when it is one)."""
    allowed = "an RFC 3339 date and time with its time zone, such as 2020-12-11T10:05:31Z"
    if not isinstance(value, str) or not value:
        return f"outcomeTimestamp is required: {allowed}"
    if not _TIMESTAMP.match(value):
        return f"outcomeTimestamp must be {allowed}"
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return f"outcomeTimestamp must be a real date and time: {allowed}"
    return None


def _coding_problem(reason: object) -> str | None:
    """Why an override reason is not a CDS Hooks Coding (``code`` and ``system`` REQUIRED, ``display`` a
    string when present)."""
    if not isinstance(reason, dict):
        return "overrideReason.reason must be a Coding with system and code"
    for name in ("system", "code"):
        if not isinstance(reason.get(name), str) or not reason[name]:
            return f"overrideReason.reason.{name} is required: a Coding has a system and a code"
    if "display" in reason and not (isinstance(reason["display"], str) and reason["display"]):
        return "overrideReason.reason.display must be a non-empty string"
    return None


def _override_problem(override: object) -> str | None:
    if not isinstance(override, dict):
        return "overrideReason must be an object with a reason (a Coding) or a userComment"
    if not override:
        return "overrideReason must not be empty: send a reason (a Coding) or a userComment, or leave it out"
    if "reason" in override:
        problem = _coding_problem(override["reason"])
        if problem:
            return problem
    if "userComment" in override and not (isinstance(override["userComment"], str) and override["userComment"]):
        return "overrideReason.userComment must be a non-empty string"
    return None


def _accepted_problem(item: Mapping[str, object]) -> str | None:
    accepted = item.get("acceptedSuggestions")
    if accepted is None and "acceptedSuggestions" not in item:
        return "an accepted outcome needs acceptedSuggestions" if item["outcome"] == "accepted" else None
    if not isinstance(accepted, list) or not accepted:
        return "acceptedSuggestions must be a non-empty list of {id}"
    if not all(isinstance(x, dict) and isinstance(x.get("id"), str) and x["id"] for x in accepted):
        return "acceptedSuggestions must be a list of {id}, each the uuid of an accepted suggestion"
    return None


def feedback_problem(item: object) -> str | None:
    """Why a feedback item does not follow the specification (None when it does)."""
    if not isinstance(item, dict):
        return "not an object"
    if not isinstance(item.get("card"), str) or not CARD_ID.match(item["card"]):
        return "card is required: the uuid of a card"
    if item.get("outcome") not in ("accepted", "overridden"):
        return "outcome is required: accepted or overridden"
    problem = timestamp_problem(item.get("outcomeTimestamp")) or _accepted_problem(item)
    if problem:
        return problem
    if "overrideReason" in item:
        return _override_problem(item["overrideReason"])
    return None
