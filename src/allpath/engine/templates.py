"""Fresh copies of a JSON-like template (dicts, lists, words, numbers, yes/no, null), made by one expression.

A part of an assessment that is the same for every child (the follow-up texts) is kept once per knowledge base
and every answer gets its own copy, so that a caller that changes its answer in place changes no other. Copying
dict by dict and list by list costs a call and a lookup per container; ``maker`` writes the template once as the
source of one expression (``{"id": "x", "source": {...}, ...}``: every word and number a literal) and compiles it,
so that a copy is that expression evaluated: new dicts and lists, the same immutable leaves (the follow-up section,
7 items: 7.5 -> 3.6 us a copy). Compiling costs about 1.2 ms per 8 kB of template, so it pays only for a part
copied hundreds of times: the plan of a combination (101 combinations in 200 generated records) is copied piece
by piece instead. A template with anything else in it (a float that is not finite, a tuple, a set, a dict
subclass) is copied by ``copy.deepcopy``. Only knowledge-made templates are compiled: they hold no record values.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")


class _NotLiteral(Exception):
    """A value that is not written back exactly as a literal."""


def _literal(value: object) -> str:
    if type(value) is dict:
        if not all(type(key) is str for key in value):
            raise _NotLiteral
        return "{" + ",".join(f"{key!r}:{_literal(item)}" for key, item in value.items()) + "}"
    if type(value) is list:
        return "[" + ",".join(_literal(item) for item in value) + "]"
    if value is None or type(value) in (str, bool, int):
        return repr(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)  # the shortest repr reads back as the same float
    raise _NotLiteral


def maker(template: T) -> Callable[[], T]:
    """A function that returns a fresh copy of ``template`` (equal to it, sharing no dict nor list with it or
    with another copy) each time it is called. The template must not change afterwards."""
    try:
        source = _literal(template)
    except _NotLiteral:
        return lambda: copy.deepcopy(template)
    made = eval(compile(f"lambda: {source}", "<allpath template>", "eval"), {"__builtins__": {}})  # noqa: S307
    return cast(Callable[[], T], made)
