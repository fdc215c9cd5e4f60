"""trial registry: the studies of ClinicalTrials.gov kept locally, and each refresh of them (issue 13)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trial_studies",
        sa.Column("nct_id", sa.String(length=16), nullable=False),
        sa.Column("last_update", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("study", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("nct_id"),
    )
    op.create_table(
        "trial_registry_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trial_registry_refreshes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_registry_refreshes_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trial_registry_refreshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_registry_refreshes_at"))
    op.drop_table("trial_registry_refreshes")
    op.drop_table("trial_studies")
