"""Invitations: a one-time code with which a family account is linked to one child (stored as a hash)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from allpath.storage import tables as t
from allpath.storage.clock import aware, digest, now
from allpath.storage.users import create_user, get_user, grant_access


class InvitationError(Exception):
    pass


def create_invitation(s: Session, actor: t.User, patient: t.Patient, days: int = 14) -> str:
    code = "-".join(secrets.token_hex(3).upper() for _ in range(3))
    s.add(
        t.Invitation(
            code_hash=digest(code),
            patient_id=patient.id,
            created_by=actor.id,
            created_at=now(),
            expires_at=now() + timedelta(days=days),
        )
    )
    return code


def accept_invitation(s: Session, code: str, username: str, password: str, display_name: str) -> t.User:
    """A family account linked to the invitation's child, and granted the child's team by the clinician who
    made the invitation. ``InvitationError`` or ``WeakPassword`` (the password policy) otherwise."""
    invitation = s.get(t.Invitation, digest(code.strip().upper()))
    if invitation is None or invitation.used_by is not None or aware(invitation.expires_at) < now():
        raise InvitationError("this invitation code is not valid (unknown, used or expired)")
    if get_user(s, username) is not None:
        raise InvitationError("this user name is taken")
    user = create_user(s, username, password, "family", display_name)
    invitation.used_by = user.id
    s.add(t.FamilyLink(user_id=user.id, patient_id=invitation.patient_id))
    patient = s.get(t.Patient, invitation.patient_id)
    if patient is not None:
        grant_access(s, user, patient.team_id, s.get(t.User, invitation.created_by), "invitation")
    s.flush()
    return user
