"""The life cycle of an account, and the confirmations by which the data's owners grant access.

Separation of duties: an administrator creates accounts but never knows or sets their passwords. A new (or
reset) account gets a one-time activation code, which the administrator hands to its owner, who chooses the
password. Since the administrator has seen the code, the account it opens reads no patient data until the
data's owners grant it (``AccessGrant``): a clinician of the team confirms a colleague, a researcher or a
family account (the family's grant comes with the care team's invitation). Every act of an administrator
that could hand an account to someone else (a reset, a re-activation, a new role or team) withdraws its
grants. Every act here is audited (who, what, which account; never a code or a password).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from allpath.accounts import passwords
from allpath.storage import audit, clock, signin, users
from allpath.storage import tables as t

OPERATOR = "operator (server command line)"


class AccountError(Exception):
    """An account act that cannot be done; the message says why in plain words."""


class NameTaken(AccountError):
    """The user name belongs to another account."""


class NotFound(AccountError):
    """No such account (or none this caller may act on)."""


class NotAllowed(AccountError):
    """Not on this account (an administrator's own account, or a family account's role)."""


@dataclass(frozen=True)
class Activation:
    """A one-time activation code (shown once, stored only as a hash) and when it stops working."""

    code: str
    expires_at: datetime


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _canonical(code: str) -> str:
    return code.strip().upper()


def _audit(s: Session, actor: t.User | None, action: str, user: t.User, detail: str = "", outcome: str = "ok") -> None:
    where = detail if actor is not None else f"{OPERATOR}; {detail}" if detail else OPERATOR
    audit.record(s, actor, action, "user", str(user.id), outcome=outcome, detail=where)


def issue_activation(s: Session, user: t.User, by: t.User | None, hours: float) -> Activation:
    """A new activation code for ``user``; any earlier unused code stops working."""
    s.execute(delete(t.ActivationCode).where(t.ActivationCode.user_id == user.id, t.ActivationCode.used_at.is_(None)))
    code = "-".join(secrets.token_hex(4).upper() for _ in range(3))  # 96 random bits
    made = clock.now()
    expires = made + timedelta(hours=hours)
    s.add(
        t.ActivationCode(
            code_hash=_digest(code),
            user_id=user.id,
            created_by=by.id if by else None,
            created_at=made,
            expires_at=expires,
        )
    )
    s.flush()
    return Activation(code, expires)


def pending_activation(s: Session, user: t.User) -> datetime | None:
    """When the account's unused activation code expires, or None when it has none that still works."""
    expires = s.scalar(
        select(t.ActivationCode.expires_at).where(
            t.ActivationCode.user_id == user.id,
            t.ActivationCode.used_at.is_(None),
            t.ActivationCode.expires_at > clock.now(),
        )
    )
    return expires


def _team_id(s: Session, role: str, team: str | None) -> int | None:
    if role == "clinician":
        if not team:
            raise AccountError("a clinician needs a team")
        return users.ensure_team(s, team).id
    if team:
        raise AccountError("only clinicians belong to a team")
    return None


def _check_role(role: str) -> None:
    if role == "family":
        raise AccountError("family accounts are made only with an invitation code from the child's care team")
    if role not in users.ROLES:
        raise AccountError(f"the role must be one of {', '.join(r for r in users.ROLES if r != 'family')}")


def create_account(
    s: Session, actor: t.User | None, username: str, display_name: str, role: str, team: str | None, hours: float
) -> tuple[t.User, Activation]:
    """A new account without a password, and its activation code (for the administrator to hand over)."""
    _check_role(role)
    if users.get_user(s, username) is not None:
        raise NameTaken("this user name is taken")
    user = users.create_user(s, username, None, role, display_name, _team_id(s, role, team))
    activation = issue_activation(s, user, actor, hours)
    granted = " (first clinician of an empty team: granted it)" if users.granted_teams(s, user.id) else ""
    _audit(s, actor, "create", user, f"{role}{granted}")
    return user, activation


