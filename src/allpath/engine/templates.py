"""Fresh copies of a JSON-like template (dicts, lists, words, numbers, yes/no, null).

A part of an assessment that is the same for every child (the follow-up texts) is kept once per knowledge base
and every answer gets its own copy, so that a caller that changes its answer in place changes no other. A
template of plain JSON values is copied dict by dict and list by list, sharing only its immutable leaves (the
follow-up section, 7 items: about 7.5 us a copy); one with anything else in it (a float that is not finite, a
tuple, a set, a dict subclass) is copied by ``copy.deepcopy``. A copier written as the source of one expression
and compiled was measured at 3.6 us a copy, and not kept: the 4 us it saves per answer do not pay for
evaluating generated source.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")


def _plain(value: object) -> bool:
    """Whether ``value`` is made only of dicts with text keys, lists, text, integers, yes/no, null and finite
    floats."""
    if type(value) is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if type(value) is list:
        return all(_plain(item) for item in value)
    return value is None or type(value) in (str, bool, int) or (type(value) is float and math.isfinite(value))


def _copy(value: object) -> object:
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value  # immutable


def maker(template: T) -> Callable[[], T]:
    """A function that returns a fresh copy of ``template`` (equal to it, sharing no dict nor list with it or
    with another copy) each time it is called. The template must not change afterwards."""
    if _plain(template):
        return lambda: cast(T, _copy(template))
    return lambda: copy.deepcopy(template)
