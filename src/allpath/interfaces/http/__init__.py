"""The HTTP kernel shared by the API, the web app and CDS Hooks: request limits, strict JSON numbers, and
error answers that never echo a request nor log one (``guard.py``, ``errors.py``).

``install(app, limits)`` adds both to an application; call it last in ``create_app``, so that the guard is
the outermost middleware and sees every request before anything else reads it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from allpath.interfaces.http.errors import validation_error_answer
from allpath.interfaces.http.guard import RequestGuard, body_limit
from allpath.settings import BodyLimits


def install(app: FastAPI, limits: BodyLimits) -> None:
    """Answer 422s without echoing the request, and put ``RequestGuard`` outside every other middleware."""
    app.add_exception_handler(RequestValidationError, validation_error_answer)
    app.add_middleware(RequestGuard, limits=limits)
    # The form parser warns about malformed uploads quoting the offending bytes of the body ("Found invalid
    # character ... in header"); the request is refused with 400 all the same, so its warnings are not needed.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)


__all__ = ["RequestGuard", "body_limit", "install"]
