"""Field labels: what people call each field of the patient record (``labels.yaml``, one table).

Messages people read name a field by its label; software keeps the record path (``field``, ``loc``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

import yaml

_INDEX = re.compile(r"\[(\d+)\]")
_TRAILING_INDEX = re.compile(r"^(.+)\[(\d+)\]$")


@cache
def _table() -> dict[str, str]:
    text = (resources.files("allpath.domain") / "labels.yaml").read_text(encoding="utf-8")
    table: dict[str, str] = yaml.safe_load(text)
    return table


def field_label(path: str) -> str:
    """The label of a record path: ``relapses[1].months_from_diagnosis`` gives "relapse 2: months from
    diagnosis to the relapse"; a path the table does not know (an unknown key someone typed) is quoted."""
    return label_in(_table(), path)


def label_in(
    table: Mapping[str, str],
    path: str,
    *,
    entry: str = "%(label)s, entry %(number)s",
    unknown: str = "the field \u201c%(path)s\u201d",
) -> str:
    """The label of a record path in ``table`` (this file's, or the same table in another language, with that
    language's words for one entry of a list and for an unknown field, with ``%(label)s``, ``%(number)s`` and
    ``%(path)s``)."""
    if path in table:
        return table[path]
    key = _INDEX.sub("[]", path)
    if key in table:
        numbers = [int(n) + 1 for n in _INDEX.findall(path)]
        head, _, rest = key.rpartition("[]")
        owner = table.get(head + "[]", head)
        label = f"{owner} {numbers[-1]}"
        tail = rest.lstrip(".")
        return f"{label}: {table[key]}" if tail else label
    element = _TRAILING_INDEX.match(path)
    if element and _INDEX.sub("[]", element.group(1)) in table:
        # One entry of a list of values (a genetic result, a relapse site): the list's label and the entry's number.
        owner_label = label_in(table, element.group(1), entry=entry, unknown=unknown)
        return entry % {"label": owner_label, "number": int(element.group(2)) + 1}
    return unknown % {"path": path}


def known_paths() -> frozenset[str]:
    """Every record path (list elements as ``[]``) that has a label."""
    return frozenset(_table())
