"""Care teams, user accounts, their passwords, and the access to patient data granted by its owners.

Passwords are stored only as Argon2 hashes of their NFKC form. An account reads patient data only when the
data's owners have granted it (``AccessGrant``); an administrator never does.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from allpath.accounts import passwords
from allpath.storage import tables as t
from allpath.storage.clock import now

ROLES = ("clinician", "family", "researcher", "admin")
# The roles that can read patient data, once the data's owners have granted it (``AccessGrant``).
DATA_ROLES = ("clinician", "family", "researcher")
HASHER = PasswordHasher()


def ensure_team(s: Session, name: str) -> t.Team:
    team = s.scalar(select(t.Team).where(t.Team.name == name))
    if team is None:
        team = t.Team(name=name)
        s.add(team)
        s.flush()
    return team


def create_user(
    s: Session, username: str, password: str | None, role: str, display_name: str, team_id: int | None = None
) -> t.User:
    """A new account. With a password (the demo, tests, a family's invitation) it must meet the password
    policy (``WeakPassword`` otherwise); without one (an administrator's new account) it has none until its
    owner activates it (``allpath.storage.accounts``). The first clinician of a team with nothing to see yet
    is granted that team at once; anyone else waits for the data's owners."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if password is not None:
        passwords.check(password, username, display_name)
    first_of_empty_team = role == "clinician" and team_id is not None and nothing_to_see(s, team_id)
    user = t.User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password) if password is not None else "",
        role=role,
        team_id=team_id,
        active=True,
        created_at=now(),
    )
    s.add(user)
    s.flush()
    if first_of_empty_team and team_id is not None:
        grant_access(s, user, team_id, None, "empty_team")
    return user


def get_user(s: Session, username: str) -> t.User | None:
    return s.scalar(select(t.User).where(t.User.username == username))


def list_users(s: Session) -> list[t.User]:
    return list(s.scalars(select(t.User).order_by(t.User.username)))


# ---- access to patient data, granted by its owners ----------------------------------------------------


def nothing_to_see(s: Session, team_id: int, besides: int | None = None) -> bool:
    """Whether a team has no patient and no clinician with access (``besides`` that user): then its first
    clinician may be granted it at once, since there is nothing to see and nobody to ask."""
    if s.scalar(select(func.count()).select_from(t.Patient).where(t.Patient.team_id == team_id)):
        return False
    custodians = (
        select(func.count())
        .select_from(t.AccessGrant)
        .join(t.User, t.User.id == t.AccessGrant.user_id)
        .where(t.AccessGrant.team_id == team_id, t.User.role == "clinician", t.User.team_id == team_id)
    )
    if besides is not None:
        custodians = custodians.where(t.User.id != besides)
    return not s.scalar(custodians)


def grant_access(s: Session, user: t.User, team_id: int, by: t.User | None, how: str) -> bool:
    """Grant ``user`` the patient data of a team (``how``: colleague, empty_team, invitation, operator);
    False when it was granted already."""
    if s.get(t.AccessGrant, (user.id, team_id)) is not None:
        return False
    s.add(t.AccessGrant(user_id=user.id, team_id=team_id, granted_by=by.id if by else None, how=how, granted_at=now()))
    s.execute(
        delete(t.AccessWithdrawal).where(t.AccessWithdrawal.user_id == user.id, t.AccessWithdrawal.team_id == team_id)
    )
    s.flush()
    return True


def record_withdrawal(s: Session, user: t.User, team_id: int, how: str) -> None:
    """Keep that the grant of a team was withdrawn from ``user`` (``how``: colleague or operator), and when, for
    the account's own page (the newest withdrawal of a team replaces an older one)."""
    s.merge(t.AccessWithdrawal(user_id=user.id, team_id=team_id, how=how, withdrawn_at=now()))
    s.flush()


def withdrawals(s: Session, user_id: int) -> list[tuple[str, t.AccessWithdrawal]]:
    """The teams that withdrew their grant from an account and have not granted it again (the team's name
    and the withdrawal), newest first."""
    rows = s.execute(
        select(t.Team.name, t.AccessWithdrawal)
        .join(t.AccessWithdrawal, t.AccessWithdrawal.team_id == t.Team.id)
        .where(t.AccessWithdrawal.user_id == user_id)
        .order_by(t.AccessWithdrawal.withdrawn_at.desc(), t.Team.name)
    )
    return [(name, withdrawal) for name, withdrawal in rows]


def drop_access(s: Session, user: t.User) -> int:
    """Withdraw every grant of ``user`` (an act that could hand the account to someone else); how many."""
    grants = list(s.scalars(select(t.AccessGrant).where(t.AccessGrant.user_id == user.id)))
    for grant in grants:
        s.delete(grant)
    s.flush()
    return len(grants)


def granted_teams(s: Session, user_id: int) -> frozenset[int]:
    return frozenset(s.scalars(select(t.AccessGrant.team_id).where(t.AccessGrant.user_id == user_id)))


def has_data_access(user: t.User, teams: frozenset[int]) -> bool:
    """Whether an account may read any patient data at all: an active clinician granted their own team, an
    active family or researcher granted some team. Administrators never."""
    if not user.active or user.role not in DATA_ROLES:
        return False
    if user.role == "clinician":
        return user.team_id is not None and user.team_id in teams
    return bool(teams)


# ---- passwords -----------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The stored hash of a password, of its NFKC form (``passwords.normalized``): the same text typed on
    another device, with other Unicode code points, still signs in."""
    return HASHER.hash(passwords.normalized(password))


def password_matches(stored_hash: str, password: str) -> bool:
    """Whether ``password`` is the one behind ``stored_hash`` (of its NFKC form; a hash made before passwords
    were normalised is of the text as typed, and is tried as such when that differs)."""
    if not stored_hash:
        return False
    try:
        return HASHER.verify(stored_hash, passwords.normalized(password))
    except (VerificationError, InvalidHashError):
        pass
    if passwords.normalized(password) == password:
        return False
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash() -> str:
    """A hash of a random secret with the parameters of real ones: checked for unknown users, so that the
    answer time does not tell which user names exist."""
    return _dummy_hash_for(HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism)


@cache
def _dummy_hash_for(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))
