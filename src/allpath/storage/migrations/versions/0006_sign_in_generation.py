"""sign-in generation in the database: PostgreSQL servers keep checked API tokens exact (issue 11)

One row (``sign_in_generation``, id 1) whose ``value`` PostgreSQL itself changes, by statement triggers, in
the same transaction as every insert, update, delete or truncate of ``users``, ``api_tokens`` and
``access_grants`` -- whoever makes it (allpath, the command line, a hand edit). A server compares it with the
value it read before looking a token up (``allpath.storage.token_cache``). On SQLite the table is made but
unused (its generation is a file beside the database).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SIGN_IN_TABLES = ("users", "api_tokens", "access_grants")

# A random value, not a counter: a database put back from a backup cannot bring back a value read before.
# An upsert, so that a deleted row is made again rather than leaving changes unseen.
BUMP = """
CREATE OR REPLACE FUNCTION allpath_sign_in_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sign_in_generation (id, value)
    VALUES (1, floor(random() * 9007199254740991)::bigint)
    ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "sign_in_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO sign_in_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BUMP)
    for table in SIGN_IN_TABLES:
        op.execute(
            f"CREATE TRIGGER allpath_sign_in_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION allpath_sign_in_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in SIGN_IN_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS allpath_sign_in_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS allpath_sign_in_changed()")
    op.drop_table("sign_in_generation")
