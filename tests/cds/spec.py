"""The response rules of CDS Hooks 2.0 (cds-hooks.hl7.org/2.0, "CDS Service Response"), as a validator.

``response_problems(body)`` lists every rule a service response breaks; the tests apply it to every response
allpath gives. Rules:

- the response is an object with a ``cards`` array (and optionally ``systemActions``);
- optional fields without a value are omitted: no ``null``, ``""``, ``[]`` or ``{}`` in a card;
- a card has ``summary`` (a string of fewer than 140 characters), ``indicator`` (info | warning | critical) and
  ``source`` with a ``label``; ``source.url`` and ``source.icon`` are absolute URLs; ``detail`` is a string;
- ``suggestions``: each with a ``label``, an optional ``uuid`` and ``isRecommended`` (boolean), and
  ``actions`` of type create | update | delete, each with a ``description``; create and update carry a FHIR
  ``resource``; delete names a ``resourceId`` and no resource; ``actionSelectionBehavior`` is all | any |
  at-most-one;
- ``selectionBehavior`` (at-most-one | any) is present whenever there are suggestions; with at-most-one at most
  one suggestion is recommended;
- ``overrideReasons`` are Codings with ``system``, ``code`` and ``display``;
- ``links`` have ``label``, ``url`` and ``type`` (absolute | smart); an absolute link's URL is absolute;
  ``appContext`` only on smart links; ``autolaunchable`` is a boolean.

allpath adds one rule of its own (``require_uuid``): every card has a ``uuid``, so that feedback can name it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlparse

INDICATORS = {"info", "warning", "critical"}
ACTION_TYPES = {"create", "update", "delete"}
SELECTION = {"at-most-one", "any"}
ACTION_SELECTION = {"all", "any", "at-most-one"}
LINK_TYPES = {"absolute", "smart"}
CARD_KEYS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def _absolute(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _empty(value: Any, where: str, out: list[str]) -> None:
    """No null or empty JSON value (FHIR resources inside actions are left to FHIR's own rules)."""
    if value is None or value in ("", [], {}):
        out.append(f"{where}: null or empty")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "resource":
                _empty(item, f"{where}.{key}", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _empty(item, f"{where}[{index}]", out)


def _string(card: dict[str, Any], key: str, where: str, out: list[str], required: bool = True) -> None:
    if key not in card:
        if required:
            out.append(f"{where}.{key}: required")
    elif not isinstance(card[key], str):
        out.append(f"{where}.{key}: must be a string")


def _coding(value: Any, where: str, out: list[str], display: bool) -> None:
    if not isinstance(value, dict):
        out.append(f"{where}: a Coding must be an object")
        return
    for key in ("system", "code") + (("display",) if display else ()):
        _string(value, key, where, out)


def _action(action: Any, where: str, out: list[str], description: bool = True) -> None:
    if not isinstance(action, dict):
        out.append(f"{where}: an action must be an object")
        return
    if action.get("type") not in ACTION_TYPES:
        out.append(f"{where}.type: {action.get('type')!r} is not create, update or delete")
    _string(action, "description", where, out, required=description)
    kind = action.get("type")
    resource = action.get("resource")
    if kind in ("create", "update") and not (
        isinstance(resource, dict) and isinstance(resource.get("resourceType"), str)
    ):
        out.append(f"{where}.resource: a {kind} action needs a FHIR resource")
    if kind == "update" and isinstance(resource, dict) and not isinstance(resource.get("id"), str):
        out.append(f"{where}.resource.id: an update needs the resource's id")
    if kind == "delete":
        _string(action, "resourceId", where, out)
        if "resource" in action:
            out.append(f"{where}: a delete action names a resourceId, not a resource")


def card_problems(card: Any, where: str = "card", require_uuid: bool = False) -> list[str]:
    out: list[str] = []
    if not isinstance(card, dict):
        return [f"{where}: a card must be an object"]
    _empty(card, where, out)
    for key in card:
        if key not in CARD_KEYS:
            out.append(f"{where}.{key}: not a card attribute")
    _string(card, "summary", where, out)
    if isinstance(card.get("summary"), str) and len(card["summary"]) >= 140:
        out.append(f"{where}.summary: {len(card['summary'])} characters (must be fewer than 140)")
    if card.get("indicator") not in INDICATORS:
        out.append(f"{where}.indicator: {card.get('indicator')!r} is not info, warning or critical")
    _string(card, "detail", where, out, required=False)
    _string(card, "uuid", where, out, required=require_uuid)
    if isinstance(card.get("uuid"), str):
        try:
            uuid.UUID(card["uuid"])
        except ValueError:
            out.append(f"{where}.uuid: not a UUID")
    source = card.get("source")
    if not isinstance(source, dict):
        out.append(f"{where}.source: required (an object)")
    else:
        _string(source, "label", f"{where}.source", out)
        for key in ("url", "icon"):
            if key in source and not _absolute(source[key]):
                out.append(f"{where}.source.{key}: not an absolute URL")
        if "topic" in source:
            _coding(source["topic"], f"{where}.source.topic", out, display=False)
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if not isinstance(suggestions, list):
            out.append(f"{where}.suggestions: must be an array")
            suggestions = []
        if card.get("selectionBehavior") not in SELECTION:
            out.append(f"{where}.selectionBehavior: required with suggestions (at-most-one or any)")
        recommended = 0
        for i, suggestion in enumerate(suggestions):
            at = f"{where}.suggestions[{i}]"
            if not isinstance(suggestion, dict):
                out.append(f"{at}: must be an object")
                continue
            _string(suggestion, "label", at, out)
            _string(suggestion, "uuid", at, out, required=require_uuid)
            if "isRecommended" in suggestion:
                if not isinstance(suggestion["isRecommended"], bool):
                    out.append(f"{at}.isRecommended: must be a boolean")
                recommended += suggestion["isRecommended"] is True
            behavior = suggestion.get("actionSelectionBehavior")
            if behavior is not None and behavior not in ACTION_SELECTION:
                out.append(f"{at}.actionSelectionBehavior: {behavior!r}")
            actions = suggestion.get("actions", [])
            if not isinstance(actions, list):
                out.append(f"{at}.actions: must be an array")
                continue
            for j, action in enumerate(actions):
                _action(action, f"{at}.actions[{j}]", out)
        if card.get("selectionBehavior") == "at-most-one" and recommended > 1:
            out.append(f"{where}: at-most-one selection with {recommended} recommended suggestions")
    elif "selectionBehavior" in card and card["selectionBehavior"] not in SELECTION:
        out.append(f"{where}.selectionBehavior: {card['selectionBehavior']!r}")
    reasons = card.get("overrideReasons")
    if reasons is not None:
        if not isinstance(reasons, list):
            out.append(f"{where}.overrideReasons: must be an array")
        else:
            for i, reason in enumerate(reasons):
                _coding(reason, f"{where}.overrideReasons[{i}]", out, display=True)
    links = card.get("links")
    if links is not None:
        if not isinstance(links, list):
            out.append(f"{where}.links: must be an array")
        else:
            for i, link in enumerate(links):
                at = f"{where}.links[{i}]"
                if not isinstance(link, dict):
                    out.append(f"{at}: must be an object")
                    continue
                for key in ("label", "url", "type"):
                    _string(link, key, at, out)
                if link.get("type") not in LINK_TYPES:
                    out.append(f"{at}.type: {link.get('type')!r} is not absolute or smart")
                if link.get("type") == "absolute" and not _absolute(link.get("url")):
                    out.append(f"{at}.url: an absolute link needs an absolute URL")
                if "appContext" in link and link.get("type") != "smart":
                    out.append(f"{at}.appContext: only for smart links")
                if "autolaunchable" in link and not isinstance(link["autolaunchable"], bool):
                    out.append(f"{at}.autolaunchable: must be a boolean")
    return out


def response_problems(body: Any, require_uuid: bool = True) -> list[str]:
    if not isinstance(body, dict):
        return ["the response must be a JSON object"]
    out: list[str] = []
    cards = body.get("cards")
    if not isinstance(cards, list):
        out.append("cards: required (an array, empty when there is no guidance)")
        cards = []
    for i, card in enumerate(cards):
        out += card_problems(card, f"cards[{i}]", require_uuid=require_uuid)
    actions = body.get("systemActions")
    if actions is not None:
        if not isinstance(actions, list) or not actions:
            out.append("systemActions: must be a non-empty array when present")
        else:
            for i, action in enumerate(actions):
                _action(action, f"systemActions[{i}]", out, description=False)
    for key in body:
        if key not in ("cards", "systemActions", "extension"):
            out.append(f"{key}: not a response attribute")
    return out


def assert_valid(body: Any) -> list[dict[str, Any]]:
    """The cards of a valid response (fails the test with every broken rule otherwise)."""
    problems = response_problems(body)
    assert not problems, "\n".join(problems)
    cards: list[dict[str, Any]] = body["cards"]
    return cards
