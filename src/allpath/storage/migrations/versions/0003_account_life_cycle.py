"""account life cycle: activation codes, access grants by the data's owners, token expiry, session idle time

Existing accounts keep the access they had: each clinician is granted their team, each family the teams
of their linked children, each researcher every team. Existing API tokens expire 90 days after they were
made (the default of ``ALLPATH_TOKEN_DAYS``). Open sessions end (everyone signs in again once).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TOKEN_DAYS_AT_UPGRADE = 90


def upgrade() -> None:
    op.create_table(
        "activation_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activation_codes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "access_grants",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "team_id"),
    )

    # Sessions gain their start and last use; the open ones end (no idle time is known for them).
    op.execute("DELETE FROM sessions")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False))

    # API tokens gain an expiry: the configured default lifetime from when each was made.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
    connection = op.get_bind()
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    for token_id, created_at in connection.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        made = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        connection.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=made + timedelta(days=TOKEN_DAYS_AT_UPGRADE))
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)

    _keep_existing_access(connection)


def _keep_existing_access(connection: sa.Connection) -> None:
    """Grant every existing account the patient data it could read before this revision."""
    users = sa.table(
        "users", sa.column("id", sa.Integer()), sa.column("role", sa.String()), sa.column("team_id", sa.Integer())
    )
    teams = sa.table("teams", sa.column("id", sa.Integer()))
    links = sa.table("family_links", sa.column("user_id", sa.Integer()), sa.column("patient_id", sa.String()))
    patients = sa.table("patients", sa.column("id", sa.String()), sa.column("team_id", sa.Integer()))
    grants = sa.table(
        "access_grants",
        sa.column("user_id", sa.Integer()),
        sa.column("team_id", sa.Integer()),
        sa.column("granted_by", sa.Integer()),
        sa.column("how", sa.String()),
        sa.column("granted_at", sa.DateTime(timezone=True)),
    )
    all_teams = [row[0] for row in connection.execute(sa.select(teams.c.id)).all()]
    rows: set[tuple[int, int]] = set()
    for user_id, role, team_id in connection.execute(sa.select(users.c.id, users.c.role, users.c.team_id)).all():
        if role == "clinician" and team_id is not None:
            rows.add((user_id, team_id))
        elif role == "researcher":
            rows.update((user_id, team) for team in all_teams)
    family_teams = sa.select(links.c.user_id, patients.c.team_id).join(patients, patients.c.id == links.c.patient_id)
    rows.update((user_id, team_id) for user_id, team_id in connection.execute(family_teams).all())
    now = datetime.now(UTC)
    if rows:
        connection.execute(
            grants.insert(),
            [
                {"user_id": user_id, "team_id": team_id, "granted_by": None, "how": "operator", "granted_at": now}
                for user_id, team_id in sorted(rows)
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("created_at")
    op.drop_table("access_grants")
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activation_codes_user_id"))
    op.drop_table("activation_codes")
