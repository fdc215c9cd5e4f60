"""Bodies and error answers shared by the interfaces above the HTTP kernel.

The account forms (a new account, a new role or team, activating an account, joining with an invitation) are
checked with the same models by the JSON API, the web pages and ``allpath users``, so that all three refuse
the same input with the same words. The error models and ``error_responses`` describe the answers of the
kernel's own refusals (401, 403, 404, 422) in the OpenAPI document.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from allpath.accounts.passwords import MAX_LENGTH as PASSWORD_MAX


class StrictBody(BaseModel):
    """A request body: an unknown key is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class UserIn(StrictBody):
    """A new account. There is no password: the owner chooses it with the activation code."""

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(
        pattern=r"^(clinician|family|researcher|admin)$",
        description="clinician, researcher or admin: family accounts come only by the care team's invitation",
    )
    team: str | None = Field(default=None, max_length=200, description="a clinician's team (created when new)")


class UserUpdate(StrictBody):
    """A new role or team. Either withdraws the account's access to patient data until it is granted again."""

    role: str | None = Field(default=None, pattern=r"^(clinician|researcher|admin)$")
    team: str | None = Field(default=None, min_length=1, max_length=200)


class ActivateIn(StrictBody):
    username: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=4, max_length=60)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class InvitationAccept(StrictBody):
    code: str = Field(min_length=4, max_length=40)
    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class ErrorOut(BaseModel):
    """What went wrong, in words."""

    detail: str


class ValidationProblem(BaseModel):
    model_config = ConfigDict(extra="allow")  # FastAPI adds ``input`` and ``ctx``
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """The request does not fit the operation's parameters or body (checked before the handler runs)."""

    detail: list[ValidationProblem]


_ERROR_MEANINGS = {
    400: "the request body could not be read, or the invitation code is not valid (unknown, used or expired)",
    401: "not signed in, or the API token is not valid",
    403: "this role may not do this, or a cookie-authenticated change came without its CSRF token",
    404: "no such patient, or not one that this caller may see",
    409: "this user name is taken, or the act is not possible on this account",
    429: (
        "too many failed attempts (sign-ins and activations) from this client, or on this account from clients it"
        " has not signed in from; wait the seconds of Retry-After"
    ),
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI descriptions of the error statuses an operation can answer with."""
    return {code: {"model": ErrorOut, "description": _ERROR_MEANINGS[code]} for code in codes}
