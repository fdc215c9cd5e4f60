"""Missing-fact masks turned into the record paths an assessment lists under ``missing`` and ``upcoming``.

As ``engine.assess`` reports them: only inputs whose absence is reported (``absent: missing``), in the order of
``inputs.yaml``, a relapse input named at the latest relapse (``relapses[1].sites``), inputs of the upcoming
time points under ``upcoming``, and ``response`` first when the whole response is absent.

Building lists of words row by row is slow in a column engine, and a cohort has few distinct answers: each
row gets an integer key (the reportable part of its mask, the latest relapse's index when a relapse input is
open, and whether the response is absent); the lists are built once per distinct key and gathered. A key's
lists are kept from one batch to the next (a cohort has a few hundred keys), and the few lists of a batch are
handed to polars through Arrow, much faster than polars' reading of Python lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import pyarrow as pa

from allpath.engine.columnar.logic import MASK, FactBits
from allpath.knowledge.loader import KnowledgeBase

_RELAPSE_LIST = "relapses[]"
_WHOLE_RESPONSE = "response"
_INDEX_BITS = 16  # the latest relapse's index in a key (a record has far fewer relapses)
_MAX_FACT_BITS = 64 - _INDEX_BITS - 1
WORDS = pl.List(pl.String)
_ARROW_WORDS = pa.large_list(pa.large_string())
_KEPT_KEYS = 65_536


@dataclass(frozen=True)
class Reported:
    """An input whose absence an assessment reports."""

    bit: int
    field: str
    upcoming: bool


class PathDecoder:
    """Keys of missing-fact masks, and the ``missing``/``upcoming`` path lists of the keys."""

    def __init__(self, kb: KnowledgeBase, bits: FactBits) -> None:
        if len(bits.names) > _MAX_FACT_BITS:
            raise ValueError(f"more than {_MAX_FACT_BITS} facts do not fit the columnar missing-fact keys")
        self.reported = tuple(
            Reported(bits.bit(name), spec.field, spec.timepoint in kb.upcoming_timepoints)
            for name, spec in kb.inputs.items()
            if spec.absent == "missing"
        )
        self.relapse_bits = sum(r.bit for r in self.reported if r.field.startswith(_RELAPSE_LIST))
        self.missing_bits = sum(r.bit for r in self.reported if not r.upcoming)
        self._known: dict[int, tuple[list[str], list[str]]] = {}  # the lists of keys already decoded

    def key(self, mask: pl.Expr) -> pl.Expr:
        """The row's key: what decides its two path lists."""
        latest = (pl.col("relapses").list.len().fill_null(0).cast(pl.Int64) - 1).clip(0, (1 << _INDEX_BITS) - 1)
        index = pl.when((mask & pl.lit(self.relapse_bits, dtype=MASK)) != 0).then(latest).otherwise(0).cast(MASK)
        reported = mask & pl.lit(sum(r.bit for r in self.reported), dtype=MASK)
        absent_response = pl.col(_WHOLE_RESPONSE).is_null().cast(MASK)
        return reported * (1 << (_INDEX_BITS + 1)) + index * 2 + absent_response

    def provisional(self, mask: pl.Expr) -> pl.Expr:
        """Whether the ``missing`` list is not empty (upcoming inputs do not make a group provisional)."""
        return (mask & pl.lit(self.missing_bits, dtype=MASK)) != 0

    def _lists(self, key: int) -> tuple[list[str], list[str]]:
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= _KEPT_KEYS:  # an unusual cohort: start again rather than grow without end
                self._known.clear()
            known = self._known[key] = self._paths(key)
        return known

    def _paths(self, key: int) -> tuple[list[str], list[str]]:
        reported, rest = divmod(key, 1 << (_INDEX_BITS + 1))
        index, absent_response = divmod(rest, 2)
        paths: dict[bool, list[str]] = {False: [], True: []}
        for item in self.reported:
            if reported & item.bit:
                paths[item.upcoming].append(item.field.replace(_RELAPSE_LIST, f"relapses[{index}]"))
        missing = paths[False]
        if absent_response and any(m.startswith(_WHOLE_RESPONSE + ".") for m in missing):
            missing.insert(0, _WHOLE_RESPONSE)
        return missing, paths[True]

    def decode(self, keys: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The ``missing`` and ``upcoming`` lists of every row's key."""
        distinct, position = _positions(keys)
        lists = [self._lists(k) for k in distinct.to_list()]
        return _words([m for m, _ in lists]).gather(position), _words([u for _, u in lists]).gather(position)


def _positions(keys: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct keys, and each row's position among them."""
    distinct = keys.unique()
    return distinct, keys.replace_strict(distinct, pl.Series(range(len(distinct)), dtype=pl.UInt32))


def _words(lists: list[list[str]]) -> pl.Series:
    words = pl.Series(pl.from_arrow(pa.array(lists, type=_ARROW_WORDS)))
    return words.cast(WORDS)


@lru_cache(maxsize=4096)
def _member_list(ids: tuple[str, ...], key: int) -> list[str]:
    return [p for i, p in enumerate(ids) if key >> i & 1]


def members(ids: tuple[str, ...], keys: pl.Series) -> pl.Series:
    """The member lists of population keys (bit ``i`` set: a member of ``ids[i]``), in the order of ``ids``."""
    distinct, position = _positions(keys)
    return _words([_member_list(ids, k) for k in distinct.to_list()]).gather(position)