def _regrant_if_nothing_to_see(s: Session, user: t.User) -> None:
    if user.role == "clinician" and user.team_id is not None and users.nothing_to_see(s, user.team_id, user.id):
        users.grant_access(s, user, user.team_id, None, "empty_team")


def activate(s: Session, username: str, code: str, password: str) -> t.User:
    """Set the password of an account with its one-time activation code (the code is used up). The code is
    checked before the password policy: ``AccountError`` for a wrong code, ``WeakPassword`` only after a right
    one. (Requests limit their attempts first: ``allpath.service.sessions.activate``.)"""
    user = users.get_user(s, username)
    row = s.get(t.ActivationCode, _digest(_canonical(code)))
    if (
        user is None
        or row is None
        or row.user_id != user.id
        or row.used_at is not None
        or row.expires_at <= clock.now()
        or not user.active
    ):
        raise AccountError("the user name or activation code is not valid (unknown, used or expired)")
    passwords.check(password, user.username, user.display_name)
    user.password_hash = users.hash_password(password)
    row.used_at = clock.now()
    signin.end_sessions(s, user)
    s.flush()
    _audit(s, user, "activate", user)
    return user


def _verifies(stored_hash: str, password: str) -> bool:
    return users.password_matches(stored_hash, password)


def change_password(s: Session, user: t.User, current: str, new: str, keep_session: str | None) -> None:
    """The user's own change: the current password is required; their other sessions end."""
    if not _verifies(user.password_hash, current):
        raise AccountError("the current password is wrong")
    passwords.check(new, user.username, user.display_name)
    user.password_hash = users.hash_password(new)
    ended = signin.end_sessions(s, user, keep=keep_session)
    s.flush()
    _audit(s, user, "change_password", user, f"{ended} other sessions ended")


def _not_yourself(actor: t.User | None, user: t.User, what: str) -> None:
    if actor is not None and actor.id == user.id:
        raise NotAllowed(f"you cannot {what} your own account; ask another administrator")


def deactivate(s: Session, actor: t.User | None, user: t.User, channel: str = "") -> None:
    """No more sign-in: sessions end, API tokens and any activation code stop working."""
    _not_yourself(actor, user, "deactivate")
    user.active = False
    sessions = signin.end_sessions(s, user)
    tokens = signin.revoke_api_tokens(s, user)
    s.execute(delete(t.ActivationCode).where(t.ActivationCode.user_id == user.id, t.ActivationCode.used_at.is_(None)))
    s.flush()
    _audit(s, actor, "deactivate", user, f"{sessions} sessions ended, {tokens} tokens revoked {channel}".strip())


def reactivate(s: Session, actor: t.User | None, user: t.User, channel: str = "") -> None:
    """The account may sign in again, but its access to patient data must be granted again."""
    user.active = True
    dropped = users.drop_access(s, user)
    _regrant_if_nothing_to_see(s, user)
    _audit(s, actor, "reactivate", user, f"{dropped} grants withdrawn {channel}".strip())


def reset_password(s: Session, actor: t.User | None, user: t.User, hours: float, channel: str = "") -> Activation:
    """The old password, every session and API token stop working, access must be granted again, and the
    owner chooses a new password with a new activation code."""
    _not_yourself(actor, user, "reset the password of")
    user.password_hash = ""
    sessions = signin.end_sessions(s, user)
    tokens = signin.revoke_api_tokens(s, user)
    dropped = users.drop_access(s, user)
    _regrant_if_nothing_to_see(s, user)
    activation = issue_activation(s, user, actor, hours)
    detail = f"{sessions} sessions ended, {tokens} tokens revoked, {dropped} grants withdrawn {channel}"
    _audit(s, actor, "reset_password", user, detail.strip())
    return activation


def revoke_tokens(s: Session, actor: t.User | None, user: t.User, channel: str = "") -> int:
    count = signin.revoke_api_tokens(s, user)
    _audit(s, actor, "revoke_tokens", user, f"{count} tokens revoked {channel}".strip())
    return count


