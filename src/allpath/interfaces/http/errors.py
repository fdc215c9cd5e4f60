"""The API's answer to a request that does not fit an operation (422), without echoing the request.

FastAPI's own answer quotes each bad ``input`` whole: a 10 MB body sent to the sign-in endpoint came back as
a 30 MB answer, and an input holding NaN made the answer itself fail (a 500 whose traceback held the whole
record). This answer keeps the documented shape (``ValidationErrorOut``: ``loc``, ``msg``, ``type``) and
quotes an input only when it is a single short value, shortened, and never for a password, token or code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import NotRequired

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from typing_extensions import TypedDict

from allpath.errors import SHOWN_CHARS
from allpath.interfaces.http.guard import shortened

# At most this many problems are listed (a list of 10,000 bad items needs no 10,000 lines to be fixed).
MAX_PROBLEMS = 50
# Inputs of these fields are never quoted back, even shortened.
_SECRET = re.compile(r"password|token|code|secret|csrf", re.IGNORECASE)


async def validation_error_answer(request: Request, error: Exception) -> JSONResponse:
    """422 with each problem's place, message and type; an input quoted only short (see the module docstring)."""
    items = error.errors() if isinstance(error, RequestValidationError) else []
    problems = [_problem(item) for item in items[:MAX_PROBLEMS]]
    return JSONResponse({"detail": problems}, status_code=422)


class Problem(TypedDict):
    """One problem of the answer (``ValidationErrorOut``'s items)."""

    loc: list[int | str]
    msg: str
    type: str
    input: NotRequired[object]
    ctx: NotRequired[dict[str, object]]


def _problem(item: Mapping[str, object]) -> Problem:
    """One of pydantic's error details, with the input and context kept only where they may be quoted."""
    place = item.get("loc")
    parts = place if isinstance(place, list | tuple) else ()
    loc: list[int | str] = [part if isinstance(part, int) else shortened(str(part)) for part in parts]
    problem: Problem = {
        "loc": loc,
        "msg": shortened(str(item.get("msg", "")), 300),
        "type": shortened(str(item.get("type", "")), 60),
    }
    secret = any(isinstance(part, str) and _SECRET.search(part) for part in loc)
    value = item.get("input")
    if not secret and _scalar(value):
        problem["input"] = shortened(value, SHOWN_CHARS) if isinstance(value, str) else value
    context = item.get("ctx")
    if isinstance(context, dict):
        kept: dict[str, object] = {
            shortened(str(k)): v for k, v in context.items() if _scalar(v) and not isinstance(v, str)
        }
        kept |= {shortened(str(k)): shortened(v, SHOWN_CHARS) for k, v in context.items() if isinstance(v, str)}
        if kept:
            problem["ctx"] = kept
    return problem


def _scalar(value: object) -> bool:
    """A single value that can be quoted in JSON: no object or list (that would echo the body), no NaN."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() <= 64  # JSON cannot write an integer of thousands of digits either
    return value is None or isinstance(value, bool | str)
