"""What the importer's readers found in a Bundle, before it becomes a record: each value with the part of the
resource it came from and the resource's clinical date, the lists and objects stated empty, and what was not
used and why."""

from __future__ import annotations

from dataclasses import dataclass, field

LIST_FIELDS = ("genetics", "predisposition_syndromes", "relapses", "exposures.courses", "exposures.radiation")
OBJECT_FIELDS = ("response", "pharmacogenomics", "exposures")
DATED_MRD = "response.mrd_pct_by_date"
"""An MRD result coded without its time point: ``timing`` places it at a time point by its date."""


@dataclass
class Found:
    """A value for a record field (or an item of a list field) and where it came from."""

    value: object
    source: str
    date: str | None = None  # the day of the resource's clinical time (YYYY-MM-DD), None when it has none


@dataclass
class Findings:
    """Collects what the readers find: ``scalars`` (one value per field, several when sources repeat or
    disagree), ``items`` of list fields, ``empty`` lists and objects, and ``ignored`` parts with the reason.
    The importer sets ``when`` to each resource's clinical date before its reader runs, and every value found
    then carries it (the readers need not know about time)."""

    scalars: dict[str, list[Found]] = field(default_factory=dict)
    items: dict[str, list[Found]] = field(default_factory=dict)
    empty: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[dict[str, str]] = field(default_factory=list)
    # Values given with a comparator ("> 500"): bounds, never values of the record (the field is left out).
    bounds: list[dict[str, object]] = field(default_factory=list)
    when: str | None = None

    def scalar(self, name: str, value: object, source: str) -> None:
        self.scalars.setdefault(name, []).append(Found(value, source, self.when))

    def item(self, name: str, value: object, source: str) -> None:
        self.items.setdefault(name, []).append(Found(value, source, self.when))

    def ignore(self, resource: str, reason: str) -> None:
        self.ignored.append({"resource": resource, "reason": reason})

    def bound(self, name: str, comparator: str, value: float, source: str, text: str) -> None:
        """A value known only as a bound of field ``name`` (in the record's unit), with how the report says it."""
        entry: dict[str, object] = {"field": name, "comparator": comparator, "value": value, "from": source}
        if self.when is not None:  # the resource's clinical date, as for the values found
            entry["date"] = self.when
        self.bounds.append(entry | {"text": text})

    def scalar_count(self) -> int:
        return sum(len(found) for found in self.scalars.values())