def change_role_or_team(
    s: Session, actor: t.User | None, user: t.User, role: str | None, team: str | None, channel: str = ""
) -> bool:
    """A new role or team (access must be granted again); False when nothing changed."""
    if user.role == "family":
        raise AccountError("a family account keeps its role (it was made with an invitation code)")
    new_role = role or user.role
    _check_role(new_role)
    if new_role != user.role:
        _not_yourself(actor, user, "change the role of")
    if new_role == "clinician":
        team_name = team if team else _team_name(s, user.team_id) if user.role == "clinician" else None
        new_team = _team_id(s, new_role, team_name)
    else:
        new_team = _team_id(s, new_role, team)
    if new_role == user.role and new_team == user.team_id:
        return False
    user.role, user.team_id = new_role, new_team
    dropped = users.drop_access(s, user)
    _regrant_if_nothing_to_see(s, user)
    _audit(s, actor, "change_role", user, f"now {new_role}; {dropped} grants withdrawn {channel}".strip())
    return True


def _team_name(s: Session, team_id: int | None) -> str | None:
    team = s.get(t.Team, team_id) if team_id is not None else None
    return team.name if team else None


# ---- confirmation by the data's owners ------------------------------------------------------------------


def is_custodian(s: Session, user: t.User) -> bool:
    """A clinician who holds their own team's data, and so may grant it to others."""
    return users.has_data_access(user, users.granted_teams(s, user.id)) and user.role == "clinician"


def waiting_for(s: Session, custodian: t.User) -> list[t.User]:
    """The accounts that wait for ``custodian``'s team: its clinicians without access, every researcher the
    team has not granted its data, and the families of the team's children without access. Only activated,
    active accounts: an account is confirmed once its owner has chosen their password (until then the
    administrator's activation code could still open it)."""
    team_id = custodian.team_id
    if team_id is None:
        return []
    granted = select(t.AccessGrant.user_id).where(t.AccessGrant.team_id == team_id)
    families = (
        select(t.FamilyLink.user_id)
        .join(t.Patient, t.Patient.id == t.FamilyLink.patient_id)
        .where(t.Patient.team_id == team_id)
    )
    candidates = select(t.User).where(
        t.User.active.is_(True),
        t.User.password_hash != "",
        t.User.id.not_in(granted),
        ((t.User.role == "clinician") & (t.User.team_id == team_id))
        | (t.User.role == "researcher")
        | ((t.User.role == "family") & t.User.id.in_(families)),
    )
    return list(s.scalars(candidates.order_by(t.User.role, t.User.username)))


def with_access(s: Session, team_id: int) -> list[tuple[t.User, t.AccessGrant]]:
    """Everyone granted a team's data, with how, for the team page (so that the team sees who reads it)."""
    rows = s.execute(
        select(t.User, t.AccessGrant)
        .join(t.AccessGrant, t.AccessGrant.user_id == t.User.id)
        .where(t.AccessGrant.team_id == team_id)
        .order_by(t.User.role, t.User.username)
    )
    return [(user, grant) for user, grant in rows]


def confirm(s: Session, custodian: t.User, user_id: int, channel: str = "") -> t.User:
    """Grant one of the accounts waiting for the custodian's team that team's data."""
    user = next((u for u in waiting_for(s, custodian) if u.id == user_id), None)
    if user is None or custodian.team_id is None:
        audit.record(s, custodian, "confirm", "user", str(user_id), outcome="denied", detail=channel)
        raise NotFound("no such account waits for your team")
    users.grant_access(s, user, custodian.team_id, custodian, "colleague")
    _audit(s, custodian, "confirm", user, f"{user.role} granted team {custodian.team_id} {channel}".strip())
    return user


