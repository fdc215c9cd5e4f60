"""Answers shared by several routes of the JSON API (one place, so that route modules never import each other)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from allpath.errors import RecordError
from allpath.interfaces.api.schemas import RecordErrorOut, UserOut
from allpath.interfaces.http.deps import data_access
from allpath.interfaces.http.schemas import ValidationErrorOut, error_responses
from allpath.service.stored import User

RECORD_INVALID: dict[int | str, dict[str, object]] = {
    **error_responses(400),
    422: {
        "model": RecordErrorOut | ValidationErrorOut,
        "description": "the patient record is invalid (`errors` names each field), or the request is malformed",
    },
}


def record_errors(error: RecordError) -> JSONResponse:
    """The engine's own field messages, so that forms and API clients show the same words."""
    return JSONResponse(
        status_code=422,
        content={
            "detail": "the patient record is invalid; nothing was stored",
            "errors": [
                {
                    "field": p.field,
                    "value": p.shown_value(),  # shortened: an error never echoes a whole body
                    "allowed": p.allowed,
                    "message": p.message(),
                }
                for p in error.problems
            ],
        },
    )


def user_out(s: Session, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        team_id=user.team_id,
        active=user.active,
        activated=bool(user.password_hash),
        data_access=data_access(s, user),
    )
