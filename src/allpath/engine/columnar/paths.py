"""Missing-fact masks turned into the record paths an assessment lists under ``missing`` and ``upcoming``.

As ``engine.assess`` reports them: only inputs whose absence is reported (``absent: missing``), in the order of
``inputs.yaml``, a relapse input named at the latest relapse (``relapses[1].sites``), inputs of the upcoming
time points under ``upcoming``, and ``response`` first when the whole response is absent.
"""

from __future__ import annotations

import polars as pl

from allpath.engine.columnar.logic import MASK, FactBits
from allpath.knowledge.loader import KnowledgeBase

_RELAPSE_LIST = "relapses[]"
_WHOLE_RESPONSE = "response"


def _path(field: str) -> pl.Expr:
    if not field.startswith(_RELAPSE_LIST):
        return pl.lit(field)
    latest = (pl.col("relapses").list.len().fill_null(0).cast(pl.Int64) - 1).clip(lower_bound=0)
    return pl.format("relapses[{}]" + field.removeprefix(_RELAPSE_LIST), latest)


def _listed(kb: KnowledgeBase, bits: FactBits, mask: pl.Expr, *, upcoming: bool) -> pl.Expr:
    paths = [
        pl.when((mask & pl.lit(bits.bit(name), dtype=MASK)) != 0).then(_path(spec.field))
        for name, spec in kb.inputs.items()
        if spec.absent == "missing" and (spec.timepoint in kb.upcoming_timepoints) == upcoming
    ]
    if not paths:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(paths).list.drop_nulls()


def missing_paths(kb: KnowledgeBase, bits: FactBits, mask: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The ``missing`` and ``upcoming`` record paths of a missing-fact mask."""
    missing = _listed(kb, bits, mask, upcoming=False)
    response_open = missing.list.eval(pl.element().str.starts_with(_WHOLE_RESPONSE + ".")).list.any()
    whole = pl.concat_list(pl.lit([_WHOLE_RESPONSE], dtype=pl.List(pl.String)), missing)
    missing = pl.when(pl.col(_WHOLE_RESPONSE).is_null() & response_open).then(whole).otherwise(missing)
    return missing, _listed(kb, bits, mask, upcoming=True)