def withdraw(s: Session, custodian: t.User, user_id: int, channel: str = "") -> t.User:
    """Withdraw the grant of the custodian's team from another account (a colleague, a researcher, a family),
    which then waits for a confirmation again. Never the custodian's own: so the clinician who withdraws still
    holds the team's data after it, and no withdrawal leaves a team without a custodian. One withdrawal of a
    team at a time: a write to the team's row comes first (PostgreSQL locks the row; SQLite takes its one
    writer's lock), so the grants read after it are those committed by then, and of two clinicians
    withdrawing each other at once the second finds their own grant gone. Takes effect
    on the account's next request in every process (the deleted grant moves the sign-in generation,
    ``allpath.storage.token_cache``). ``NotAllowed`` or ``NotFound``, audited, otherwise."""
    team_id = custodian.team_id
    if user_id == custodian.id:
        audit.record(s, custodian, "withdraw", "user", str(user_id), outcome="denied", detail=channel)
        raise NotAllowed("you cannot withdraw your own access; another clinician of your team can")
    s.execute(update(t.Team).where(t.Team.id == team_id).values(name=t.Team.name))
    granted = select(t.AccessGrant).where(t.AccessGrant.team_id == team_id)
    grants = {grant.user_id: grant for grant in s.scalars(granted.execution_options(populate_existing=True))}
    grant = grants.get(user_id)
    if custodian.id not in grants or grant is None:
        audit.record(s, custodian, "withdraw", "user", str(user_id), outcome="denied", detail=channel)
        raise NotFound("no such account reads your team's data")
    user = s.get(t.User, user_id)
    assert user is not None  # a grant's account (foreign key)
    s.delete(grant)
    assert team_id is not None  # the custodian holds a grant of their team
    users.record_withdrawal(s, user, team_id, "colleague")
    _audit(s, custodian, "withdraw", user, f"{user.role} no longer granted team {team_id} {channel}".strip())
    return user


def operator_withdraw(s: Session, user: t.User, team: str) -> None:
    """Break-glass on the server: withdraw a team's grant from an account (any account, the team's last
    clinician too: ``allpath users confirm`` grants it again). ``AccountError`` when there is no such team or
    the account does not hold its grant."""
    team_id = s.scalar(select(t.Team.id).where(t.Team.name == team))
    if team_id is None:
        raise AccountError(f"there is no team named {team[:100]!r}")
    s.execute(update(t.Team).where(t.Team.id == team_id).values(name=t.Team.name))  # as ``withdraw``: one at a time
    grant = s.get(t.AccessGrant, (user.id, team_id), populate_existing=True)
    if grant is None:
        raise AccountError(f"{user.username} does not hold the patient data of {team[:100]!r}")
    s.delete(grant)
    users.record_withdrawal(s, user, team_id, "operator")
    _audit(s, None, "withdraw", user, f"{user.role} no longer granted team {team_id}")


def operator_confirm(s: Session, user: t.User, teams: list[str]) -> list[str]:
    """Break-glass on the server: grant an account its data when no colleague remains to confirm it.
    A clinician gets their team, a family the teams of their children, a researcher the ``teams`` named."""
    if user.role == "admin":
        raise AccountError("administrators never read patient data")
    if user.role == "researcher":
        if not teams:
            raise AccountError("name the teams whose de-identified data this researcher may export (--team)")
        team_ids = []
        for name in teams:
            team = s.scalar(select(t.Team).where(t.Team.name == name))
            if team is None:
                raise AccountError(f"there is no team named {name!r}")
            team_ids.append(team.id)
    elif user.role == "clinician":
        if user.team_id is None:
            raise AccountError("this clinician has no team")
        team_ids = [user.team_id]
    else:
        links = select(t.Patient.team_id).join(t.FamilyLink, t.FamilyLink.patient_id == t.Patient.id)
        team_ids = sorted(set(s.scalars(links.where(t.FamilyLink.user_id == user.id))))
    names = []
    for team_id in team_ids:
        users.grant_access(s, user, team_id, None, "operator")
        names.append(_team_name(s, team_id) or str(team_id))
    _audit(s, None, "confirm", user, f"{user.role} granted teams {', '.join(map(str, team_ids))}")
    return names
