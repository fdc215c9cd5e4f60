"""The stored things the use cases hand to the interfaces: accounts, teams, grants, tokens, patients, their
record versions and stored assessments, audit entries.

They are the rows of ``allpath.storage.tables``, named here so that an interface reads them (``user.role``,
``patient.display_name``) without importing storage: the interfaces never write to a row, they ask a use case.
"""

from __future__ import annotations

from allpath.storage.tables import AccessGrant, ApiToken, AuditEntry, Patient, PatientVersion, Team, User
from allpath.storage.tables import Assessment as StoredAssessment

__all__ = [
    "AccessGrant",
    "ApiToken",
    "AuditEntry",
    "Patient",
    "PatientVersion",
    "StoredAssessment",
    "Team",
    "User",
]
