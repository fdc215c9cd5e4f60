"""CDS token uses: the JWTs of CDS clients already accepted, shared by every server process (replay)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_token_uses",
        sa.Column("issuer_hash", sa.String(length=64), nullable=False),
        sa.Column("jti_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("issuer_hash", "jti_hash"),
    )
    with op.batch_alter_table("cds_token_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cds_token_uses_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cds_token_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cds_token_uses_expires_at"))
    op.drop_table("cds_token_uses")
