"""Administering accounts, the audit log, and the care team's confirmation of who reads its data.

An administrator creates accounts without a password (the owner chooses it with a one-time activation code),
deactivates and re-activates them, forces a password reset, revokes their API tokens and changes their role
or team; nothing of it gives them patient data (``allpath.storage.accounts`` holds the rules and audits each
act that succeeds). A clinician of a team confirms the accounts that wait for its data.

A refused act is audited here (``denied`` when it is not allowed: the name is taken, your own account;
``invalid`` when the request does not fit: a clinician without a team) and the error is raised for the
interface to answer. ``refusal_detail`` and ``channel`` keep the audit entries each interface has always
written (``web``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from allpath.service.access import DATA_ROLES, data_access
from allpath.service.unit_of_work import UnitOfWork
from allpath.storage import accounts, audit, clock, signin, users
from allpath.storage.accounts import AccountError, Activation, NameTaken, NotAllowed, NotFound
from allpath.storage.tables import AccessGrant, ApiToken, AuditEntry, Team, User


def _acting(uow: UnitOfWork) -> User:
    if uow.actor is None:
        raise PermissionError("this needs a signed-in account")
    return uow.actor


def set_preferred_language(uow: UnitOfWork, language: str | None, *, channel: str = "") -> None:
    """The language the pages speak to the signed-in person (a supported locale; None: the browser's)."""
    user = _acting(uow)
    user.preferred_language = language
    uow.audit("set_language", "user", str(user.id), detail=channel)


def refusal_outcome(error: AccountError) -> str:
    """``denied`` for an act that is not allowed (a taken name, your own account), ``invalid`` otherwise."""
    return "denied" if isinstance(error, NameTaken | NotAllowed) else "invalid"


def _refused(uow: UnitOfWork, action: str, user_id: int | None, error: AccountError, detail: str) -> None:
    uow.audit(action, "user", str(user_id) if user_id else None, outcome=refusal_outcome(error), detail=detail)


# ---- administration -----------------------------------------------------------------------------------------


def list_accounts(uow: UnitOfWork, *, detail: str = "") -> list[User]:
    """Every account, by user name (audited as ``list user``)."""
    uow.audit("list", "user", detail=detail)
    return users.list_users(uow.session)


def account_names(uow: UnitOfWork) -> dict[int, str]:
    """Each account's user name by its id (for the audit log's page; not audited apart from it)."""
    return {user.id: user.username for user in users.list_users(uow.session)}


def teams(uow: UnitOfWork) -> list[Team]:
    """Every care team, by name."""
    return list(uow.session.scalars(select(Team).order_by(Team.name)))


def pending_activation(uow: UnitOfWork, user: User) -> datetime | None:
    """When the account's unused activation code expires, or None when it has none that still works."""
    return accounts.pending_activation(uow.session, user)


def has_data_access(uow: UnitOfWork, user: User) -> bool:
    """Whether the data's owners have granted ``user`` patient data."""
    return data_access(uow.session, user)


def account_to_act_on(uow: UnitOfWork, user_id: int, action: str, *, detail: str = "no such account") -> User:
    """The account an administrator's ``action`` is about; ``NotFound`` (audited as ``denied``) when there is
    none."""
    user = uow.session.get(User, user_id)
    if user is None:
        uow.audit(action, "user", str(user_id), outcome="denied", detail=detail)
        raise NotFound("no such account")
    return user


def create_account(
    uow: UnitOfWork,
    username: str,
    display_name: str,
    role: str,
    team: str | None,
    activation_hours: float,
    *,
    refusal_detail: str = "",
) -> tuple[User, Activation]:
    """A new account without a password, and its one-time activation code (for the administrator to hand
    over); a clinician's team is made when new."""
    try:
        return accounts.create_account(uow.session, uow.actor, username, display_name, role, team, activation_hours)
    except AccountError as error:
        _refused(uow, "create", None, error, refusal_detail)
        raise


def deactivate(uow: UnitOfWork, user: User, *, channel: str = "") -> None:
    """The account can no longer sign in: its sessions end, its API tokens and activation code stop working."""
    try:
        accounts.deactivate(uow.session, uow.actor, user, channel)
    except AccountError as error:
        _refused(uow, "deactivate", user.id, error, "")
        raise


def reactivate(uow: UnitOfWork, user: User, *, channel: str = "") -> None:
    """The account may sign in again; its access to patient data must be granted again."""
    accounts.reactivate(uow.session, uow.actor, user, channel)


def reset_password(uow: UnitOfWork, user: User, activation_hours: float, *, channel: str = "") -> Activation:
    """The old password, every session and API token stop working, access is withdrawn, and a new activation
    code lets the owner choose a new password."""
    try:
        return accounts.reset_password(uow.session, uow.actor, user, activation_hours, channel)
    except AccountError as error:
        _refused(uow, "reset_password", user.id, error, "")
        raise


def revoke_tokens(uow: UnitOfWork, user: User, *, channel: str = "") -> int:
    """Revoke every API token of an account; how many were still live."""
    return accounts.revoke_tokens(uow.session, uow.actor, user, channel)


def change_role_or_team(uow: UnitOfWork, user: User, role: str | None, team: str | None, *, channel: str = "") -> bool:
    """A new role or team (access must then be granted again); False when nothing changed."""
    try:
        return accounts.change_role_or_team(uow.session, uow.actor, user, role, team, channel)
    except AccountError as error:
        _refused(uow, "change_role", user.id, error, "")
        raise


def audit_log(uow: UnitOfWork, limit: int, *, detail: str = "") -> list[AuditEntry]:
    """The newest audit entries (between 1 and 1000 of them), newest first; reading them is audited too."""
    uow.audit("read", "audit_log", detail=detail)
    return audit.entries(uow.session, max(1, min(limit, 1000)))


# ---- the care team's page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamMembers:
    """Everyone granted the team's data (with the grant: how and by whom), and the accounts that wait."""

    granted: list[tuple[User, AccessGrant]]
    waiting: list[User]


def team_members(uow: UnitOfWork, *, channel: str = "") -> TeamMembers:
    """Who reads the actor's team's data and who waits for its confirmation (audited as ``list
    team_member`` with the number waiting)."""
    custodian = _acting(uow)
    assert custodian.team_id is not None  # a clinician with access has a team
    granted = accounts.with_access(uow.session, custodian.team_id)
    waiting = accounts.waiting_for(uow.session, custodian)
    uow.audit("list", "team_member", detail=f"{len(waiting)} waiting" + (f" ({channel})" if channel else ""))
    return TeamMembers(granted, waiting)


def confirm(uow: UnitOfWork, user_id: int, *, channel: str = "") -> tuple[User, AccessGrant | None]:
    """Grant a waiting account the actor's team's data (``NotFound``, audited, when none such waits); the
    account and its new grant."""
    custodian = _acting(uow)
    user = accounts.confirm(uow.session, custodian, user_id, channel)
    grant = uow.session.get(AccessGrant, (user.id, custodian.team_id))
    return user, grant


def withdraw(uow: UnitOfWork, user_id: int, *, channel: str = "") -> User:
    """Withdraw the actor's team's grant from another account (``NotFound`` or ``NotAllowed``, audited,
    otherwise); the account, which now waits for a confirmation again, and whose own page says that the team
    withdrew its access, and when (``AccountState.withdrawn``; the team's name, never the clinician's).

    The account's web sessions and API tokens are not ended: a withdrawal takes a team's data from the
    account, not the account from its owner (a researcher may still hold other teams' data, and the account
    page is where its owner learns what happened). They read no patient data of the team from the account's
    very next request, in every process: access is checked on each request, and the deleted grant moves the
    sign-in generation that the token cache compares first (``allpath.storage.token_cache``). Ending them is
    an administrator's deactivation or password reset."""
    return accounts.withdraw(uow.session, _acting(uow), user_id, channel)


# ---- your own account ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    """What the account page shows of the actor's account: its team, whether it reads patient data (and of
    which teams), and its API tokens."""

    team_names: list[str]
    data_role: bool
    has_access: bool
    granted_team_names: list[str]
    tokens: list[ApiToken]
    now: datetime
    withdrawn: list[Withdrawal] = field(default_factory=list)


@dataclass(frozen=True)
class Withdrawal:
    """A team that withdrew its grant from the account (and has not granted it again): its name, when, and
    ``how`` (``colleague``: a clinician of the team; ``operator``: the server's operator). Never who."""

    team_name: str
    withdrawn_at: datetime
    how: str


def _team_names(uow: UnitOfWork, team_ids: frozenset[int]) -> list[str]:
    found = (uow.session.get(Team, team_id) for team_id in team_ids)
    return sorted(team.name for team in found if team is not None)


def account_state(uow: UnitOfWork) -> AccountState:
    """The state of the actor's own account (not audited: it is their own)."""
    user = _acting(uow)
    granted = users.granted_teams(uow.session, user.id)
    return AccountState(
        team_names=_team_names(uow, frozenset({user.team_id})) if user.team_id is not None else [],
        data_role=user.role in DATA_ROLES,
        has_access=data_access(uow.session, user),
        granted_team_names=_team_names(uow, granted),
        tokens=signin.api_tokens(uow.session, user),
        now=clock.now(),
        withdrawn=withdrawals(uow, user),
    )


def withdrawals(uow: UnitOfWork, user: User) -> list[Withdrawal]:
    """The teams that withdrew their grant from ``user``, newest first (not audited: the account's own)."""
    return [Withdrawal(name, row.withdrawn_at, row.how) for name, row in users.withdrawals(uow.session, user.id)]


def team_name(uow: UnitOfWork, team_id: int) -> list[str]:
    """The name of a team (a list of one, or none when there is no such team)."""
    return _team_names(uow, frozenset({team_id}))


# ---- the operator's break-glass on the server's shell ------------------------------------------------------


def operator_create_admin(uow: UnitOfWork, username: str, display_name: str, activation_hours: float) -> Activation:
    """An administrator account made by the server's operator, and its one-time activation code (the only
    way to the first administrator outside the demo). A refusal (a taken name) is not audited: the operator
    is told on the shell, and nothing was done."""
    _user, activation = accounts.create_account(
        uow.session, None, username, display_name, "admin", None, activation_hours
    )
    return activation


def operator_withdraw(uow: UnitOfWork, username: str, team: str) -> None:
    """Withdraw a team's grant from an account on the server's shell (audited as the operator); its own page
    then says so, as after a clinician's withdrawal. ``NotFound`` when there is no such account,
    ``AccountError`` when there is no such team or the account does not hold its data. A refusal is not
    audited: the operator is told on the shell, and nothing was done."""
    user = users.get_user(uow.session, username)
    if user is None:
        raise NotFound(f"there is no account named {username[:100]!r}")
    accounts.operator_withdraw(uow.session, user, team)


def operator_confirm(uow: UnitOfWork, username: str, team_names: list[str]) -> list[str]:
    """Grant an account its patient data when no colleague remains to confirm it (a clinician their team, a
    family their children's teams, a researcher the teams named); the names of the teams granted.
    ``NotFound`` when there is no such account."""
    user = users.get_user(uow.session, username)
    if user is None:
        raise NotFound(f"there is no account named {username[:100]!r}")
    return accounts.operator_confirm(uow.session, user, team_names)


__all__ = [
    "AccountError",
    "AccountState",
    "Activation",
    "NameTaken",
    "NotAllowed",
    "NotFound",
    "TeamMembers",
    "Withdrawal",
    "account_names",
    "account_state",
    "account_to_act_on",
    "audit_log",
    "change_role_or_team",
    "confirm",
    "create_account",
    "deactivate",
    "has_data_access",
    "list_accounts",
    "operator_confirm",
    "operator_create_admin",
    "operator_withdraw",
    "pending_activation",
    "reactivate",
    "refusal_outcome",
    "reset_password",
    "revoke_tokens",
    "team_members",
    "team_name",
    "teams",
    "withdrawals",
]
