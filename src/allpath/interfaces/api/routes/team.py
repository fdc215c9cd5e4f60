"""The care team's own page of accounts: who reads the team's data, who waits, confirming and withdrawing.

Access to patient data is granted by the data's owners, never by an administrator: a clinician of the
team (who holds its data) confirms a colleague, a researcher (who then receives the team's de-identified
data) or a family account of one of the team's children.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from allpath.interfaces.api.schemas import TeamMemberOut
from allpath.interfaces.http.deps import storable_body
from allpath.interfaces.http.schemas import ErrorOut, error_responses
from allpath.interfaces.http.unit_of_work import KernelRoute, Work, acting
from allpath.service import accounts
from allpath.service.stored import AccessGrant, User

router = APIRouter(
    prefix="/api/team",
    tags=["team"],
    responses=error_responses(401, 403),
    dependencies=[Depends(storable_body)],
    route_class=KernelRoute,
)
Custodian = Annotated[Work, Depends(acting("clinician"))]  # a clinician with access to the team's data


def _member(user: User, grant: AccessGrant | None) -> TeamMemberOut:
    return TeamMemberOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        waiting=grant is None,
        granted=grant.how if grant else None,
    )


@router.get("/members", response_model=list[TeamMemberOut])
def members(work: Custodian) -> list[TeamMemberOut]:
    """Everyone with access to your team's data (and how it was granted), then the accounts that wait for a
    clinician of your team to confirm them."""
    team = accounts.team_members(work)
    return [_member(user, grant) for user, grant in team.granted] + [_member(user, None) for user in team.waiting]


@router.post(
    "/members/{user_id}/confirm",
    response_model=TeamMemberOut,
    responses={404: {"model": ErrorOut, "description": "no such account waits for your team"}},
)
def confirm(user_id: Annotated[int, Path(ge=1, le=2_147_483_647)], work: Custodian) -> TeamMemberOut:
    """Grant a waiting account your team's data: confirm it only once its owner has told you (in person or
    by a channel you trust) that they activated it themselves."""
    try:
        user, grant = accounts.confirm(work, user_id)
    except accounts.NotFound as error:
        raise HTTPException(404, str(error)) from None
    return _member(user, grant)


@router.post(
    "/members/{user_id}/withdraw",
    status_code=204,
    responses={
        404: {"model": ErrorOut, "description": "no such account reads your team's data"},
        409: {"model": ErrorOut, "description": "your own access: another clinician of your team withdraws it"},
    },
)
def withdraw(user_id: Annotated[int, Path(ge=1, le=2_147_483_647)], work: Custodian) -> None:
    """Withdraw your team's data from an account you or a colleague confirmed (a colleague, a researcher or a
    family account): refused from its very next request, in every server process; it waits for a
    confirmation again, and its own page (``GET /api/me``: ``access_withdrawn``) says that your team withdrew
    its access and when, never by whom. Never your own access, so that a team always keeps a clinician who
    holds its data."""
    try:
        accounts.withdraw(work, user_id)
    except accounts.NotFound as error:
        raise HTTPException(404, str(error)) from None
    except accounts.NotAllowed as error:
        raise HTTPException(409, str(error)) from None
